"""The Pebble → Jinja expression layer: translation, rendering semantics, static checks, sandbox.

Pure tests (no Django): run with ``pytest tests/engine/test_expressions.py -p no:django``.
"""

from __future__ import annotations

import pickle
import time
from typing import Any

import pytest
from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, TemplateAssertionError, TemplateRuntimeError, UndefinedError

from apps.engine.expressions import (
    ExpressionIssue,
    ExpressionLimitError,
    ExpressionSyntaxError,
    check_syntax,
    make_environment,
    render,
    render_typed,
    translate,
)

CONTEXT: dict[str, Any] = {
    "flow": {"id": "hello", "namespace": "company.team"},
    "outputs": {
        "default": {"value": None},
        "error-t1": {"value": "from error-t1"},
        "t": {"values": {"count": 3}, "items": ["a", "b"]},
    },
    "inputs": {"name": "World", "empty": None, "flag": True, "count": 5},
    "block": {"test": {"child": "awesome"}},
    "inner": "test",
    "items": ["x", "y", "z"],
    "mapping": {"a": 1, "b": 2},
    "name": "World",
}


def r(source: str, **extra: Any) -> str:
    return render(source, {**CONTEXT, **extra})


# -- translation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["plain text", "", "a } b { c", 'json: {"a": 1}', "{ not a block }"],
)
def test_text_without_blocks_is_returned_unchanged(source: str) -> None:
    assert translate(source) == source


def test_text_outside_blocks_is_untouched() -> None:
    source = "a ?? b ? c : d -- x..y {{ x }} equals contains #{z}"
    assert translate(source) == "a ?? b ? c : d -- x..y {{ x }} equals contains #{z}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ a ?? b }}", "{{ __weir_nc(a, b) }}"),
        ("{{ a ??? b }}", "{{ __weir_uc(a, b) }}"),
        ("{{ a ?? b ?? c }}", "{{ __weir_nc(__weir_nc(a, b), c) }}"),
        ("{{ a ? b : c }}", "{{ (b if a else c) }}"),
        ("{{ a ? b : c ? d : e }}", "{{ (b if a else (d if c else e)) }}"),
        ("{{ a ? b ? c : d : e }}", "{{ ((c if b else d) if a else e) }}"),
        ("{{ a ?? b ? c : d }}", "{{ (c if __weir_nc(a, b) else d) }}"),
        ("{{ a ?'y':'n' }}", "{{ ('y' if a else 'n') }}"),
        ("{{ x equals 'v' }}", "{{ (x == 'v') }}"),
        ("{{ x is json }}", "{{ (x is json) }}"),
        ("{{ x is not json }}", "{{ (x is not json) }}"),
        ("{{ x is defined }}", "{{ __weir_defined(x) }}"),
        ("{{ x is not defined }}", "{{ (not __weir_defined(x)) }}"),
        ("{{ now() | date(format='yyyy') }}", "{{ (now() | date(format='yyyy')) }}"),
        ("{{ kv('k', namespace='ns') }}", "{{ kv('k', namespace='ns') }}"),
        ('{{ "Hello #{name}" }}', "{{ __weir_concat('Hello ', name) }}"),
        ('{{ "#{a}-#{b}!" }}', "{{ __weir_concat(a, '-', b, '!') }}"),
        ('{{ "#{a}" }}', "{{ a }}"),
        ("{{ 1..5 }}", "{{ __weir_range(1, 5) }}"),
        ("{{ list contains x }}", "{{ __weir_contains(list, x) }}"),
        ("{{ a ~ b }}", "{{ __weir_concat(a, b) }}"),
        ("{{ a / b }} {{ a % b }}", "{{ __weir_div(a, b) }} {{ __weir_mod(a, b) }}"),
        ("{{ outputs.my-task.value }}", "{{ (outputs.my - task.value) }}"),
        ("{{ null }} {{ NONE }} {{ TRUE }} {{ false }}", "{{ none }} {{ none }} {{ true }} {{ false }}"),
        ("{{ 5L }}", "{{ 5 }}"),
        ("{{ 007 + 1.50 }}", "{{ (7 + 1.50) }}"),
        ("{{ [1, 'a'] }} {{ {'k': v} }}", "{{ [1, 'a'] }} {{ {'k': v} }}"),
        ("{{ a.b['c'][d].e }}", "{{ a.b['c'][d].e }}"),
    ],
)
def test_translation_rules(source: str, expected: str) -> None:
    assert translate(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # `~` (110) binds tighter than `|` (100): the filter applies to the whole concatenation.
        ("{{ a ~ b | upper }}", "{{ (__weir_concat(a, b) | upper) }}"),
        # unary `not` has precedence 500 in Pebble
        ("{{ not a == b }}", "{{ ((not a) == b) }}"),
        ("{{ a + b * c }}", "{{ (a + (b * c)) }}"),
        ("{{ a - b - c }}", "{{ ((a - b) - c) }}"),
        ("{{ a or b and c }}", "{{ (a or (b and c)) }}"),
        ("{{ a ?? b | upper }}", "{{ (__weir_nc(a, b) | upper) }}"),
        ("{{ a contains b == c }}", "{{ __weir_contains(a, (b == c)) }}"),
    ],
)
def test_translation_keeps_pebble_precedence(source: str, expected: str) -> None:
    assert translate(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "{% if a %}A{% elseif b %}B{% else %}C{% endif %}",
            "{% if a %}A{% elif b %}B{% else %}C{% endif %}",
        ),
        (
            "{% for x in xs %}{{ x }}{% else %}none{% endfor %}",
            "{% for x in __weir_iter(xs) %}{{ x }}{% else %}none{% endfor %}",
        ),
        ("{% set total = a ?? 0 %}", "{% set total = __weir_nc(a, 0) %}"),
        ("{% filter upper | lower %}x{% endfilter %}", "{% filter upper | lower %}x{% endfilter %}"),
        ("{% macro m(a, b='x') %}{% endmacro %}", "{% macro m(a, b='x') %}{% endmacro %}"),
        ("{%- if a -%}{{- b -}}{%- endif -%}", "{%- if a -%}{{- b -}}{%- endif -%}"),
    ],
)
def test_tags_are_translated(source: str, expected: str) -> None:
    assert translate(source) == expected


