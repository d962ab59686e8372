"""Checking an `expect` map against Kestra's JSON of an execution (`full_execution_json`).

Each key of the notation has one check; a check returns None when the expectation holds, else a
short reason. A key without a check is reported, never silently passed. What needs the world
beyond one execution (its logs, its children, snapshots taken during actions, the HTTP answer)
comes through the `World` protocol, which the harness implements.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from conformance_runner.placeholders import Unresolved, substitute

Json = dict[str, Any]
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
OPERATORS = frozenset({"contains", "startswith", "matches", "has_items", "contains_in_any_order", "min", "max",
                       "equals"})
IGNORED = frozenset({"notes", "actions"})


class World(Protocol):
    http_status: int | None
    created: bool | None

    def logs(self, execution_id: str) -> list[Json]: ...

    def snapshot(self, name: str) -> Json | None: ...

    def children(self, execution: Json, flow: str | None) -> list[Json]: ...

    def family_states(self, execution: Json, count: int) -> list[str]: ...

    def resolve(self, text: str, execution: Json) -> str | None: ...


# ---------------------------------------------------------------------------------------------
# Values


def _show(value: Any, quote: bool = False) -> str:
    """A value in a reason: strings as is, JSON otherwise (`quote`: strings too, so that `"2"`
    and `2` read differently when the types differ)."""
    if value is MISSING:
        return repr(value)
    text = value if isinstance(value, str) and not quote else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _same(actual: Any, expected: Any) -> bool:
    """Equality that does not confuse `true` with 1 nor `'1'` with 1."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return bool(actual == expected)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(_same(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
    if expected is None:
        return actual is None or actual is MISSING
    return type(actual) is type(expected) and bool(actual == expected)


def _operator(actual: Any, name: str, operand: Any) -> bool:
    if name == "equals":
        return _same(actual, operand)
    if name in ("min", "max"):
        size = len(actual) if isinstance(actual, list | dict) else actual
        if not isinstance(size, int | float) or isinstance(size, bool):
            return False
        return bool(size >= operand) if name == "min" else bool(size <= operand)
    if name == "has_items":
        return isinstance(actual, list) and all(any(_same(a, e) for a in actual) for e in operand)
    if name == "contains_in_any_order":
        return (isinstance(actual, list) and len(actual) == len(operand)
                and sorted(map(_show, actual)) == sorted(map(_show, operand)))
    if name == "contains" and isinstance(actual, list):
        return any(_same(a, operand) for a in actual)
    if not isinstance(actual, str):
        return False
    if name == "contains":
        return str(operand) in actual
    if name == "startswith":
        return actual.startswith(str(operand))
    return re.fullmatch(str(operand), actual, re.S) is not None  # matches


