"""The executor loop (KESTRA.md §5.3-5.6): given a flow and an execution snapshot, decide what
happens next — create task runs, start flowables, end them, end the execution.

The parts that differ per task kind (flowable behaviours, ForEachItem, retries) plug in through
the slots of `apps.engine.protocol`; this module never imports them.

`advance` mutates the snapshot in place (marking what changed) and returns `Effects` for the
runner to carry out after commit. It is deterministic for a given snapshot, clock and render
results, which is what lets the tests drive it without a database or a worker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apps.engine import branches, protocol
from apps.engine import context as ctx
from apps.engine.expressions import render, render_typed
from apps.engine.model import CompiledFlow, Delay, Effects, ExecutionData, TaskNode, TaskRunData, new_id
from apps.engine.protocol import Behaviour, RenderFailed, Resolved
from apps.engine.rendering import labels_list, render_deep, typed_output
from apps.engine.states import TERMINATED, State, is_truthy, transition, worst
from apps.plugins.sdk import parse_duration

MAX_STEPS = 10_000
_STARTABLE = (State.CREATED, State.RESTARTED)


@dataclass
class Planner:
    flow: CompiledFlow
    ex: ExecutionData
    env: ctx.Env
    effects: Effects

    # -- helpers -------------------------------------------------------------------------------

    def now_iso(self) -> str:
        return self.env.now.isoformat()

    def set_run(self, run: TaskRunData, state: State) -> bool:
        changed = transition(run, state, self.env.now)
        if changed:
            run.dirty = True
            if state == State.RUNNING and run.start_date is None:
                run.start_date = self.now_iso()
            run.end_date = self.now_iso() if state in TERMINATED else None
        return changed

    def set_ex(self, state: State) -> bool:
        changed = transition(self.ex, state, self.env.now)
        if changed:
            self.ex.dirty = True
            if state == State.RUNNING and self.ex.start_date is None:
                self.ex.start_date = self.now_iso()
            self.ex.end_date = self.now_iso() if state in TERMINATED else None
        return changed

    def log(self, run: TaskRunData | None, level: str, message: str) -> None:
        self.effects.logs.append((run.id if run else None, level, message))

    def context(self, run: TaskRunData | None = None, node: TaskNode | None = None) -> dict[str, Any]:
        return ctx.build(self.flow, self.ex, self.env, run, node)

    def render(self, value: Any, run: TaskRunData | None, node: TaskNode | None, *, typed: bool = False) -> Any:
        try:
            context = self.context(run, node)
            if isinstance(value, str):
                if typed:
                    return render_typed(value, context, services=self.env.services)
                return render(value, context, services=self.env.services)
            return render_deep(value, context, self.env.services)
        except Exception as error:  # any expression failure becomes a readable task failure
            raise RenderFailed(f"{type(error).__name__}: {error}") from error

    def create_run(self, node: TaskNode, parent: TaskRunData | None, value: str | None,
                   iteration: int | None = None) -> TaskRunData:
        run = TaskRunData(
            id=new_id(), task_id=node.id, parent_id=parent.id if parent else None, value=value,
            iteration=iteration, state=State.CREATED,
            history=[{"state": State.CREATED.value, "date": self.now_iso()}],
            attempts=[], outputs=None, seq=self.ex.next_seq(), new=True, dirty=True,
        )
        self.ex.task_runs.append(run)
        return run

    def fail_run(self, run: TaskRunData, message: str) -> None:
        self.log(run, "ERROR", message)
        if run.state == State.CREATED:
            self.set_run(run, State.RUNNING)
        run.attempts.append({"state": State.FAILED.value, "startDate": self.now_iso(), "endDate": self.now_iso()})
        self.finish_run(run, State.FAILED)

    def finish_run(self, run: TaskRunData, state: State) -> None:
        """End a task run, applying `allowFailure` and `allowWarning` (KESTRA.md §2.1)."""
        node = self.flow.node(run.task_id)
        if state == State.FAILED and node.raw.get("allowFailure"):
            state = State.SUCCESS if node.raw.get("allowWarning") else State.WARNING
        elif state == State.WARNING and node.raw.get("allowWarning"):
            state = State.SUCCESS
        if run.state == State.CREATED:
            self.set_run(run, State.RUNNING)
        self.set_run(run, state)

    # -- the loop ------------------------------------------------------------------------------

    def advance(self) -> Effects:
        for _ in range(MAX_STEPS):
            if not self.step():
                break
        return self.effects

    def step(self) -> bool:
        ex = self.ex
        if ex.state == State.RESTARTED:
            self.set_ex(State.RUNNING)
            return True
        if ex.state == State.KILLING:
            self.kill_all()
            return True
        if ex.state not in (State.RUNNING, State.PAUSED, State.RETRYING) or ex.meta.get("manualPause"):
            return False
        changed = self.plan_branch(None)
        for run in self.movable():
            if run.state in _STARTABLE:
                changed |= self.start_run(run)
            elif run.state == State.RUNNING and self.flow.node(run.task_id).kind == "flowable":
                changed |= self.plan_branch(run)
        changed |= self.sync_pause()
        if changed:
            return True
        return self.end_check()

    def movable(self) -> list[TaskRunData]:
        """The runs that may move, in `seq` order: CREATED ones not yet handed to a worker and
        running flowables. On a wide execution almost every run is waiting for a worker or done,
        so only the index's candidates (runs whose state was set since they were last found
        unable to move) are looked at, not every run."""
        index = self.ex.indexed()
        by_id, created, restarted, running = self.flow.by_id, State.CREATED, State.RESTARTED, State.RUNNING

        def may_move(run: TaskRunData) -> bool:
            state = run.state
            return (((state is created or state is restarted) and run.plan.get("dispatched") != len(run.attempts))
                    or (state is running and by_id[run.task_id].kind == "flowable"))

        held = index.by_id
        keep = {run_id: run for run_id, run in index.candidates.items() if held.get(run_id) is run and may_move(run)}
        index.candidates = keep
        found = sorted(keep.values(), key=_seq)
        if checking():
            exact = [run.id for run in self.ex.in_seq_order() if may_move(run)]
            assert exact == [r.id for r in found], "the run index lost track of a movable run"
        return found

    # -- planning ------------------------------------------------------------------------------

    def plan_branch(self, parent: TaskRunData | None) -> bool:
        """Create the next children of the root branch (`parent` None) or of a running flowable,
        then end that flowable if its active branch is done."""
        parent_id = parent.id if parent else None
        kids: Sequence[TaskRunData] = self.ex.children(parent_id)
        whole = self.ex.indexed()
        if parent is None:
            normal: list[Resolved] = [(t, None) for t in self.flow.root_tasks]
            errors: list[Resolved] = [(t, None) for t in self.flow.root_errors]
            behaviour = Behaviour(mode="sequential")
            node = None
        else:
            node = self.flow.node(parent.task_id)
            behaviour = protocol.flowable_behaviour()(self, node, parent)
            if behaviour.wait:
                return False
            normal = behaviour.children
            errors = [(t, None) for t in node.slot_tasks("errors")]
        if parent is not None and behaviour.iteration is not None:
            kids = [k for k in kids if k.iteration == behaviour.iteration]
            index = branches._index(kids)  # one index of the children for the three questions below
        else:  # all the children: the execution's index has them (kept across steps)
            index = whole.keyed(parent_id)
        current, in_errors = branches.current_branch(normal, errors, kids, index,
                                                     any_bad=whole.bad.get(parent_id, 0) > 0)
        mode = "sequential" if in_errors else behaviour.mode
        if mode == "sequential":
            nodes = behaviour.nodes if behaviour.nodes is not None and not in_errors else [n for n, _ in current]
            if any(n.depends_on for n in nodes):
                mode = "dag"
        # An unlimited Parallel whose children all exist has nothing more to create, for good:
        # remembered per index so the check is not a pass over the children on every step.
        memo = self.ex.indexed() if parent is not None and mode == "parallel" and behaviour.concurrency <= 0 \
            and behaviour.iteration is None else None
        if memo is not None and memo.complete.get(parent_id) is current:
            wanted: list[Resolved] = []
        elif mode == "sequential" and (parent is None or behaviour.iteration is None):
            # A long sequential loop: where it stands is remembered, not found by a walk.
            wanted = branches.sequential_next(current, index, whole.unfinished.get(parent_id) or {},
                                              whole.cursors, parent_id)
        else:
            wanted = branches.nexts(mode, current, kids, behaviour.concurrency, index)
            if memo is not None and not wanted:
                memo.complete[parent_id] = current
        created = False
        for child_node, value in wanted:
            self.create_run(child_node, parent, value, behaviour.iteration)
            created = True
        if created or parent is None:
            return created
        assert node is not None
        done = branches.branch_done(current, kids, in_errors, index)
        if not done:
            return False
        in_normal = {(n.id, v) for n, v in normal}  # a set: this compared every child with every entry
        states = [k.state for k in kids if (k.task_id, k.value) in in_normal]
        return behaviour.finish(self, node, parent, worst(states), in_errors)

    def start_run(self, run: TaskRunData) -> bool:
        """A CREATED task run: evaluate `runIf`, then start it according to its kind."""
        node = self.flow.node(run.task_id)
        if run.plan.get("dispatched") == run.attempt_count:
            return False  # waiting for a worker to claim it
        condition = node.raw.get("runIf")
        if condition is not None and not run.plan.get("runIfChecked"):
            try:
                result = self.render(str(condition), run, node)
            except RenderFailed as error:
                self.fail_run(run, f"runIf: {error}")
                return True
            run.plan["runIfChecked"] = True
            run.dirty = True
            if not is_truthy(result):
                self.set_run(run, State.SKIPPED)
                return True
        if node.internal:
            return protocol.start_internal_part()(self, node, run)
        if node.kind == "flowable":
            try:
                protocol.start_flowable()(self, node, run)
            except RenderFailed as error:
                self.fail_run(run, str(error))
            return True
        if node.is_subflow:
            return self.start_subflow(node, run)
        run.plan["dispatched"] = run.attempt_count
        run.dispatch = True
        run.dirty = True
        return False

    def start_subflow(self, node: TaskNode, run: TaskRunData) -> bool:
        from apps.engine.model import SubflowRequest

        try:
            raw = node.raw
            namespace = str(self.render(raw.get("namespace"), run, node))
            flow_id = str(self.render(raw.get("flowId"), run, node))
            inputs = self.render(raw.get("inputs") or {}, run, node)
            labels = labels_list(self.render(raw.get("labels") or {}, run, node))
            schedule = raw.get("scheduleDate")
            schedule_date = str(self.render(schedule, run, node)) if schedule else None
        except RenderFailed as error:
            self.fail_run(run, str(error))
            return True
        self.set_run(run, State.RUNNING)
        run.attempts.append({"state": State.RUNNING.value, "startDate": self.now_iso()})
        run.plan["dispatched"] = run.attempt_count
        self.effects.subflows.append(SubflowRequest(
            task_run_id=run.id, namespace=namespace, flow_id=flow_id, revision=raw.get("revision"),
            inputs=inputs if isinstance(inputs, dict) else {}, labels=labels,
            wait=raw.get("wait", True) is not False, schedule_date=schedule_date,
            inherit_labels=bool(raw.get("inheritLabels")),
        ))
        return True

    def sync_pause(self) -> bool:
        """The execution is PAUSED while a Pause task run is paused (and RUNNING otherwise)."""
        states = self.ex.indexed().states  # runs per state, kept by the index
        if checking():
            exact = {r.state for r in self.ex.task_runs}
            assert {state for state, count in states.items() if count} == exact, "the run index miscounted states"
        if self.ex.state == State.RETRYING and not states.get(State.RETRYING):
            return self.set_ex(State.RUNNING)
        paused = states.get(State.PAUSED, 0) > 0
        if paused and self.ex.state == State.RUNNING:
            return self.set_ex(State.PAUSED)
        if not paused and self.ex.state == State.PAUSED:
            self.set_ex(State.RESTARTED)
            return self.set_ex(State.RUNNING)
        return False

    def kill_all(self, final: State = State.KILLED) -> None:
        for run in self.ex.task_runs:
            if run.state not in TERMINATED:
                if run.state == State.CREATED:
                    self.set_run(run, State.KILLED)
                else:
                    if State.KILLED in _allowed(run.state):
                        transition(run, State.KILLED, self.env.now)
                    run.dirty = True
                    run.end_date = self.now_iso()
                if run.attempts and run.attempts[-1].get("state") in ("RUNNING", "CREATED"):
                    run.attempts[-1]["state"] = State.KILLED.value
        if self.ex.state not in (State.KILLING,) and final == State.KILLED:
            self.set_ex(State.KILLING)
        self.set_ex(final)
        self.effects.ended = True
        self.effects.kill_children = True

    # -- the end -------------------------------------------------------------------------------

    def end_check(self) -> bool:
        """End the execution once its root branch (tasks, then errors) is done (KESTRA.md §5.5)."""
        kids = self.ex.children_of(None)
        normal: list[Resolved] = [(t, None) for t in self.flow.root_tasks]
        errors: list[Resolved] = [(t, None) for t in self.flow.root_errors]
        current, in_errors = branches.current_branch(normal, errors, kids)
        if not branches.branch_done(current, kids, in_errors):
            return False
        final = self.flow.finally_
        if final:
            finals: list[Resolved] = [(t, None) for t in final if not t.disabled]
            pending = branches.nexts("sequential", finals, kids, 0)
            if pending:
                for node, value in pending:
                    self.create_run(node, None, value)
                return True
            if not branches.branch_done(finals, kids, False):
                return False
        normal_ids = {n.id for n, _ in normal}
        state = worst(k.state for k in kids if k.task_id in normal_ids)
        if state == State.PAUSED:
            return False
        if self.ex.state == State.PAUSED:
            self.set_ex(State.RESTARTED)
            self.set_ex(State.RUNNING)
        outputs = self.flow_outputs()
        if outputs is None:
            state = State.FAILED
        else:
            self.ex.outputs = outputs
        for sla in self.flow.raw.get("sla") or []:
            if sla.get("type") != "EXECUTION_ASSERTION":
                continue
            try:
                holds = is_truthy(self.render(str(sla.get("assert", "")), None, None))
            except RenderFailed as error:
                self.log(None, "ERROR", f"SLA '{sla.get('id')}': {error}")
                holds = False
            if not holds:
                behavior = sla.get("behavior", "FAIL")
                self.add_labels(sla.get("labels"))
                self.log(None, "WARN", f"SLA '{sla.get('id')}' violated: its assertion is false")
                if behavior == "FAIL":
                    state = State.FAILED
                elif behavior == "CANCEL":
                    state = State.CANCELLED
        self.set_ex(state)
        self.effects.ended = True
        return True

    def add_labels(self, labels: Any) -> None:
        for label in labels_list(labels or {}):
            for item in self.ex.labels:
                if item.get("key") == label["key"]:
                    item["value"] = label["value"]
                    break
            else:
                self.ex.labels.append(label)
        self.ex.dirty = True

    def violate_sla(self, sla: dict[str, Any], message: str) -> None:
        """MAX_DURATION exceeded: FAIL or CANCEL the execution, or only label it (NONE)."""
        behavior = sla.get("behavior", "FAIL")
        self.add_labels(sla.get("labels"))
        self.log(None, "WARN", message)
        if behavior in ("FAIL", "CANCEL"):
            self.kill_all(State.FAILED if behavior == "FAIL" else State.CANCELLED)

    def flow_outputs(self) -> dict[str, Any] | None:
        declared = self.flow.raw.get("outputs") or []
        if not declared:
            return self.ex.outputs or {}
        result: dict[str, Any] = {}
        for output in declared:
            try:
                value = self.render(output.get("value"), None, None, typed=True)
                value = typed_output(output.get("type", "STRING"), value)
            except (RenderFailed, ValueError) as error:
                # Kestra's wording (one message for all outputs), with the output named.
                self.log(None, "ERROR", f"Failed to render output values: output '{output.get('id')}': {error}")
                return None
            ctx._place(result, str(output.get("id")), [], value)
        self.ex.dirty = True
        return result


def _seq(run: TaskRunData) -> int:
    return run.seq


def checking() -> bool:
    """Whether to check the run index's bookkeeping against a walk of every run on each step
    (WEIR_ENGINE_CHECK=1, which the test suite sets): a run it lost track of would otherwise
    show only as a stalled execution."""
    return os.environ.get("WEIR_ENGINE_CHECK", "") not in ("", "0")


def _allowed(state: State) -> frozenset[State]:
    from apps.engine.states import ALLOWED

    return ALLOWED[state]


# ---------------------------------------------------------------------------------------------
# Entry points used by the runner


def advance(flow: CompiledFlow, ex: ExecutionData, env: ctx.Env) -> Effects:
    """Run the executor loop until nothing changes."""
    effects = Effects()
    return Planner(flow, ex, env, effects).advance()


def start(flow: CompiledFlow, ex: ExecutionData, env: ctx.Env) -> Effects:
    """A CREATED (or un-queued) execution starts: RUNNING, then planned."""
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    if ex.state in (State.CREATED, State.QUEUED):
        planner.set_ex(State.RUNNING)
    timeout = flow.raw.get("timeout")
    if timeout:
        effects.delays.append(Delay("flow_timeout", env.now + timedelta(seconds=parse_duration(str(timeout)))))
    for index, sla in enumerate(flow.raw.get("sla") or []):
        if sla.get("type") == "MAX_DURATION" and sla.get("duration"):
            due = env.now + timedelta(seconds=parse_duration(str(sla["duration"])))
            effects.delays.append(Delay("sla", due, data={"index": index}))
    return planner.advance()


def attempt_ended(flow: CompiledFlow, ex: ExecutionData, run: TaskRunData, state: State,
                  outputs: dict[str, Any] | None, env: ctx.Env) -> Effects:
    """A worker (or a child execution) finished the current attempt of `run`."""
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    protocol.attempt_ended()(planner, run, state, outputs)
    return planner.advance()


def attempts_ended(flow: CompiledFlow, ex: ExecutionData,
                   outcomes: list[tuple[TaskRunData, State, dict[str, Any] | None]], env: ctx.Env) -> Effects:
    """Several attempts ended (results a busy execution collected): record each, advance once."""
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    for run, state, outputs in outcomes:
        protocol.attempt_ended()(planner, run, state, outputs)
    return planner.advance()


def host_step_ended(flow: CompiledFlow, ex: ExecutionData, run: TaskRunData, state: State,
                    outputs: dict[str, Any] | None, plan: dict[str, Any] | None, env: ctx.Env) -> Effects:
    """The host did a ForEachItem split or merge step (`HostStep`) for `run`."""
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    protocol.host_step_ended()(planner, run, state, outputs, plan)
    return planner.advance()


def iteration_ended(flow: CompiledFlow, ex: ExecutionData, run: TaskRunData, iteration: int, state: State,
                    outputs: dict[str, Any] | None, env: ctx.Env) -> Effects:
    """One subflow execution of a ForEachItem's `<id>_items` run ended (or started, without `wait`)."""
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    protocol.iteration_ended()(planner, run, iteration, state, outputs)
    return planner.advance()


