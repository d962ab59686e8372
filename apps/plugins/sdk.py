"""The public plugin API of Weir. Anything not exported here is internal.

Contract (RFC 2119 words):

- A plugin MUST subclass exactly one of `RunnableTask`, `FlowableTask`, `Trigger`, `Condition`,
  set `type` (a dotted, Java-style name, e.g. `io.kestra.plugin.core.log.Log`), `title`, `group`
  and `icon`, and nest a `Properties` model (a subclass of `TaskProperties`, `FlowableProperties`,
  `TriggerProperties` or `ConditionProperties`). Its docstring is its markdown documentation.
- A plugin SHOULD declare `Outputs` (a pydantic model) and at least one `examples` entry, a whole
  flow in YAML that validates.
- Properties models forbid unknown keys; properties whose value is rendered by the expression
  engine before use MUST be declared with `dynamic(...)`.
- Child task lists and condition lists MUST be declared with the slot helpers (`task_list`,
  `task_map`, `dag_tasks`, `condition_list`, `condition_map`); the host validates each child with
  its own plugin, so errors point at the child's place in the YAML.
- `validate()` MAY return extra, plugin-specific problems as `(relative path, message)` pairs.
- A plugin MUST NOT import Django; `run()` gets everything through its `RunContext`.
- Plugins are registered by listing them in `PLUGINS` in a package under `plugins/`, or in a
  module named by the `weir.plugins` entry-point group.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)

from apps.plugins import ion
from apps.plugins.egress import EgressDenied, Target
from apps.plugins.egress import check_host as egress_check_host
from apps.plugins.egress import resolve as egress_resolve

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import httpx

    from apps.plugins.nethttp import HttpCall as HttpCall

__all__ = [
    "ID_PATTERN",
    "Condition",
    "ConditionProperties",
    "ConditionSpec",
    "DagEntry",
    "Duration",
    "Dyn",
    "DynBool",
    "DynInt",
    "FlowableProperties",
    "FlowableTask",
    "Issue",
    "LogLevel",
    "NamespaceFiles",
    "NoOutputs",
    "Plugin",
    "PluginKind",
    "Properties",
    "Retry",
    "RunContext",
    "RunnableTask",
    "Slot",
    "TaskProperties",
    "TaskSpec",
    "Trigger",
    "TriggerProperties",
    "ValidationContext",
    "WorkerGroup",
    "condition_list",
    "condition_map",
    "dag_tasks",
    "dynamic",
    "glob_regex",
    "parse_duration",
    "regex_problem",
    "task_list",
    "task_map",
]

ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"

# ---------------------------------------------------------------------------------------------
# Value types


_DURATION_RE = re.compile(
    r"^(?P<sign>[-+]?)P(?:(?P<days>[-+]?\d+)D)?"
    r"(?:T(?:(?P<hours>[-+]?\d+)H)?(?:(?P<minutes>[-+]?\d+)M)?(?:(?P<seconds>[-+]?\d+(?:[.,]\d{1,9})?)S)?)?$",
    re.IGNORECASE,
)


def regex_problem(pattern: str) -> str | None:
    """Why a user regular expression (a property the host matches with) cannot be used, or None.

    Plugins validate regex properties with it so a flow is refused when saved, with the same
    bounds that the engine compiles the pattern with (apps/plugins/patterns.py)."""
    from apps.plugins.patterns import pattern_problem

    return pattern_problem(pattern)


def parse_duration(text: str) -> float:
    """Seconds in a `java.time.Duration` string (`PT30S`, `P1DT2H`, `PT0.250S`).

    Only the subset Java accepts: days, hours, minutes, (fractional) seconds. Years, months,
    weeks and fractional hours or minutes raise ValueError, as `Duration.parse` does.
    """
    match = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
    if not match or text.strip().upper() in {"P", "PT"} or text.strip().upper().endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO-8601 duration: use forms like PT30S, PT5M, PT1H30M, P1D "
            "(days, hours, minutes and seconds only)"
        )
    parts = match.groupdict()
    seconds = (
        int(parts["days"] or 0) * 86400
        + int(parts["hours"] or 0) * 3600
        + int(parts["minutes"] or 0) * 60
        + float((parts["seconds"] or "0").replace(",", "."))
    )
    return -seconds if parts["sign"] == "-" else seconds


def _check_duration(value: str) -> str:
    if "{{" in value or "{%" in value:
        return value  # an expression: checked when rendered
    parse_duration(value)
    return value


Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "format": "duration"}),
]
"""An ISO-8601 duration string (or an expression that renders to one)."""

TaskSpec = Annotated[dict[str, Any], WithJsonSchema({"type": "object", "$weirRef": "Task"})]
"""A child task, kept raw here; the host validates it with its own plugin."""

ConditionSpec = Annotated[dict[str, Any], WithJsonSchema({"type": "object", "$weirRef": "Condition"})]
"""A condition, kept raw here; the host validates it with its own plugin."""


class LogLevel(StrEnum):
    TRACE = "TRACE"
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


class Properties(BaseModel):
    """Base of every properties model: unknown keys are errors, as in Kestra's strict parser."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=False)

    property_hints: ClassVar[dict[str, str]] = {}
    """Unknown property → the fix the validator names (properties tutorials invent, e.g. `ttl`)."""