def test_loop_index_is_zero_based_inside_for_only() -> None:
    source = "{{ loop.index }}{% for x in xs %}{{ loop.index }}{{ loop.revindex }}{% endfor %}"
    assert translate(source) == (
        "{{ loop.index }}{% for x in __weir_iter(xs) %}{{ loop.index0 }}{{ loop.revindex0 }}{% endfor %}"
    )


@pytest.mark.parametrize(
    "source",
    [
        "{% raw %}{{ a ?? b }} {% if %}{% endraw %}",
        "{%- raw -%} {{ x ? y : z }} {%- endraw -%}",
    ],
)
def test_raw_blocks_are_untouched(source: str) -> None:
    assert translate(source) == source


def test_verbatim_becomes_raw() -> None:
    assert translate("{% verbatim %}{{ x }}{% endverbatim %}") == "{% raw %}{{ x }}{% endraw %}"


def test_comments_are_untouched() -> None:
    assert translate("{# {{ a ?? b }} #}x") == "{# {{ a ?? b }} #}x"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ x ? 'a?b:c' : \"d:e?\" }}", "{{ ('a?b:c' if x else 'd:e?') }}"),
        ("{{ '}}' ~ \"{{\" }}", "{{ __weir_concat('}}', '{{') }}"),
        ("{{ 'a ?? b' }}", "{{ 'a ?? b' }}"),
        ("{{ '#{not interpolated}' }}", "{{ '#{not interpolated}' }}"),
        ("{{ \"#{ {'k': '}'}['k'] }\" }}", "{{ {'k': '}'}['k'] }}"),
        ("{{ {'a': {'b': 1}}}}", "{{ {'a': {'b': 1}} }}"),
    ],
)
def test_string_literals_and_brackets_are_respected(source: str, expected: str) -> None:
    assert translate(source) == expected


def test_pebble_string_escapes() -> None:
    # Pebble only unescapes the quote and the backslash: '\n' stays a backslash and an n.
    assert render("{{ 'it\\'s' }}|{{ \"say \\\"hi\\\"\" }}|{{ 'a\\nb' }}|{{ 'c:\\\\d' }}", {}) == (
        'it\'s|say "hi"|a\\nb|c:\\d'
    )


def test_translation_preserves_line_numbers() -> None:
    source = "line1\n{{ a\n ?? b }}\n{% if\nx %}y{% endif %}"
    translated = translate(source)
    assert translated.count("\n") == source.count("\n")
    assert translated.startswith("line1\n{{ __weir_nc(a, b) \n}}")


