"""A pure, in-memory driver for the engine: the runner, the worker and the scheduler, minus Django.

Why: the planner is deterministic for a given snapshot and clock, so its Kestra semantics can be
checked in milliseconds without a database, Celery or real time. `Harness` plays every host role:

- the runner: it calls `planner.start / attempt_ended / wake / kill`, collects `Effects`, and
  resets the per-transaction flags (`dispatch`, `new`, `dirty`) as a reload from the database would;
- the worker: each dispatched task run is claimed (RUNNING + a new attempt) and its outcome is either
  scripted per task id or computed by running the real core plugin with a small pure run context;
- the scheduler: `Effects.delays` are kept and delivered through `planner.wake` with a fake clock
  moved to their due date (no sleeping);
- subflows: a `SubflowRequest` is answered from a script (child state/outputs), or left open.

It also exposes invariants the tests assert: the most children of one flowable ever non-terminal at
once (`max_active`), that every state history only uses legal transitions (`illegal_moves`), and
that end dates exist exactly for terminated states (`date_problems`).
"""

from __future__ import annotations

import inspect
import itertools
import re
import textwrap
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

import apps.engine.expressions as expressions
from apps.engine import context as ctx
from apps.engine import flowables, foreachitem, planner
from apps.engine.compile import compile_flow
from apps.engine.model import (
    CompiledFlow,
    Delay,
    Effects,
    ExecutionData,
    HostStep,
    SubflowRequest,
    TaskRunData,
    new_id,
)
from apps.engine.states import ALLOWED, TERMINATED, State, transition
from apps.flows.validation import apply_plugin_defaults
from apps.plugins.registry import registry
from apps.plugins.sdk import TaskFailed

START = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
WORKER_SECONDS = 0.1
"""How long one simulated attempt takes on the fake clock (retry `maxDuration` depends on it)."""

Outcome = State | tuple[State, dict[str, Any] | None] | None
Script = Outcome | list[Outcome] | Callable[["Harness", TaskRunData], Outcome]


# ---------------------------------------------------------------------------------------------
# Temporary compatibility: the planner passes `services=` to render/render_typed; until the
# expressions layer accepts it, wrap the two functions the planner module imported.


