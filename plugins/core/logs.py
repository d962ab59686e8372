"""Log tasks beyond `Log`: `io.kestra.plugin.core.log.Fetch` and `PurgeLogs` (KESTRA.md §3.2)."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from apps.plugins.sdk import LogLevel, Plugin, RunContext, RunnableTask, TaskProperties, dynamic
from plugins.core._common import DateTime

GROUP = "io.kestra.plugin.core.log"


class Fetch(RunnableTask):
    """Collect the logs of an execution into an internal-storage file.

    By default it reads the current execution's logs; set `executionId` (and `namespace`/`flowId`
    for another flow's execution) to read another one. `tasksId` keeps only some tasks and
    `level` is the minimum level. A task's logs are stored when its attempt ends, so the logs of
    earlier tasks are all there, but not those of tasks still running (the `Sleep` Kestra flows
    put before a Fetch is harmless). Use it to attach logs to an alert.

    Outputs: `size` (number of log lines) and `uri` (an ION file of the log entries: one JSON
    object per line, which is also valid ION text).
    """

    type = "io.kestra.plugin.core.log.Fetch"
    aliases = ("io.kestra.core.tasks.log.Fetch",)
    title = "Fetch logs"
    group = GROUP
    icon = "log"
    examples = (
        """\
id: fetch_logs
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hello
  - id: fetch
    type: io.kestra.plugin.core.log.Fetch
    level: INFO
    tasksId:
      - hello
""",
    )

    class Properties(TaskProperties):
        executionId: str | None = dynamic(None, description="Execution to read; default: the current one.")
        namespace: str | None = dynamic(None, description="Namespace of that execution's flow.")
        flowId: str | None = dynamic(None, description="Flow of that execution.")
        tasksId: list[str] | None = dynamic(None, description="Only logs of these task ids.")
        level: LogLevel = Field(LogLevel.INFO, description="Minimum level of the logs kept.")

    class Outputs(BaseModel):
        size: int | None = Field(None, description="Number of log entries fetched.")
        uri: str | None = Field(None, description="`kestra://` URI of the ION file of logs.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        entries = ctx.host().fetch_logs(props.executionId or None, props.tasksId, props.level.value,
                                        namespace=props.namespace or None, flow_id=props.flowId or None)
        text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)
        uri = ctx.put_file("logs.ion", text.encode("utf-8"))
        return self.Outputs(size=len(entries), uri=uri)


class PurgeLogs(RunnableTask):
    """Delete logs older than `endDate` (required), optionally only of a namespace, a flow or
    some levels.

    Run it on a schedule to bound the size of the log table. When `flowId` is unset,
    `namespace` also selects its child namespaces (`company` covers `company.team`); without it,
    the flow's own namespace and its children. Another namespace must list this flow's namespace
    in `allowedNamespaces`, and the flow's last author needs WRITE there. It cannot be undone.

    Output: `count` (deleted log entries).
    """

    type = "io.kestra.plugin.core.log.PurgeLogs"
    title = "Purge logs"
    group = GROUP
    icon = "trash"
    examples = (
        """\
id: purge_logs
namespace: system
tasks:
  - id: purge
    type: io.kestra.plugin.core.log.PurgeLogs
    endDate: "{{ now() | dateAdd(-7, 'DAYS') }}"
    logLevels:
      - TRACE
      - DEBUG
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 3 * * *"
""",
    )

    class Properties(TaskProperties):
        namespace: str | None = dynamic(None, description="Namespace (a prefix when `flowId` is not set); "
                                                          "default: the flow's own.")
        flowId: str | None = dynamic(None, description="Flow whose logs are purged.")
        logLevels: list[LogLevel] | None = Field(None, description="Only purge logs of these levels.")
        startDate: DateTime | None = dynamic(None, description="Only logs after this date.")
        endDate: DateTime = dynamic(description="Only logs before this date.")

    class Outputs(BaseModel):
        count: int | None = Field(None, description="Number of deleted log entries.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        levels = [level.value for level in props.logLevels] if props.logLevels is not None else None
        count = ctx.host().purge_logs(namespace=props.namespace or None, flow_id=props.flowId or None,
                                      levels=levels, start_date=props.startDate, end_date=props.endDate)
        return self.Outputs(count=count)


PLUGINS: list[type[Plugin]] = [Fetch, PurgeLogs]