def dynamic(default: Any = ..., *, description: str = "", title: str | None = None, **kw: Any) -> Any:
    """Declare a property rendered by the expression engine before use (`$dynamic` in schemas)."""
    return Field(default, description=description or None, title=title,
                 json_schema_extra={"$dynamic": True}, **kw)


def _dynamic_value(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """Kestra's `Property<T>`: before rendering an expression string stands in for any T; after
    rendering (validation context `{"rendered": True}`) the value must be a T (`"true"` → True)."""
    rendered = isinstance(info.context, dict) and info.context.get("rendered")
    if not rendered and isinstance(value, str) and ("{{" in value or "{%" in value):
        return value
    return handler(value)


Dyn = WrapValidator(_dynamic_value)
"""Marker for a typed dynamic property: `Annotated[Literal["A", "B"], Dyn]`."""

_EXPR_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r".*\{[{%].*"}
DynBool = Annotated[bool, Dyn, WithJsonSchema({"anyOf": [{"type": "boolean"}, _EXPR_SCHEMA]})]
DynInt = Annotated[int, Dyn, WithJsonSchema({"anyOf": [{"type": "integer"}, _EXPR_SCHEMA]})]


# ---------------------------------------------------------------------------------------------
# Slots: where child tasks and conditions live inside a plugin's properties


class SlotKind(StrEnum):
    TASKS = "tasks"
    CONDITIONS = "conditions"


class SlotShape(StrEnum):
    LIST = "list"  # [task, …]
    MAP = "map"  # {key: [task, …]}        (Switch.cases)
    DAG = "dag"  # [{task, dependsOn}, …]  (Dag.tasks)
    CONDITION_MAP = "condition_map"  # {key: condition}  (MultipleCondition.conditions)


@dataclass(frozen=True, slots=True)
class Slot:
    """A property holding children that the host validates, walks and (later) schedules."""

    name: str
    kind: SlotKind
    shape: SlotShape
    required: bool = False
    is_errors: bool = False


def _slot(kind: SlotKind, shape: SlotShape, required: bool, description: str, **extra: Any) -> Any:
    return Field(
        None,
        description=description or None,
        json_schema_extra={"$slot": f"{kind}:{shape}", "$required": required, **extra},
    )


def task_list(*, required: bool = False, description: str = "", errors: bool = False) -> Any:
    """A list of child tasks. `required` means it must be present and non-empty."""
    return _slot(SlotKind.TASKS, SlotShape.LIST, required, description, **({"$errors": True} if errors else {}))


def task_map(*, description: str = "") -> Any:
    """A map from a key to a list of child tasks (Switch `cases`)."""
    return _slot(SlotKind.TASKS, SlotShape.MAP, False, description)


def dag_tasks(*, required: bool = True, description: str = "") -> Any:
    """A list of `{task, dependsOn}` entries (the Dag task)."""
    return _slot(SlotKind.TASKS, SlotShape.DAG, required, description)


def condition_list(*, required: bool = False, description: str = "") -> Any:
    return _slot(SlotKind.CONDITIONS, SlotShape.LIST, required, description)


def condition_map(*, required: bool = False, description: str = "") -> Any:
    return _slot(SlotKind.CONDITIONS, SlotShape.CONDITION_MAP, required, description)


