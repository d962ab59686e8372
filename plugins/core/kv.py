"""Key-value store tasks: `io.kestra.plugin.core.kv.*` (KESTRA.md §3.2).

The KV store is namespace-scoped. Flows also read it with the `{{ kv('key') }}` function.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from apps.plugins.sdk import (
    Duration,
    Plugin,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    dynamic,
    parse_duration,
)
from plugins.core._common import Expression, is_expression

GROUP = "io.kestra.plugin.core.kv"
KEY_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"
_KEY_RE = re.compile(KEY_PATTERN)
DEFAULT_NAMESPACE = "{{ flow.namespace }}"


def _check_key(value: str) -> str:
    if not is_expression(value) and not _KEY_RE.match(value):
        raise ValueError(
            f"invalid KV key {value!r}: it must start with a letter or digit and contain only letters, "
            "digits, '.', '_' and '-'"
        )
    return value


KvKey = Annotated[str, AfterValidator(_check_key)]
"""A KV key (`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`), unless it is an expression."""

KvType = Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"]


def inferred_type(value: Any) -> str:
    """The KV type of a value stored without `kvType`."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    if isinstance(value, dict | list):
        return "JSON"
    return "STRING"


def typed_value(value: Any, kv_type: str, key: str) -> Any:
    """Convert a rendered string to `kv_type`, as Kestra's kv.Set does; other values are kept.

    Dates and durations stay ISO-8601 text (that is how they travel in JSON), but must parse.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if kv_type == "NUMBER":
            number = json.loads(text)
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise ValueError("not a number")
            return number
        if kv_type == "BOOLEAN":
            return text.lower() == "true"
        if kv_type == "DATETIME":
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise ValueError("no time zone")
        elif kv_type == "DATE":
            date.fromisoformat(text[:10])
        elif kv_type == "DURATION":
            parse_duration(text)
        elif kv_type == "JSON":
            return json.loads(text)
    except ValueError as error:
        raise TaskFailed(f"The value of the KV key '{key}' is not a valid {kv_type}: {value!r} ({error})") from error
    return value


def store_namespace(ctx: RunContext, namespace: str) -> str:
    """The namespace of the store: the flow's own when the property keeps its default (the
    worker renders only the properties written in the flow, not defaults)."""
    return ctx.namespace if namespace == DEFAULT_NAMESPACE else namespace


def not_found(key: str, namespace: str) -> TaskFailed:
    return TaskFailed(f"No value found for key '{key}' in namespace '{namespace}' and `errorOnMissing` is set to true")


class Set(RunnableTask):
    """Store a value under `key` in a namespace's key-value store.

    Use the KV store for small state shared across executions and flows: a watermark, a token,
    the last processed id. The value is rendered; `kvType` stores it typed (otherwise the type
    is inferred). `overwrite: false` fails if the key exists; `ttl` makes it expire. The
    namespace defaults to the flow's own. Read it back with `kv.Get` or `{{ kv('key') }}`.
    No outputs.
    """

    type = "io.kestra.plugin.core.kv.Set"
    title = "Set a KV pair"
    group = GROUP
    icon = "key"
    examples = (
        """\
id: kv_set
namespace: company.team
tasks:
  - id: remember
    type: io.kestra.plugin.core.kv.Set
    key: last_run
    value: "{{ execution.startDate }}"
    kvType: DATETIME
    ttl: P30D
