"""User regular expressions (apps/engine/expressions/userregex.py, docs/adr/0012): every place that
matches a pattern written by a user stops a catastrophic one at a time limit with a clear message,
refuses patterns too large to compile safely, and keeps Java's syntax.

Pure tests (no database). The catastrophic pattern is ``(a|aa)+$`` on 39 ``a`` and a ``!``: it
takes exponential time in a backtracking engine, including the ``regex`` package; ``(a+)+$``, the
textbook example, is recognised by that package's optimiser and answers at once (tested too).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from apps.engine.expressions import limits, render, userregex
from apps.engine.expressions.limits import RenderInterrupted, interruptible

EVIL = "(a|aa)+$"
TEXTBOOK = "(a+)+$"
SUBJECT = "a" * 39 + "!"


@pytest.fixture(autouse=True)
def _no_quarantine() -> Iterator[None]:
    userregex.forget_slow_patterns()
    yield
    userregex.forget_slow_patterns()


@pytest.fixture
def short_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Budgets short enough to keep the suite fast; the behaviour does not depend on them."""
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 0.3)
    monkeypatch.setattr(userregex, "MAX_REGEX_SECONDS", 0.3)
    yield


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except Exception as error:
        return error, time.monotonic() - started


@pytest.mark.parametrize("expression", [
    f"{{{{ '{SUBJECT}' | replace({{'{EVIL}': 'x'}}, regexp=true) }}}}",
    f"{{{{ '{SUBJECT}' | split('{EVIL}') }}}}",
    f"{{{{ {{'s': '{SUBJECT}'}} | jq('.s | test(\"{EVIL}\")') }}}}",
], ids=["replace-regexp", "split", "jq-test"])
def test_a_catastrophic_pattern_in_a_render_fails_with_the_pattern_named(short_limits: None, expression: str) -> None:
    error, seconds = timed(lambda: render(expression, {}))
    print(f"{expression[:40]}…: {type(error).__name__} after {seconds:.2f}s")
    assert isinstance(error, userregex.RegexTimeout), error
    assert f"regular expression `{EVIL}` took too long" in str(error)