class DagEntry(Properties):
    """One node of a Dag: a task and the ids of the sibling tasks it waits for."""

    task: TaskSpec
    dependsOn: list[str] | None = None


# ---------------------------------------------------------------------------------------------
# Properties shared by every task


class RetryBase(Properties):
    maxAttempt: int | None = Field(None, ge=1, description="Total attempts, the first included.")
    maxDuration: Duration | None = None
    warningOnRetry: bool = False
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] = "RETRY_FAILED_TASK"

    def _check_interval(self, interval: str | None, name: str) -> None:
        if interval and self.maxDuration and parse_duration(interval) >= parse_duration(self.maxDuration):
            raise ValueError(f"'{name}' ({interval}) must be shorter than 'maxDuration' ({self.maxDuration})")


class ConstantRetry(RetryBase):
    type: Literal["constant"]
    interval: Duration

    @model_validator(mode="after")
    def _intervals(self) -> ConstantRetry:
        self._check_interval(self.interval, "interval")
        return self


class ExponentialRetry(RetryBase):
    type: Literal["exponential"]
    interval: Duration
    maxInterval: Duration
    delayFactor: float | None = None

    @model_validator(mode="after")
    def _intervals(self) -> ExponentialRetry:
        if parse_duration(self.interval) >= parse_duration(self.maxInterval):
            raise ValueError(f"'interval' ({self.interval}) must be shorter than 'maxInterval' ({self.maxInterval})")
        self._check_interval(self.interval, "interval")
        return self


class RandomRetry(RetryBase):
    type: Literal["random"]
    minInterval: Duration
    maxInterval: Duration

    @model_validator(mode="after")
    def _intervals(self) -> RandomRetry:
        if parse_duration(self.minInterval) >= parse_duration(self.maxInterval):
            raise ValueError(
                f"'minInterval' ({self.minInterval}) must be shorter than 'maxInterval' ({self.maxInterval})"
            )
        self._check_interval(self.maxInterval, "maxInterval")
        return self


Retry = Annotated[ConstantRetry | ExponentialRetry | RandomRetry, Field(discriminator="type")]


class WorkerGroup(Properties):
    key: str = Field(pattern=ID_PATTERN)
    fallback: Literal["FAIL", "WAIT", "CANCEL"] | None = None


class TaskProperties(Properties):
    """What every task accepts (KESTRA.md §2.1), plus Weir's `dependsOn` extension."""

    id: str = Field(pattern=ID_PATTERN, max_length=100)
    type: str
    description: str | None = None
    retry: Retry | None = None
    timeout: Duration | None = dynamic(None, description="Maximum duration of one attempt.")
    disabled: bool = False
    workerGroup: WorkerGroup | None = None
    logLevel: LogLevel | None = None
    logToFile: bool = False
    allowFailure: bool = False
    allowWarning: bool = False
    runIf: str | None = dynamic(None, description="Expression; a falsy result skips the task.")
    dependsOn: list[str] | None = Field(
        None,
        description="Weir extension: ids of sibling tasks this task waits for. "
        "A task list where any task has dependsOn runs as a DAG.",
    )


class FlowableProperties(TaskProperties):
    """Flowable tasks also accept a local `errors` branch."""

    errors: list[TaskSpec] | None = task_list(errors=True, description="Tasks run when a child fails.")


class TriggerProperties(Properties):
    """What every trigger accepts (KESTRA.md §4.1)."""

    id: str = Field(pattern=ID_PATTERN, max_length=100)
    type: str
    description: str | None = None
    conditions: list[ConditionSpec] | None = condition_list(description="All must hold.")
    disabled: bool = False
    workerGroup: WorkerGroup | None = None
    logLevel: LogLevel | None = None
    logToFile: bool = False
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    stopAfter: list[str] | None = None


class ConditionProperties(Properties):
    type: str


class NoOutputs(BaseModel):
    """The outputs model of a plugin that produces none."""


# ---------------------------------------------------------------------------------------------
# Plugins


class PluginKind(StrEnum):
    RUNNABLE = "runnable"
    FLOWABLE = "flowable"
    TRIGGER = "trigger"
    CONDITION = "condition"


Issue = tuple[tuple[str | int, ...], str]
"""A plugin-specific problem: (path relative to the plugin's mapping, message)."""


