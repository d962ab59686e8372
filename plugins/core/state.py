"""Legacy state store tasks: `io.kestra.plugin.core.state.*` (KESTRA.md §3.2).

A state is a JSON map stored per flow (or per namespace) under a `name`, and by default per
loop value. New flows should prefer the KV store (`io.kestra.plugin.core.kv.*`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from apps.plugins.sdk import Plugin, RunContext, RunnableTask, TaskFailed, TaskProperties, dynamic

GROUP = "io.kestra.plugin.core.state"


class StateProperties(TaskProperties):
    """Where a state lives: its `name`, its scope and whether the loop value is part of the key."""

    name: str = dynamic("default", description="Name of the state.")
    namespace: bool = Field(False, description="Share the state with the whole namespace, not only this flow.")
    taskrunValue: bool = Field(
        True, description="Keep one state per loop value (`taskrun.value`) when inside a loop."
    )


def state_key(ctx: RunContext, props: StateProperties) -> str:
    """The storage key of the state these properties name, in this flow (or namespace)."""
    return ctx.state_key(props.name, props.namespace, props.taskrunValue)


def stored_map(ctx: RunContext, key: str) -> dict[str, Any] | None:
    """The stored state, or None when there is none."""
    found, value = ctx.state_get(key)
    if not found:
        return None
    return dict(value) if isinstance(value, Mapping) else {}


def merge(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Kestra's `MapUtils.merge`: maps merge deeply, lists concatenate, a null keeps the old value."""
    merged = dict(current)
    for key, value in new.items():
        old = merged.get(key)
        if value is None:
            merged[key] = old
        elif isinstance(value, Mapping) and isinstance(old, Mapping):
            merged[key] = merge(old, value)
        elif isinstance(value, list) and isinstance(old, list):
            merged[key] = [*old, *value]
        else:
            merged[key] = value
    return merged


def missing(name: str) -> TaskFailed:
    return TaskFailed(f"State '{name}' does not exist and `errorOnMissing` is true")


class Set(RunnableTask):
    """Merge `data` into a named state, creating it if needed.

    Keys in `data` overwrite the same keys in the stored map; other keys are kept. Use it to
    remember values between executions (counters, cursors).

    Outputs: `count` (number of keys stored) and `key` (the storage key).
    """

    type = "io.kestra.plugin.core.state.Set"
    aliases = ("io.kestra.core.tasks.states.Set",)
    title = "Set a state"
    group = GROUP
    icon = "database"
    examples = (
        """\
id: state_set
namespace: company.team
tasks:
  - id: save
    type: io.kestra.plugin.core.state.Set
    name: cursor
    data:
      lastId: "{{ execution.id }}"
""",
    )

    class Properties(StateProperties):
        data: dict[str, Any] | None = dynamic(None, description="The values to merge into the state.")

    class Outputs(BaseModel):
        count: int | None = Field(None, description="Number of keys in the state.")
        key: str | None = Field(None, description="The storage key of the state.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        key = state_key(ctx, props)
        # Non-templated values keep their YAML type (`1` stays a number); rendered ones are text.
        merged = merge(stored_map(ctx, key) or {}, props.data or {})
        ctx.state_set(key, merged)
        return self.Outputs(count=len(merged), key=key)


class Get(RunnableTask):
    """Read a named state.

    Outputs: `data` (the stored map; empty when missing unless `errorOnMissing: true`) and
    `count`. Read one value with `{{ outputs.<id>.data.<key> }}`.
    """

    type = "io.kestra.plugin.core.state.Get"
    aliases = ("io.kestra.core.tasks.states.Get",)
    title = "Get a state"
    group = GROUP
    icon = "database"
    examples = (
        """\
id: state_get
namespace: company.team
tasks:
  - id: load
    type: io.kestra.plugin.core.state.Get
    name: cursor
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.load.data.lastId ?? 'none' }}"
""",
    )

    class Properties(StateProperties):
        errorOnMissing: bool = Field(False, description="Fail when the state does not exist.")

    class Outputs(BaseModel):
        count: int | None = Field(None, description="Number of keys in the state.")
        data: dict[str, Any] | None = Field(None, description="The stored values.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        data = stored_map(ctx, state_key(ctx, props))
        if data is None:
            if props.errorOnMissing:
                raise missing(props.name)
            data = {}
        return self.Outputs(count=len(data), data=data)


class Delete(RunnableTask):
    """Delete a named state.

    Output: `deleted` — false when it did not exist (or the task fails with
    `errorOnMissing: true`).
    """

    type = "io.kestra.plugin.core.state.Delete"
    aliases = ("io.kestra.core.tasks.states.Delete",)
    title = "Delete a state"
    group = GROUP
    icon = "database"
    examples = (
        """\
id: state_delete
namespace: company.team
tasks:
  - id: reset
    type: io.kestra.plugin.core.state.Delete
    name: cursor
""",
    )

    class Properties(StateProperties):
        errorOnMissing: bool = Field(False, description="Fail when the state does not exist.")

    class Outputs(BaseModel):
        deleted: bool | None = Field(None, description="Whether a state was deleted.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        deleted = ctx.state_delete(state_key(ctx, props))
        if not deleted and props.errorOnMissing:
            raise missing(props.name)
        return self.Outputs(deleted=deleted)


PLUGINS: list[type[Plugin]] = [Set, Get, Delete]
