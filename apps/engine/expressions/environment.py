"""The sandboxed Jinja environment that runs translated Kestra expressions, and the render entry points.

Design choices, each for Kestra fidelity or safety:

* ``ImmutableSandboxedEnvironment`` (no ``__class__`` games, no ``list.append`` on the context) with a
  strict undefined: like Pebble's ``strictVariables``, any use of a missing variable or attribute
  fails ("Unable to find `x` …"); unsafe attribute accesses raise at once. ``self`` is an ordinary
  (missing) variable, not Jinja's template reference.
* Dotted access on a map reads the *key* only (``outputs.t.values`` is the ``values`` output, never
  ``dict.values``); there is no loader, so templates cannot include or import anything.
* Methods of strings, numbers and lists are limited to a read-only allowlist (``'a'.upper()`` works,
  ``'{0.__class__}'.format(x)`` and ``(1).to_bytes(10**9)`` do not), and the ones that can build
  large strings (``ljust``, ``replace``, ``join``…) have their arguments checked first.
* A custom code generator turns the translator's ``__weir_*(…)`` calls into direct calls on this
  environment, wrapping the operands of ``??``, ``???``, ``is defined`` and ``| default`` in lambdas.
  That gives those operators Pebble's semantics (evaluate the left side, and on an undefined error
  evaluate the right side instead), which no Jinja filter or function could, since their arguments
  are eager.
* Only the names in ``catalog.FILTERS``/``FUNCTIONS``/``TESTS`` exist; Jinja's built-ins do not.
* Every render has limits (``limits``): a time budget checked by loops, calls and ranges, an output
  size cap enforced while output is produced, and caps on ``*``, ``**``, ``+`` and ranges. A violation
  raises ``ExpressionLimitError``. Python errors escaping a filter (``TypeError``…) become
  ``TemplateRuntimeError`` with a one-line message.
* Functions that need the host (``secret``, ``kv``, ``read``…) use the ``RenderServices`` passed as
  ``render(..., services=…)`` or installed with ``runtime.using_services``.
* Every filter, call, operator, subscript, ``~``, loop and printed value propagates taint
  (``taint``): what a render computes from a secret is registered with the host for masking.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import ExitStack, contextmanager
from functools import cache, lru_cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Environment, TemplateExpression
from jinja2.exceptions import SecurityError, TemplateError, TemplateRuntimeError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from . import catalog
from .catalog import FILTERS, FUNCTIONS, TESTS
from .errors import ExpressionLimitError
from .limits import (
    MAX_REPEAT,
    check_deadline,
    check_int_product,
    check_length,
    check_power,
    check_repeat,
    check_size,
    time_limit,
)
from .parser import HELPER_PREFIX
from .runtime import RenderServices, using_services
from .taint import (
    Tainted,
    TaintedCharacters,
    concat_output,
    outputs_of,
    propagate,
    propagate_call,
    text,
    tracking,
)
from .translate import translate, translate_full

__all__ = [
    "MAX_REPEAT",
    "TEMPLATE_CACHE_SIZE",
    "PebbleEnvironment",
    "default_environment",
    "make_environment",
    "render",
    "render_typed",
]

TEMPLATE_CACHE_SIZE = 1000
"""Compiled templates kept per process (Kestra's Pebble template cache has the same size)."""

HELPERS: dict[str, tuple[str, bool]] = {
    f"{HELPER_PREFIX}nc": ("weir_nc", True),
    f"{HELPER_PREFIX}uc": ("weir_uc", True),
    f"{HELPER_PREFIX}defined": ("weir_defined", True),
    f"{HELPER_PREFIX}default": ("weir_default", True),
    f"{HELPER_PREFIX}concat": ("weir_concat", False),
    f"{HELPER_PREFIX}div": ("weir_div", False),
    f"{HELPER_PREFIX}mod": ("weir_mod", False),
    f"{HELPER_PREFIX}contains": ("weir_contains", False),
    f"{HELPER_PREFIX}range": ("weir_range", False),
    f"{HELPER_PREFIX}iter": ("weir_iter", False),
}
"""Translator marker → (environment attribute called, whether operands are passed as thunks)."""

_STRING_METHODS = frozenset(
    {
        "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "index",
        "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
        "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
        "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
        "title", "upper", "zfill", "encode", "decode", "hex",
    }
)  # fmt: skip
_SAFE_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    ((str, bytes, bytearray), _STRING_METHODS),
    ((bool, int), frozenset({"bit_length", "bit_count", "conjugate", "as_integer_ratio", "is_integer"})),
    (float, frozenset({"is_integer", "conjugate", "as_integer_ratio", "hex"})),
    ((list, tuple), frozenset({"count", "index", "copy"})),
    ((set, frozenset), frozenset({"isdisjoint", "issubset", "issuperset", "copy"})),
    (Mapping, frozenset()),
)
"""Methods callable on built-in values: read-only, and unable to build anything large unchecked."""


