"""Render limits (time, size, ranges, numbers, nesting) and the bad template inputs of RELIABILITY §4.

Pure tests (no Django, no database): run with ``pytest tests/engine/test_expressions_limits.py``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from jinja2.exceptions import SecurityError, TemplateRuntimeError, TemplateSyntaxError, UndefinedError

from apps.engine.expressions import (
    ExpressionLimitError,
    ExpressionSyntaxError,
    limits,
    make_environment,
    render,
    render_typed,
)

RANGE_MESSAGE = "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."


class SlowServices:
    """Services whose KV store takes a while to answer and whose secrets must never be read."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.secret_calls = 0

    def secret(self, name: str) -> str:
        self.secret_calls += 1
        return "leaked"

    def kv(self, namespace: str | None, key: str, error_on_missing: bool) -> Any:
        time.sleep(self.delay)
        return key

    def read(self, path: str) -> str:
        return ""

    def file_size(self, path: str) -> int:
        return 0

    def file_uri(self, path: str) -> str:
        return path

    def error_logs(self) -> list[dict[str, Any]]:
        return []

    def mark_secret(self, value: str) -> None:
        pass


def assert_short(error: BaseException) -> None:
    """Messages name the problem, not the implementation."""
    message = str(error)
    assert len(message) < 300
    for internal in ("Traceback", "/work/", ".py", "jinja2.", "0x"):
        assert internal not in message


# -- time ---------------------------------------------------------------------------------------


def test_render_time_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(ExpressionLimitError, match=r"^expression took longer than 0\.2 s$") as caught:
        render("{% for i in range(1, 100000) %}{% for j in range(1, 100000) %}{% endfor %}{% endfor %}", {})
    assert time.monotonic() - started < 2
    assert isinstance(caught.value, TemplateRuntimeError)


def test_time_limit_applies_to_typed_renders_jq_and_recursion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 0.2)
    with pytest.raises(ExpressionLimitError, match="took longer"):
        render_typed("{{ range(1, 100000) | jq('[.[] | [range(1000)] | length] | add') }}", {})
    with pytest.raises(ExpressionLimitError, match="took longer"):
        render(
            "{% macro spin(n) %}{% for i in 1..100000 %}{% endfor %}{{ spin(n) }}{% endmacro %}{{ spin(1) }}",
            {},
        )


def test_default_time_limit_is_two_seconds() -> None:
    assert limits.MAX_RENDER_SECONDS == 2.0


def test_time_waiting_for_services_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 0.1)
    assert render("{{ kv('a') }}{{ kv('b') }}", {}, services=SlowServices(delay=0.08)) == "ab"


# -- size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{% set a = 'x' * 1000000 %}{% for i in 1..11 %}{{ a }}{% endfor %}",
        "{% set a = 'x' * 1000000 %}{% set l = [a, a, a, a, a, a, a, a, a, a] %}{{ [l, l] | toJson }}",
        "{% set a = 'x' * 1000000 %}{{ [a, a, a, a, a, a, a, a, a, a, a] | join }}",
        "{% set a = 'x' * 1000000 %}{% set l = [a, a, a, a, a, a, a, a, a, a, a] %}{{ l | yaml }}",
        "{% set a = 'x' * 1000000 %}{% set l = [a, a, a, a, a, a, a, a, a, a, a] %}{{ l | toIon }}",
        "{% set a = 'x' * 1000000 %}{% set l = [a, a, a, a, a, a, a, a, a, a, a] %}"
        "{{ l | replace({'x': 'y'}) }}",
        "{% macro twice(s) %}{{ twice(s ~ s) }}{% endmacro %}{{ twice('a') }}",
        "{% macro twice(s) %}{{ twice(s + s) }}{% endmacro %}{{ twice('a') }}",
        "{{ 'a'.ljust(1000000000) }}",
        "{{ ('a' * 1000000).replace('a', 'aaaaaaaaaaaaaaaaaaaa') }}",
        "{{ 'x\ny' | indent(1000000000) }}",
        "{{ ('x' * 1000000) | replace({'x': 'xxxxxxxxxxxx'}) }}",
    ],
    ids=[
        "output",
        "toJson",
        "join",
        "yaml",
        "toIon",
        "replace-deep",
        "concat",
        "plus",
        "ljust",
        "str-replace",
        "indent",
        "replace",
    ],
)
def test_output_size_is_limited(source: str) -> None:
    with pytest.raises(ExpressionLimitError, match="larger than 10000000 characters") as caught:
        render(source, {})
    assert_short(caught.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'a' * 1000000000 }}", "repetition would build more than 1000000 items"),
        ("{{ [1, 2] * 1000000 }}", "repetition would build more than 1000000 items"),
        (
            "{% macro sq(n) %}{{ sq(n * n) }}{% endmacro %}{{ sq(99999) }}",
            "the product would be larger than 256 bits",
        ),
        (
            "{% macro grow(l) %}{{ grow(l | merge(l)) }}{% endmacro %}{{ grow([1]) }}",
            "more than 1000000 items",
        ),
    ],
    ids=["string-repeat", "list-repeat", "int-product", "merge"],
)
def test_building_large_values_is_refused(source: str, message: str) -> None:
    with pytest.raises(TemplateRuntimeError, match=message):
        render(source, {})