def test_reserved_helper_names_are_rejected() -> None:
    with pytest.raises(ExpressionSyntaxError, match="reserved"):
        translate("{{ __weir_nc(a, b) }}")


# -- rendering: null coalescing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ inner.bla ?? block.test.child }}", "awesome"),
        ("{{ block.test.child ?? inner.bla }}", "awesome"),
        ("{{ block[inner].child ?? null }}", "awesome"),
        ("{{ block[missing].child ?? block[inner].child }}", "awesome"),
        ("{{ block[missing].child ?? block[missing2].child ?? block[inner].child }}", "awesome"),
        ("{{ missing ?? block.test.child }}", "awesome"),
        ("{{ null ?? 'IS NULL' }}", "IS NULL"),
        ("{{ undefined ?? 'IS UNDEFINED' }}", "IS UNDEFINED"),
        ("{{ outputs.default.value ?? outputs['error-t1'].value }}", "from error-t1"),
        ("{{ outputs.not_existing ?? '' }}", ""),
        ("{{ (inputs.failed ?? 'NONE') == 'FIRST' ? ko : '0' }}", "0"),
        ("{{ inputs.empty ?? 'fallback' }}", "fallback"),
        ("{{ inputs.name ?? 'fallback' }}", "World"),
        ("{{ (missing | upper) ?? 'f' }}", "f"),
        ("{{ (missing + 1) ?? 2 }}", "2"),
    ],
)
def test_null_coalescing(source: str, expected: str) -> None:
    assert r(source) == expected


def test_null_coalescing_keeps_empty_values() -> None:
    assert r("{{ block ?? 'UNDEFINED' }}", block={}) == "{}"
    assert r("{{ 0 ?? 1 }}|{{ '' ?? 'x' }}|{{ false ?? true }}") == "0||false"


def test_null_coalescing_evaluates_the_fallback_lazily() -> None:
    assert r("{{ inputs.name ?? undefined_variable.deep }}") == "World"


def test_null_coalescing_raises_when_everything_is_undefined() -> None:
    with pytest.raises(UndefinedError, match="Unable to find `missing2`"):
        r("{{ missing ?? missing2 }}")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ null ??? 'IS NULL' }}", ""),
        ("{{ undefined ??? 'IS UNDEFINED' }}", "IS UNDEFINED"),
        ("{{ inputs.empty ??? 'x' }}", ""),
        ("{{ inputs.missing ??? 'x' }}", "x"),
        ("{{ inputs.name ??? 'x' }}", "World"),
        ("{{ a ??? b ??? 'last' }}", "last"),
    ],
)
def test_undefined_coalescing(source: str, expected: str) -> None:
    assert r(source) == expected


def test_undefined_coalescing_typed_keeps_null() -> None:
    assert render_typed("{{ inputs.empty ??? 'x' }}", CONTEXT) is None
    assert render_typed("{{ inputs.empty ?? 'x' }}", CONTEXT) == "x"


# -- rendering: other operators -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ inputs.count == 5 ? 'ok' : ko }}", "ok"),
        ("{{ inputs.count == 1 ? ko : 'else' }}", "else"),
        ("{{ false ? 1 : inputs.flag ? 2 : 3 }}", "2"),
        ("{{ true ? false ? 'a' : 'b' : 'c' }}", "b"),
        ("{{ (outputs.state.data.value ?? 0) == 0 ? 'create' : 'update' }}", "create"),
    ],
)
def test_ternaries(source: str, expected: str) -> None:
    assert r(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ "Hello #{name}!" }}', "Hello World!"),
        ('{{ "#{inputs.count + 1} items" }}', "6 items"),
        ('{{ "a#{null}b" }}', "ab"),
        ("{{ 'a' ~ null ~ 'b' ~ 1 ~ true }}", "ab1true"),
        ("{{ flow.namespace ~ '.' ~ flow.id }}", "company.team.hello"),
    ],
)
def test_concatenation_and_interpolation(source: str, expected: str) -> None:
    assert r(source) == expected


def test_interpolation_alone_keeps_the_type() -> None:
    assert render_typed('{{ "#{inputs.count}" }}', CONTEXT) == 5


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 1..5 }}", "[1,2,3,4,5]"),
        ("{% for i in 1..3 %}{{ i }}{% endfor %}", "123"),
        ("{% for c in 'a'..'c' %}{{ c }}{% endfor %}", "abc"),
        ("{{ range(0, 10, 5) }}", "[0,5,10]"),
        ("{{ 3..1 }}", "[]"),
    ],
)
def test_ranges_are_inclusive(source: str, expected: str) -> None:
    assert r(source) == expected


