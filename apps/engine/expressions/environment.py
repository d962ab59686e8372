"""The sandboxed Jinja environment that runs translated Kestra expressions, and the render entry points.

Design choices, each for Kestra fidelity or safety:

* ``ImmutableSandboxedEnvironment`` (no ``__class__`` games, no ``list.append`` on the context) with a
  strict undefined: like Pebble's ``strictVariables``, any use of a missing variable or attribute
  fails ("Unable to find `x` …"); unsafe attribute accesses raise at once.
* Dotted access on a map reads the *key* only (``outputs.t.values`` is the ``values`` output, never
  ``dict.values``); there is no loader, so templates cannot include or import anything.
* A custom code generator turns the translator's ``__weir_*(…)`` calls into direct calls on this
  environment, wrapping the operands of ``??``, ``???`` and ``is defined`` in lambdas. That gives
  those operators Pebble's semantics (evaluate the left side, and on an undefined error evaluate the
  right side instead), which no Jinja filter or function could, since their arguments are eager.
* Only the names in ``catalog.FILTERS``/``FUNCTIONS``/``TESTS`` exist; Jinja's built-ins do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError, TemplateRuntimeError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import catalog
from .catalog import FILTERS, FUNCTIONS, TESTS
from .parser import HELPER_PREFIX
from .translate import translate, translate_full

TEMPLATE_CACHE_SIZE = 1000
"""Compiled templates kept per process (Kestra's Pebble template cache has the same size)."""

MAX_REPEAT = 1_000_000
"""Largest string or list ``*`` may build, so ``'x' * 10**9`` cannot exhaust memory."""

HELPERS: dict[str, tuple[str, bool]] = {
    f"{HELPER_PREFIX}nc": ("weir_nc", True),
    f"{HELPER_PREFIX}uc": ("weir_uc", True),
    f"{HELPER_PREFIX}defined": ("weir_defined", True),
    f"{HELPER_PREFIX}concat": ("weir_concat", False),
    f"{HELPER_PREFIX}div": ("weir_div", False),
    f"{HELPER_PREFIX}mod": ("weir_mod", False),
    f"{HELPER_PREFIX}contains": ("weir_contains", False),
    f"{HELPER_PREFIX}range": ("weir_range", False),
    f"{HELPER_PREFIX}iter": ("weir_iter", False),
}
"""Translator marker → (environment attribute called, whether operands are passed as thunks)."""


class PebbleUndefined(StrictUndefined):
    """Strict undefined whose message names the missing variable or attribute the way Kestra does."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        return f"Unable to find `{self._undefined_name}`"


class PebbleCodeGenerator(CodeGenerator):
    """Compiles ``__weir_*`` marker calls into direct (and, where needed, lazy) helper calls."""

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name.startswith(HELPER_PREFIX)):
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        if target.name not in HELPERS or node.kwargs or node.dyn_args or node.dyn_kwargs:
            self.fail(f"invalid use of the reserved name {target.name!r}", node.lineno)
        attribute, lazy = HELPERS[target.name]
        self.write(f"environment.{attribute}(")
        for index, argument in enumerate(node.args):
            self.write(", " if index else "")
            self.write("(lambda: " if lazy else "(")
            self.visit(argument, frame)
            self.write(")")
        self.write(")")


class PebbleEnvironment(ImmutableSandboxedEnvironment):
    """Jinja configured to behave like Kestra's Pebble engine (see the module docstring)."""

    code_generator_class = PebbleCodeGenerator
    intercepted_binops = frozenset({"*"})

    weir_nc = staticmethod(catalog.null_coalesce)
    weir_uc = staticmethod(catalog.undefined_coalesce)
    weir_defined = staticmethod(catalog.is_defined)
    weir_concat = staticmethod(catalog.concat)
    weir_div = staticmethod(catalog.divide)
    weir_mod = staticmethod(catalog.modulo)
    weir_contains = staticmethod(catalog.contains)
    weir_range = staticmethod(catalog.pebble_range)
    weir_iter = staticmethod(catalog.iterate)

    def __init__(self) -> None:
        super().__init__(
            undefined=PebbleUndefined,
            autoescape=False,
            loader=None,
            keep_trailing_newline=True,
            finalize=catalog.finalize,
            cache_size=0,
            auto_reload=False,
        )
        # Pebble's catalog replaces Jinja's: `| int`, `map(...)`, `tojson`, `dict()` must not exist.
        self.filters = dict(FILTERS)
        self.tests = dict(TESTS)
        self.globals = dict(FUNCTIONS)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``map.key`` reads the key only, never a ``dict`` method such as ``values`` or ``items``."""
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Fail at the access itself, so ``??`` can never turn a blocked access into a fallback."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                repeatable = isinstance(sequence, str | list | tuple) and isinstance(count, int)
                if repeatable and len(sequence) * count > MAX_REPEAT:
                    raise SecurityError(f"repetition would build more than {MAX_REPEAT} items")
        return super().call_binop(context, operator, left, right)

    def get_template(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse_templates()

    def select_template(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse_templates()

    def get_or_select_template(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse_templates()


def _refuse_templates() -> NoReturn:
    raise TemplateRuntimeError(
        "expressions can not include, import or extend other templates (there is no template loader)"
    )


def make_environment() -> PebbleEnvironment:
    """A new environment for translated Kestra expressions (``render`` uses a shared one)."""
    return PebbleEnvironment()


@cache
def default_environment() -> PebbleEnvironment:
    return make_environment()


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _template(source: str) -> Template:
    return default_environment().from_string(translate(source))


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _typed_expression(source: str) -> TemplateExpression | None:
    expression = translate_full(source).single_expression
    if expression is None:
        return None
    return default_environment().compile_expression(expression, undefined_to_none=False)


def _undefined_error(error: UndefinedError, source: str) -> UndefinedError:
    """Kestra's wording: "Unable to find `x` used in the expression `{{ … }}` at line N"."""
    message = error.message or ""
    if not message.startswith("Unable to find"):
        return error
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    where = f" at line {line}" if line is not None else ""
    return UndefinedError(f"{message} used in the expression `{source}`{where}")


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` in Kestra's string mode: maps/lists as JSON, null as "", booleans lower-case.

    Raises ``ExpressionSyntaxError`` (a ``TemplateSyntaxError``) for invalid templates,
    ``UndefinedError`` for missing variables and ``SecurityError`` for sandbox violations.
    """
    if "{" not in source:
        return source
    template = _template(source)
    try:
        return template.render(context)
    except UndefinedError as error:
        raise _undefined_error(error, source) from error


def render_typed(source: str, context: Mapping[str, Any]) -> Any:
    """Render in Kestra's typed mode: a template that is exactly one ``{{ expr }}`` returns the
    native value (dict, list, number, bool, None…); anything else renders as a string."""
    if "{" not in source:
        return source
    expression = _typed_expression(source)
    if expression is None:
        return render(source, context)
    try:
        value = expression(context)
        catalog.require_defined(value)
    except UndefinedError as error:
        raise _undefined_error(error, source) from error
    return value