def no_worker(flow: CompiledFlow, ex: ExecutionData, run: TaskRunData, fallback: str, env: ctx.Env) -> Effects:
    """No worker serves the task's `workerGroup`: FAIL fails the task run (retries and
    `allowFailure` apply), CANCEL cancels it and the execution (KESTRA.md §2.1)."""
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    if run.state not in (State.CREATED, State.RESTARTED):
        return effects  # a worker took it meanwhile, or it ended
    group = (flow.node(run.task_id).raw.get("workerGroup") or {}).get("key")
    message = f"No worker serves the worker group '{group}' (fallback {fallback})"
    planner.log(run, "ERROR" if fallback == "FAIL" else "WARN", message)
    planner.set_run(run, State.RUNNING)
    run.attempts.append({"state": State.RUNNING.value, "startDate": planner.now_iso()})
    if fallback == "CANCEL":
        run.attempts[-1].update({"state": State.CANCELLED.value, "endDate": planner.now_iso()})
        planner.set_run(run, State.CANCELLED)
        planner.kill_all(State.CANCELLED)
        return effects
    protocol.attempt_ended()(planner, run, State.FAILED, None)
    return planner.advance()


def wake(flow: CompiledFlow, ex: ExecutionData, delay: Delay, env: ctx.Env) -> Effects:
    """A delay the scheduler kept came due."""
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    run = None
    if delay.task_run_id:
        try:
            run = ex.run(delay.task_run_id)
        except KeyError:
            return effects
    if delay.kind == "retry" and run is not None and run.state == State.RETRYING:
        planner.set_run(run, State.CREATED)
        run.plan.pop("dispatched", None)
        run.plan.pop("runIfChecked", None)
        if ex.state == State.RETRYING:
            planner.set_ex(State.RUNNING)
    elif delay.kind == "pause_delay" and run is not None and run.state == State.PAUSED:
        protocol.resume_pause()(planner, run, {})
    elif delay.kind == "pause_timeout" and run is not None and run.state == State.PAUSED:
        planner.log(run, "WARN", "Pause timeout reached: the task run fails")
        planner.set_run(run, State.FAILED)
    elif delay.kind == "wait_for" and run is not None and run.state == State.RUNNING:
        run.plan["waiting"] = False
        run.iteration = (run.iteration or 0) + 1
        run.plan["iteration"] = run.iteration
        run.dirty = True
    elif delay.kind == "sla" and ex.state not in TERMINATED:
        sla = (flow.raw.get("sla") or [])[int(delay.data.get("index", 0))]
        planner.violate_sla(sla, f"SLA '{sla.get('id')}' violated: the execution ran longer than {sla.get('duration')}")
        return planner.advance() if ex.state not in TERMINATED else effects
    elif delay.kind == "flow_timeout" and ex.state not in TERMINATED:
        planner.log(None, "ERROR", f"Flow timeout of {flow.raw.get('timeout')} exceeded: the execution fails")
        ex.meta["timedOut"] = True
        planner.kill_all(State.FAILED)
        return effects
    return planner.advance()


def kill(flow: CompiledFlow, ex: ExecutionData, env: ctx.Env) -> Effects:
    effects = Effects()
    planner = Planner(flow, ex, env, effects)
    if ex.state in TERMINATED:
        return effects
    # The log says why the run stopped, next to its last task lines.
    planner.log(None, "WARN", f"Kill requested while {ex.state.value}: stopping every task run that has not ended")
    if ex.state == State.PAUSED:
        planner.set_ex(State.KILLING)
    else:
        planner.set_ex(State.KILLING) if State.KILLING in _allowed(ex.state) else planner.set_ex(State.KILLED)
    return planner.advance()
