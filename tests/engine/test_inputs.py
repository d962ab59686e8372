"""Input value resolution (KESTRA.md §1.3): typing, validators, defaults, dependsOn, nesting.

Pure tests (no Django, no database): run with ``pytest tests/engine/test_inputs.py -p no:django``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.engine.expressions import render_typed
from apps.engine.inputs import (
    InputProblem,
    InputsInvalid,
    ResolvedInput,
    defaults_for_render,
    resolve_inputs,
    typed_inputs,
)

FLOWS = Path("/work/shared/conformance/flows/valids")


def resolve(
    declarations: Sequence[Mapping[str, Any]], provided: dict[str, Any], **kwargs: Any
) -> list[ResolvedInput]:
    return resolve_inputs(declarations, provided, render_typed=render_typed, **kwargs)


def one(declaration: dict[str, Any], value: Any = None, **kwargs: Any) -> ResolvedInput:
    provided = {} if value is None else {declaration["id"]: value}
    (result,) = resolve([declaration], provided, **kwargs)
    return result


def ok(declaration: dict[str, Any], value: Any) -> Any:
    result = one(declaration, value)
    assert result.problems == [], result.problems
    assert result.enabled
    json.dumps(result.value)  # typed values are stored in a JSON column
    return result.value


def problem(declaration: dict[str, Any], value: Any) -> str:
    result = one(declaration, value)
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


# -- every type: valid values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declaration", "value", "expected"),
    [
        ({"type": "STRING"}, "hello", "hello"),
        ({"type": "STRING"}, 5, "5"),
        ({"type": "STRING", "validator": r"A\d+"}, "A123", "A123"),
        ({"type": "ENUM", "values": ["ENUM_VALUE", "OTHER_ONE"]}, "OTHER_ONE", "OTHER_ONE"),
        ({"type": "SELECT", "values": ["a", "b"]}, "b", "b"),
        ({"type": "SELECT", "values": ["a"], "allowCustomValue": True}, "z", "z"),
        ({"type": "MULTISELECT", "values": ["a", "b", "c"]}, ["a", "c"], ["a", "c"]),
        ({"type": "MULTISELECT", "values": ["a", "b"]}, '["b"]', ["b"]),
        ({"type": "MULTISELECT", "options": ["a", "b"]}, ["a"], ["a"]),
        ({"type": "MULTISELECT", "values": ["a"], "allowCustomValue": True}, ["a", "x"], ["a", "x"]),
        ({"type": "INT"}, 42, 42),
        ({"type": "INT"}, "-42", -42),
        ({"type": "INT", "min": 10, "max": 20}, "10", 10),
        ({"type": "FLOAT"}, "42.42", 42.42),
        ({"type": "FLOAT"}, 3, 3.0),
        ({"type": "FLOAT", "min": 0.1, "max": 0.5}, 0.5, 0.5),
        ({"type": "BOOLEAN"}, True, True),
        ({"type": "BOOLEAN"}, "FALSE", False),
        ({"type": "BOOL"}, "true", True),
        ({"type": "DATETIME"}, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ({"type": "DATETIME"}, "2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00Z"),
        ({"type": "DATETIME"}, "2024-01-01T00:00Z", "2024-01-01T00:00:00Z"),
        ({"type": "DATETIME"}, "2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.500Z"),
        ({"type": "DATETIME"}, "2024-01-01T00:00:00.123456789Z", "2024-01-01T00:00:00.123456789Z"),
        ({"type": "DATE"}, "2023-06-01", "2023-06-01"),
        ({"type": "DATE", "after": "2023-01-01", "before": "2023-12-31"}, "2023-01-01", "2023-01-01"),
        ({"type": "TIME"}, "18:27", "18:27:00"),
        ({"type": "TIME"}, "18:27:49.250", "18:27:49.25"),
        ({"type": "DURATION"}, "PT5M6S", "PT5M6S"),
        ({"type": "DURATION", "min": "PT10S", "max": "PT20S"}, "PT15S", "PT15S"),
        ({"type": "FILE"}, "kestra:///io/kestra/tests/inputs/file.txt", "kestra:///io/kestra/tests/inputs/file.txt"),
        ({"type": "FILE"}, "weir://ns/file.txt", "weir://ns/file.txt"),
        ({"type": "JSON"}, '{ "foo": "" }', {"foo": ""}),
        ({"type": "JSON"}, '{"json":{"someEmptyObject":{}}}', {"json": {"someEmptyObject": {}}}),
        ({"type": "JSON"}, {"already": ["parsed"]}, {"already": ["parsed"]}),
        ({"type": "YAML"}, "some: property\nalist:\n- of\n- values", {"some": "property", "alist": ["of", "values"]}),
        ({"type": "YAML"}, "when: 2024-01-31", {"when": "2024-01-31"}),
        ({"type": "URI"}, "https://www.google.com", "https://www.google.com"),
        ({"type": "URI"}, "s3://bucket/key.csv", "s3://bucket/key.csv"),
        ({"type": "SECRET"}, "my-secret", "my-secret"),
        ({"type": "SECRET", "validator": "[a-z-]+"}, "my-secret", "my-secret"),
        ({"type": "ARRAY", "itemType": "INT"}, "[1, 2, 3]", [1, 2, 3]),
        ({"type": "ARRAY", "itemType": "INT"}, ["1", 2], [1, 2]),
        ({"type": "ARRAY", "itemType": "STRING"}, ["a", "b"], ["a", "b"]),
        ({"type": "ARRAY", "itemType": "DATE"}, ["2024-01-01"], ["2024-01-01"]),
        ({"type": "EMAIL"}, "jane.doe@example.com", "jane.doe@example.com"),
    ],
    ids=[
        "string", "string-from-int", "string-validator", "enum", "select", "select-custom",
        "multiselect", "multiselect-json", "multiselect-options", "multiselect-custom",
        "int", "int-from-string", "int-min-inclusive", "float", "float-from-int", "float-max-inclusive",
        "bool", "bool-string-case", "bool-alias", "datetime", "datetime-offset", "datetime-no-seconds",
        "datetime-millis", "datetime-nanos", "date", "date-bounds", "time-hhmm", "time-fraction",
        "duration", "duration-bounds", "file-kestra-uri", "file-weir-uri", "json", "json-empty-object",
        "json-parsed", "yaml", "yaml-date", "uri", "uri-s3", "secret", "secret-validator",
        "array-json", "array-list", "array-string", "array-date", "email",
    ],
)  # fmt: skip
def test_valid_values_are_typed(declaration: dict[str, Any], value: Any, expected: Any) -> None:
    assert ok({"id": "x", **declaration}, value) == expected


# -- every type: invalid values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declaration", "value", "message"),
    [
        ({"type": "STRING", "validator": r"A\d+"}, "A12b", "it must match the pattern `A\\d+`, but received `A12b`"),
        ({"type": "STRING"}, {"a": 1}, "it must be a string"),
        ({"type": "ENUM", "values": ["ENUM_VALUE", "OTHER_ONE"]}, "NOPE",
         "it must match the values `[ENUM_VALUE, OTHER_ONE]`, but received `NOPE`"),
        ({"type": "SELECT", "values": ["a", "b"]}, "c", "it must match the values `[a, b]`"),
        ({"type": "MULTISELECT", "values": ["a", "b"]}, ["a", "z"], "it must match the values `[a, b]`"),
        ({"type": "MULTISELECT", "values": ["a"]}, "not json", "it must be a JSON list"),
        ({"type": "MULTISELECT", "values": ["a"]}, '{"a": 1}', "it must be a list"),
        ({"type": "INT"}, "12.5", "it must be an integer, but received `12.5`"),
        ({"type": "INT"}, True, "it must be an integer"),
        ({"type": "INT", "min": 18}, 12, "it must be more than `18`, but received `12`"),
        ({"type": "INT", "max": 20}, "21", "it must be less than `20`, but received `21`"),
        ({"type": "FLOAT"}, "abc", "it must be a number"),
        ({"type": "FLOAT"}, "NaN", "it must be a number"),
        ({"type": "FLOAT", "min": 0.1}, "0.05", "it must be more than `0.1`"),
        ({"type": "BOOLEAN"}, "yes", "it must be `true` or `false`, but received `yes`"),
        ({"type": "BOOLEAN"}, 1, "it must be `true` or `false`"),
        ({"type": "DATETIME"}, "2024-01-01T00:00:00", "it must be an ISO-8601 instant"),
        ({"type": "DATETIME"}, "2024-02-30T00:00:00Z", "it must be an ISO-8601 instant"),
        ({"type": "DATETIME"}, "yesterday", "it must be an ISO-8601 instant"),
        ({"type": "DATETIME", "after": "2023-01-01T00:00:00Z"}, "2022-12-31T23:59:59Z",
         "it must be after `2023-01-01T00:00:00Z`"),
        ({"type": "DATETIME", "before": "2023-12-31T23:59:59Z"}, "2024-01-01T00:00:00.000000001Z",
         "it must be before `2023-12-31T23:59:59Z`"),
        ({"type": "DATE"}, "2023/06/01", "it must be a date"),
        ({"type": "DATE"}, "2023-13-01", "it must be a date"),
        ({"type": "DATE", "before": "2023-12-31"}, "2024-01-01", "it must be before `2023-12-31`"),
        ({"type": "TIME"}, "25:00", "it must be a time"),
        ({"type": "TIME", "after": "01:00:00"}, "00:59:59", "it must be after `01:00:00`"),
        ({"type": "DURATION"}, "5 minutes", "it must be an ISO-8601 duration"),
        ({"type": "DURATION"}, "P1M", "it must be an ISO-8601 duration"),
        ({"type": "DURATION", "min": "PT10S"}, "PT5S", "it must be more than `PT10S`, but received `PT5S`"),
        ({"type": "DURATION", "max": "PT20S"}, "PT1M", "it must be less than `PT20S`"),
        ({"type": "JSON"}, "{not json", "it must be valid JSON"),
        ({"type": "YAML"}, "a: [unclosed", "it must be valid YAML"),
        ({"type": "URI"}, "not a uri", "it must be a URI"),
        ({"type": "EMAIL"}, "jane.doe", "it must be a valid email, but received `jane.doe`"),
        ({"type": "ARRAY", "itemType": "INT"}, '[1, "x"]', "unable to parse array element as `INT` on `x`"),
        ({"type": "ARRAY", "itemType": "INT"}, "1, 2", "it must be a JSON list"),
        ({"type": "ARRAY"}, "[1]", "its declaration has no `itemType`"),
        ({"type": "NOPE"}, "x", "unknown type `NOPE`"),
    ],
    ids=[
        "string-validator", "string-not-scalar", "enum", "select", "multiselect-value", "multiselect-not-json",
        "multiselect-not-list", "int-decimal", "int-bool", "int-min", "int-max", "float-text", "float-nan",
        "float-min", "bool-text", "bool-int", "datetime-no-zone", "datetime-bad-day", "datetime-text",
        "datetime-after", "datetime-before-nanos", "date-format", "date-month", "date-before", "time-hour",
        "time-after", "duration-text", "duration-months", "duration-min", "duration-max", "json", "yaml",
        "uri", "email", "array-element", "array-not-json", "array-no-item-type", "unknown-type",
    ],
)  # fmt: skip
def test_invalid_values_name_the_input_and_constraint(
    declaration: dict[str, Any], value: Any, message: str
) -> None:
    text = problem({"id": "field", **declaration}, value)
    assert text.startswith("Invalid input for `field`, ")
    assert message in text


def test_secret_problems_never_echo_the_value() -> None:
    text = problem({"id": "token", "type": "SECRET", "validator": "[0-9]+"}, "hunter2")
    assert text == "Invalid input for `token`, it must match the pattern `[0-9]+`"


def test_long_values_are_cut_short_in_messages() -> None:
    text = problem({"id": "n", "type": "INT"}, "9" * 5000 + "x")
    assert len(text) < 300


def test_invalid_validator_pattern_is_a_problem_not_a_crash() -> None:
    assert "is not a valid pattern" in problem({"id": "s", "type": "STRING", "validator": "("}, "x")


# -- required, defaults, nulls ------------------------------------------------------------------------


def test_missing_required_input() -> None:
    assert one({"id": "name", "type": "STRING"}).problems == ["Missing required input: `name`"]


def test_required_is_true_by_default_and_false_gives_null() -> None:
    result = one({"id": "opt", "type": "INT", "required": False})
    assert (result.enabled, result.value, result.problems) == (True, None, [])


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ({"type": "INT", "defaults": 5}, 5),
        ({"type": "DATETIME", "defaults": "2013-08-09T14:19:00Z"}, "2013-08-09T14:19:00Z"),
        ({"type": "STRING", "defaults": "", "required": True}, ""),
        ({"type": "JSON", "defaults": {"a": [1]}}, {"a": [1]}),
    ],
    ids=["int", "datetime", "empty-string", "json-mapping"],
)
def test_defaults_apply_when_nothing_is_provided(declaration: dict[str, Any], expected: Any) -> None:
    assert ok({"id": "x", **declaration}, None) == expected


def test_provided_value_wins_over_defaults() -> None:
    assert ok({"id": "x", "type": "INT", "defaults": 5}, "7") == 7


def test_defaults_loaded_by_yaml_as_native_types_are_accepted() -> None:
    declarations = yaml.safe_load(
        """
        - {id: d, type: DATE, defaults: 2024-01-31, after: 2023-01-01}
        - {id: i, type: DATETIME, defaults: 2013-08-09T14:19:00+02:00}
        - {id: t, type: TIME, defaults: "10:00:00", before: 11:59:59}
        """
    )
    results = resolve(declarations, {})
    assert [r.problems for r in results] == [[], [], []]
    assert typed_inputs(results) == {"d": "2024-01-31", "i": "2013-08-09T12:19:00Z", "t": "10:00:00"}


def test_defaults_are_validated_too() -> None:
    assert (
        "it must be more than `10`" in one({"id": "n", "type": "INT", "defaults": 3, "min": 10}).problems[0]
    )


def test_empty_form_field_means_not_provided_for_non_text_types() -> None:
    assert one({"id": "n", "type": "INT", "required": False}, "").problems == []
    assert one({"id": "n", "type": "INT", "defaults": 4}, "").value == 4
    assert ok({"id": "s", "type": "STRING"}, "") == ""


def test_file_inputs_ignore_defaults() -> None:
    assert one({"id": "f", "type": "FILE", "defaults": "kestra:///x"}).problems == [
        "Missing required input: `f`"
    ]


def test_name_is_an_alias_of_id() -> None:
    assert typed_inputs(resolve([{"name": "legacy", "type": "STRING"}], {"legacy": "v"})) == {"legacy": "v"}


def test_undeclared_provided_keys_are_ignored() -> None:
    results = resolve([{"id": "a", "type": "STRING"}], {"a": "x", "other": "ignored"})
    assert typed_inputs(results) == {"a": "x"}


# -- FILE -------------------------------------------------------------------------------------------


class FakeStorage:
    def __init__(self) -> None:
        self.stored: list[tuple[str, Any]] = []

    def __call__(self, input_id: str, value: Any) -> str:
        content = value.read() if hasattr(value, "read") else value
        if content in (b"", ""):
            raise ValueError(f"Can't upload file: {input_id}")
        self.stored.append((input_id, content))
        return f"kestra:///ns/flow/executions/e1/inputs/{input_id}/upload.txt"


@pytest.mark.parametrize(
    "value", [b"hello", io.BytesIO(b"hello"), "/tmp/upload.txt"], ids=["bytes", "stream", "path"]
)
def test_file_values_go_through_store_file(value: Any) -> None:
    storage = FakeStorage()
    result = one({"id": "file", "type": "FILE"}, value, store_file=storage)
    assert result.problems == []
    assert result.value == "kestra:///ns/flow/executions/e1/inputs/file/upload.txt"
    assert storage.stored[0][0] == "file"


def test_file_storage_uri_is_not_stored_again() -> None:
    storage = FakeStorage()
    assert (
        one({"id": "f", "type": "FILE"}, "kestra:///a/b.txt", store_file=storage).value == "kestra:///a/b.txt"
    )
    assert storage.stored == []


def test_file_storage_failure_is_a_problem() -> None:
    result = one({"id": "f", "type": "FILE"}, b"", store_file=FakeStorage())
    assert result.problems == [
        "Invalid input for `f`, the file could not be stored: Can't upload file: f, but received `<0 bytes>`"
    ]


def test_file_upload_without_storage_is_a_problem() -> None:
    assert "files cannot be uploaded here" in problem({"id": "f", "type": "FILE"}, b"data")


def test_array_of_files_stores_each_element_under_the_input_id() -> None:
    storage = FakeStorage()
    result = one(
        {"id": "docs", "type": "ARRAY", "itemType": "FILE"}, [b"a", "kestra:///b"], store_file=storage
    )
    assert result.value == ["kestra:///ns/flow/executions/e1/inputs/docs/upload.txt", "kestra:///b"]
    assert storage.stored == [("docs", b"a")]


# -- dependsOn ----------------------------------------------------------------------------------------

DEPENDENT: list[dict[str, Any]] = [
    {
        "id": "dependent",
        "type": "STRING",
        "dependsOn": {"inputs": ["kind"], "condition": "{{ inputs.kind == 'custom' }}"},
    },
    {"id": "kind", "type": "SELECT", "values": ["standard", "custom"]},
    {"id": "leaf", "type": "INT", "dependsOn": {"inputs": ["dependent"]}},
]


def test_condition_true_enables_the_input_even_when_declared_first() -> None:
    results = resolve(DEPENDENT, {"kind": "custom", "dependent": "x", "leaf": "1"})
    assert [(r.id, r.enabled) for r in results] == [("dependent", True), ("kind", True), ("leaf", True)]
    assert typed_inputs(results) == {"dependent": "x", "kind": "custom", "leaf": 1}


def test_condition_false_disables_the_input_and_its_dependents() -> None:
    results = resolve(DEPENDENT, {"kind": "standard", "leaf": "not even an int"})
    assert [(r.id, r.enabled, r.problems) for r in results] == [
        ("dependent", False, []),
        ("kind", True, []),
        ("leaf", False, []),
    ]
    assert typed_inputs(results) == {"kind": "standard"}


@pytest.mark.parametrize(
    "condition", ["{{ 'true' }}", "true", "{{ 1 }}"], ids=["string-true", "literal", "one"]
)
def test_only_boolean_true_enables(condition: str) -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "a", "type": "STRING", "dependsOn": {"condition": condition}}
    ]
    assert resolve(declarations, {"a": "x"})[0].enabled is False


def test_condition_render_error_is_a_problem() -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "a", "type": "STRING", "dependsOn": {"condition": "{{ inputs.nope }}"}}
    ]
    (result,) = resolve(declarations, {"a": "x"})
    assert not result.enabled
    assert result.problems[0].startswith("Invalid input for `a`, its dependsOn condition failed to render")


def test_dependency_cycles_and_unknown_ids_are_reported() -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "a", "type": "STRING", "dependsOn": {"inputs": ["b"]}},
        {"id": "b", "type": "STRING", "dependsOn": {"inputs": ["a"]}},
        {"id": "c", "type": "STRING", "dependsOn": {"inputs": ["ghost"]}},
    ]
    problems = [r.problems for r in resolve(declarations, {})]
    assert "form a cycle" in problems[0][0] and "form a cycle" in problems[1][0]
    assert problems[2] == ["Invalid input for `c`, it depends on unknown input `ghost`"]


# -- SELECT / MULTISELECT expression --------------------------------------------------------------------


def test_select_expression_is_rendered_with_resolved_inputs() -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "env", "type": "SELECT", "values": ["dev", "prod"]},
        {"id": "region", "type": "SELECT", "expression": "{{ inputs.env == 'prod' ? ['eu', 'us'] : ['local'] }}",
         "dependsOn": {"inputs": ["env"]}},
    ]  # fmt: skip
    assert typed_inputs(resolve(declarations, {"env": "prod", "region": "us"}))["region"] == "us"
    (_, local) = resolve(declarations, {"env": "dev", "region": "us"})
    assert local.problems == [
        "Invalid input for `region`, it must match the values `[local]`, but received `us`"
    ]


def test_multiselect_expression_drops_nulls_and_stringifies() -> None:
    declaration = {"id": "m", "type": "MULTISELECT", "expression": "{{ [1, none, 'b'] }}"}
    assert ok(declaration, ["1", "b"]) == ["1", "b"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("{{ 'a,b' }}", "must render to a list of strings, but rendered a str"),
        ("{{ inputs.nope }}", "cannot render"),
    ],
    ids=["not-a-list", "render-error"],
)
def test_select_expression_problems(expression: str, message: str) -> None:
    assert message in problem({"id": "s", "type": "SELECT", "expression": expression}, "a")


# -- nesting, collection, typed_inputs ------------------------------------------------------------------


def test_dotted_ids_nest() -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "nested.string", "type": "STRING"},
        {"id": "nested.more.int", "type": "INT"},
        {"id": "nested.bool", "type": "BOOLEAN", "required": False},
        {"id": "flat", "type": "STRING", "required": False},
    ]
    typed = typed_inputs(resolve(declarations, {"nested.string": "s", "nested.more.int": "1"}))
    assert typed == {"nested": {"string": "s", "more": {"int": 1}, "bool": None}, "flat": None}


def test_nested_inputs_are_visible_to_conditions() -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "cfg.mode", "type": "STRING"},
        {
            "id": "extra",
            "type": "STRING",
            "dependsOn": {"inputs": ["cfg.mode"], "condition": "{{ inputs.cfg.mode == 'on' }}"},
        },
    ]
    assert resolve(declarations, {"cfg.mode": "on", "extra": "e"})[1].enabled


def test_all_problems_are_collected() -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "name", "type": "STRING"},
        {"id": "age", "type": "INT", "min": 18},
        {"id": "when", "type": "DATE"},
        {"id": "fine", "type": "STRING"},
    ]
    results = resolve(declarations, {"age": "12", "when": "tomorrow", "fine": "ok"})
    with pytest.raises(InputsInvalid) as caught:
        typed_inputs(results)
    assert caught.value.problems == [
        InputProblem("name", "Missing required input: `name`"),
        InputProblem("age", "Invalid input for `age`, it must be more than `18`, but received `12`"),
        InputProblem(
            "when",
            "Invalid input for `when`, it must be a date such as `2024-01-31`, but received `tomorrow`",
        ),
    ]
    assert "Missing required input: `name`" in str(caught.value)


def test_problem_keeps_the_raw_value_for_validation_forms() -> None:
    assert one({"id": "n", "type": "INT"}, "abc").value == "abc"


# -- conformance flows -----------------------------------------------------------------------------------


def test_the_conformance_inputs_flow_resolves() -> None:
    declarations = yaml.safe_load((FLOWS / "inputs.yaml").read_text())["inputs"]
    provided = {
        "string": "myString", "enum": "ENUM_VALUE", "int": "42", "float": "42.42", "bool": "False",
        "instant": "2019-10-06T18:27:49Z", "time": "18:27:49", "duration": "PT5M6S", "file": "kestra:///f.txt",
        "json": '{"a":"b"}', "uri": "https://www.google.com", "nested.string": "a string",
        "nested.more.int": "123", "validatedString": "A123", "validatedInt": "12",
        "validatedDate": "2023-06-01", "validatedDateTime": "2023-06-01T00:00:00Z", "validatedDuration": "PT15S",
        "validatedFloat": "0.42", "validatedTime": "11:27:49", "secret": "secret", "array": "[1, 2, 3]",
    }  # fmt: skip
    typed = typed_inputs(resolve(declarations, provided))
    json.dumps(typed)
    assert typed["instantDefaults"] == "2013-08-09T14:19:00Z"
    assert typed["nested"] == {"string": "a string", "more": {"int": 123}, "bool": None}
    assert typed["yaml"]["list"][1] == {"key": "key2", "value": "value2"}
    assert (typed["bool"], typed["array"], typed["empty"], typed["optional"]) == (False, [1, 2, 3], "", None)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("validatedString", "B123", "it must match the pattern `A\\d+`"),
        ("validatedInt", "9", "it must be more than `10`"),
        ("validatedDate", "2024-01-01", "it must be before `2023-12-31`"),
        ("validatedDateTime", "2022-01-01T00:00:00Z", "it must be after `2023-01-01T00:00:00Z`"),
        ("validatedDuration", "PT30S", "it must be less than `PT20S`"),
        ("validatedFloat", "0.6", "it must be less than `0.5`"),
        ("validatedTime", "12:00:00", "it must be before `11:59:59`"),
    ],
    ids=["string", "int", "date", "datetime", "duration", "float", "time"],
)
def test_the_conformance_validators_reject(key: str, value: str, message: str) -> None:
    declarations = yaml.safe_load((FLOWS / "inputs.yaml").read_text())["inputs"]
    (result,) = [r for r in resolve(declarations, {key: value}) if r.id == key]
    assert message in result.problems[0]


def test_empty_variables_json_inputs() -> None:
    declarations = yaml.safe_load((FLOWS / "empty-variables.yml").read_text())["inputs"]
    typed = typed_inputs(
        resolve(
            declarations, {"emptyKey": '{ "foo": "" }', "emptySubObject": '{"json":{"someEmptyObject":{}}}'}
        )
    )
    assert typed == {"emptyKey": {"foo": ""}, "emptySubObject": {"json": {"someEmptyObject": {}}}}


# -- defaults_for_render ---------------------------------------------------------------------------------


def test_defaults_for_render_types_and_nests_defaults() -> None:
    declarations: list[dict[str, Any]] = [
        {"id": "n", "type": "INT", "defaults": "5"},
        {"id": "when", "type": "DATETIME", "defaults": "2013-08-09T16:19:00+02:00"},
        {"id": "deep.flag", "type": "BOOLEAN", "defaults": "TRUE"},
        {"id": "bad", "type": "INT", "defaults": "not a number"},
        {"id": "none", "type": "STRING"},
        {"id": "list", "type": "ARRAY", "itemType": "INT", "defaults": "[1, 2]"},
    ]
    assert defaults_for_render(declarations) == {
        "n": 5,
        "when": "2013-08-09T14:19:00Z",
        "deep": {"flag": True},
        "bad": "not a number",
        "list": [1, 2],
    }


def test_defaults_for_render_of_the_conformance_flow() -> None:
    declarations = yaml.safe_load((FLOWS / "inputs.yaml").read_text())["inputs"]
    defaults = defaults_for_render(declarations)
    assert set(defaults) == {"instantDefaults", "yaml", "empty"}
    json.dumps(defaults)