def test_range_size_is_limited() -> None:
    with pytest.raises(ExpressionLimitError, match="Range too big"):
        r("{{ 1..10000000 }}")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ items contains 'y' }}", "true"),
        ("{{ items contains 'w' }}", "false"),
        ("{{ items contains ['x', 'z'] }}", "true"),
        ("{{ mapping contains 'a' }}", "true"),
        ("{{ 'hello' contains 'ell' }}", "true"),
        ("{{ null contains 'a' }}", "false"),
        ("{{ 'x' equals 'x' }}", "true"),
    ],
)
def test_contains_and_equals(source: str, expected: str) -> None:
    assert r(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 7 / 2 }}", "3"),
        ("{{ -7 / 2 }}", "-3"),
        ("{{ 7.0 / 2 }}", "3.5"),
        ("{{ -7 % 3 }}", "-1"),
        ("{{ 2 + 3 * 4 }}", "14"),
        ("{{ -inputs.count }}", "-5"),
    ],
)
def test_arithmetic_follows_java(source: str, expected: str) -> None:
    assert r(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ '{\"a\": 1}' is json }}", "true"),
        ("{{ 'not json' is json }}", "false"),
        ("{{ mapping is json }}", "true"),
        ("{{ null is json }}", "false"),
        ("{{ 'x' is not json }}", "true"),
        ("{{ inputs.empty is null }}", "true"),
        ("{{ inputs.name is not null }}", "true"),
        ("{{ inputs.name is defined }}", "true"),
        ("{{ inputs.empty is defined }}", "false"),
        ("{{ inputs.missing is defined }}", "false"),
        ("{{ missing.deep.er is not defined }}", "true"),
        (
            "{{ 4 is even }}{{ 3 is odd }}{{ items is iterable }}{{ mapping is map }}{{ '' is empty }}",
            "truetruetruetruetrue",
        ),
    ],
)
def test_tests(source: str, expected: str) -> None:
    assert r(source) == expected


def test_tests_other_than_defined_fail_on_undefined() -> None:
    with pytest.raises(UndefinedError):
        r("{{ missing is null }}")


def test_if_elseif_else() -> None:
    source = "{% if inputs.count > 9 %}big{% elseif inputs.count > 3 %}medium{% else %}small{% endif %}"
    assert r(source) == "medium"


def test_for_loops_follow_pebble() -> None:
    assert r("{% for x in items %}{{ loop.index }}{{ x }}{% endfor %}") == "0x1y2z"
    assert r("{% for x in items %}{{ loop.revindex }}{% endfor %}") == "210"
    assert r("{% for e in mapping %}{{ e.key }}={{ e.value }};{% endfor %}") == "a=1;b=2;"
    assert r("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty"
    assert r("{% for x in inputs.empty %}x{% else %}none{% endfor %}") == "none"


def test_set_and_macro() -> None:
    assert r("{% set n = inputs.count * 2 %}{{ n }}") == "10"
    assert r("{% macro hi(who='you') %}hi {{ who }}{% endmacro %}{{ hi() }}/{{ hi('me') }}") == "hi you/hi me"


def test_hyphen_is_subtraction_at_render_time() -> None:
    assert r("{{ inputs.count-1 }}") == "4"
    with pytest.raises(UndefinedError, match="Unable to find `task`"):
        r("{{ outputs.my-task.value }}")


# -- rendering: output modes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ null }}", ""),
        ("{{ true }}/{{ 1 == 2 }}", "true/false"),
        ("{{ mapping }}", '{"a":1,"b":2}'),
        ("{{ {'a': null, 'b': [1, null]} }}", '{"b":[1,null]}'),
        ("{{ items }}", '["x","y","z"]'),
        ("value: {{ outputs.t.items }}", 'value: ["a","b"]'),
        ("{{ 'é' }}", "é"),
        ("{{ x }}\n", "1\n"),
    ],
)
def test_string_mode_output(source: str, expected: str) -> None:
    assert r(source, x=1) == expected


def test_map_attributes_are_keys_never_dict_methods() -> None:
    assert r("{{ outputs.t.values.count }}") == "3"
    assert r("{{ outputs.t.items }}") == '["a","b"]'
    with pytest.raises(UndefinedError):
        r("{{ mapping.keys }}")


