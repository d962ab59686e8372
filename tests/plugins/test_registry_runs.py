"""Every registered type runs; a Kestra type Weir does not provide is named by its family."""

from __future__ import annotations

from typing import Any

import pytest

from apps.flows.validation import validate_source
from apps.plugins.registry import registry
from apps.plugins.sdk import RunnableTask
from tests.plugins.flowrun import eager, execute, root

__all__ = ["eager", "root"]

ENGINE_RUN = {"io.kestra.plugin.core.flow.Subflow"}
"""Runnable in the model, but executed by the engine itself (it starts another execution)."""


def test_every_registered_runnable_type_has_a_run() -> None:
    runnable = [p for p in registry.all() if issubclass(p, RunnableTask)]
    stubs = sorted(p.type for p in runnable if p.run is RunnableTask.run and p.type not in ENGINE_RUN)
    assert len(runnable) > 40
    assert stubs == [], f"registered types that cannot run: {stubs}"


def _problems(task_type: str) -> list[str]:
    result = validate_source(f"""\
id: unknown
namespace: weir.reg
tasks:
  - id: t
    type: {task_type}
""")
    return [p.message for p in result.problems]


@pytest.mark.parametrize(("task_type", "family"), [
    ("io.kestra.plugin.aws.s3.Upload", "AWS"),
    ("io.kestra.plugin.gcp.bigquery.Query", "GCP"),
    ("io.kestra.plugin.jdbc.mysql.Query", "JDBC MySQL"),
    ("io.kestra.plugin.serdes.avro.AvroToIon", "Serdes Avro"),
    ("io.kestra.plugin.fs.sftp.Upload", "File System (fs) SFTP"),
    ("io.kestra.plugin.notifications.discord.DiscordIncomingWebhook", "Notifications Discord"),
])
def test_unprovided_kestra_family_is_named(task_type: str, family: str) -> None:
    assert _problems(task_type) == [
        f"Invalid type: {task_type} belongs to Kestra's {family} plugin, which Weir does not provide"]


@pytest.mark.parametrize(("task_type", "instead"), [
    ("io.kestra.plugin.jdbc.postgresql.Load", "io.kestra.plugin.jdbc.postgresql.Batch"),
    ("io.kestra.plugin.redis.Put", "io.kestra.plugin.redis.string.Set"),
    ("io.kestra.plugin.notifications.email.EmailSend", "io.kestra.plugin.notifications.mail.MailSend"),
])
def test_types_tutorials_invent_name_the_fix(task_type: str, instead: str) -> None:
    assert _problems(task_type) == [f"Invalid type: {task_type} does not exist in Kestra; use {instead}"]


@pytest.mark.parametrize(("body", "fix"), [
    ("type: io.kestra.plugin.redis.string.Set\n    url: redis://h\n    key: k\n    value: v\n    ttl: PT1H",
     'unknown property "ttl" for io.kestra.plugin.redis.string.Set: use `options.expirationDuration`'),
    ("type: io.kestra.plugin.redis.string.Get\n    url: redis://h\n    key: k\n    host: h",
     'unknown property "host" for io.kestra.plugin.redis.string.Get: use `url: redis://host:6379/0`'),
    ("type: io.kestra.plugin.core.http.Request\n    uri: https://x\n    store: true",
     'unknown property "store" for io.kestra.plugin.core.http.Request: Request has no file output; use '
     "io.kestra.plugin.core.http.Download"),
    ("type: io.kestra.plugin.notifications.mail.MailSend\n    htmlContent: x",
     "did you mean 'htmlTextContent'?"),
])
def test_properties_tutorials_invent_name_the_fix(body: str, fix: str) -> None:
    result = validate_source(f"id: f\nnamespace: weir.reg\ntasks:\n  - id: t\n    {body}\n")
    assert any(fix in p.message for p in result.problems), [p.message for p in result.problems]


def test_typo_in_a_provided_family_still_gets_near_matches() -> None:
    (message,) = _problems("io.kestra.plugin.jdbc.postgresql.Qurey")
    assert "did you mean io.kestra.plugin.jdbc.postgresql.Query" in message
    (message,) = _problems("io.kestra.plugin.core.log.Lgo")
    assert "did you mean io.kestra.plugin.core.log.Log" in message


@pytest.mark.django_db(transaction=True)
def test_templated_task_runs_the_rendered_task(root: Any, eager: None) -> None:
    ran = execute(root, """\
        id: templated
        namespace: weir.reg
        inputs:
          - id: word
            type: STRING
            defaults: hello
        tasks:
          - id: templated
            type: io.kestra.plugin.core.templating.TemplatedTask
            spec: |
              id: inner
              type: io.kestra.plugin.core.debug.Return
              format: "{{ inputs.word }} world"
          - id: bomb
            type: io.kestra.plugin.core.templating.TemplatedTask
            allowFailure: true
            spec: |
              id: inner
              type: io.kestra.plugin.core.debug.Return
              format: &a "x"
              description: *a
          - id: flowable
            type: io.kestra.plugin.core.templating.TemplatedTask
            allowFailure: true
            spec: |
              id: inner
              type: io.kestra.plugin.core.flow.Sequential
              tasks: []
        """)
    assert ran.outputs("templated") == {"value": "hello world"}
    assert ran.task_state("bomb") == "WARNING"
    assert any("aliases" in line for line in ran.logs("bomb"))
    assert any("must be a runnable task" in line for line in ran.logs("flowable"))
