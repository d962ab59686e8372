"""A small, safe YAML highlighter for read-only source views (no JS, no extra dependency).

It works line by line on indentation, like the editor's completion, and only wraps already
escaped text in `<span class="y-…">`: every piece of the source goes through `escape`, so a flow
cannot inject markup however odd its YAML is. Block scalars (`|`, `>`) are shown as strings.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_KEY = re.compile(r"""^(\s*)((?:-\s+)*)("[^"]*"|'[^']*'|[^\s#'"{\[][^:#]*?)(\s*:)(?=\s|$)(.*)$""")
_ITEM = re.compile(r"^(\s*)((?:-\s+)+)(.*)$")
_BLOCK = re.compile(r"^[|>][+-]?\d*\s*(#.*)?$")
_SCALAR = re.compile(r"^(true|false|null|~|yes|no|on|off|-?\d+(\.\d+)?([eE][+-]?\d+)?)$", re.IGNORECASE)
_EXPR = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})")


def _span(cls: str, text: str) -> str:
    return f'<span class="{cls}">{escape(text)}</span>' if text else ""


def _with_expressions(cls: str, text: str) -> str:
    out = []
    for i, part in enumerate(_EXPR.split(text)):
        out.append(_span("y-e" if i % 2 else cls, part))
    return "".join(out)


def _split_comment(value: str) -> tuple[str, str]:
    """Separate a trailing ` # comment` that is not inside quotes."""
    quote = ""
    for i, ch in enumerate(value):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (i == 0 or value[i - 1] in " [{,:"):
            quote = ch
        elif ch == "#" and (i == 0 or value[i - 1] in " \t"):
            return value[:i], value[i:]
    return value, ""


def _value(raw: str) -> str:
    value, comment = _split_comment(raw)
    stripped = value.strip()
    lead = value[: len(value) - len(value.lstrip())]
    trail = value[len(value.rstrip()):]
    if not stripped:
        body = ""
    elif stripped[0] in "\"'":
        body = _with_expressions("y-s", stripped)
    elif _SCALAR.match(stripped):
        body = _span("y-n", stripped)
    elif _BLOCK.match(stripped) or stripped in {"[]", "{}"}:
        body = _span("y-p", stripped)
    else:
        body = _with_expressions("y-v", stripped)
    return escape(lead) + body + escape(trail) + _span("y-c", comment)


def highlight_yaml(source: str) -> SafeString:
    """HTML for `<pre><code>`: one `<span class="line">` per source line."""
    lines: list[str] = []
    block_indent: int | None = None
    for line in source.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if not line.strip() or indent > block_indent:
                lines.append(_with_expressions("y-s", line))
                continue
            block_indent = None
        if line.lstrip().startswith("#"):
            html = _span("y-c", line)
        elif line.strip() in {"---", "..."}:
            html = _span("y-p", line)
        elif m := _KEY.match(line):
            space, dashes, key, colon, rest = m.groups()
            html = escape(space) + _span("y-p", dashes) + _span("y-k", key) + _span("y-p", colon) + _value(rest)
            if _BLOCK.match(rest.strip()):
                block_indent = len(space) + len(dashes)
        elif m := _ITEM.match(line):
            space, dashes, rest = m.groups()
            html = escape(space) + _span("y-p", dashes) + _value(rest)
        else:
            html = _value(line)
        lines.append(html)
    # Each piece above was escaped before being wrapped in a fixed <span> tag.
    # The newline sits inside the block-level line so copying keeps it without doubling lines.
    return mark_safe("".join(f'<span class="line">{html}\n</span>' for html in lines))
