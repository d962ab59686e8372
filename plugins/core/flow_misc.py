"""More tasks of `io.kestra.plugin.core.flow` (KESTRA.md §3.1-3.2): Pause, Sleep and
WorkingDirectory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    Duration,
    FlowableProperties,
    FlowableTask,
    Issue,
    NamespaceFiles,
    Plugin,
    PluginKind,
    Properties,
    RunContext,
    RunnableTask,
    TaskProperties,
    TaskSpec,
    ValidationContext,
    dynamic,
    parse_duration,
    task_list,
)
from plugins.core._common import InputFiles, InputSpec
from plugins.core.flow_executable import EXECUTABLE_TYPES

GROUP = "io.kestra.plugin.core.flow"


class Pause(FlowableTask):
    """Pause the execution until it is resumed, or for a fixed `delay`.

    The execution goes PAUSED and nothing downstream runs until:

    - someone resumes it (the UI's Resume button, `POST /api/v1/executions/{id}/resume`, or the
      `io.kestra.plugin.core.execution.Resume` task), or
    - `delay` has elapsed: the execution resumes by itself, or
    - `timeout` (the common task property) expires without a resume: the task run becomes
      **FAILED** (in the snapshot Weir follows; Kestra's doc string says "resume").

    With neither `delay` nor `timeout` it waits forever for a manual resume. Use it for
    human-in-the-loop approvals or a simple wait.

    `onResume` declares inputs (same syntax as flow inputs, KESTRA.md §1.3) that the person
    resuming must fill in; they are validated and exposed as the output
    `{{ outputs.<id>.onResume.<inputId> }}`. The `tasks` property is deprecated: child tasks run
    after the resume, as in a `Sequential`.
    """

    type = "io.kestra.plugin.core.flow.Pause"
    aliases = ("io.kestra.core.tasks.flows.Pause",)
    title = "Pause the execution"
    group = GROUP
    icon = "pause"
    layout = "sequential"
    planner = "pause"
    examples = (
        """\
id: approval
namespace: company.team
tasks:
  - id: wait_for_approval
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOLEAN
        defaults: true
      - id: reason
        type: STRING
        required: false
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "Approved: {{ outputs.wait_for_approval.onResume.approved }}"
""",
        """\
id: pause_delay
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    delay: PT10S
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: resumed automatically
""",
    )

    class Properties(FlowableProperties):
        delay: Duration | None = dynamic(None, description="Resume automatically after this duration.")
        onResume: list[InputSpec] | None = Field(
            None, description="Inputs asked for when resuming; read as `outputs.<id>.onResume.<input>`."
        )
        tasks: list[TaskSpec] | None = task_list(description="Deprecated: tasks run after the resume.")

    class Outputs(BaseModel):
        onResume: dict[str, Any] | None = Field(None, description="The validated resume inputs.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        seen: set[str] = set()
        for i, entry in enumerate(raw.get("onResume") or []):
            if not isinstance(entry, Mapping) or not entry.get("type"):
                yield ("onResume", i), "An onResume input needs an `id` and a `type`"
                continue
            input_id = entry.get("id") or entry.get("name")
            if not input_id:
                yield ("onResume", i), "An onResume input needs an `id`"
            elif input_id in seen:
                yield ("onResume", i, "id"), f"Duplicate onResume input id '{input_id}'"
            else:
                seen.add(str(input_id))


class Sleep(RunnableTask):
    """Wait for `duration`, then succeed.

    A plain delay on a worker, e.g. to respect a rate limit or give an external system time to
    settle. Unlike `Pause` the execution stays RUNNING and cannot be resumed early; for long
    waits prefer `Pause` with a `delay` (it holds no worker slot). No outputs.
    """

    type = "io.kestra.plugin.core.flow.Sleep"
    title = "Sleep"
    group = GROUP
    icon = "sleep"
    examples = (
        """\
id: sleep
namespace: company.team
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT5S
""",
    )

    class Properties(TaskProperties):
        duration: Duration = dynamic(description="How long to wait (ISO-8601, e.g. PT5S).")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        ctx.sleep(parse_duration(props.duration))

class Cache(Properties):
    """Files of the working directory kept between executions of the task."""

    patterns: list[str] = Field(description="Glob patterns, relative to the working directory.")
    ttl: Duration | None = Field(None, description="How long a cache entry is kept.")


class WorkingDirectory(FlowableTask):
    """Run runnable tasks one after another in one shared directory on one worker.

    Each task normally gets its own temporary directory. Here all children run on the same
    worker and share a directory, so a file written by one task can be read by the next without
    passing `kestra://` URIs around (e.g. clone a repo, then run a script in it).

    - Only **runnable** tasks are allowed as children (no `Parallel`, `Pause`, `Subflow`…),
      and a child cannot set its own `workerGroup`.
    - `inputFiles` creates files before the first child; `namespaceFiles` copies the namespace's
      files in; `outputFiles` (glob patterns) are uploaded at the end.
    - `cache` archives the files matching `patterns` at the end and restores them at the next
      run while younger than `ttl` (handy for `node_modules`, virtualenvs…).

    Output: `outputFiles` — a map from file name to its `kestra://` URI.
    """

    type = "io.kestra.plugin.core.flow.WorkingDirectory"
    aliases = ("io.kestra.core.tasks.flows.WorkingDirectory", "io.kestra.core.tasks.flows.Worker")
    title = "Share a working directory"
    group = GROUP
    icon = "folder"
    layout = "sequential"
    runs_on_worker = True
    examples = (
        """\
id: working_directory
namespace: company.team
tasks:
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      data.csv: |
        id,name
        1,Ada
    outputFiles:
      - "*.csv"
    cache:
      patterns:
        - "cache/**"
      ttl: PT1H
    tasks:
      - id: publish
        type: io.kestra.plugin.core.namespace.UploadFiles
        namespace: company.team
        files:
          - '.*\\.csv'
        destination: /data
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.wdir.outputFiles['data.csv'] }}"
""",
    )

    class Properties(FlowableProperties):
        tasks: list[TaskSpec] | None = task_list(required=True, description="Runnable tasks run in order.")
        cache: Cache | None = Field(None, description="Files kept between executions.")
        namespaceFiles: NamespaceFiles | None = Field(None, description="Namespace files to copy in.")
        inputFiles: InputFiles | None = dynamic(None, description="Files to create: `{path: content}`.")
        outputFiles: list[str] | None = dynamic(None, description="Glob patterns of files to upload.")

    class Outputs(BaseModel):
        outputFiles: dict[str, str] | None = Field(None, description="Uploaded files: name → `kestra://` URI.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        tasks = raw.get("tasks")
        if not tasks:
            yield (), "The 'tasks' property cannot be empty"
            return
        if not isinstance(tasks, list):
            return
        for i, child in enumerate(tasks):
            if not isinstance(child, Mapping):
                continue
            child_type = child.get("type")
            kind = ctx.kind_of(child_type) if isinstance(child_type, str) else None
            if kind is not None and (kind != PluginKind.RUNNABLE or child_type in EXECUTABLE_TYPES):
                yield ("tasks", i), "Only runnable tasks are allowed as children of a WorkingDirectory task"
            if child.get("workerGroup") is not None:
                yield (
                    ("tasks", i, "workerGroup"),
                    "Cannot set a workerGroup on a task inside a WorkingDirectory: "
                    "all its children run on the WorkingDirectory's worker",
                )


PLUGINS: list[type[Plugin]] = [Pause, Sleep, WorkingDirectory]
