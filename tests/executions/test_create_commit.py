"""Creating an execution is one transaction whose COMMIT is sent with the start's writes
(`runner._commits_with_writes`, `process_new(last=True)`): the API's most frequent write waits for
one round trip of writing, not two."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from psycopg.pq import TransactionStatus

from apps.executions import services as ex_services
from apps.executions.models import Execution, TaskRun
from apps.executions.runtime import runner
from apps.flows import services as flow_services

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

FLOW = """id: one
namespace: acme.create
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: x
"""


def test_the_commit_of_a_new_execution_goes_with_its_writes(writer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    flow_services.create_flow(writer, FLOW)
    status_at_commit: list[TransactionStatus] = []
    commit = connection._commit

    def watched() -> None:
        status_at_commit.append(connection.connection.info.transaction_status)
        commit()

    monkeypatch.setattr(connection, "_commit", watched)
    execution = ex_services.create_execution("acme.create", "one", inputs_mode="none")
    # Django's commit found the server's transaction already ended, so it sent nothing.
    assert status_at_commit == [TransactionStatus.IDLE]
    assert Execution.objects.get(id=execution.id).state == "RUNNING"
    assert TaskRun.objects.get(execution_id=execution.id, task_id="a").state == "CREATED"


def test_only_a_real_savepoint_keeps_the_commit_apart() -> None:
    with transaction.atomic(), transaction.atomic(savepoint=False):
        assert runner._commits_with_writes(depth=2)
    with transaction.atomic(), transaction.atomic():
        assert not runner._commits_with_writes(depth=2)
    with transaction.atomic():
        assert runner._commits_with_writes()
        assert not runner._commits_with_writes(depth=2)