def match(actual: Any, expected: Any, where: str) -> str | None:
    """None when `actual` satisfies `expected` (value, operator map, sub-map or list)."""
    if isinstance(expected, dict) and expected and set(expected) <= OPERATORS:
        for name, operand in expected.items():
            if not _operator(actual, name, operand):
                return f"{where}: {_show(actual)} does not satisfy {name} {_show(operand)}"
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: {_show(actual)} is not a map"
        for key, sub in expected.items():
            if key == "_size":
                if len(actual) != sub:
                    return f"{where}: {len(actual)} entries, expected {sub}"
                continue
            problem = match(actual.get(key, MISSING), sub, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list) and isinstance(actual, list) and len(actual) == len(expected):
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            problem = match(a, e, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if _same(actual, expected):
        return None
    quote = type(actual) is not type(expected)
    return f"{where}: got {_show(actual, quote)}, expected {_show(expected, quote)}"


# ---------------------------------------------------------------------------------------------
# Task runs


def _runs(execution: Json) -> list[Json]:
    return list(execution.get("taskRunList") or [])


def _chain(run: Json, by_id: dict[str, Json]) -> list[str]:
    """Iteration values from the outermost ancestor down to the run (copied values collapsed)."""
    values: list[str] = []
    node: Json | None = run
    while node is not None:
        if node.get("value") is not None:
            values.append(str(node["value"]))
        node = by_id.get(str(node.get("parentTaskRunId") or ""))
    values.reverse()
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def select(execution: Json, key: str) -> Json | None:
    """`#N` (creation order), `taskId` (first run) or `taskId[v1,v2]` (chain of iteration values)."""
    runs = _runs(execution)
    if re.fullmatch(r"#\d+", key):
        index = int(key[1:])
        return runs[index] if index < len(runs) else None
    found = re.fullmatch(r"(.+?)\[(.*)\]", key)
    if found is None:
        return next((r for r in runs if r.get("taskId") == key), None)
    task, wanted = found.group(1), [v.strip() for v in found.group(2).split(",")]
    collapsed = [v for i, v in enumerate(wanted) if i == 0 or wanted[i - 1] != v]
    by_id = {str(r["id"]): r for r in runs}
    return next((r for r in runs if r.get("taskId") == task and _chain(r, by_id) == collapsed), None)


def _state(thing: Json | None) -> str | None:
    return ((thing or {}).get("state") or {}).get("current")


def _history(thing: Json) -> list[str]:
    return [str(h.get("state")) for h in (thing.get("state") or {}).get("histories") or []]


def _path(value: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p] if path else []:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def _labels(execution: Json) -> list[tuple[str, str]]:
    return [(str(lb.get("key")), str(lb.get("value"))) for lb in execution.get("labels") or []]


# ---------------------------------------------------------------------------------------------
# Checks: (expected, execution, world) -> reason or None

Check = Callable[[Any, Json, World], "str | None"]


def _check_state(exp: Any, ex: Json, world: World) -> str | None:
    return match(_state(ex), exp, "state")


def _check_taskruns(exp: Any, ex: Json, world: World) -> str | None:
    return match(len(_runs(ex)), exp, "taskruns")


def _check_tasks(exp: Any, ex: Json, world: World) -> str | None:
    for key, state in dict(exp).items():
        run = select(ex, str(key))
        if state == "ABSENT":
            if run is not None:
                return f"tasks.{key}: exists ({_state(run)}), expected ABSENT"
        elif run is None:
            return f"tasks.{key}: no task run, expected {state}"
        elif _state(run) != state:
            return f"tasks.{key}: {_state(run)}, expected {state}"
    return None


def _check_attempts(exp: Any, ex: Json, world: World) -> str | None:
    for key, wanted in dict(exp).items():
        run = select(ex, str(key))
        if run is None:
            return f"attempts.{key}: no task run"
        count = len(run.get("attempts") or [])
        problem = match(count, 0 if wanted is None else wanted, f"attempts.{key}")
        if problem:
            return problem
    return None


def _check_attempt_states(exp: Any, ex: Json, world: World) -> str | None:
    for key, wanted in dict(exp).items():
        run = select(ex, str(key))
        states = [_state(a) for a in (run or {}).get("attempts") or []]
        if run is None or not states:
            return f"attempt_states.{key}: no attempts"
        problem = match(states if isinstance(wanted, list) else states[-1], wanted, f"attempt_states.{key}")
        if problem:
            return problem
    return None


def _check_outputs(exp: Any, ex: Json, world: World) -> str | None:
    for key, wanted in dict(exp).items():
        found = re.fullmatch(r"(#\d+|[^.\[]+(?:\[[^\]]*\])?)(?:\.(.*))?", str(key))
        if found is None:
            return f"outputs: cannot read key {key!r}"
        run = select(ex, found.group(1))
        if run is None:
            return f"outputs.{key}: no task run {found.group(1)}"
        actual = _path(run.get("outputs") or {}, found.group(2) or "")
        problem = match(actual, wanted, f"outputs.{key}")
        if problem:
            return problem
    return None


def _check_flow_outputs(exp: Any, ex: Json, world: World) -> str | None:
    return match(ex.get("outputs") or {}, exp, "flow_outputs")


def _check_labels_exact(exp: Any, ex: Json, world: World) -> str | None:
    labels = _labels(ex)
    keys = [k for k, _ in labels]
    if len(set(keys)) != len(keys):
        return f"labels: duplicate keys in {_show(keys)}"
    return match(dict(labels), {str(k): str(v) for k, v in dict(exp).items()}, "labels")


def _check_labels_include(exp: Any, ex: Json, world: World) -> str | None:
    labels = dict(_labels(ex))
    for key, value in dict(exp).items():
        if labels.get(str(key)) != str(value):
            return f"labels.{key}: got {_show(labels.get(str(key), MISSING))}, expected {_show(str(value))}"
    return None


def _check_labels_first(exp: Any, ex: Json, world: World) -> str | None:
    first = [f"{k}={v}" for k, v in _labels(ex)][: len(exp)]
    return None if first == [str(e) for e in exp] else f"labels_first: got {_show(first)}"


def _check_labels_count(exp: Any, ex: Json, world: World) -> str | None:
    return match(len(_labels(ex)), exp, "labels count")


def _log_filter(ex: Json, entry: dict[str, Any], world: World) -> list[Json]:
    lines = world.logs(str(ex["id"]))
    task = entry.get("task")
    if task is not None:
        run = select(ex, str(task)) if str(task).startswith("#") else None
        lines = [ln for ln in lines if (ln.get("taskRunId") == run["id"] if run else ln.get("taskId") == task)]
    if entry.get("level"):
        lines = [ln for ln in lines if ln.get("level") == entry["level"]]
    return lines


def _check_logs(exp: Any, ex: Json, world: World) -> str | None:
    for entry in exp:
        lines = _log_filter(ex, entry, world)
        tests = {k: v for k, v in entry.items() if k in OPERATORS}
        label = ", ".join(f"{k}={v}" for k, v in entry.items())
        if entry.get("none"):
            if lines:
                return f"logs[{label}]: expected none, got {_show(lines[0].get('message'))}"
            continue
        if not any(all(_operator(ln.get("message"), k, v) for k, v in tests.items()) for ln in lines):
            return f"logs[{label[:120]}]: no matching line among {len(lines)}"
    return None


def _on_snapshot(name: str, check: Check) -> Check:
    def run(exp: Any, ex: Json, world: World) -> str | None:
        shot = world.snapshot(name)
        if shot is None:
            return f"no snapshot '{name}' was taken"
        problem = check(exp, shot, world)
        return f"{name}: {problem}" if problem else None
    return run


def _check_family(exp: Any, ex: Json, world: World) -> str | None:
    states = world.family_states(ex, len(exp))
    return None if sorted(states) == sorted(exp) else f"executions ended {states}, expected {list(exp)}"


def _check_history_prefix(exp: Any, ex: Json, world: World) -> str | None:
    history = _history(ex)
    return None if history[: len(exp)] == list(exp) else f"state history {history}"


def _check_sequence(exp: Any, ex: Json, world: World) -> str | None:
    history = iter(_history(ex))
    return None if all(state in history for state in exp) else f"state history {_history(ex)}"


def _check_task_history(exp: Any, ex: Json, world: World) -> str | None:
    for key, counts in dict(exp).items():
        run = select(ex, str(key))
        if run is None:
            return f"task_state_history.{key}: no task run"
        seen = Counter(_history(run))
        for state, count in dict(counts).items():
            if seen.get(state, 0) != count:
                return f"task_state_history.{key}: {dict(seen)}"
    return None


def _check_child(exp: Any, ex: Json, world: World) -> str | None:
    flow = exp.get("flow")
    children = world.children(ex, str(flow) if flow else None)
    if not children:
        return f"child_execution: no child execution{f' of {flow}' if flow else ''}"
    problems = check(exp, children[0], world)
    return f"child_execution: {'; '.join(problems)}" if problems else None


def _check_flow(exp: Any, ex: Json, world: World) -> str | None:
    flow = f"{ex.get('namespace')}/{ex.get('flowId')}"
    return None if flow == exp else f"flow {flow}, expected {exp}"


def _check_trigger(exp: Any, ex: Json, world: World) -> str | None:
    return match(ex.get("trigger") or MISSING, exp, "trigger")


def _check_trigger_variables(exp: Any, ex: Json, world: World) -> str | None:
    return match((ex.get("trigger") or {}).get("variables", MISSING), exp, "trigger.variables")


def _check_failed(exp: Any, ex: Json, world: World) -> str | None:
    return match(sum(1 for r in _runs(ex) if _state(r) == "FAILED"), exp, "failed task runs")


def _check_order(exp: Any, ex: Json, world: World) -> str | None:
    for key, task in dict(exp).items():
        run = select(ex, str(key))
        if run is None or run.get("taskId") != task:
            return f"order {key}: {(run or {}).get('taskId')}, expected {task}"
    return None


def _check_all(exp: Any, ex: Json, world: World) -> str | None:
    states = [_state(r) for r in _runs(ex)]
    bad = [f"{r.get('taskId')}={_state(r)}" for r in _runs(ex) if _state(r) != exp]
    return None if states and not bad else f"all_taskruns not {exp}: {_show(bad)}"


CHECKS: dict[str, Check] = {
    "state": _check_state, "taskruns": _check_taskruns, "tasks": _check_tasks, "attempts": _check_attempts,
    "attempt_states": _check_attempt_states, "outputs": _check_outputs, "flow_outputs": _check_flow_outputs,
    "labels_exact": _check_labels_exact, "labels_include": _check_labels_include, "labels": _check_labels_include,
    "labels_first": _check_labels_first, "labels_exact_count": _check_labels_count, "logs": _check_logs,
    "state_when_paused": _on_snapshot("paused", _check_state),
    "taskruns_when_paused": _on_snapshot("paused", _check_taskruns),
    "tasks_when_paused": _on_snapshot("paused", _check_tasks),
    "state_after_restart_request": _on_snapshot("restart", _check_state),
    "taskruns_after_restart_request": _on_snapshot("restart", _check_taskruns),
    "terminal_states_of_all_executions": _check_family, "state_history_prefix": _check_history_prefix,
    "state_sequence_includes": _check_sequence, "task_state_history": _check_task_history,
    "child_execution": _check_child, "flow": _check_flow, "trigger": _check_trigger,
    "trigger_variables": _check_trigger_variables, "failed_taskruns": _check_failed, "order": _check_order,
    "all_taskruns": _check_all,
}
WORLD_CHECKS = {
    "execution_created": lambda exp, world: match(world.created, exp, "execution created"),
    "http_status": lambda exp, world: match(world.http_status, exp, "HTTP status"),
}


ALIASES = {
    "final_state": "state", "end_state": "state", "execution_state": "state", "status": "state",
    "taskrun_count": "taskruns", "task_runs": "taskruns", "taskrun": "taskruns", "task_run_count": "taskruns",
    "task_states": "tasks", "taskrun_states": "tasks", "task_outputs": "outputs",
    "execution_outputs": "flow_outputs", "outputs_of_flow": "flow_outputs", "flowoutputs": "flow_outputs",
    "labels_equal": "labels_exact", "labels_contain": "labels_include", "labels_includes": "labels_include",
    "state_after_restart": "state_after_restart_request", "taskruns_after_restart": "taskruns_after_restart_request",
    "state_on_pause": "state_when_paused", "state_while_paused": "state_when_paused",
    "taskruns_while_paused": "taskruns_when_paused", "tasks_while_paused": "tasks_when_paused",
    "created": "execution_created", "status_code": "http_status", "http_code": "http_status",
}
"""Other spellings of the keys, read as the key (after `canonical_key`'s case and separator folding)."""


def _known() -> list[str]:
    return [*CHECKS, *WORLD_CHECKS, *IGNORED]


def canonical_key(key: str) -> str:
    """`Task-Runs`, `task runs`, `taskRuns` → `task_runs` → its alias, if it has one."""
    folded = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(key).strip())
    folded = re.sub(r"[\s.-]+", "_", folded).lower()
    return ALIASES.get(folded, folded)