def test_filters_functions_and_json() -> None:
    assert r("{{ mapping | toJson }}|{{ null | toJson }}|{{ 'a' | json }}") == '{"a":1,"b":2}|null|"a"'
    assert r("{{ fromJson('{\"k\": [1, 2]}').k[1] }}|{{ json('{\"a\": true}').a }}") == "2|true"
    assert (
        r("{{ name | upper }}|{{ items | length }}|{{ items | first }}|{{ items | last }}") == "WORLD|3|x|z"
    )
    assert r("{{ {'a': null} | toJson(includeNulls=true) }}") == '{"a":null}'


def test_render_typed_returns_native_values() -> None:
    assert render_typed("{{ mapping }}", CONTEXT) == {"a": 1, "b": 2}
    assert render_typed("{{ 1..3 }}", CONTEXT) == [1, 2, 3]
    assert render_typed("{{ inputs.count + 1 }}", CONTEXT) == 6
    assert render_typed("{{ inputs.flag }}", CONTEXT) is True
    assert render_typed("{{ null }}", CONTEXT) is None
    assert render_typed("{{- inputs.count -}}", CONTEXT) == 5


def test_render_typed_falls_back_to_string_mode() -> None:
    assert render_typed("n={{ inputs.count }}", CONTEXT) == "n=5"
    assert render_typed("{{ inputs.count }}\n", CONTEXT) == "5\n"
    assert render_typed("no braces", CONTEXT) == "no braces"


def test_render_fast_path_returns_source() -> None:
    source = "no expression here"
    assert render(source, {}) is source


def test_undefined_errors_use_kestra_wording() -> None:
    with pytest.raises(UndefinedError) as caught:
        render("{{inputs.invalid}}", {})
    assert "Unable to find `inputs` used in the expression `{{inputs.invalid}}` at line 1" in str(
        caught.value
    )
    with pytest.raises(UndefinedError, match=r"(?s)Unable to find `nope` .* at line 2"):
        render("first\n{{ inputs.nope }}", {"inputs": {}})
    with pytest.raises(UndefinedError, match="Unable to find `x`"):
        render_typed("{{ x }}", {})


def test_undefined_in_condition_raises() -> None:
    with pytest.raises(UndefinedError):
        r("{% if missing %}x{% endif %}")


# -- sandbox ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ items.__class__ ?? 'safe' }}",
        "{{ items.append('w') }}",
        "{{ 'x' * 100000000 }}",
    ],
)
def test_sandbox_blocks_unsafe_access(source: str) -> None:
    with pytest.raises(SecurityError):
        r(source)


def test_include_and_import_fail_clearly() -> None:
    with pytest.raises(ExpressionSyntaxError, match="the 'include' tag is not available"):
        render("{% include 'x' %}", {})
    with pytest.raises(TemplateSyntaxError, match="can not import other templates"):
        render("{% import 'x' as y %}", {})
    # Even raw Jinja handed straight to the environment cannot load a template.
    with pytest.raises(TemplateRuntimeError, match="no template loader"):
        make_environment().from_string("{% include 'x' %}").render()


def test_jinja_only_builtins_do_not_exist() -> None:
    with pytest.raises(TemplateAssertionError, match="No filter named 'int'"):
        r("{{ '1' | int }}")
    with pytest.raises(UndefinedError):
        r("{{ dict(a=1) }}")
    with pytest.raises(UndefinedError):
        r("{{ lipsum() }}")


def test_make_environment_configuration() -> None:
    environment = make_environment()
    assert environment.autoescape is False
    assert environment.loader is None
    assert environment.keep_trailing_newline is True
    assert environment.sandboxed
    assert "json" in environment.tests
    assert "toJson" in environment.filters
    assert environment.from_string(translate("{{ a ?? 'b' }}")).render() == "b"


# -- check_syntax -------------------------------------------------------------------------------

