"""Kestra's own test flows (../shared/conformance): valids validate, invalids fail at the same
place for the same reason as the manifest says. The mapping below restates each manifest reason
as (path prefix, message fragment) pairs that our errors must contain."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from apps.flows.validation import Options, Result, validate_source

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
MANIFEST = yaml.safe_load((SHARED / "manifest.yaml").read_text())
OPTIONS = Options()

# file → every (path prefix, message fragment) that must be reported
INVALID_EXPECTATIONS: dict[str, list[tuple[str, str]]] = {
    "dag-cyclicdependency.yaml": [("tasks[0]", "Cyclic dependency detected: task1, task2")],
    "dag-notexist-task.yaml": [("tasks[0].tasks[1]", "Not existing task id in dependency: taskX")],
    "duplicate-inputs.yaml": [("inputs[1]", "Duplicate input with name [first_input]")],
    "duplicate-key.yaml": [("tasks[0].data.variables.tf", "Duplicate field 'variables.tf'")],
    "duplicate-parallel.yaml": [("tasks[1].tasks[3]", "Duplicate task id with name [t3]")],
    "duplicate.yaml": [
        ("tasks[2]", "Duplicate task id with name [date]"),
        ("errors[0]", "Duplicate task id with name [date]"),
        ("listeners[0].tasks[0]", "Duplicate task id with name [listen]"),
        ("triggers[1]", "Duplicate trigger id with name [trigger]"),
    ],
    "empty.yaml": [("tasks", "must not be empty")],
    "inputs-bad-type.yaml": [("inputs[0].type", "Invalid type: FOO")],
    "inputs-bad-validator-syntax.yaml": [("inputs[0].validator", "invalid pattern [\\]")],
    "inputs-validation.yaml": [
        ("inputs[0]", "no `defaults` can be set for inputs of type 'FILE'"),
        ("inputs[1].itemType", "`itemType` cannot be `ARRAY`"),
    ],
    "inputs.yaml": [("inputs[0]", "Invalid type: null")],
    "invalid-parallel.yaml": [
        ("id", "must not be empty"),
        ("namespace", "must not be empty"),
        ("tasks[0]", "must not be empty"),
        ("tasks[1].tasks", "must not be empty"),
        ("tasks[2].tasks", "must not be empty"),
    ],
    "invalid-property.yaml": [("tasks[0].invalid", 'Unrecognized field "invalid"')],
    "invalid-task.yaml": [
        ("tasks[0].type", "Invalid type: io.kestra.plugin.core.debug.MissingTwo"),
        ("errors[0].type", "Invalid type: io.kestra.plugin.core.debug.MissingThree"),
        ("listeners[0].tasks[0].type", "Invalid type: io.kestra.plugin.core.debug.MissingOne"),
    ],
    "invalid.yaml": [
        ("id", "must match"),
        ("namespace", "must match"),
        ("tasks[0]", 'missing required property "id"'),
    ],
    "listener.yaml": [("listeners[0].tasks", "must not be empty"), ("listeners[1].tasks", "must not be empty")],
    "recursive-flow.yaml": [("tasks[0]", "Recursive call to flow [io.kestra.tests.recursive-flow]")],
    "switch-invalid.yaml": [("tasks[0]", "No task defined, neither cases or default have any tasks")],
    "system-labels.yaml": [
        ("labels.system.label", "offending label: system.label=system_key"),
        ("labels.system.id", "offending label: system.id=id"),
        ("tasks[0]", 'missing required property "id"'),
    ],
    "worker-group.yaml": [("tasks[0].workerGroup.key", "unknown worker group 'toto'")],
    "workingdirectory-invalid.yaml": [
        ("tasks[0].tasks[1]", "Only runnable tasks are allowed as children of a WorkingDirectory task"),
    ],
    "workingdirectory-no-tasks.yaml": [("tasks[0]", "The 'tasks' property cannot be empty")],
}


def _validate(relative: str) -> Result:
    return validate_source((SHARED / "flows" / relative).read_text(encoding="utf-8"), OPTIONS)


def test_manifest_counts_match_the_corpus() -> None:
    assert len(MANIFEST["valids"]) == 145
    assert len(MANIFEST["invalids"]) == 22
    assert {Path(e["file"]).name for e in MANIFEST["invalids"]} == set(INVALID_EXPECTATIONS)


@pytest.mark.parametrize("entry", MANIFEST["valids"], ids=lambda e: e["file"])
def test_valid_flow_validates(entry: dict[str, object]) -> None:
    result = _validate(str(entry["file"]))
    assert result.problems == [], "\n".join(str(p) for p in result.problems)
    assert result.flow is not None and result.flow["id"] == entry["id"]


@pytest.mark.parametrize("name", sorted(INVALID_EXPECTATIONS))
def test_invalid_flow_is_rejected_for_the_manifest_reason(name: str) -> None:
    result = _validate(f"invalids/{name}")
    assert result.problems, "accepted an invalid flow"
    for path, fragment in INVALID_EXPECTATIONS[name]:
        matching = [p for p in result.problems if p.path.startswith(path) and fragment in p.message]
        assert matching, (f"no problem at {path!r} containing {fragment!r}; got:\n"
                          + "\n".join(str(p) for p in result.problems))
        assert all(p.line is not None and p.column is not None for p in matching)


@pytest.mark.parametrize("entry", MANIFEST["excluded_valids"], ids=lambda e: e["file"])
def test_excluded_flow_fails_only_on_out_of_scope_types(entry: dict[str, object]) -> None:
    result = _validate(str(entry["file"]))
    scope = [str(t) for t in entry["out_of_scope_types"]]  # type: ignore[union-attr]
    for problem in result.problems:
        assert any(t in problem.message for t in scope), f"unexpected problem: {problem}"


def test_errors_point_at_lines_and_columns() -> None:
    result = _validate("invalids/invalid-property.yaml")
    (problem,) = result.problems
    assert (problem.line, problem.column) == (7, 5)
    result = _validate("invalids/dag-notexist-task.yaml")
    assert [(p.line, p.column) for p in result.problems] == [(17, 13)]
