"""Looking inside one execution: its topology with task runs, and the expression debug console."""

from __future__ import annotations

from typing import Any

from apps.core.errors import NotFound, Unprocessable
from apps.engine import context
from apps.engine.expressions import ExpressionLimitError, render
from apps.executions.api.serializers import task_run_json
from apps.executions.models import Execution, TaskRun
from apps.executions.runtime import lifecycle, runner
from apps.flows import services as flow_services
from apps.flows.models import FlowRevision
from apps.secrets.masking import mask


def graph(row: Execution) -> dict[str, Any]:
    """The topology of the revision the execution runs (KESTRA.md §7.8) plus its `taskRunList`.

    Each task node carries the latest task run of its task in `taskRun` (null when it has not
    run), so a client can colour the graph by state without matching ids itself.
    """
    try:
        source = FlowRevision.objects.only("source").get(
            flow__namespace=row.namespace, flow__flow_id=row.flow_id, revision=row.flow_revision).source
    except FlowRevision.DoesNotExist as error:
        raise NotFound(f"revision {row.flow_revision} of flow {row.namespace}.{row.flow_id} not found") from error
    topology = flow_services.graph_of(source)
    runs = [task_run_json(r) for r in TaskRun.objects.filter(execution_id=row.id).order_by("seq")]
    latest = {run["taskId"]: run for run in runs}
    for node in topology.get("nodes", []):
        task = node.get("task")
        if isinstance(task, dict) and "taskRun" in node:
            node["taskRun"] = latest.get(str(task.get("id")))
    return {**topology, "taskRunList": runs}


def evaluate(row: Execution, task_run_id: str | None, expression: str) -> dict[str, Any]:
    """Render `expression` as the task run's own properties would be rendered (the debug console),
    or at execution level (flow outputs' context) without a task run.

    A rendering failure is the answer, not an error of the request: `{"error": message}`. An
    expression past a render limit (the same time budget and sizes as a task's rendering,
    `apps/engine/expressions/limits.py`) is refused with 422. Secret values read while rendering,
    and every value computed from them (taint tracking), are masked in the result and in errors.
    """
    _, data = runner.snapshot(row.id)
    try:
        run = data.run(task_run_id) if task_run_id is not None else None
    except KeyError as error:
        raise NotFound(f"Task run '{task_run_id}' not found in execution '{row.id}'") from error
    flow = runner.compiled(row.namespace, row.flow_id, row.flow_revision)
    env = runner.env(lifecycle.render_services(row))
    values = context.build(flow, data, env, run, flow.by_id.get(run.task_id) if run is not None else None)
    try:
        result = render(expression, values, services=env.services)
    except ExpressionLimitError as error:
        raise Unprocessable(f"the expression was stopped: {mask(str(error))}") from error
    except Exception as error:  # any other failure of a user's expression is reported, never raised
        return {"error": mask(str(error))}
    return {"result": mask(result)}
