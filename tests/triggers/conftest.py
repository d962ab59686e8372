from __future__ import annotations


def schedule_flow(flow_id: str = "nightly", cron: str = "* * * * *", extra: str = "", trigger_id: str = "every",
                  flow_extra: str = "", namespace: str = "acme") -> str:
    return f"""\
id: {flow_id}
namespace: {namespace}
{flow_extra}inputs:
  - id: day
    type: STRING
    defaults: none
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ trigger.date }}}}"
triggers:
  - id: {trigger_id}
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "{cron}"
    inputs:
      day: "{{{{ trigger.date }}}}"
{extra}"""