def test_yaml_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(TemplateRuntimeError):
        render("{{ yaml(doc) | length }}", {"doc": bomb})
    many_aliases = "a: &a x\nb: [" + ", ".join(["*a"] * 200) + "]"
    with pytest.raises(TemplateRuntimeError, match="too many aliases"):
        render("{{ yaml(doc) }}", {"doc": many_aliases})


# -- ranges -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(0, 1000000000) %}{% endfor %}",
        "{% for i in range(1000000000) %}{% endfor %}",
        "{{ 1..1000000000 }}",
        "{{ range(0, 1000000000, 1) | length }}",
    ],
    ids=["range", "range-one-argument", "dot-dot", "range-increment"],
)
def test_ranges_are_limited(source: str) -> None:
    with pytest.raises(ExpressionLimitError) as caught:
        render(source, {})
    assert str(caught.value) == RANGE_MESSAGE


def test_largest_range_is_allowed() -> None:
    assert render("{{ range(1, 100000) | length }}", {}) == "100000"


# -- nesting ------------------------------------------------------------------------------------


def test_infinite_macro_recursion_fails_cleanly() -> None:
    with pytest.raises(ExpressionLimitError, match="nested too deeply"):
        render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", {})


def test_render_function_nesting_is_limited() -> None:
    with pytest.raises(ExpressionLimitError, match="nested more than 8 levels deep"):
        render("{{ render(vars.self) }}", {"vars": {"self": "{{ render(vars.self) }}"}})


def test_recursive_render_stops_on_a_cycle() -> None:
    context = {"vars": {"a": "{{ vars.b }}", "b": "{{ vars.a }}"}}
    assert render("{{ render(vars.a) }}", context) in ("{{ vars.a }}", "{{ vars.b }}")


# -- Python errors become template errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 1 / 0 }}", "/ by zero"),
        ("{{ 1 % 0 }}", "/ by zero"),
        ("{{ 'a' - 1 }}", "unsupported operand"),
        ("{{ 'a' / 2 }}", "needs numbers"),
        ("{{ 'abc'.index('z') }}", "substring not found"),
        ("{{ -'a' }}", "bad operand"),
    ],
    ids=["division", "modulo", "minus", "divide-string", "index", "negate"],
)
def test_python_errors_become_template_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateRuntimeError, match=message) as caught:
        render(source, {"items": [1]})
    assert_short(caught.value)


def test_the_renderer_keeps_serving_after_errors() -> None:
    for source in ("{{ 'a' * 1000000000 }}", "{{ 1..1000000000 }}", "{{ ''.__class__ }}", "{{ 1 / 0 }}"):
        with pytest.raises(TemplateRuntimeError):
            render(source, {})
    assert render("{{ 1 + 1 }}", {}) == "2"


# -- methods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ '{0}'.format(1) }}",
        "{{ '{0}'.format_map({}) }}",
        "{{ (1).to_bytes(1000000000, 'big') }}",
        "{{ 'a'.__class__ }}",
        "{{ range.__globals__ }}",
        "{{ now.__module__ }}",
        "{{ secret.__closure__ }}",
        "{{ [].__class__.__base__ }}",
    ],
    ids=["format", "format_map", "to_bytes", "class", "globals", "module", "closure", "base"],
)
def test_unsafe_methods_and_attributes_are_refused(source: str) -> None:
    with pytest.raises(SecurityError) as caught:
        render(source, {})
    assert_short(caught.value)


def test_safe_string_methods_still_work() -> None:
    assert (
        render("{{ 'a,b'.split(',') }} {{ 'abc'.upper() }} {{ 'x'.startswith('x') }}", {})
        == '["a","b"] ABC true'
    )


def test_functions_are_not_printable() -> None:
    with pytest.raises(TemplateRuntimeError, match="can not be printed") as caught:
        render("{{ 'abc'.upper }}", {})
    assert_short(caught.value)


# -- RELIABILITY §4, rows 8-16 -------------------------------------------------------------------

