"""kestrapy's trigger calls beyond search: one-trigger and bulk enable/disable, unlock, restart,
reset (Kestra's trigger deletion), backfills one by one and in bulk, and the CSV exports of
triggers, flows and executions. The server runs no scheduler, so a backfill stays where the
calls leave it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.kestra.conftest import TENANT
from tests.kestra.test_kestrapy import GREET, NS, _flow, _state

pytestmark = pytest.mark.django_db(transaction=True)

BY_NS = [{"field": "namespace", "operation": "EQUALS", "value": NS}]
TICKING = _flow("ticking", """\
tasks:
  - id: tick
    type: io.kestra.plugin.core.log.Log
    message: tick
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 * * *"
""")
HOURLY = {"namespace": NS, "flowId": "ticking", "triggerId": "hourly"}
DAILY = {"namespace": NS, "flowId": "ticking", "triggerId": "daily"}


def _contexts(kestra: Any) -> dict[str, dict[str, Any]]:
    found = kestra.triggers.search_triggers(TENANT, filters=BY_NS)
    return {row["triggerContext"]["triggerId"]: row["triggerContext"] for row in found["results"]}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_enable_disable_one_and_many(kestra: Any) -> None:
    from kestrapy.exceptions import NotFoundException
    from kestrapy.models.trigger_controller_set_disabled_request import TriggerControllerSetDisabledRequest

    kestra.flows.create_flow(TENANT, TICKING)
    both = TriggerControllerSetDisabledRequest.from_dict({"triggers": [HOURLY, DAILY], "disabled": True})
    assert kestra.triggers.disabled_triggers_by_ids(TENANT, both)["count"] == 2
    assert {k: c["disabled"] for k, c in _contexts(kestra).items()} == {"hourly": True, "daily": True}

    enabled = kestra.triggers.disable_trigger_by_id(TENANT, {**DAILY, "disabled": False})
    assert (enabled["triggerId"], enabled["disabled"]) == ("daily", False)
    assert {k: c["disabled"] for k, c in _contexts(kestra).items()} == {"hourly": True, "daily": False}

    # One unknown trigger in the list: nothing is changed.
    broken = TriggerControllerSetDisabledRequest.from_dict({
        "triggers": [DAILY, {**DAILY, "triggerId": "nope"}], "disabled": True})
    with pytest.raises(NotFoundException):
        kestra.triggers.disabled_triggers_by_ids(TENANT, broken)
    assert not _contexts(kestra)["daily"]["disabled"]


def test_unlock_restart_and_reset(kestra: Any) -> None:
    from apps.triggers.models import TriggerState

    kestra.flows.create_flow(TENANT, TICKING)
    _contexts(kestra)  # the rows exist once the flow's triggers have been read
    locked = datetime.now(UTC) - timedelta(minutes=5)
    TriggerState.objects.filter(namespace=NS).update(evaluate_running_date=locked, worker_id="w-1",
                                                     last_error="boom")
    assert all(c["evaluateRunningDate"] and c["workerId"] == "w-1" for c in _contexts(kestra).values())

    assert kestra.triggers.unlock_triggers_by_ids(TENANT, [HOURLY])["count"] == 1
    contexts = _contexts(kestra)
    assert contexts["hourly"]["evaluateRunningDate"] is None and contexts["daily"]["workerId"] == "w-1"
    assert kestra.triggers.unlock_triggers_by_query(TENANT, filters=BY_NS)["count"] == 2
    assert all(c["evaluateRunningDate"] is None for c in _contexts(kestra).values())

    assert _contexts(kestra)["daily"]["lastError"] == "boom"
    restarted = kestra.triggers.restart_trigger(TENANT, NS, "ticking", "daily")
    assert restarted["lastError"] is None and restarted["nextExecutionDate"]

    # Reset (Kestra's "delete trigger"): the runtime switch and the backfill go, the trigger stays.
    kestra.triggers.disable_trigger_by_id(TENANT, {**HOURLY, "disabled": True})
    TriggerState.objects.filter(namespace=NS, trigger_id="hourly").update(execution_id="e1", date=locked)
    kestra.triggers.delete_trigger(TENANT, NS, "ticking", "hourly")
    hourly = _contexts(kestra)["hourly"]
    assert (hourly["disabled"], hourly["executionId"], hourly["date"]) == (False, None, None)
    assert hourly["nextExecutionDate"]

    kestra.triggers.disabled_triggers_by_query(TENANT, filters=BY_NS, disabled=True)
    assert kestra.triggers.delete_triggers_by_ids(TENANT, [DAILY])["count"] == 1
    assert {k: c["disabled"] for k, c in _contexts(kestra).items()} == {"hourly": True, "daily": False}
    from kestrapy.models.delete_triggers_by_query_request import DeleteTriggersByQueryRequest

    request = DeleteTriggersByQueryRequest.from_dict({"filters": BY_NS})
    assert kestra.triggers.delete_triggers_by_query(TENANT, request)["count"] == 2
    assert {k: c["disabled"] for k, c in _contexts(kestra).items()} == {"hourly": False, "daily": False}


def test_backfills_one_by_one_and_in_bulk(kestra: Any) -> None:
    from kestrapy.exceptions import UnprocessableEntityException

    kestra.flows.create_flow(TENANT, TICKING)
    _contexts(kestra)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    period = {"start": (end - timedelta(days=3)).isoformat(), "end": end.isoformat()}
    created = kestra.triggers.create_backfill(TENANT, {**HOURLY, "backfill": period})  # both ends included
    assert created["backfill"]["total"] == 73 and not created["backfill"]["paused"]
    with pytest.raises(UnprocessableEntityException):
        kestra.triggers.create_backfill(TENANT, {**DAILY, "backfill": {**period, "start": period["end"]}})
    assert _contexts(kestra)["daily"]["backfill"] is None
    kestra.triggers.create_backfill(TENANT, {**DAILY, "backfill": period})

    assert kestra.triggers.pause_backfill_by_ids(TENANT, [HOURLY])["count"] == 1
    contexts = _contexts(kestra)
    assert contexts["hourly"]["backfill"]["paused"] and not contexts["daily"]["backfill"]["paused"]
    assert kestra.triggers.pause_backfill_by_query(TENANT, filters=BY_NS)["count"] == 2
    assert kestra.triggers.unpause_backfill_by_ids(TENANT, [DAILY])["count"] == 1
    assert [c["backfill"]["paused"] for c in _contexts(kestra).values()] == [False, True]  # daily, hourly
    assert kestra.triggers.unpause_backfill_by_query(TENANT, filters=BY_NS)["count"] == 2

    assert kestra.triggers.delete_backfill_by_ids(TENANT, [DAILY])["count"] == 1
    # A trigger without a backfill is skipped by the bulk forms, not refused.
    assert kestra.triggers.delete_backfill_by_query(TENANT, filters=BY_NS)["count"] == 1
    assert all(c["backfill"] is None for c in _contexts(kestra).values())


def test_csv_exports(kestra: Any) -> None:
    kestra.flows.create_flow(TENANT, GREET)
    kestra.flows.create_flow(TENANT, GREET.replace(NS, "acme.other"))
    done = kestra.executions.create_execution(TENANT, NS, "greet", wait=True, inputs={"name": "ada"})
    kestra.flows.create_flow(TENANT, TICKING)
    assert _state(done) == "SUCCESS"
    kestra.triggers.disable_trigger_by_id(TENANT, {**DAILY, "disabled": True})

    triggers = kestra.triggers.export_triggers(TENANT, filters=BY_NS)
    assert triggers.splitlines()[0] == ("namespace,flowId,triggerId,date,nextExecutionDate,backfill,stopAfter,"
                                        "disabled,executionId,updatedDate,evaluateRunningDate,workerId")
    assert [(r["triggerId"], r["disabled"]) for r in _rows(triggers)] == [("daily", "true"), ("hourly", "false")]

    flows = _rows(kestra.flows.export_flows_by_query_csv(TENANT, filters=BY_NS))
    assert [(r["namespace"], r["id"], r["revision"]) for r in flows] == [(NS, "greet", "1"), (NS, "ticking", "1")]
    assert list(flows[0])[:4] == ["id", "namespace", "revision", "description"]

    executions = kestra.executions.export_executions_by_query_to_csv(TENANT, filters=BY_NS)
    rows = _rows(executions)
    assert [(r["id"], r["flowId"]) for r in rows] == [(done.id, "greet")]
    assert list(rows[0])[:4] == ["id", "namespace", "flowId", "flowRevision"]
    assert '"current":"SUCCESS"' in rows[0]["state"] and '"name":"ada"' in rows[0]["inputs"]
    assert _rows(kestra.executions.export_executions_by_query_to_csv(
        TENANT, filters=[{"field": "namespace", "operation": "EQUALS", "value": "acme.nobody"}])) == []


def test_webhook_sub_paths(kestra: Any) -> None:
    from kestrapy.exceptions import NotFoundException

    kestra.flows.create_flow(TENANT, _flow("hooked", """\
tasks:
  - id: seen
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.path ?? 'none' }} {{ trigger.parameters.n[0] ?? '-' }}"
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cret
"""))
    calls = {"GET": kestra.executions.trigger_execution_by_get_webhook_with_path,
             "POST": kestra.executions.trigger_execution_by_post_webhook_with_path,
             "PUT": kestra.executions.trigger_execution_by_put_webhook_with_path}
    started = {verb: call(TENANT, NS, "hooked", "s3cret", f"orders/{verb.lower()}") for verb, call in calls.items()}
    plain = kestra.executions.trigger_execution_by_get_webhook(TENANT, NS, "hooked", "s3cret")
    for verb, reply in started.items():
        assert reply.namespace == NS and reply.flow_id == "hooked"
        assert kestra.executions.execution(reply.id, TENANT).trigger.variables["path"] == f"orders/{verb.lower()}"
    assert "path" not in kestra.executions.execution(plain.id, TENANT).trigger.variables
    with pytest.raises(NotFoundException):  # the key still decides, whatever the path
        kestra.executions.trigger_execution_by_post_webhook_with_path(TENANT, NS, "hooked", "wrong", "orders/1")