class ValidationContext(Protocol):
    """What a plugin's `validate` may ask the host while a flow is validated."""

    flow_namespace: str
    flow_id: str

    def kind_of(self, type_name: str) -> PluginKind | None:
        """The kind of the plugin registered under `type_name` (aliases resolved)."""
        ...


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A Java glob (or a `regex:` pattern) as a compiled expression matched against whole
    `/`-separated relative paths: `*` stays within a directory, `**` crosses directories, `?` is one
    character, `{a,b}` alternatives, `[…]` classes; `glob:` is an explicit prefix."""
    if pattern.startswith("regex:"):
        return re.compile(pattern[len("regex:"):])
    if pattern.startswith("glob:"):
        pattern = pattern[len("glob:"):]
    out, i, depth = [], 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


class NamespaceFiles(Properties):
    """Which namespace files to copy into the working directory."""

    enabled: bool = Field(True, description="Inject the namespace files at all.")
    include: list[str] | None = dynamic(None, description="Glob patterns of files to include.")
    exclude: list[str] | None = dynamic(None, description="Glob patterns of files to exclude.")


class TaskFailed(Exception):
    """Raise from `run()` to fail the attempt with a readable message (no stack trace logged)."""

    def __init__(self, message: str, outputs: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.outputs = outputs


def is_truthy(rendered: object) -> bool:
    """Kestra's truthiness of a rendered value: false iff "false", "0", "-0" or "" (KESTRA.md §6.6)."""
    if rendered is None:
        return False
    if isinstance(rendered, bool):
        return rendered
    return str(rendered).strip() not in ("false", "0", "-0", "")


class RunContext(Protocol):
    """What a running task gets from the worker (apps/executions/runtime/runcontext.py implements it).

    Identity: `execution_id`, `namespace`, `flow_id`, `task_id`, `task_run_id`, `task_run_value`,
    `attempt`. Dynamic properties arrive already rendered; `render` is for values built at run
    time.
    """

    execution_id: str
    namespace: str
    flow_id: str
    task_id: str
    task_run_id: str
    task_run_value: str | None
    attempt: int

    def render(self, value: Any, variables: Mapping[str, Any] | None = None) -> Any:
        """Render `value` against the task's context, plus `variables` when given (script tasks
        add `workingDir`)."""
        ...
    def set_state(self, state: str) -> None:
        """End the attempt in WARNING (or another terminal state) instead of SUCCESS."""
        ...
    def render_typed(self, value: Any) -> Any: ...
    def render_with(self, value: str, variables: Mapping[str, Any]) -> str:
        """Render with extra top-level variables (e.g. one item's fields) over the usual context."""
        ...
    def log(self, level: str, message: str) -> None: ...
    def sleep(self, seconds: float) -> None:
        """Wait, but stop at once (raising) if the attempt is killed."""
        ...
    def set_labels(self, labels: list[dict[str, Any]]) -> None: ...
    def kv_lookup(self, namespace: str, key: str) -> tuple[bool, Any]: ...
    def kv_keys(self, namespace: str, prefix: str | None = None) -> list[str]: ...
    def kv_delete(self, namespace: str, key: str) -> bool: ...
    def state_key(self, name: str, namespace_scope: bool, task_run_value: bool) -> str: ...
    def state_get(self, key: str) -> tuple[bool, Any]: ...
    def state_set(self, key: str, value: Any) -> None: ...
    def state_delete(self, key: str) -> bool: ...
    def host(self) -> Any:
        """Execution-level operations of the host (resume, logs, counts, purges)."""
        ...
    def put_file(self, name: str, data: bytes) -> str: ...
    def get_file(self, uri: str) -> bytes: ...
    def metric(self, kind: str, name: str, value: float, tags: Mapping[str, str] | None = None) -> None: ...
    def kv_get(self, namespace: str, key: str) -> Any: ...
    def kv_set(self, namespace: str, key: str, value: Any, ttl: float | None = None, kind: str = "STRING",
               overwrite: bool = True) -> None: ...
    def secret(self, name: str) -> str: ...
    def working_dir(self) -> str: ...
    def shared_working_dir(self) -> str | None:
        """The enclosing WorkingDirectory's folder (shared by its children), else None."""
        ...
    def namespace_files(self, namespace: str, include: list[str] | None = None,
                        exclude: list[str] | None = None) -> list[str]:
        """Paths of a namespace's files matching the globs (PLUGINS.md §5: `*` stays in a
        directory; a pattern starting with a word character gets an implicit `**/`)."""
        ...
    def namespace_file_read(self, namespace: str, path: str) -> bytes: ...
    def namespace_file_write(self, namespace: str, path: str, data: bytes, overwrite: bool = True) -> bool:
        """Write a namespace file (a new version); False when it exists and `overwrite` is off."""
        ...
    def namespace_file_delete(self, namespace: str, path: str) -> bool: ...
    def is_cancelled(self) -> bool:
        """True once the attempt is killed, timed out or lost its lease: long-running work
        (a child process) polls it and stops."""
        ...
    def check_cancelled(self) -> None:
        """Raise (the attempt ends KILLED) if the attempt was cancelled."""
        ...
    def flush_logs(self) -> None:
        """Persist the lines logged so far now, so the live views show them while the task
        still runs (otherwise they are written with the result)."""
        ...
    def put_local_file(self, path: str, name: str | None = None) -> str:
        """Upload a local file (streamed, not read into memory) to this task run's storage;
        returns its `kestra:///…` URI."""
    # Streaming storage: large files never pass through memory whole.
    def open_file(self, uri: str) -> IO[bytes]:
        """A binary stream over a stored file (close it, or use `with`)."""
        ...
    def put_path(self, path: str, name: str | None = None) -> str:
        """Upload a local file under `name` (default: its base name), delete it, return its URI."""
        ...
    def file_size(self, uri: str) -> int: ...
    def delete_file(self, uri: str) -> bool:
        """Delete a stored file of this execution; False when it did not exist."""
        ...
    def execution_files(self) -> list[str]:
        """URIs of every stored file of this execution (inputs and task outputs)."""
        ...
    def run_task(self, spec: Mapping[str, Any]) -> dict[str, Any] | None:
        """Validate and run one (already rendered) runnable task spec in this attempt; its outputs."""
        ...
    def mail_defaults(self) -> dict[str, Any]:
        """The instance's SMTP settings: host, port, username, password, strategy, from."""
        ...
    def seal(self, text: str) -> str:
        """`text` encrypted with the instance key (shown masked everywhere)."""
        ...