def _allowed_methods(obj: Any) -> frozenset[str] | None:
    for kinds, names in _SAFE_METHODS:
        if isinstance(obj, kinds):
            return names
    return None


def _argument(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], position: int, name: str, default: Any
) -> Any:
    return args[position] if len(args) > position else kwargs.get(name, default)


def _check_method_call(method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse string method calls whose result would exceed the output limit, before building it."""
    receiver = getattr(method, "__self__", None)
    if not isinstance(receiver, str | bytes | bytearray):
        return
    name = getattr(method, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill"):
        width = _argument(args, kwargs, 0, "width", 0)
        if isinstance(width, int):
            check_length(width)
    elif name == "expandtabs":
        size = _argument(args, kwargs, 0, "tabsize", 8)
        tabs = receiver.count("\t") if isinstance(receiver, str) else receiver.count(b"\t")
        if isinstance(size, int):
            check_length(len(receiver) + tabs * size)
    elif name == "replace":
        old, new = _argument(args, kwargs, 0, "old", ""), _argument(args, kwargs, 1, "new", "")
        if isinstance(old, str | bytes) and isinstance(new, str | bytes):
            occurrences = len(receiver) + 1 if not old else receiver.count(old)  # type: ignore[arg-type]
            check_length(len(receiver) + occurrences * max(len(new) - len(old), 0))
    elif name == "join":
        items = _argument(args, kwargs, 0, "iterable", ())
        if isinstance(items, list | tuple):
            check_length(
                sum(len(item) for item in items if isinstance(item, str | bytes)) + len(receiver) * len(items)
            )


class PebbleUndefined(StrictUndefined):
    """Strict undefined whose message names the missing variable or attribute the way Kestra does."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        return f"Unable to find `{self._undefined_name}`"


class PebbleCodeGenerator(CodeGenerator):
    """Compiles ``__weir_*`` marker calls into direct (and, where needed, lazy) helper calls, and
    printed values through ``weir_text`` (Jinja's ``str`` would drop their taint)."""

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.weir_text(")
        if finalize.src is not None:
            self.write(finalize.src)

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


def _no_template_reference(context: Context) -> Undefined:
    """Jinja binds ``self`` to the template; in an expression it is just a missing variable."""
    return context.environment.undefined(name="self")


class PebbleTemplate(Template):
    """A compiled expression whose raw-Jinja string joins are size-checked and ``self`` is undefined."""

    @classmethod
    def _from_namespace(
        cls,
        environment: Environment,
        namespace: MutableMapping[str, Any],
        globals: MutableMapping[str, Any],
    ) -> Template:
        namespace["str_join"] = lambda parts: concat_output(map(text, parts))
        namespace["markup_join"] = namespace["str_join"]
        namespace["TemplateReference"] = _no_template_reference
        return super()._from_namespace(environment, namespace, globals)


class PebbleEnvironment(ImmutableSandboxedEnvironment):
    """Jinja configured to behave like Kestra's Pebble engine (see the module docstring)."""

    code_generator_class = PebbleCodeGenerator
    template_class = PebbleTemplate
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    concat = staticmethod(concat_output)
    weir_text = staticmethod(text)

    weir_nc = staticmethod(catalog.null_coalesce)
    weir_uc = staticmethod(catalog.undefined_coalesce)
    weir_defined = staticmethod(catalog.is_defined)
    weir_default = staticmethod(catalog.default_coalesce)
    weir_div = staticmethod(catalog.divide)
    weir_mod = staticmethod(catalog.modulo)
    weir_contains = staticmethod(catalog.contains)
    weir_range = staticmethod(catalog.pebble_range)

    def __init__(self) -> None:
        super().__init__(
            undefined=PebbleUndefined,
            autoescape=False,
            loader=None,
            keep_trailing_newline=True,
            finalize=_finalize,
            cache_size=0,
            auto_reload=False,
        )
        # Pebble's catalog replaces Jinja's: `| int`, `map(...)`, `tojson`, `dict()` must not exist.
        self.filters = {name: _tainting(function) for name, function in FILTERS.items()}
        self.tests = dict(TESTS)
        self.globals = dict(FUNCTIONS)
        self._compiled: OrderedDict[str, Template] = OrderedDict()
        self._compiled_lock = threading.Lock()

    @staticmethod
    def weir_concat(*parts: Any) -> str:
        return propagate(catalog.concat(*parts), parts)  # type: ignore[no-any-return]

    @staticmethod
    def weir_iter(value: Any) -> Any:
        if isinstance(value, Tainted):  # each character of a secret is part of it
            return catalog.iterate(TaintedCharacters(value))
        return catalog.iterate(value)

    def pebble_template(self, source: str) -> Template:
        """Translate and compile a Pebble template, with an LRU cache of ``TEMPLATE_CACHE_SIZE``."""
        with self._compiled_lock:
            template = self._compiled.get(source)
            if template is not None:
                self._compiled.move_to_end(source)
                return template
        template = self.from_string(translate(source))
        with self._compiled_lock:
            self._compiled[source] = template
            if len(self._compiled) > TEMPLATE_CACHE_SIZE:
                self._compiled.popitem(last=False)
        return template

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``map.key`` reads the key only, never a ``dict`` method such as ``values`` or ``items``."""
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        if isinstance(obj, Mapping):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=argument)
        if isinstance(obj, Tainted):
            return propagate(super().getitem(obj, argument), obj)
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        allowed = _allowed_methods(obj)
        return allowed is None or not callable(value) or attr in allowed

    def wrap_str_format(self, value: Any) -> None:
        """``str.format``/``format_map`` are not on the allowlist, so no sandboxed wrapper is needed."""
        return None

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Fail at the access itself, so ``??`` can never turn a blocked access into a fallback."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_deadline()
        _check_method_call(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        receiver = getattr(__obj, "__self__", None)  # `secret('x').upper()`
        return propagate_call(result, (receiver, *args) if isinstance(receiver, str) else args, kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            check_repeat(left, right)
            check_int_product(left, right)
        elif operator == "**":
            check_power(left, right)
        elif operator == "+" and isinstance(left, str | bytes) and isinstance(right, str | bytes):
            check_length(len(left) + len(right))
        elif operator == "+" and isinstance(left, list | tuple) and isinstance(right, list | tuple):
            if len(left) + len(right) > MAX_REPEAT:
                raise ExpressionLimitError(f"the list would have more than {MAX_REPEAT} items")
        elif operator == "%" and isinstance(left, str | bytes):
            raise SecurityError("the % string formatting operator is not available in expressions")
        return propagate(super().call_binop(context, operator, left, right), left, right)

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


def _finalize(value: Any) -> Any:
    return propagate(catalog.finalize(value), value)


def _tainting(function: Any) -> Any:
    """``function`` (a filter) returning a tainted result whenever an argument is tainted."""
    skip = 1 if _PassArg.from_obj(function) is not None else 0  # the context/environment Jinja passes

    @functools.wraps(function)
    def apply(*args: Any, **kwargs: Any) -> Any:
        return propagate_call(function(*args, **kwargs), args[skip:], kwargs)

    return apply


def make_environment() -> PebbleEnvironment:
    """A new environment for translated Kestra expressions (``render`` uses a shared one)."""
    return PebbleEnvironment()


@cache
def default_environment() -> PebbleEnvironment:
    return make_environment()


def _template(source: str) -> Template:
    return default_environment().pebble_template(source)


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


@contextmanager
def _rendering(source: str, context: Mapping[str, Any], services: RenderServices | None) -> Iterator[None]:
    """Run a render with its services, clock and taint tracking, translating Python errors into
    short template errors."""
    try:
        with ExitStack() as stack:
            if services is not None:
                stack.enter_context(using_services(services))
            stack.enter_context(tracking(context))
            stack.enter_context(time_limit())
            yield
    except UndefinedError as error:
        raise _undefined_error(error, source) from error
    except TemplateError:
        raise
    except RecursionError:
        raise ExpressionLimitError("expression is nested too deeply") from None
    except MemoryError:
        raise ExpressionLimitError("expression needed too much memory") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TemplateRuntimeError(detail[:300]) from error


def render(source: str, context: Mapping[str, Any], *, services: RenderServices | None = None) -> str:
    """Render ``source`` in Kestra's string mode: maps/lists as JSON, null as "", booleans lower-case.

    ``services`` (optional) is what ``secret()``, ``kv()``, ``read()``… use during this call.
    Raises ``ExpressionSyntaxError`` (a ``TemplateSyntaxError``) for invalid templates,
    ``UndefinedError`` for missing variables, ``SecurityError`` for sandbox violations,
    ``ExpressionLimitError`` (a ``SecurityError``) past a limit and ``TemplateRuntimeError`` otherwise.
    """
    if "{" not in source:
        return source
    template = _template(source)
    with _rendering(source, context, services):
        return template.render(context)


def render_typed(source: str, context: Mapping[str, Any], *, services: RenderServices | None = None) -> Any:
    """Render in Kestra's typed mode: a template that is exactly one ``{{ expr }}`` returns the
    native value (dict, list, number, bool, None…); anything else renders as a string."""
    if "{" not in source:
        return source
    expression = _typed_expression(source)
    if expression is None:
        return render(source, context, services=services)
    with _rendering(source, context, services):
        value = expression(context)
        catalog.require_defined(value)
        check_size(value)
        outputs_of(value)
    return value
