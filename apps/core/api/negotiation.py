"""Content negotiation that never answers 406.

Kestra's clients announce what they expect (`Accept: application/octet-stream` for an export,
`text/csv`, `text/plain`): views that stream files or text answer in their own type whatever the
header says, and a JSON answer (an error included) is better than a 406 that hides why the
request failed. When no renderer matches `Accept`, the first (JSON) is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class LenientContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> Any:
        candidates = list(renderers)
        try:
            return super().select_renderer(request, candidates, format_suffix)
        except NotAcceptable:
            return candidates[0], candidates[0].media_type