def test_a_pattern_that_took_too_long_is_refused_at_once_for_a_while(
        short_limits: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(userregex.RegexTimeout, match="took too long \\(stopped after"):
        userregex.fullmatch(EVIL, SUBJECT)
    error, seconds = timed(lambda: userregex.fullmatch(EVIL, "aa"))  # harmless text, same pattern
    print(f"quarantined pattern refused after {seconds * 1000:.1f} ms")
    assert isinstance(error, userregex.RegexTimeout) and "is not run again before then" in str(error)
    monkeypatch.setattr(userregex, "QUARANTINE_SECONDS", 0.0)
    userregex.forget_slow_patterns()
    with pytest.raises(userregex.RegexTimeout):
        userregex.fullmatch(EVIL, SUBJECT)
    assert userregex.fullmatch(EVIL, "aa") is not None  # the quarantine is over


def test_the_textbook_pattern_answers_at_once() -> None:
    expression = f"{{{{ '{SUBJECT}' | replace({{'{TEXTBOOK}': 'x'}}, regexp=true) }}}}"
    assert render(expression, {}) == SUBJECT
    assert render(f"{{{{ {{'s': '{SUBJECT}'}} | jq('.s | test(\"{TEXTBOOK}\")') | first }}}}", {}) == "false"


def test_outside_a_render_a_match_gets_the_default_limit(short_limits: None) -> None:
    with pytest.raises(userregex.RegexTimeout, match="took too long"):
        userregex.fullmatch(EVIL, SUBJECT)
    assert userregex.fullmatch("a+!", SUBJECT) is not None


def test_inside_a_render_a_match_gets_what_is_left_of_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_RENDER_SECONDS", 5.0)
    assert userregex.time_limit() == userregex.MAX_REGEX_SECONDS
    with limits.time_limit():
        assert 4.0 < userregex.time_limit() <= 5.0


@pytest.mark.parametrize(("pattern", "message"), [
    ("(", "invalid regular expression `(`"),
    ("(?:(?:a{100}){100}){100}", "is too large"),
    ("(?:a{1000}){1000}", "is too large"),
    ("x" * (userregex.MAX_PATTERN_CHARS + 1), "longer than"),
], ids=["syntax", "nested-counts", "counts", "length"])
def test_patterns_that_cannot_be_used_are_refused_before_compiling(pattern: str, message: str) -> None:
    error, _ = timed(lambda: userregex.compile_user(pattern))
    assert isinstance(error, userregex.InvalidRegex) and message in str(error), error
    assert userregex.check_pattern(pattern) == str(error)


@pytest.mark.parametrize("pattern", [r"\d{4}-\d{2}-\d{2}", "[a-z]{1,64}@[a-z.]{1,255}", "(?:ab){3}c{2,5}",
                                     r"[{]\{x{2}"])
def test_ordinary_counted_patterns_are_accepted(pattern: str) -> None:
    assert userregex.check_pattern(pattern) is None


def test_java_syntax_keeps_its_meaning() -> None:
    assert render("{{ 'john smith' | replace({'(?<first>\\\\w+) (?<last>\\\\w+)': '${last} $1'}, regexp=true) }}",
                  {}) == "smith john"
    assert userregex.fullmatch("a++b", "aaab") is not None  # possessive quantifier
    assert userregex.fullmatch("(?>a+)b", "aab") is not None  # atomic group
    assert userregex.search("(?<=x)y", "xy") is not None  # lookbehind


def test_a_render_stops_when_its_host_says_so() -> None:
    stop = threading.Event()
    template = "{% for i in range(1, 100000) %}{{ i }}{% endfor %}"
    assert len(render(template, {})) > 0
    stop.set()
    with interruptible(stop.is_set), pytest.raises(RenderInterrupted, match="the attempt was killed"):
        render(template, {})
    assert len(render(template, {})) > 0  # only inside the block


def test_an_input_validator_that_takes_too_long_is_a_problem(short_limits: None) -> None:
    from apps.engine.expressions import render_typed
    from apps.engine.inputs import resolve_inputs

    (result,) = resolve_inputs([{"id": "s", "type": "STRING", "validator": EVIL}], {"s": SUBJECT},
                               render_typed=render_typed)
    assert len(result.problems) == 1 and "took too long" in result.problems[0], result.problems


def test_a_regex_filter_of_a_flow_trigger_that_takes_too_long_is_a_condition_error(short_limits: None) -> None:
    from apps.triggers.conditions import ConditionContext, ConditionError, Subject, where_met

    subject = Subject(namespace="acme", flow_id="a" * 39 + "-up", state="SUCCESS")
    where = {"id": "w", "filters": [{"field": "FLOW_ID", "type": "REGEX", "value": EVIL}]}
    with pytest.raises(ConditionError, match="took too long"):
        where_met(where, ConditionContext(subject, {}))
    where = {"id": "w", "filters": [{"field": "FLOW_ID", "type": "REGEX", "value": "a+-up"}]}
    assert where_met(where, ConditionContext(subject, {}))


@pytest.mark.parametrize(("model", "values"), [
    ("apps.flows.inputs:StringInput", {"id": "s", "type": "STRING", "validator": "(?:a{1000}){1000}"}),
    ("plugins.core.triggers:Filter", {"field": "FLOW_ID", "type": "REGEX", "value": "(?:a{1000}){1000}"}),
], ids=["input-validator", "trigger-filter"])
def test_flow_validation_refuses_patterns_that_cannot_be_used(model: str, values: dict[str, Any]) -> None:
    import importlib

    from pydantic import ValidationError

    module, name = model.split(":")
    with pytest.raises(ValidationError, match="is too large"):
        getattr(importlib.import_module(module), name).model_validate(values)


@pytest.mark.parametrize(("program", "value", "expected"), [
    ('test("A"; "i")', "abc", [True]),
    ('test("a"; "x")', "bcd", [False]),
    ('[match("(?<x>a)(b)?"; "g") | [.offset, .length, .string, (.captures | map(.name))]]', "aab",
     [[[0, 1, "a", ["x", None]], [1, 2, "ab", ["x", None]]]]),
    ('match("(b)?c") | .captures[0]', "c", [{"offset": -1, "length": 0, "string": None, "name": None}]),
    ('capture("(?<y>\\\\d+)-(?<m>\\\\d+)")', "2024-05", [{"y": "2024", "m": "05"}]),
    ('sub("a"; "X")', "banana", ["bXnana"]),
    ('gsub("(?<c>[an])"; .c + .c)', "banana", ["baannaannaa"]),
    ('gsub("A"; "-"; "i")', "banana", ["b-n-n-"]),
], ids=["test-i", "test-false", "match-g", "match-unset-group", "capture", "sub", "gsub-captures", "gsub-flags"])
def test_jq_regex_builtins(program: str, value: str, expected: list[Any]) -> None:
    from apps.engine.expressions import jq

    assert jq.run(program, value) == expected


@pytest.mark.parametrize("program", [f'match("{EVIL}")', f'capture("{EVIL}")', f'gsub("{EVIL}"; "x")',
                                     f'test("{EVIL}"; "g")'])
def test_jq_regex_builtins_stop_at_the_time_limit(short_limits: None, program: str) -> None:
    from apps.engine.expressions import jq

    with limits.time_limit(), pytest.raises(userregex.RegexTimeout, match="took too long"):
        jq.run(program, SUBJECT)
    userregex.forget_slow_patterns()


def test_jq_refuses_unknown_regex_flags() -> None:
    from apps.engine.expressions import jq

    with pytest.raises(jq.JqError, match="not a valid modifier string"):
        jq.run('test("a"; "q")', "a")