class Plugin:
    """Base of every plugin class. Subclasses set the class attributes below."""

    type: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    kind: ClassVar[PluginKind]
    title: ClassVar[str]
    group: ClassVar[str]
    icon: ClassVar[str]
    examples: ClassVar[tuple[str, ...]] = ()
    deprecated: ClassVar[str | None] = None
    """When set: the replacement type, shown to users."""
    Properties: ClassVar[builtins.type[Properties]]
    Outputs: ClassVar[builtins.type[BaseModel]] = NoOutputs
    slots: ClassVar[tuple[Slot, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        props = cls.__dict__.get("Properties") or getattr(cls, "Properties", None)
        if props is None:
            return
        found: list[Slot] = []
        for name, info in props.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and "$slot" in extra:
                kind, shape = str(extra["$slot"]).split(":")
                found.append(Slot(name=info.alias or name, kind=SlotKind(kind), shape=SlotShape(shape),
                                  required=bool(extra.get("$required")), is_errors=bool(extra.get("$errors"))))
        cls.slots = tuple(found)

    @classmethod
    def documentation(cls) -> str:
        """Markdown documentation: the class docstring, dedented."""
        import inspect

        return inspect.cleandoc(cls.__doc__ or cls.title)

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        """Plugin-specific rules beyond the properties model. Default: none."""
        return ()


class RunnableTask(Plugin):
    """A task whose `run` executes on a worker and returns its outputs."""

    kind = PluginKind.RUNNABLE

    def run(self, ctx: RunContext, props: Any) -> BaseModel:
        raise NotImplementedError(f"{self.type} runs with the engine")


class FlowableTask(Plugin):
    """A task that decides its children in the engine (sequential, parallel, switch, …).

    `layout` tells the topology graph how its children relate: `sequential`, `parallel`,
    `choice`, `dag` or `dynamic` (one group per loop value).
    """

    kind = PluginKind.FLOWABLE
    layout: ClassVar[str] = "sequential"
    runs_on_worker: ClassVar[bool] = False
    """True for WorkingDirectory: the whole subtree runs on one worker."""
    planner: ClassVar[str] = "sequential"
    """How the engine schedules the children (apps/engine/flowables.py): `sequential`,
    `parallel`, `switch`, `if`, `foreach`, `each_sequential`, `each_parallel`, `dag`,
    `allow_failure`, `pause`, `wait_for`, `for_each_item`. Third-party flowables pick one."""

    @classmethod
    def graph_layout(cls, raw: Mapping[str, Any]) -> str:
        return cls.layout


class ExecutableMixin:
    """Marks tasks that start executions of another flow (Subflow, ForEachItem)."""

    calls_flow: ClassVar[bool] = True

    @classmethod
    def target(cls, raw: Mapping[str, Any]) -> tuple[str, str] | None:
        ns, fid = raw.get("namespace"), raw.get("flowId")
        if isinstance(ns, str) and isinstance(fid, str) and "{{" not in ns + fid:
            return ns, fid
        return None


class Trigger(Plugin):
    kind = PluginKind.TRIGGER


class Condition(Plugin):
    kind = PluginKind.CONDITION


# ---------------------------------------------------------------------------------------------
# Polling triggers (KESTRA.md §4.5)


class PollingTriggerProperties(TriggerProperties):
    """What every polling trigger accepts: the common trigger properties and `interval`."""

    interval: Duration = Field("PT60S", description="How long to wait between two evaluations.")


class TriggerContext(Protocol):
    """What a polling trigger's `evaluate` gets on the worker (apps/triggers/polling.py)."""

    namespace: str
    flow_id: str
    trigger_id: str

    def render(self, value: Any, variables: Mapping[str, Any] | None = None) -> Any:
        """Render an expression (strings inside maps and lists too) with the flow's variables
        (`flow`, `envs`, `globals`, `secret()`) and `variables` (an HTTP trigger's `response`)."""
        ...
    def log(self, level: str, message: str) -> None: ...
    def secret(self, name: str) -> str: ...
    def seal(self, text: str) -> str:
        """`text` encrypted with the instance key; masked wherever it is shown."""
        ...


@dataclass(frozen=True)
class PollResult:
    """One execution to create: `variables` become its `trigger.*`; `inputs` and `labels` are
    added to what the trigger declares."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Any] | None = None
    labels: Mapping[str, Any] | None = None


class PollingTrigger(Trigger):
    """A trigger evaluated on a worker every `interval` (use `PollingTriggerProperties`).

    The contract the scheduler keeps:
    - `evaluate` runs on a worker with the validated properties as written (render dynamic ones
      with `ctx.render`, which knows `flow`, `envs`, `globals` and `secret()`) and returns None
      (nothing happened) or one `PollResult` (one execution is created, in the transaction that
      records the evaluation);
    - it is never called while the previous evaluation runs or while the execution it created
      last is not terminal (no overlap);
    - an exception it raises is logged on the trigger (the state's `last_error`, the worker's log)
      and the trigger is evaluated again after `interval`: an error never stops a trigger.
    """

    polling: ClassVar[bool] = True

    def evaluate(self, ctx: TriggerContext, props: Any) -> PollResult | None:
        raise NotImplementedError(f"{self.type} does not implement evaluate()")


# Network: every plugin connection goes through the egress policy (apps/plugins/egress.py)


def http_call(**kwargs: Any) -> HttpCall:
    """Describe an HTTP request for `http_send` (fields of `apps.plugins.nethttp.HttpCall`)."""
    from apps.plugins.nethttp import HttpCall as HttpCall

    return HttpCall(**kwargs)


def http_send(call: HttpCall) -> AbstractContextManager[tuple[httpx.Response, str]]:
    """Send `call` through the egress policy (checked and pinned at every redirect hop).

    A context manager yielding the unread httpx response and the final URL.
    """
    from apps.plugins.nethttp import send

    return send(call)


__all__ += [
    "EgressDenied",
    "ExecutableMixin",
    "PollResult",
    "PollingTrigger",
    "PollingTriggerProperties",
    "SlotKind",
    "SlotShape",
    "Target",
    "TaskFailed",
    "TriggerContext",
    "egress_check_host",
    "egress_resolve",
    "http_call",
    "http_send",
    "ion",
    "is_truthy",
]
