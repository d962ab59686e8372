"""`{% vite_asset "src/entry.ts" %}`: the tags that load one front-end island built by Vite.

It reads Vite's manifest (`static/dist/.vite/manifest.json`, exposed by the `apps.ui.context`
processor) and emits the entry's CSS links, module preloads and `<script type="module">`. Shared
chunks and their CSS are emitted once per page even when several islands import them. When the
build is missing the page still renders server-side: the tag leaves an HTML comment saying how
to build, rather than failing the whole page.
"""

from __future__ import annotations

from typing import Any, cast

from django import template
from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.ui.context import frontend

register = template.Library()

_EMITTED = "vite_asset_emitted"
"""render_context key: files already emitted on this page (shared chunks, CSS)."""


def _manifest(context: template.Context) -> dict[str, Any]:
    manifest = context.get("vite_manifest")
    if isinstance(manifest, dict) and manifest:
        return manifest
    request = context.get("request")
    loaded = frontend(request if isinstance(request, HttpRequest) else HttpRequest())["vite_manifest"]
    return loaded if isinstance(loaded, dict) else {}


def _collect(manifest: dict[str, Any], key: str, css: list[str], preloads: list[str], seen: set[str]) -> None:
    """Depth-first over `imports`, so a shared chunk's CSS comes before the entry's own."""
    if key in seen:
        return
    seen.add(key)
    chunk = manifest.get(key) or {}
    for imported in chunk.get("imports", []):
        _collect(manifest, imported, css, preloads, seen)
        file = (manifest.get(imported) or {}).get("file")
        if file and file not in preloads:
            preloads.append(file)
    for file in chunk.get("css", []):
        if file not in css:
            css.append(file)


@register.simple_tag(takes_context=True)
def vite_asset(context: template.Context, entry: str) -> SafeString:
    """Script, CSS and preload tags for one Vite entry (e.g. `"src/yaml-editor.ts"`)."""
    manifest = _manifest(context)
    chunk = manifest.get(entry)
    if not chunk or not chunk.get("file"):
        return format_html(
            "<!-- front-end entry {} is not built: run `cd frontend && npm install && npm run build` -->",
            entry,
        )
    emitted = cast("set[str]", context.render_context.setdefault(_EMITTED, set()))  # type: ignore[arg-type]
    css: list[str] = []
    preloads: list[str] = []
    _collect(manifest, entry, css, preloads, set())

    parts: list[SafeString] = []
    new_css = [f for f in css if f not in emitted]
    parts.append(format_html_join("", '<link rel="stylesheet" href="{}">', ((static(f"dist/{f}"),) for f in new_css)))
    new_preloads = [f for f in preloads if f not in emitted]
    parts.append(
        format_html_join("", '<link rel="modulepreload" href="{}">', ((static(f"dist/{f}"),) for f in new_preloads))
    )
    parts.append(format_html('<script type="module" src="{}"></script>', static(f"dist/{chunk['file']}")))
    emitted.update(new_css, new_preloads, [chunk["file"]])
    # Every part was built by format_html/format_html_join, which escape their arguments.
    return mark_safe("".join(parts))
