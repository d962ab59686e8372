"""Kestra (Pebble) expressions, translated to and evaluated by a sandboxed Jinja environment.

Pure Python: nothing here imports Django. See ``translate`` for the dialect mapping, ``environment``
for evaluation semantics, ``catalog`` for the functions, filters and tests, ``limits`` for the
resource limits, ``runtime`` for the host services functions may use, and ``syntax`` for static
checks.
"""

from __future__ import annotations

from .environment import make_environment, render, render_typed
from .errors import ExpressionLimitError, ExpressionSyntaxError
from .runtime import RenderServices, using_services
from .syntax import ExpressionIssue, check_syntax
from .translate import translate

__all__ = [
    "ExpressionIssue",
    "ExpressionLimitError",
    "ExpressionSyntaxError",
    "RenderServices",
    "check_syntax",
    "make_environment",
    "render",
    "render_typed",
    "translate",
    "using_services",
]