BAD_INPUTS = [
    (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        SecurityError,
        "access to attribute '__class__'",
        "row8",
    ),
    ('{{ "{0.__class__.__base__}".format(x) }}', SecurityError, "access to attribute 'format'", "row9"),
    (
        '{{ "{0.__call__.__builtins__[__import__]}"|attr("format")(not_here) }}',
        TemplateSyntaxError,
        "unexpected '('",
        "row10",
    ),
    (
        '{% set ns = namespace(run="{0.__call__.__builtins__[__import__]}".format) %}{{ ns|run(x) }}',
        TemplateSyntaxError,
        "No filter named 'run'",
        "row11",
    ),
    (
        '{% include "/etc/passwd" %}',
        ExpressionSyntaxError,
        "the 'include' tag is not available",
        "row12-include",
    ),
    ('{% import "x" as y %}', ExpressionSyntaxError, "the 'import' tag is not available", "row12-import"),
    ("{{ 'a' * 10**9 }}", ExpressionSyntaxError, "Pebble has no '**' power operator", "row13-repeat"),
    ("{{ 9**9**9 }}", ExpressionSyntaxError, "Pebble has no '**' power operator", "row13-power"),
    ("{% for i in range(10**9) %}{% endfor %}", ExpressionSyntaxError, "Pebble has no '**'", "row14"),
    ("{{ settings.SECRET_KEY }}", UndefinedError, "Unable to find `settings`", "row15-settings"),
    ("{{ request }}", UndefinedError, "Unable to find `request`", "row15-request"),
    ("{{ self.__init__.__globals__ }}", UndefinedError, "Unable to find `self`", "row15-self"),
]


@pytest.mark.parametrize(
    ("source", "error", "message"), [case[:3] for case in BAD_INPUTS], ids=[case[3] for case in BAD_INPUTS]
)
def test_bad_template_inputs_fail_cleanly(source: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace("*", r"\*")) as caught:
        render(source, {"x": "value"})
    assert_short(caught.value)
    with pytest.raises(error):
        render_typed(source, {"x": "value"})


RAW_JINJA = [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", SecurityError, "'__class__'", "row8"),
    ('{{ "{0.__class__.__base__}".format(x) }}', SecurityError, "'format'", "row9"),
    (
        '{{ "{0.__call__.__builtins__[__import__]}"|attr("format")(not_here) }}',
        TemplateSyntaxError,
        "attr",
        "row10",
    ),
    ('{% set ns = namespace(run="{0}".format) %}', SecurityError, "'format'", "row11"),
    ('{% include "/etc/passwd" %}', TemplateRuntimeError, "no template loader", "row12-include"),
    ('{% import "x" as y %}', TemplateRuntimeError, "no template loader", "row12-import"),
    ("{{ 'a' * 10**9 }}", ExpressionLimitError, "repetition would build more than", "row13-repeat"),
    ("{{ 9**9**9 }}", ExpressionLimitError, "the power would be larger than 256 bits", "row13-power"),
    (
        "{{ 9 ** (9 ** 9) }}",
        ExpressionLimitError,
        "the power would be larger than 256 bits",
        "row13-power-right",
    ),
    ("{% for i in range(10**9) %}{% endfor %}", ExpressionLimitError, "Range too big", "row14"),
    ("{{ self.__init__.__globals__ }}", UndefinedError, "Unable to find `self`", "row15-self"),
    ("{{ '%s' % x }}", SecurityError, "% string formatting", "percent-format"),
]


@pytest.mark.parametrize(
    ("source", "error", "message"), [case[:3] for case in RAW_JINJA], ids=[case[3] for case in RAW_JINJA]
)
def test_bad_inputs_fail_in_the_raw_jinja_environment_too(
    source: str, error: type[Exception], message: str
) -> None:
    """Even Jinja text that bypasses the Pebble translator is contained by the environment."""
    with pytest.raises(error, match=message.replace("*", r"\*")):
        make_environment().from_string(source).render(x="value")


def test_row16_second_order_expressions_are_not_rendered() -> None:
    services = SlowServices()
    context = {"trigger": {"body": {"password": "{{ secret('DB_PASSWORD') }}"}}, "inputs": {"x": "{% raw %}"}}
    assert render("{{ trigger.body.password }}", context, services=services) == "{{ secret('DB_PASSWORD') }}"
    assert render_typed("{{ trigger.body }}", context, services=services) == {
        "password": "{{ secret('DB_PASSWORD') }}"
    }
    assert render("a {{ inputs.x }} b", context, services=services) == "a {% raw %} b"
    assert services.secret_calls == 0


def test_nothing_outside_the_context_is_reachable() -> None:
    for name in (
        "os",
        "environ",
        "envs",
        "settings",
        "request",
        "config",
        "__builtins__",
        "cycler",
        "namespace",
    ):
        with pytest.raises(UndefinedError, match=f"Unable to find `{name}`"):
            render(f"{{{{ {name} }}}}", {})
    assert render_typed("{{ printContext() }}", {"a": 1}) == {"a": 1}