KESTRA_EXPRESSIONS = [
    "{{ outputs.default.value ?? outputs['error-t1'].value }}",
    "{{taskrun.attemptsCount == 1 ? 'ok' : ko}}",
    "{{ inputs.failed == 'true' ? ko: taskrun.id }}",
    "{{ (outputs.state.data.value ?? 0) == 0 ? 'create' : ( outputs.state.data.value == 1 ? 'update' : 'delete') }}",
    "{{ (currentEachOutput(outputs.getEach1).data.value ?? 'null') ~ '-' ~ taskrun.value }}",
    "{{ outputs['1-1-1_output'][parents[1].taskrun.value][parents[0].taskrun.value][taskrun.value].value }}",
    "{{ taskrun.value equals 'value 2' }}",
    "{{ json(response.body).id is not null }}",
    "{{ kv('my-key', inputs.namespace, inputs.errorOnMissing).field }}",
    "{{ parent.taskrun.value | jq('.value') }}",
    "{{trigger | json }}",
    "{{ outputs.second.uris['out/stay.txt'] }}",
    "{%- for log in errorLogs() -%}\n  {{ log.message }}\n{%- endfor -%}",
    "{{ now() | date(format='yyyy-MM-dd', timeZone='UTC') }}",
    "{{ inputs.crash is defined }}",
    "{{ labels.system.correlationId }}",
]


@pytest.mark.parametrize("source", KESTRA_EXPRESSIONS)
def test_real_kestra_expressions_are_valid(source: str) -> None:
    assert check_syntax(source) == []


@pytest.mark.parametrize("source", ["plain", "", "{ a }", "#{x}", "} {"])
def test_check_syntax_fast_path(source: str) -> None:
    assert check_syntax(source) == []


def test_check_syntax_error_message_and_offset() -> None:
    assert check_syntax("{{ foo }") == [
        ExpressionIssue("expression syntax error: unexpected '}' (in \"{{ foo }\")", 7)
    ]


@pytest.mark.parametrize(
    ("source", "detail", "offset"),
    [
        ("{{ foo", "unexpected end of template, missing '}}'", 0),
        ("text {{ 'abc }}", "unclosed string literal", 8),
        ("{{ (a }}", "unexpected '}', expected ')'", 6),
        ("{{ [a ", "unclosed '['", 3),
        ("{{ a ? b }}", "unexpected end of expression, expected ':'", 9),
        ("{{ }}", "expected an expression", 3),
        ("{{ a b }}", "unexpected 'b'", 5),
        ("{{ a not b }}", "unexpected 'not'", 5),
        ("{{ a ?? }}", "expected an expression", 8),
        ("{{ f(x=1, 2) }}", "positional arguments must be declared before any named arguments", 10),
        ("{{ a.'b' }}", "unexpected string literal, expected an attribute name after '.'", 5),
        ("{{ a ! b }}", "unexpected character '!'", 5),
        ("{# open {{ x }}", "unclosed comment (missing '#}')", 0),
        ("x\n{% if a %}y", "unclosed 'if' (missing '{% endif %}')", 5),
        ("{% endfor %}", "unexpected 'endfor'", 3),
        ("{% if a %}{% endfor %}", "unexpected 'endfor' (the innermost open tag is 'if')", 13),
        ("{% if a %}{% else %}{% else %}{% endif %}", "unexpected 'else' after 'else'", 23),
        ("{% elseif a %}", "unexpected 'elseif' outside of if", 3),
        ("{% elif a %}{% endif %}", "unknown tag 'elif' (Pebble uses 'elseif')", 3),
        ("{% frobnicate %}", "unknown tag 'frobnicate'", 3),
        ("{% for a, b in m %}{% endfor %}", "unexpected ',', expected 'in'", 8),
        ("{% set true = 1 %}", "can not assign a value to true", 7),
        ("{% include 'x' %}", "the 'include' tag is not available", 3),
        ("{% extends 'x' %}", "the 'extends' tag is not available", 3),
        ("{% raw %}never closed", "unclosed 'raw' (missing '{% endraw %}')", 0),
    ],
)
def test_check_syntax_errors(source: str, detail: str, offset: int) -> None:
    issues = check_syntax(source)
    assert len(issues) == 1
    assert issues[0].message.startswith(f"expression syntax error: {detail}")
    assert issues[0].offset == offset


def test_check_syntax_reports_errors_jinja_finds_after_translation() -> None:
    source = "{{ x }}\n  {% macro m(a='x', b) %}{% endmacro %}"
    issues = check_syntax(source)
    assert len(issues) == 1
    assert "non-default argument follows default argument" in issues[0].message
    assert issues[0].offset == source.index("{% macro")


def test_expression_syntax_error_pickles() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        translate("{{ foo }")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (str(copy), copy.offset, copy.lineno) == (str(caught.value), 7, 1)