""",
    )

    class Properties(TaskProperties):
        key: KvKey = dynamic(description="The key: letters, digits, `.`, `_`, `-`.")
        value: Any = dynamic(description="The value to store (rendered).")
        namespace: str = dynamic(DEFAULT_NAMESPACE, description="Namespace of the store.")
        overwrite: bool = Field(True, description="Replace an existing value; false fails instead.")
        ttl: Duration | None = dynamic(None, description="Time to live; default: forever.")
        kvType: KvType | Expression | None = dynamic(None, description="Type of the stored value.")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        ttl = parse_duration(props.ttl) if props.ttl else None
        if ttl is not None and ttl <= 0:
            raise TaskFailed(f"`ttl` must be a positive duration, not {props.ttl}")
        if props.kvType is None:
            value, kind = props.value, inferred_type(props.value)
        else:
            value, kind = typed_value(props.value, props.kvType, props.key), props.kvType
        namespace = store_namespace(ctx, props.namespace)
        if not props.overwrite and ctx.kv_lookup(namespace, props.key)[0]:
            raise TaskFailed(f"Cannot set value for key '{props.key}'. Key already exists and `overwrite` is set "
                             "to `false`.")
        ctx.kv_set(namespace, props.key, value, ttl=ttl, kind=kind, overwrite=props.overwrite)


class Get(RunnableTask):
    """Read the value stored under `key` in a namespace's KV store.

    Output: `value` — null when the key is missing, unless `errorOnMissing: true` makes the task
    fail. The namespace defaults to the flow's own.
    """

    type = "io.kestra.plugin.core.kv.Get"
    title = "Get a KV value"
    group = GROUP
    icon = "key"
    examples = (
        """\
id: kv_get
namespace: company.team
tasks:
  - id: read
    type: io.kestra.plugin.core.kv.Get
    key: last_run
    errorOnMissing: false
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "Last run: {{ outputs.read.value }}"
""",
    )

    class Properties(TaskProperties):
        key: KvKey = dynamic(description="The key to read.")
        namespace: str = dynamic(DEFAULT_NAMESPACE, description="Namespace of the store.")
        errorOnMissing: bool = Field(False, description="Fail when the key does not exist.")

    class Outputs(BaseModel):
        value: Any = Field(None, description="The stored value, or null.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        namespace = store_namespace(ctx, props.namespace)
        found, value = ctx.kv_lookup(namespace, props.key)
        if not found and props.errorOnMissing:
            raise not_found(props.key, namespace)
        return self.Outputs(value=value)


class GetKeys(RunnableTask):
    """List the keys of a namespace's KV store, optionally only those starting with `prefix`.

    Output: `keys` (a list of strings).
    """

    type = "io.kestra.plugin.core.kv.GetKeys"
    title = "List KV keys"
    group = GROUP
    icon = "key"
    examples = (
        """\
id: kv_keys
namespace: company.team
tasks:
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
    prefix: last_
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.keys.keys }}"
""",
    )

    class Properties(TaskProperties):
        prefix: str | None = dynamic(None, description="Only keys starting with this.")
        namespace: str = dynamic(DEFAULT_NAMESPACE, description="Namespace of the store.")

    class Outputs(BaseModel):
        keys: list[str] | None = Field(None, description="The matching keys.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(keys=ctx.kv_keys(store_namespace(ctx, props.namespace), props.prefix or None))


class Delete(RunnableTask):
    """Delete `key` from a namespace's KV store.

    Output: `deleted` — false when the key did not exist (or the task fails with
    `errorOnMissing: true`).
    """

    type = "io.kestra.plugin.core.kv.Delete"
    title = "Delete a KV pair"
    group = GROUP
    icon = "key"
    examples = (
        """\
id: kv_delete
namespace: company.team
tasks:
  - id: forget
    type: io.kestra.plugin.core.kv.Delete
    key: last_run
""",
    )

    class Properties(TaskProperties):
        key: KvKey = dynamic(description="The key to delete.")
        namespace: str = dynamic(DEFAULT_NAMESPACE, description="Namespace of the store.")
        errorOnMissing: bool = Field(False, description="Fail when the key does not exist.")

    class Outputs(BaseModel):
        deleted: bool | None = Field(None, description="Whether a key was deleted.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        namespace = store_namespace(ctx, props.namespace)
        deleted = ctx.kv_delete(namespace, props.key)
        if not deleted and props.errorOnMissing:
            raise not_found(props.key, namespace)
        return self.Outputs(deleted=deleted)


PLUGINS: list[type[Plugin]] = [Set, Get, GetKeys, Delete]
