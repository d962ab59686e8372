"""Redis: `io.kestra.plugin.redis.*` (PLUGINS.md §9) on redis-py, one connection per run.

Connections go through the egress policy (ADR 0017); a plain `redis://` connection goes to the
checked address itself.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import redis as redis_py
from pydantic import BaseModel, Field, model_validator

from apps.plugins.sdk import (
    Dyn,
    DynBool,
    DynInt,
    EgressDenied,
    Plugin,
    Properties,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    dynamic,
    egress_check_host,
    ion,
    parse_duration,
)

GROUP = "io.kestra.plugin.redis"
SerdeType = Annotated[Literal["STRING", "JSON"], Dyn]
FROM = Field(alias="from")
URL_EXAMPLE = "redis://redis.example.com:6379/0"


_CONNECTION_HINTS = {"host": "use `url: redis://host:6379/0`", "port": "use `url: redis://host:6379/0`",
                     "password": "put it in `url: redis://:password@host:6379/0`"}


class RedisProperties(TaskProperties):
    property_hints = _CONNECTION_HINTS
    url: str = dynamic(description="`redis://[:password@]host:6379/db` or `rediss://…`.")
    serdeType: SerdeType = dynamic("STRING", description="STRING writes text; JSON writes and reads JSON.")


@contextmanager
def connect(url: str) -> Iterator[redis_py.Redis]:
    parts = urlsplit(url)
    try:
        port = parts.port or 6379
        target = egress_check_host(parts.scheme, parts.hostname or "", port) if parts.scheme in ("redis", "rediss") \
            else None
    except (EgressDenied, ValueError) as error:
        raise TaskFailed(str(error)) from error
    if target is None:
        raise TaskFailed(f"scheme not allowed: {parts.scheme or '(none)'}:// for Redis (use redis:// or rediss://)")
    options = redis_py.connection.parse_url(url)  # type: ignore[no-untyped-call]
    if parts.scheme == "redis":
        options["host"] = target.address
    client = redis_py.Redis(**options, socket_timeout=30, socket_connect_timeout=10)
    try:
        yield client
    except redis_py.RedisError as error:
        raise TaskFailed(f"Redis: {error}") from error
    finally:
        client.close()


def serialize(value: Any, serde: str) -> str:
    if serde == "JSON":
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError as error:
                raise TaskFailed(f"value is not valid JSON: {value[:100]!r}") from error
            return value
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def deserialize(raw: bytes | None, serde: str) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8")
    if serde == "JSON":
        try:
            return json.loads(text)
        except ValueError as error:
            raise TaskFailed(f"stored value is not JSON: {text[:100]!r}") from error
    return text


class SetOptions(Properties):
    expirationDuration: str | None = dynamic(None, description="TTL as an ISO-8601 duration (PX).")
    expirationDate: str | None = dynamic(None, description="Expiry instant, ISO-8601 (PXAT).")
    mustNotExist: DynBool = dynamic(False, description="Only set a new key (NX).")
    mustExist: DynBool = dynamic(False, description="Only set an existing key (XX).")
    keepTtl: DynBool = dynamic(False, description="Keep the key's TTL (KEEPTTL).")


class Set(RunnableTask):
    """Set a string key (`SET`), optionally with an expiry, NX/XX, KEEPTTL, or returning the old value.

    With `get: true` it runs `SET … GET` and `options` are ignored (as in Kestra).
    """

    type = "io.kestra.plugin.redis.string.Set"
    aliases = ("io.kestra.plugin.redis.Set",)
    title = "Redis SET"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: redis_set
namespace: company.team
tasks:
  - id: cache
    type: io.kestra.plugin.redis.string.Set
    url: {URL_EXAMPLE}
    key: "profile:{{{{ execution.id }}}}"
    value: {{"name": "ann"}}
    serdeType: JSON
    options:
      expirationDuration: PT1H
""",
    )

    class Properties(RedisProperties):
        property_hints = {**_CONNECTION_HINTS, "ttl": "use `options.expirationDuration` (e.g. PT1H)"}
        key: str = dynamic(description="The key.")
        value: Any = dynamic(description="The value.")
        get: DynBool = dynamic(False, description="Return the previous value in `oldValue` (SET … GET).")
        options: SetOptions | None = dynamic(None, description="Expiry and conditions.")

    class Outputs(BaseModel):
        oldValue: Any = Field(None, description="The previous value (with `get: true`).")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        value = serialize(props.value, props.serdeType)
        with connect(props.url) as client:
            if props.get:
                old = client.set(props.key, value, get=True)
                return self.Outputs(oldValue=deserialize(old, props.serdeType))  # type: ignore[arg-type]
            kwargs: dict[str, Any] = {}
            opts = props.options
            if opts:
                if opts.expirationDuration:
                    kwargs["px"] = int(parse_duration(opts.expirationDuration) * 1000)
                if opts.expirationDate:
                    from datetime import datetime

                    try:
                        moment = datetime.fromisoformat(opts.expirationDate.replace("Z", "+00:00"))
                    except ValueError as error:
                        raise TaskFailed(f"expirationDate is not an ISO-8601 instant: {opts.expirationDate}") from error
                    kwargs["pxat"] = int(moment.timestamp() * 1000)
                kwargs.update(nx=opts.mustNotExist, xx=opts.mustExist, keepttl=opts.keepTtl)
            client.set(props.key, value, **kwargs)
        return self.Outputs()