def test_translator_errors_are_template_syntax_errors_with_offsets() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        render("line1\n{{ 1 + }}", {})
    error = caught.value
    assert isinstance(error, ExpressionSyntaxError)
    assert error.lineno == 2
    assert error.offset == len("line1\n{{ 1 + ")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ outputs.my-task.value }}",
            "\"outputs.my-task.value\" reads as outputs.my minus task.value; use outputs['my-task'].value",
        ),
        (
            "{{ inputs.my-input }}",
            "\"inputs.my-input\" reads as inputs.my minus input; use inputs['my-input']",
        ),
        (
            "{{ tasks.my-task.state }}",
            "\"tasks.my-task.state\" reads as tasks.my minus task.state; use tasks['my-task'].state",
        ),
        ("{{ vars.my-var }}", "\"vars.my-var\" reads as vars.my minus var; use vars['my-var']"),
        (
            "{{ trigger.body.my-key }}",
            "\"trigger.body.my-key\" reads as trigger.body.my minus key; use trigger.body['my-key']",
        ),
        (
            "{{ labels.team-name }}",
            "\"labels.team-name\" reads as labels.team minus name; use labels['team-name']",
        ),
        (
            "{{ outputs.my-long-task-2.value }}",
            '"outputs.my-long-task-2.value" reads as outputs.my minus long minus task minus 2.value; '
            "use outputs['my-long-task-2'].value",
        ),
        (
            "{{ outputs.step-1.value }}",
            "\"outputs.step-1.value\" reads as outputs.step minus 1.value; use outputs['step-1'].value",
        ),
        (
            "{{ outputs.t.values.foo-bar }}",
            "\"outputs.t.values.foo-bar\" reads as outputs.t.values.foo minus bar; use outputs.t.values['foo-bar']",
        ),
        (
            "{{ outputs['a'].my-field }}",
            "\"outputs['a'].my-field\" reads as outputs['a'].my minus field; use outputs['a']['my-field']",
        ),
    ],
)
def test_hyphen_pitfall_is_reported(source: str, message: str) -> None:
    assert check_syntax(source) == [ExpressionIssue(message, 3)]


def test_hyphen_pitfall_is_found_in_tags_and_interpolations() -> None:
    issues = check_syntax('{% if outputs.a-b.ok %}{{ "x #{inputs.c-d}" }}{% endif %}')
    assert [issue.offset for issue in issues] == [6, 31]
    assert issues[0].message.startswith('"outputs.a-b.ok" reads as')
    assert issues[1].message.startswith('"inputs.c-d" reads as')


@pytest.mark.parametrize(
    "source",
    [
        "{{ outputs['my-task'].value }}",
        "{{ inputs['my-input'] }}",
        "{{ a - b }}",
        "{{ a-b }}",
        "{{ foo.my-task }}",
        "{{ inputs.count-1 }}",
        "{{ inputs.count - x }}",
        "{{ outputs.a - task.value }}",
        "{{ vars.total-vars.used }}",
        "{{ 'outputs.my-task.value' }}",
        "{% raw %}{{ outputs.my-task.value }}{% endraw %}",
        "{{ x.outputs.my-task }}",
    ],
)
def test_hyphen_pitfall_false_positives(source: str) -> None:
    assert check_syntax(source) == []


def test_pitfalls_before_a_syntax_error_are_still_reported() -> None:
    issues = check_syntax("{{ inputs.my-input }} {{ oops }")
    assert [issue.offset for issue in issues] == [3, 30]
    assert issues[1].message.startswith("expression syntax error: unexpected '}'")


def test_expression_issue_is_frozen() -> None:
    issue = ExpressionIssue("m", 1)
    with pytest.raises(AttributeError):
        issue.offset = 2  # type: ignore[misc]


def test_check_syntax_results_are_independent_copies() -> None:
    first = check_syntax("{{ foo }")
    first.clear()
    assert len(check_syntax("{{ foo }")) == 1


def test_check_syntax_is_fast() -> None:
    plain = "a plain string without any expression"
    started = time.perf_counter()
    for _ in range(2000):
        check_syntax(plain)
    assert (time.perf_counter() - started) / 2000 < 50e-6

    typical = "{{ outputs.default.value ?? outputs['error-t1'].value }}"
    check_syntax(typical)
    started = time.perf_counter()
    for _ in range(2000):
        check_syntax(typical)
    assert (time.perf_counter() - started) / 2000 < 0.5e-3
