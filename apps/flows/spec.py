"""The flow document's own properties (KESTRA.md §1.1) as a pydantic model.

Tasks, triggers and inputs are kept raw here (`TaskSpec`…): the validator checks each one with
its own plugin or input model, so every error points at the right line. The model also produces
the whole-flow JSON Schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from apps.plugins.sdk import ConditionSpec, Duration, Properties, Retry, TaskSpec

FLOW_ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
NAMESPACE_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

TriggerSpec = Annotated[dict[str, Any], WithJsonSchema({"type": "object", "$weirRef": "Trigger"})]
InputSpec = Annotated[dict[str, Any], WithJsonSchema({"type": "object", "$weirRef": "Input"})]

FLOW_OUTPUT_TYPES = (
    "STRING", "ENUM", "SELECT", "MULTISELECT", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATETIME", "DATE",
    "TIME", "DURATION", "FILE", "JSON", "YAML", "URI", "SECRET", "ARRAY", "EMAIL",
)


class Concurrency(Properties):
    limit: int = Field(gt=0)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"


class FlowOutput(Properties):
    id: str = Field(pattern=r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$")
    type: Literal[FLOW_OUTPUT_TYPES]  # type: ignore[valid-type]
    value: Any = Field(json_schema_extra={"$dynamic": True})
    description: str | None = None
    displayName: str | None = Field(None, max_length=64)
    required: bool | None = None


class PluginDefault(Properties):
    type: str
    forced: bool = False
    values: dict[str, Any] = Field(default_factory=dict)


class Listener(Properties):
    description: str | None = None
    conditions: list[ConditionSpec] | None = None
    tasks: list[TaskSpec] | None = None


class Sla(Properties):
    id: str
    type: Literal["MAX_DURATION", "EXECUTION_ASSERTION"]
    behavior: Literal["FAIL", "CANCEL", "NONE"] = "FAIL"
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    duration: Duration | None = None
    assert_: str | None = Field(None, alias="assert", json_schema_extra={"$dynamic": True})


class FlowSpec(Properties):
    """A Weir flow: Kestra's dialect plus `dependsOn` on any task and a flow-level `timeout`."""

    id: str = Field(pattern=FLOW_ID_PATTERN, min_length=1, max_length=100)
    namespace: str = Field(pattern=NAMESPACE_PATTERN, min_length=1, max_length=150)
    revision: int | None = Field(None, ge=1)
    description: str | None = None
    labels: dict[str, Any] | list[dict[str, Any]] | None = None
    inputs: list[InputSpec] | None = None
    variables: dict[str, Any] | None = None
    tasks: list[TaskSpec] | None = None
    errors: list[TaskSpec] | None = None
    finally_: list[TaskSpec] | None = Field(None, alias="finally")
    afterExecution: list[TaskSpec] | None = None
    listeners: list[Listener] | None = None
    triggers: list[TriggerSpec] | None = None
    pluginDefaults: list[PluginDefault] | None = None
    taskDefaults: list[PluginDefault] | None = Field(None, description="Deprecated: use pluginDefaults.")
    concurrency: Concurrency | None = None
    outputs: list[FlowOutput] | None = None
    disabled: bool = False
    retry: Retry | None = None
    sla: list[Sla] | None = None
    timeout: Duration | None = Field(
        None, description="Weir extension: the execution is killed and FAILED after this duration."
    )


class FlowSummary(BaseModel):
    """The few fields the store needs, read from a validated flow."""

    id: str
    namespace: str
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    disabled: bool = False