class Get(RunnableTask):
    """Get a string key (`GET`). A missing key gives `data: null`, or fails with `failedOnMissing`."""

    type = "io.kestra.plugin.redis.string.Get"
    aliases = ("io.kestra.plugin.redis.Get",)
    title = "Redis GET"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: redis_get
namespace: company.team
tasks:
  - id: read
    type: io.kestra.plugin.redis.string.Get
    url: {URL_EXAMPLE}
    key: profile:1
    serdeType: JSON
""",
    )

    class Properties(RedisProperties):
        key: str = dynamic(description="The key.")
        failedOnMissing: DynBool = dynamic(False, description="Fail when the key does not exist.")

    class Outputs(BaseModel):
        data: Any = Field(None, description="The value (parsed with `serdeType: JSON`).")
        key: str | None = Field(None, description="The key.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        with connect(props.url) as client:
            raw = client.get(props.key)
        if raw is None and props.failedOnMissing:
            raise TaskFailed(f"Missing key '{props.key}'")
        return self.Outputs(data=deserialize(raw, props.serdeType), key=props.key)  # type: ignore[arg-type]


class Delete(RunnableTask):
    """Delete keys (`DEL`). With `failedOnMissing`, fails when any key did not exist."""

    type = "io.kestra.plugin.redis.string.Delete"
    aliases = ("io.kestra.plugin.redis.Delete",)
    title = "Redis DEL"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: redis_delete
namespace: company.team
tasks:
  - id: delete
    type: io.kestra.plugin.redis.string.Delete
    url: {URL_EXAMPLE}
    keys:
      - profile:1
      - profile:2
""",
    )

    class Properties(TaskProperties):
        url: str = dynamic(description="`redis://[:password@]host:6379/db` or `rediss://…`.")
        keys: list[str] = dynamic(description="Keys to delete.")
        failedOnMissing: DynBool = dynamic(False, description="Fail when a key did not exist.")

    class Outputs(BaseModel):
        count: int | None = Field(None, description="Keys deleted.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        if not props.keys:
            raise TaskFailed("`keys` is empty")
        with connect(props.url) as client:
            count = int(client.delete(*props.keys))  # type: ignore[arg-type]
        ctx.metric("counter", "keys.deleted", float(count))
        if props.failedOnMissing and count != len(props.keys):
            raise TaskFailed(f"{len(props.keys) - count} of the {len(props.keys)} keys did not exist")
        return self.Outputs(count=count)


def items(ctx: RunContext, source: Any) -> Iterator[Any]:
    """`from`: a `kestra://` ION file (streamed), a list, or a string holding a JSON array."""
    if isinstance(source, list):
        yield from source
        return
    if isinstance(source, str) and source.startswith("kestra://"):
        with ctx.open_file(source) as handle:
            for raw in handle:
                line = raw.decode("utf-8")
                if line.strip():
                    yield ion.loads(line)
        return
    if isinstance(source, str):
        try:
            parsed = json.loads(source)
        except ValueError as error:
            raise TaskFailed("`from` must be a kestra:// URI, a list or a JSON array") from error
        if isinstance(parsed, list):
            yield from parsed
            return
    raise TaskFailed("`from` must be a kestra:// URI, a list or a JSON array")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class ListPush(RunnableTask):
    """Push items onto a list (`LPUSH`, one per item), from a `kestra://` ION file, a list or a JSON array."""

    type = "io.kestra.plugin.redis.list.ListPush"
    aliases = ("io.kestra.plugin.redis.ListPush",)
    title = "Redis LPUSH"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: redis_push
namespace: company.team
tasks:
  - id: push
    type: io.kestra.plugin.redis.list.ListPush
    url: {URL_EXAMPLE}
    key: jobs
    from: ["a", "b"]
""",
    )

    class Properties(RedisProperties):
        key: str = dynamic(description="The list.")
        from_: Annotated[Any, FROM] = dynamic(description="A kestra:// ION file, a list, or a JSON array string.")

    class Outputs(BaseModel):
        count: int | None = Field(None, description="Items pushed.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        count = 0
        with connect(props.url) as client:
            for item in items(ctx, props.from_):
                client.lpush(props.key, serialize(_jsonable(item), props.serdeType))
                count += 1
        ctx.metric("counter", "records", float(count))
        return self.Outputs(count=count)


class ListPop(RunnableTask):
    """Pop items from a list (`LPOP key count`) into an ION file, until the list is empty or a limit is hit.

    Set `maxRecords` or `maxDuration` (one is required). With ListPush this is LIFO.
    """

    type = "io.kestra.plugin.redis.list.ListPop"
    aliases = ("io.kestra.plugin.redis.ListPop",)
    title = "Redis LPOP"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: redis_pop
namespace: company.team
tasks:
  - id: pop
    type: io.kestra.plugin.redis.list.ListPop
    url: {URL_EXAMPLE}
    key: jobs
    maxRecords: 100
""",
    )

    class Properties(RedisProperties):
        key: str = dynamic(description="The list.")
        count: DynInt = dynamic(100, description="Items per LPOP.")
        maxRecords: DynInt | None = dynamic(None, description="Stop after this many items.")
        maxDuration: str | None = dynamic(None, description="Stop after this long (ISO-8601).")

        @model_validator(mode="after")
        def _a_limit(self) -> Any:
            if self.maxRecords is None and self.maxDuration is None:
                raise ValueError("set `maxRecords` or `maxDuration`")
            return self

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="`kestra://` URI of the ION file of items.")
        count: int | None = Field(None, description="Items popped.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        deadline = time.monotonic() + parse_duration(props.maxDuration) if props.maxDuration else None
        fd, path = tempfile.mkstemp(suffix=".ion", dir=ctx.working_dir())
        count = 0
        with os.fdopen(fd, "w", encoding="utf-8") as out, connect(props.url) as client:
            while True:
                want = props.count if props.maxRecords is None else min(props.count, props.maxRecords - count)
                if want <= 0 or (deadline is not None and time.monotonic() >= deadline):
                    break
                popped = client.lpop(props.key, want)
                if not popped:
                    break
                for raw in popped:  # type: ignore[union-attr]
                    out.write(ion.dumps(deserialize(raw, props.serdeType)) + "\n")  # type: ignore[arg-type]
                    count += 1
        ctx.metric("counter", "records", float(count))
        return self.Outputs(uri=ctx.put_path(path), count=count)


class Publish(RunnableTask):
    """Publish items on a channel (`PUBLISH`, one per item)."""

    type = "io.kestra.plugin.redis.pubsub.Publish"
    aliases = ("io.kestra.plugin.redis.Publish",)
    title = "Redis PUBLISH"
    group = GROUP
    icon = "database"
    examples = (
        f"""\
id: redis_publish
namespace: company.team
tasks:
  - id: publish
    type: io.kestra.plugin.redis.pubsub.Publish
    url: {URL_EXAMPLE}
    channel: events
    from: ["loaded"]
""",
    )

    class Properties(RedisProperties):
        channel: str = dynamic(description="The channel.")
        from_: Annotated[Any, FROM] = dynamic(description="A kestra:// ION file, a list, or a JSON array string.")

    class Outputs(BaseModel):
        count: int | None = Field(None, description="Messages published.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        count = 0
        with connect(props.url) as client:
            for item in items(ctx, props.from_):
                client.publish(props.channel, serialize(_jsonable(item), props.serdeType))
                count += 1
        return self.Outputs(count=count)


PLUGINS: list[type[Plugin]] = [Set, Get, Delete, ListPush, ListPop, Publish]