@pytest.fixture(autouse=True)
def render_services_shim(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the planner call `render(..., services=...)` even before expressions supports it."""
    if "services" not in inspect.signature(expressions.render).parameters:
        plain_render, plain_typed = expressions.render, expressions.render_typed

        def render(source: str, context: Mapping[str, Any], services: Any = None) -> str:
            return plain_render(source, context)

        def render_typed(source: str, context: Mapping[str, Any], services: Any = None) -> Any:
            return plain_typed(source, context)

        monkeypatch.setattr(planner, "render", render)
        monkeypatch.setattr(planner, "render_typed", render_typed)


# ---------------------------------------------------------------------------------------------
# The worker's run context, pure


def _dynamic_fields(plugin: Any) -> frozenset[str]:
    names = set()
    for name, info in plugin.Properties.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("$dynamic"):
            names.add(info.alias or name)
    return frozenset(names)


LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


class NotSimulated(AttributeError):
    """A plugin reached for a RunContext service the pure harness does not offer: script that task."""


class PureRunContext:
    """The subset of the worker's `RunContext` the core debug/log/execution/output tasks use."""

    def __init__(self, harness: Harness, run: TaskRunData) -> None:
        node = harness.flow.node(run.task_id)
        self.harness = harness
        self.execution_id = harness.ex.id
        self.namespace = harness.flow.namespace
        self.flow_id = harness.flow.id
        self.task_id = node.id
        self.task_run_id = run.id
        self.task_run_value = run.value
        self.attempt = run.attempt_count
        self.logs: list[tuple[str, str]] = []
        self.labels: list[dict[str, Any]] | None = None
        self.final_state: State | None = None
        level = node.raw.get("logLevel")
        self.min_level = LEVELS.index(level) if level in LEVELS else 0
        self.context = ctx.build(harness.flow, harness.ex, harness.env(), run, node, running_attempt=True)
        if not harness.flow.raw.get("inputs") and not harness.ex.inputs:
            self.context.pop("inputs", None)  # as the worker does: no declared inputs, no `inputs`

    def render(self, value: Any) -> Any:
        if isinstance(value, str):
            return expressions.render(value, self.context)
        if isinstance(value, Mapping):
            return {self.render(str(k)): self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        return value

    def render_typed(self, value: Any) -> Any:
        if isinstance(value, str):
            return expressions.render_typed(value, self.context)
        return self.render(value)

    def render_properties(self, plugin: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Dynamic properties rendered, expression defaults included (as the worker does)."""
        dynamic = _dynamic_fields(plugin)
        rendered = {key: (self.render(value) if key in dynamic else value) for key, value in raw.items()}
        for name, info in plugin.Properties.model_fields.items():
            key = info.alias or name
            if key in dynamic and key not in rendered and isinstance(info.default, str) and "{{" in info.default:
                rendered[key] = self.render(info.default)
        return rendered

    def log(self, level: str, message: str) -> None:
        level = "WARN" if level == "WARNING" else level.upper()
        if level not in LEVELS or LEVELS.index(level) >= self.min_level:
            self.logs.append((level, str(message)))

    def sleep(self, seconds: float) -> None:
        self.harness.now += timedelta(seconds=seconds)

    def check_cancelled(self) -> None:
        return None

    def set_labels(self, labels: list[dict[str, Any]]) -> None:
        self.labels = [*(self.labels or []), *labels]

    def set_state(self, state: str) -> None:
        self.final_state = State(state)

    def metric(self, kind: str, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise NotSimulated(f"the pure harness does not simulate RunContext.{name}; script the task")


def run_plugin(harness: Harness, run: TaskRunData) -> tuple[State, dict[str, Any] | None, PureRunContext]:
    """Run the real plugin of `run`'s task, as the worker's `_run_plugin` does."""
    node = harness.flow.node(run.task_id)
    plugin: Any = registry.get(node.type)
    rc = PureRunContext(harness, run)
    if plugin is None:
        rc.log("ERROR", f"Unknown task type '{node.type}'")
        return State.FAILED, None, rc
    try:
        props = plugin.Properties.model_validate(rc.render_properties(plugin, node.raw))
        result = plugin().run(rc, props)
    except TaskFailed as error:
        rc.log("ERROR", str(error))
        return State.FAILED, error.outputs, rc
    except ValidationError as error:
        rc.log("ERROR", f"Invalid properties after rendering: {error}")
        return State.FAILED, None, rc
    except NotSimulated:
        raise
    except Exception as error:
        rc.log("ERROR", f"{type(error).__name__}: {error}")
        return State.FAILED, None, rc
    outputs = result.model_dump(mode="json", by_alias=True) if isinstance(result, BaseModel) else result
    return rc.final_state or State.SUCCESS, (outputs or None), rc


# ---------------------------------------------------------------------------------------------
# The harness


def _labels(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, Mapping):
        return [{"key": str(k), "value": str(v)} for k, v in value.items()]
    if isinstance(value, list):
        return [{"key": str(i.get("key")), "value": str(i.get("value"))} for i in value if isinstance(i, Mapping)]
    return []


SHORT_TYPES = {
    name: f"io.kestra.plugin.core.{group}.{name}"
    for group, names in {
        "debug": ("Return",), "log": ("Log",), "execution": ("Fail", "Labels"), "output": ("OutputValues",),
        "flow": ("Sequential", "Parallel", "Switch", "If", "ForEach", "EachSequential", "EachParallel", "Dag",
                 "AllowFailure", "Pause", "WaitFor", "Subflow", "Sleep", "WorkingDirectory"),
    }.items()
    for name in names
}


def flow(body: str, flow_id: str = "test") -> str:
    """A flow source from a dedented body; `type: Return` style short names are expanded."""
    text = textwrap.dedent(body)
    text = re.sub(r"(type:\s*)([A-Z]\w*)\s*$", lambda m: m.group(1) + SHORT_TYPES.get(m.group(2), m.group(2)), text, flags=re.M)
    return f"id: {flow_id}\nnamespace: weir.tests\n{text}"


def execute(body: str, **kwargs: Any) -> Harness:
    """Run the flow `body` to its end (or until nothing more can happen) and return the harness."""
    return Harness(flow(body), **kwargs).go()


def load(source: str, revision: int = 1) -> CompiledFlow:
    """Parse, apply plugin defaults and compile, as the runner's `compiled` does."""
    return compile_flow(apply_plugin_defaults(yaml.safe_load(source)), revision)


class Harness:
    """One execution of one flow, driven event by event (see the module docstring)."""

    def __init__(self, source: str, *, inputs: Mapping[str, Any] | None = None,
                 script: Mapping[str, Script] | None = None, subflows: Mapping[str, Script] | None = None,
                 labels: list[dict[str, Any]] | None = None, meta: Mapping[str, Any] | None = None,
                 worker_seconds: float = WORKER_SECONDS) -> None:
        self.flow = load(source)
        self.now = START
        self.script: dict[str, Script] = dict(script or {})
        self.subflow_script: dict[str, Script] = dict(subflows or {})
        self.worker_seconds = worker_seconds
        declared = self.flow.raw.get("inputs") or []
        typed = {str(i.get("id") or i.get("name")): i["defaults"] for i in declared
                 if isinstance(i, Mapping) and i.get("defaults") is not None}
        typed.update(inputs or {})
        ex_id = new_id()
        all_labels = _labels(self.flow.raw.get("labels")) + list(labels or [])
        all_labels.append({"key": "system.correlationId", "value": ex_id})
        self.ex = ExecutionData(
            id=ex_id, namespace=self.flow.namespace, flow_id=self.flow.id, flow_revision=1,
            state=State.CREATED, history=[{"state": "CREATED", "date": self.now.isoformat()}],
            inputs=typed, outputs=None, labels=all_labels, variables={}, trigger=None, parent_id=None,
            original_id=ex_id, meta={"attemptNumber": 1, "originalCreatedDate": self.now.isoformat(), **(meta or {})},
            start_date=None, end_date=None, task_runs=[],
        )
        self.queue: list[tuple[str, int]] = []
        self.pending: list[Delay] = []
        self.delivered: list[Delay] = []
        self.open_subflows: list[SubflowRequest] = []
        self.subflow_requests: list[SubflowRequest] = []
        self.logs: list[tuple[str | None, str, str]] = []
        self.effects: list[Effects] = []
        self.new_execution: dict[str, Any] | None = None
        self.kill_children = False
        self.ended = 0
        self.max_active: dict[str, int] = {}
        self.claimed: list[str] = []
        """Task ids in the order the simulated worker claimed them."""
        self.files: dict[str, bytes] = {}
        """The host's storage for ForEachItem steps: URI → content."""

    # -- host plumbing -------------------------------------------------------------------------

    def env(self) -> ctx.Env:
        return ctx.Env(now=self.now)

    def _apply(self, effects: Effects) -> Effects:
        """What the runner does after the engine decided: keep effects, reset transient flags."""
        self.effects.append(effects)
        self.logs.extend(effects.logs)
        self.pending.extend(effects.delays)
        self.ended += int(effects.ended)
        self.kill_children = self.kill_children or effects.kill_children
        if effects.new_execution is not None:
            self.new_execution = effects.new_execution
        for run in sorted(self.ex.task_runs, key=lambda r: r.seq):
            if run.dispatch:
                self.queue.append((run.id, run.attempt_count))
            run.dispatch = run.new = run.dirty = False
        self.ex.dirty = False
        self._observe()
        requests, effects.subflows = list(effects.subflows), []
        for request in requests:
            if isinstance(request, HostStep):
                self._host_step(request)
            else:
                self._subflow(request)
        return effects

    def _host_step(self, step: HostStep) -> None:
        """A ForEachItem split or merge, done on `files` as the host does on storage."""
        run = self.ex.run(step.task_run_id)
        if step.kind == "split":
            batch = step.data["batch"]
            pieces = foreachitem.split_items(
                self.files[step.data["items"]], rows=int(batch["rows"]) if batch.get("rows") else None,
                partitions=int(batch["partitions"]) if batch.get("partitions") else None,
                separator=batch.get("separator", "\n"))
            prefix = f"mem:///{run.id}/"
            for number, piece in enumerate(pieces, start=1):
                self.files[f"{prefix}{number}.txt"] = piece
            self._apply(planner.host_step_ended(self.flow, self.ex, run, State.SUCCESS,
                                                {"numberOfBatches": len(pieces)}, {"batchPrefix": prefix}, self.env()))
            return
        lines = foreachitem.merge_lines(step.data["outputs"])
        outputs = None
        if lines:
            outputs = {"subflowOutputs": f"mem:///{run.id}/outputs.ion"}
            self.files[outputs["subflowOutputs"]] = "".join(f"{line}\n" for line in lines).encode()
        self._apply(planner.host_step_ended(self.flow, self.ex, run, State.SUCCESS, outputs, None, self.env()))

    def _observe(self) -> None:
        for parent in self.ex.task_runs:
            if self.flow.node(parent.task_id).kind != "flowable":
                continue
            active = sum(1 for r in self.ex.children_of(parent.id) if r.state not in TERMINATED)
            self.max_active[parent.task_id] = max(self.max_active.get(parent.task_id, 0), active)

    def _outcome(self, spec: Script, run: TaskRunData) -> Outcome:
        if callable(spec):
            return spec(self, run)
        if isinstance(spec, list):
            return spec[min(run.attempt_count, len(spec)) - 1] if spec else None
        return spec

    # -- engine entry points -------------------------------------------------------------------

    def start(self) -> Harness:
        self._apply(planner.start(self.flow, self.ex, self.env()))
        return self

    def kill(self) -> Effects:
        return self._apply(planner.kill(self.flow, self.ex, self.env()))

    def resume(self, on_resume: dict[str, Any] | None = None) -> Effects:
        """The resume API: the first PAUSED task run (a Pause) resumes, then the engine advances."""
        effects = Effects()
        p = planner.Planner(self.flow, self.ex, self.env(), effects)
        paused = sorted((r for r in self.ex.task_runs if r.state == State.PAUSED), key=lambda r: r.seq)
        if paused:
            flowables.resume_pause(p, paused[0], on_resume or {})
        return self._apply(p.advance())

    def wake(self, delay: Delay) -> Effects:
        """The scheduler delivers `delay`: the clock jumps to its due date (never backwards)."""
        self.pending.remove(delay)
        self.delivered.append(delay)
        self.now = max(self.now, delay.due)
        return self._apply(planner.wake(self.flow, self.ex, delay, self.env()))

    def end_attempt(self, run: TaskRunData, state: State, outputs: dict[str, Any] | None = None) -> Effects:
        return self._apply(planner.attempt_ended(self.flow, self.ex, run, state, outputs, self.env()))

    def finish_subflow(self, request: SubflowRequest, state: State, outputs: dict[str, Any] | None = None) -> Effects:
        """A waited-for child execution ended: its parent task run's attempt ends with `state`."""
        self.open_subflows.remove(request)
        run = self.ex.run(request.task_run_id)
        if request.iteration is not None:
            return self._apply(planner.iteration_ended(self.flow, self.ex, run, request.iteration, state, outputs,
                                                       self.env()))
        return self.end_attempt(run, state, {"executionId": f"child-{run.id}", "state": state.value,
                                             "outputs": outputs or {}})

    def _subflow(self, request: SubflowRequest) -> None:
        self.subflow_requests.append(request)
        run = self.ex.run(request.task_run_id)
        if request.iteration is not None and not request.wait:
            self._apply(planner.iteration_ended(self.flow, self.ex, run, request.iteration, State.SUCCESS, None,
                                                self.env()))
            return
        if request.iteration is None:
            run.outputs = {"executionId": f"child-{run.id}"}
        if not request.wait:
            self.end_attempt(run, State.SUCCESS, {"executionId": f"child-{run.id}"})
            return
        self.open_subflows.append(request)
        spec = self.subflow_script.get(run.task_id)
        outcome = self._outcome(spec, run) if spec is not None else None
        if outcome is not None:
            state, outputs = outcome if isinstance(outcome, tuple) else (outcome, None)
            self.finish_subflow(request, state, outputs)

    # -- the worker ----------------------------------------------------------------------------

    def work_one(self) -> bool:
        """Claim and run the oldest dispatched task run; False when there is none to run."""
        while self.queue:
            run_id, attempt = self.queue.pop(0)
            run = self.ex.run(run_id)
            if run.state not in (State.CREATED, State.RESTARTED) or run.attempt_count != attempt:
                continue  # fenced, like the worker's conditional claim
            transition(run, State.RUNNING, self.now)
            run.start_date = run.start_date or self.now.isoformat()
            run.attempts.append({"state": "RUNNING", "startDate": self.now.isoformat()})
            self.claimed.append(run.task_id)
            self.now += timedelta(seconds=self.worker_seconds)
            spec = self.script.get(run.task_id)
            outcome = self._outcome(spec, run) if spec is not None else None
            logs: list[tuple[str, str]] = []
            if outcome is None:
                state, outputs, rc = run_plugin(self, run)
                logs = rc.logs
                if rc.labels is not None:
                    self.ex.labels = ctx.merge_labels(self.ex.labels, rc.labels)
            else:
                state, outputs = outcome if isinstance(outcome, tuple) else (outcome, None)
            self.logs.extend((run.id, level, message) for level, message in logs)
            self.end_attempt(run, state, outputs)
            return True
        return False

    # -- driving -------------------------------------------------------------------------------

    def run(self, *, delays: bool = True, until: Callable[[Harness], bool] | None = None,
            max_events: int = 5_000) -> Harness:
        """Work, then deliver due delays in date order, until the execution is terminal, nothing is
        left to do, or `until` holds."""
        for _ in range(max_events):
            if until is not None and until(self):
                return self
            if self.work_one():
                continue
            if self.ex.state in TERMINATED or not delays or not self.pending:
                return self
            self.wake(min(self.pending, key=lambda d: d.due))
        raise AssertionError(f"no end after {max_events} events; state {self.ex.state}")

    def go(self, **kwargs: Any) -> Harness:
        return self.start().run(**kwargs)

    # -- reading the snapshot ------------------------------------------------------------------

    def status(self) -> State:
        """The execution state (a call, so type checkers do not narrow it across engine events)."""
        return self.ex.state

    def runs(self, task_id: str | None = None) -> list[TaskRunData]:
        found = sorted(self.ex.task_runs, key=lambda r: r.seq)
        return [r for r in found if task_id is None or r.task_id == task_id]

    def one(self, task_id: str, *values: str) -> TaskRunData:
        """The first task run of `task_id` whose chain of loop values is `values` (if given)."""
        for run in self.runs(task_id):
            if not values or ctx.value_chain(self.ex, run) == list(values):
                return run
        raise KeyError(f"no task run {task_id}{list(values) if values else ''}")

    def state(self, task_id: str, *values: str) -> State:
        return self.one(task_id, *values).state

    def states(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for run in self.runs():
            result.setdefault(run.task_id, []).append(run.state.value)
        return result

    def delays(self, kind: str) -> list[Delay]:
        return [d for d in self.pending if d.kind == kind]

    def log_messages(self, level: str | None = None) -> list[str]:
        return [m for _, lvl, m in self.logs if level is None or lvl == level]

    def outputs_map(self) -> dict[str, Any]:
        return ctx.outputs_and_states(self.ex)[0]


def history(obj: Any) -> list[str]:
    return [h["state"] for h in obj.history]


def illegal_moves(h: Harness) -> list[str]:
    """Every consecutive pair of a state history that the transition table forbids."""
    found = []
    subjects: list[tuple[str, Any]] = [("execution", h.ex), *((f"{r.task_id}#{r.seq}", r) for r in h.ex.task_runs)]
    for name, obj in subjects:
        states = [State(s) for s in history(obj)]
        for before, after in itertools.pairwise(states):
            if before != after and after not in ALLOWED[before]:
                found.append(f"{name}: {before} → {after}")
    return found


def date_problems(h: Harness) -> list[str]:
    """Kestra's `State.endDate` exists iff the state is terminated; a started run has a start date."""
    found = []
    subjects: list[tuple[str, Any]] = [("execution", h.ex), *((f"{r.task_id}#{r.seq}", r) for r in h.ex.task_runs)]
    for name, obj in subjects:
        if obj.state in TERMINATED and obj.end_date is None:
            found.append(f"{name}: {obj.state} without an end date")
        if obj.state not in TERMINATED and obj.end_date is not None:
            found.append(f"{name}: {obj.state} with an end date")
    return found


# ---------------------------------------------------------------------------------------------
# Conformance manifest expectations


def _select(h: Harness, key: str) -> TaskRunData | None:
    match = re.fullmatch(r"#(\d+)", key)
    if match:
        runs = h.runs()
        index = int(match.group(1))
        return runs[index] if index < len(runs) else None
    match = re.fullmatch(r"([^\[]+)(?:\[(.*)\])?", key)
    assert match, key
    task_id, values = match.group(1), match.group(2)
    chain = [v.strip() for v in values.split(",")] if values else []
    try:
        return h.one(task_id, *chain)
    except KeyError:
        return None


def _path(value: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        value = value[part] if isinstance(value, Mapping) else None
    return value


def check_expect(h: Harness, expect: Mapping[str, Any]) -> list[str]:
    """Compare a finished harness run with a manifest `expect` block; returns the mismatches."""
    problems = []
    if "state" in expect and h.ex.state.value != expect["state"]:
        problems.append(f"state {h.ex.state.value} != {expect['state']}")
    if "taskruns" in expect and len(h.ex.task_runs) != expect["taskruns"]:
        problems.append(f"taskruns {len(h.ex.task_runs)} != {expect['taskruns']}: {h.states()}")
    for key, wanted in (expect.get("tasks") or {}).items():
        run = _select(h, key)
        state = run.state.value if run else "ABSENT"
        if state != wanted:
            problems.append(f"task {key}: {state} != {wanted}")
    for key, wanted in (expect.get("attempts") or {}).items():
        problems.extend(_check_attempts(h, key, wanted))
    for key, wanted in (expect.get("outputs") or {}).items():
        selector, path = (key.split("].", 1)[0] + "]", key.split("].", 1)[1]) if "]." in key else key.split(".", 1)
        run = _select(h, selector)
        problems.extend(_compare(f"output {key}", _path(run.outputs, path) if run else None, wanted))
    for key, wanted in (expect.get("flow_outputs") or {}).items():
        problems.extend(_check_flow_output(h, key, wanted))
    return problems


def _check_attempts(h: Harness, key: str, wanted: Any) -> list[str]:
    run = _select(h, key)
    count = run.attempt_count if run else None
    ok = count is not None and (count >= wanted["min"] if isinstance(wanted, Mapping) else count == wanted)
    return [] if ok else [f"attempts {key}: {count} != {wanted}"]


def _check_flow_output(h: Harness, key: str, wanted: Any) -> list[str]:
    outputs = h.ex.outputs or {}
    if key == "_size":
        return [] if len(outputs) == wanted else [f"flow outputs size {len(outputs)} != {wanted}"]
    if isinstance(wanted, Mapping) and "has_items" in wanted:
        wanted = wanted["has_items"]
    return _compare(f"flow output {key}", outputs.get(key), wanted)


def _compare(label: str, got: Any, wanted: Any) -> list[str]:
    if isinstance(wanted, Mapping):
        text = "" if got is None else str(got)
        if "contains" in wanted and str(wanted["contains"]) not in text:
            return [f"{label}: {got!r} does not contain {wanted['contains']!r}"]
        if "startswith" in wanted and not text.startswith(str(wanted["startswith"])):
            return [f"{label}: {got!r} does not start with {wanted['startswith']!r}"]
        if "matches" in wanted and not re.fullmatch(str(wanted["matches"]), text):
            return [f"{label}: {got!r} does not match {wanted['matches']!r}"]
        return []
    return [] if got == wanted else [f"{label}: {got!r} != {wanted!r}"]
