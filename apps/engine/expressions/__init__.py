"""Kestra (Pebble) expressions, translated to and evaluated by a sandboxed Jinja environment.

Pure Python: nothing here imports Django. See ``translate`` for the dialect mapping, ``environment``
for evaluation semantics and ``syntax`` for static checks.
"""

from __future__ import annotations

from .environment import make_environment, render, render_typed
from .errors import ExpressionSyntaxError
from .syntax import ExpressionIssue, check_syntax
from .translate import translate

__all__ = [
    "ExpressionIssue",
    "ExpressionSyntaxError",
    "check_syntax",
    "make_environment",
    "render",
    "render_typed",
    "translate",
]