def unknown_keys(expect: dict[str, Any]) -> list[str]:
    return [k for k in expect if canonical_key(k) not in _known()]


def nearest_key(key: str) -> str:
    close = difflib.get_close_matches(canonical_key(key), _known(), n=1, cutoff=0.0)
    return close[0] if close else ""


def _resolved(expected: Any, execution: Json, world: World) -> Any:
    return substitute(expected, lambda text: world.resolve(text, execution))


def check(expect: dict[str, Any], execution: Json | None, world: World) -> list[str]:
    """Every failed expectation of `expect` on `execution` (placeholders resolved against it)."""
    problems: list[str] = []
    unknown = unknown_keys(expect)
    if unknown:
        problems.append("unknown expectation key(s) " + ", ".join(f"{k} (nearest: {nearest_key(k)})" for k in unknown)
                        + " (not checkable; the keys: conformance_runner/README.md)")
    for raw_key, expected in expect.items():
        key = canonical_key(raw_key)
        if key in IGNORED or raw_key in unknown:
            continue
        try:
            if key in WORLD_CHECKS:
                problem = WORLD_CHECKS[key](expected, world)
            elif execution is None:
                problem = f"{key}: no execution to check"
            else:
                resolved = expected if key == "child_execution" else _resolved(expected, execution, world)
                problem = CHECKS[key](resolved, execution, world)
        except Unresolved as error:
            problem = f"{key}: {error}"
        if problem:
            problems.append(problem)
    return problems
