"""Flow descriptions as sanitized HTML (DESIGN.md §7: flow text is data, never a template).

Two independent layers, so one bug does not open an XSS: markdown-it runs with raw HTML off and
its own link validation (no `javascript:`/`data:` URLs), then nh3 (ammonia) strips anything not
on a short allow-list and forces `rel="noopener noreferrer nofollow"` on links.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "s", "del", "code", "pre", "blockquote", "a",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def render_markdown(text: str | None) -> SafeString:
    """Markdown → HTML that is safe to insert into a page as-is."""
    if not text or not text.strip():
        return mark_safe("")
    html = _parser().render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    # nh3 output contains only allow-listed tags and attributes with vetted URL schemes.
    return mark_safe(clean)
