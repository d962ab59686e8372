"""Small presentation filters shared by the page templates."""

from __future__ import annotations

import html
from datetime import datetime

import nh3
from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from apps.core.markdown import render_markdown

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """`3 hours ago`; "just now" under a minute, where timesince would say "0 minutes"."""
    if not value:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, depth=1)} ago"


@register.filter
def plain_summary(markdown: str | None) -> str:
    """The first paragraph of a markdown description as plain text, for one-line list cells.

    Rendering then stripping every tag (rather than regex-removing `**`) handles links, code and
    emphasis the way the flow page shows them; the result is plain text that autoescape escapes.
    """
    if not markdown:
        return ""
    first = markdown.strip().split("\n\n", 1)[0]
    text = nh3.clean(str(render_markdown(first)), tags=set())
    return " ".join(html.unescape(text).split())
