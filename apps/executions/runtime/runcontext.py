"""The `RunContext` a runnable plugin gets on a worker (apps/plugins/sdk.py documents the contract).

It renders dynamic properties against the execution, collects log lines and metrics (written
with the result, under the execution lock), and gives access to storage, the KV and state
stores, secrets and a few execution-level operations the core tasks need.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import IO, Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import storages
from django.utils import timezone

from apps.engine import context as engine_context
from apps.engine.expressions import render
from apps.engine.expressions.names import context_names
from apps.engine.model import CompiledFlow, ExecutionData, TaskNode, TaskRunData
from apps.engine.states import State
from apps.engine.storage_uri import storage_name as checked_storage_name
from apps.executions.records import kvstore
from apps.namespaces import reach
from apps.plugins.sdk import Plugin, TaskFailed
from apps.secrets.masking import remember
from apps.secrets.sealing import reveal_inputs
from apps.secrets.services import resolve as resolve_secret

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")

__all__ = ["Cancelled", "RenderServices", "TaskFailed", "WorkerRunContext"]


class Cancelled(Exception):
    """The attempt was killed (or lost its lease) while running."""


_DYNAMIC: dict[str, frozenset[str]] = {}
_FROM_OTHER_RUNS = frozenset({"outputs", "tasks", "parents", "parent", "workerTaskrun"})
"""Context variables built from task runs other than the attempt's own."""


def dynamic_fields(plugin: type[Plugin]) -> frozenset[str]:
    """Names of the properties marked `dynamic` (rendered before the plugin runs), cached per type."""
    cached = _DYNAMIC.get(plugin.type)
    if cached is not None:
        return cached
    names = set()
    for name, info in plugin.Properties.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("$dynamic"):
            names.add(info.alias or name)
    _DYNAMIC[plugin.type] = frozenset(names)
    return _DYNAMIC[plugin.type]


class RenderServices:
    """What expressions may reach at run time: secrets, the KV store, this execution's files."""

    def __init__(self, namespace: str, execution_id: str | None = None) -> None:
        self.namespace = namespace
        self.execution_id = execution_id
        self._read: set[str] = set()

    def secret(self, name: str) -> str:
        """The namespace's secret (inherited from its parents), else the `SECRET_<NAME>` env var."""
        value = resolve_secret(self.namespace, name)
        if value is None:
            raise KeyError(f"Cannot find secret for key '{name}'.")
        remember(value)
        self._read.add(value)
        return value

    def reveal_inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """`inputs` with sealed SECRET values decrypted, for a render context only."""
        return reveal_inputs(inputs)

    def namespace_variables(self) -> dict[str, Any]:
        """`namespace.variables`: the namespace's variables merged with its parents' (cached briefly)."""
        from apps.executions import nsconfig

        return nsconfig.for_namespace(self.namespace).variables

    def mark_secret(self, value: str) -> None:
        """Mask `value` here, and (unless it is a namespace secret, which every process can look
        up) record it for the execution so other processes mask it too (`apps.secrets.derived`)."""
        remember(value)
        if self.execution_id is not None and value not in self._read:
            from apps.secrets import derived

            derived.record(self.execution_id, value)

    def kv(self, namespace: str | None, key: str, error_on_missing: bool) -> Any:
        store = namespace or self.namespace
        reach.require(self.namespace, store, reach.Access.READ, what=f"read KV of '{store}'")
        found, value = kvstore.get(store, key)
        if not found and error_on_missing:
            raise KeyError(f"The key '{key}' does not exist in the namespace '{store}'.")
        return value

    def read(self, path: str) -> str:
        return self._bytes(path).decode("utf-8")

    def file_size(self, path: str) -> int:
        return len(self._bytes(path))

    def _bytes(self, path: str) -> bytes:
        """A `kestra:///` storage URI the flow may reach, or else a file of the flow's namespace
        (`read('etl.sql')`)."""
        if path.startswith(("kestra://", "weir://")):
            return read_reachable(path, self.namespace, self.execution_id)
        from apps.core.errors import BadRequest
        from apps.files import paths, store

        try:
            row = store.find(self.namespace, paths.normalize(path))
        except BadRequest as error:
            raise ValueError(str(error)) from error
        if row is None or row.is_dir:
            raise FileNotFoundError(f"no namespace file '/{path.lstrip('/')}' in '{self.namespace}'")
        return store.read_bytes(row)

    def file_uri(self, path: str) -> str:
        return path

    def error_logs(self) -> list[dict[str, Any]]:
        from apps.executions.models import LogLine

        if not self.execution_id:
            return []
        return [
            {"taskId": t, "message": m, "level": lvl, "timestamp": ts.isoformat()}
            for t, m, lvl, ts in LogLine.objects.filter(execution_id=self.execution_id, level="ERROR")
            .values_list("task_id", "message", "level", "timestamp")
        ]


def read_reachable(uri: str, reader: str, execution_id: str | None) -> bytes:
    """The bytes of a storage URI, read on behalf of a flow of namespace `reader` running
    `execution_id`: refused (`ReachDenied`) unless that flow may reach the file (filereach).
    Everything a flow reads goes through here; `read_file` is for the host's own reads."""
    from apps.executions.records import filereach

    filereach.check(reader, execution_id, storage_name(uri), uri)
    return read_file(uri)


def read_file(uri: str) -> bytes:
    storage = storages["default"]
    name = storage_name(uri)
    try:
        with storage.open(name, "rb") as handle:
            data: bytes = handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"file {uri!r} not found in internal storage") from None
    return data


def storage_name(uri: str) -> str:
    return checked_storage_name(uri)


class _LocalFile(File):  # type: ignore[type-arg]
    """A local file a file-system storage may move into place instead of copying (Django's
    `temporary_file_path` protocol); other storages read it in chunks."""

    def temporary_file_path(self) -> str:
        return str(self.name)


class WorkerRunContext:
    """One attempt's view of the world; plugin code only sees this object."""

    def __init__(self, flow: CompiledFlow, data: ExecutionData, run: TaskRunData, node: TaskNode,
                 cancel: threading.Event, all_runs: Callable[[], list[TaskRunData]] | None = None) -> None:
        self.flow = flow
        self.data = data
        self.run = run
        self._all_runs = all_runs
        """Set when `data` holds only this run: the rest is read the first time a context needs it."""
        self.node = node
        self.cancel = cancel
        self.logs: list[tuple[str, str]] = []
        self._log_lock = threading.Lock()
        self.metrics: list[dict[str, Any]] = []
        self.labels: list[dict[str, Any]] | None = None
        self.final_state: State | None = None
        self.debug_trace = ""
        self.services = RenderServices(flow.namespace, data.id)
        self._context: dict[str, Any] | None = None
        self._light_context: dict[str, Any] | None = None
        self._workdir: str | None = None
        for declaration in flow.raw.get("inputs") or []:
            if declaration.get("type") == "SECRET":
                value = data.inputs.get(str(declaration.get("id") or declaration.get("name")))
                if isinstance(value, str):
                    remember(value)
        min_level = node.raw.get("logLevel")
        self._min_level = LEVELS.index(min_level) if min_level in LEVELS else 0
        # identity
        self.execution_id = data.id
        self.namespace = flow.namespace
        self.flow_id = flow.id
        self.task_id = node.id
        self.task_run_id = run.id
        self.task_run_value = run.value
        self.attempt = run.attempt_count

    # -- rendering -----------------------------------------------------------------------------

    @property
    def context(self) -> dict[str, Any]:
        if self._context is None:
            from apps.executions.runtime.runner import env as host_env

            self._complete()
            env = host_env(self.services)
            self._context = engine_context.build(self.flow, self.data, env, self.run, self.node,
                                                 running_attempt=True)
            if not self.flow.raw.get("inputs") and not self.data.inputs:
                self._context.pop("inputs", None)
        return self._context

    def _context_for(self, source: str) -> dict[str, Any]:
        """The context `source` needs. An expression that reads none of the variables built from
        the other runs (`outputs`, `tasks`, `parents`…) renders against this run alone: the same
        values, without reading (a claim from a message holds only this run) and walking every
        task run of the execution, which made each task cost O(runs)."""
        if self._context is not None:
            return self._context
        names = context_names(source)
        parent = self.node.parent
        if names is None or not names.isdisjoint(_FROM_OTHER_RUNS) or (parent is not None and parent.runs_on_worker):
            return self.context
        if self._light_context is None:
            from apps.executions.runtime.runner import env as host_env

            alone = dataclasses.replace(self.data, task_runs=[self.run])
            self._light_context = engine_context.build(self.flow, alone, host_env(self.services), self.run,
                                                       self.node, running_attempt=True)
            if not self.flow.raw.get("inputs") and not self.data.inputs:
                self._light_context.pop("inputs", None)
        return self._light_context

    def _complete(self) -> None:
        if self._all_runs is not None:
            self.data.task_runs, self._all_runs = self._all_runs(), None
            self.run = self.data.run(self.run.id)

    def render(self, value: Any, variables: Mapping[str, Any] | None = None) -> Any:
        if isinstance(value, str):
            if "{" not in value:  # no delimiter: nothing to render, and no context to build
                return value
            base = self._context_for(value)
            context = {**base, **variables} if variables else base
            return render(value, context, services=self.services)
        if isinstance(value, Mapping):
            return {self.render(str(k), variables): self.render(v, variables) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, variables) for v in value]
        return value

    def render_with(self, value: str, variables: Mapping[str, Any]) -> str:
        """Render `value` with extra top-level variables (an item's fields) over the usual context."""
        if "{" not in value:
            return value
        return render(value, {**self.context, **variables}, services=self.services)

    def render_typed(self, value: Any) -> Any:
        from apps.engine.expressions import render_typed

        if isinstance(value, str):
            return render_typed(value, self.context, services=self.services)
        return self.render(value)

    def render_properties(self, plugin: type[Plugin], raw: Mapping[str, Any]) -> dict[str, Any]:
        """Render the dynamic properties, including defaults that are expressions
        (e.g. `namespace: "{{ flow.namespace }}"`)."""
        dynamic = dynamic_fields(plugin)
        rendered = {key: (self.render(value) if key in dynamic else value) for key, value in raw.items()}
        for name, info in plugin.Properties.model_fields.items():
            key = info.alias or name
            if key in dynamic and key not in rendered and isinstance(info.default, str) and "{{" in info.default:
                rendered[key] = self.render(info.default)
        return rendered

    # -- logs and metrics ----------------------------------------------------------------------

    def log(self, level: str, message: str) -> None:
        level = "WARN" if level == "WARNING" else level.upper()
        if level in LEVELS and LEVELS.index(level) < self._min_level:
            return
        with self._log_lock:
            self.logs.append((level, str(message)))

    def flush_logs(self) -> None:
        """Write the lines logged so far now (apps/executions/runtime/logstream.py); the rest go with
        the result, after them."""
        from apps.executions.runtime import logstream

        with self._log_lock:
            pending, self.logs = self.logs, []
        logstream.append_now(self.data.id, self.run.id, self.node.id, self.attempt, pending)

    def metric(self, kind: str, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        self.metrics.append({"kind": kind, "name": name, "value": float(value), "tags": dict(tags or {})})

    def flush_metrics(self) -> None:
        if not self.metrics:
            return
        from apps.executions.models import Metric

        now = timezone.now()
        Metric.objects.bulk_create([
            Metric(execution_id=self.data.id, task_run_id=self.run.id, task_id=self.node.id, timestamp=now, **m)
            for m in self.metrics
        ])

    # -- storage -------------------------------------------------------------------------------

    def put_file(self, name: str, data: bytes) -> str:
        storage = storages["default"]
        base = f"{self.namespace.replace('.', '/')}/{self.flow_id}/executions/{self.execution_id}/tasks/" \
               f"{self.task_id}/{self.task_run_id}/{os.path.basename(name)}"
        saved = storage.save(base, ContentFile(data))
        return f"kestra:///{saved}"

    def get_file(self, uri: str) -> bytes:
        try:
            return read_reachable(uri, self.namespace, self.execution_id)
        except reach.ReachDenied as error:
            raise TaskFailed(str(error)) from error

    def put_local_file(self, path: str, name: str | None = None) -> str:
        storage = storages["default"]
        base = f"{self.namespace.replace('.', '/')}/{self.flow_id}/executions/{self.execution_id}/tasks/" \
               f"{self.task_id}/{self.task_run_id}/{os.path.basename(name or path)}"
        with open(path, "rb") as handle:
            saved = storage.save(base, File(handle))
        return f"kestra:///{saved}"

    # -- streaming storage (files too large for memory) ---------------------------------------

    def open_file(self, uri: str) -> IO[bytes]:
        """A binary stream over a stored file: the OS file for file-system storage (so `io` can wrap
        it), a private copy for storages whose file objects are shared (in-memory storage)."""
        self._check_reach(uri)
        handle = storages["default"].open(storage_name(uri), "rb")
        inner = getattr(handle, "file", None)
        if isinstance(inner, io.BufferedReader):
            return inner
        with handle:
            return io.BytesIO(handle.read())

    def put_path(self, path: str, name: str | None = None) -> str:
        """Upload a local file (streamed in chunks) as this task run's file, then delete the local copy."""
        storage = storages["default"]
        base = f"{self.namespace.replace('.', '/')}/{self.flow_id}/executions/{self.execution_id}/tasks/" \
               f"{self.task_id}/{self.task_run_id}/{os.path.basename(name or path)}"
        with open(path, "rb") as handle:
            saved = storage.save(base, _LocalFile(handle, name=path))
        with contextlib.suppress(FileNotFoundError):  # a file-system storage moved it
            os.unlink(path)
        return f"kestra:///{saved}"

    def file_size(self, uri: str) -> int:
        self._check_reach(uri)
        return int(storages["default"].size(storage_name(uri)))

    def _check_reach(self, uri: str) -> None:
        """What a task reads goes through the flow-to-namespace rule (apps/executions/records/filereach.py)."""
        from apps.executions.records import filereach

        try:
            filereach.check(self.namespace, self.execution_id, storage_name(uri), uri)
        except reach.ReachDenied as error:
            raise TaskFailed(str(error)) from error

    def _own_name(self, uri: str) -> str:
        name = storage_name(uri)
        if not name.startswith(self._files_prefix() + "/"):
            raise TaskFailed(f"{uri} is not a file of this execution")
        return name

    def _files_prefix(self) -> str:
        return f"{self.namespace.replace('.', '/')}/{self.flow_id}/executions/{self.execution_id}"

    def delete_file(self, uri: str) -> bool:
        """Delete a stored file of this execution; False when it did not exist."""
        storage = storages["default"]
        name = self._own_name(uri)
        if not storage.exists(name):
            return False
        storage.delete(name)
        return True

    def execution_files(self) -> list[str]:
        """URIs of every stored file of this execution."""
        storage = storages["default"]
        found: list[str] = []

        def walk(folder: str) -> None:
            try:
                dirs, names = storage.listdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                return
            found.extend(f"kestra:///{folder}/{n}" for n in sorted(names))
            for sub in sorted(dirs):
                walk(f"{folder}/{sub}")

        walk(self._files_prefix())
        return found

    def run_task(self, spec: Mapping[str, Any]) -> dict[str, Any] | None:
        """Validate and run one runnable task given as a mapping (TemplatedTask); its outputs.

        The spec is already rendered: its properties are validated as rendered values and the
        task runs in this attempt (same logs, metrics, working directory and timeout)."""
        from pydantic import BaseModel, ValidationError

        from apps.plugins.registry import registry
        from apps.plugins.sdk import PluginKind

        type_name = spec.get("type")
        plugin = registry.get(type_name) if isinstance(type_name, str) else None
        if plugin is None:
            raise TaskFailed(f"the templated spec has an unknown task type {type_name!r}")
        if plugin.kind != PluginKind.RUNNABLE:
            raise TaskFailed(f"the templated spec must be a runnable task; {plugin.type} is {plugin.kind}")
        try:
            props = plugin.Properties.model_validate(dict(spec), context={"rendered": True})
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise TaskFailed(f"the templated spec is invalid: {problems}") from error
        outputs = plugin().run(self, props)  # type: ignore[attr-defined]
        if isinstance(outputs, BaseModel):
            return outputs.model_dump(mode="json", by_alias=True, exclude_none=False) or None
        return outputs if isinstance(outputs, dict) else None

    def mail_defaults(self) -> dict[str, Any]:
        """The instance's SMTP settings (Django's EMAIL_*), for mail tasks that name no server."""
        from django.conf import settings

        strategy = "SMTPS" if settings.EMAIL_USE_SSL else "SMTP_TLS" if settings.EMAIL_USE_TLS else "SMTP"
        return {"host": settings.EMAIL_HOST, "port": settings.EMAIL_PORT, "username": settings.EMAIL_HOST_USER or None,
                "password": settings.EMAIL_HOST_PASSWORD or None, "strategy": strategy,
                "from": settings.DEFAULT_FROM_EMAIL}

    def seal(self, text: str) -> str:
        """`text` encrypted with the instance key; masked wherever it is shown."""
        from apps.secrets.sealing import seal

        return seal(text)

    def working_dir(self) -> str:
        """A private temporary directory, or the one shared by the enclosing WorkingDirectory
        (made ready by its first child: apps/executions/runtime/workdir.py)."""
        if self._workdir is None:
            shared = self._working_directory_run()
            if shared is not None:
                from apps.executions.runtime import workdir

                path = os.path.join(tempfile.gettempdir(), f"weir-wd-{shared}")
                fresh = not os.path.isdir(path)
                os.makedirs(path, mode=0o700, exist_ok=True)
                self._workdir = path
                if fresh:
                    workdir.prepare(self, self._wd_node().raw, path)
            else:
                self._workdir = tempfile.mkdtemp(prefix=f"weir-{self.task_run_id}-")
        return self._workdir

    def shared_working_dir(self) -> str | None:
        return self.working_dir() if self._working_directory_run() is not None else None

    @property
    def wd_task_id(self) -> str:
        return self._wd_node().id

    def _wd_node(self) -> TaskNode:
        self._complete()
        shared = self._working_directory_run()
        parent = next(r for r in engine_context.ancestors(self.data, self.run) if r.id == shared)
        return self.flow.node(parent.task_id)

    def close(self, state: State) -> None:
        """After the attempt: the last child of a WorkingDirectory finishes it (outputFiles,
        cache); a private directory is removed."""
        if self._workdir is None:
            return
        shared = self._working_directory_run()
        if shared is None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            return
        node = self._wd_node()
        children = [c.get("id") for c in node.raw.get("tasks") or [] if isinstance(c, Mapping)]
        if children and children[-1] == self.node.id and state in (State.SUCCESS, State.WARNING):
            from apps.executions.runtime import workdir

            try:
                workdir.finish(self, node.raw, self._workdir, shared)
            finally:
                shutil.rmtree(self._workdir, ignore_errors=True)

    def _working_directory_run(self) -> str | None:
        from apps.plugins.registry import registry

        self._complete()
        for parent in engine_context.ancestors(self.data, self.run):
            plugin = registry.get(self.flow.node(parent.task_id).type)
            if plugin is not None and getattr(plugin, "runs_on_worker", False):
                return parent.id
        return None

    # -- namespace files ----------------------------------------------------------------------

    def _files_reach(self, namespace: str, writing: bool) -> None:
        """Namespace files follow the one flow-to-namespace rule (apps/namespaces/reach.py)."""
        access = reach.Access.WRITE if writing else reach.Access.READ
        verb = "write" if writing else "read"
        try:
            reach.require(self.namespace, namespace, access, what=f"{verb} the files of '{namespace}'")
        except reach.ReachDenied as error:
            raise TaskFailed(str(error)) from error

    def namespace_files(self, namespace: str, include: list[str] | None = None,
                        exclude: list[str] | None = None) -> list[str]:
        from apps.files import store

        self._files_reach(namespace, writing=False)
        return [row.path for row in store.files(namespace, include or [], exclude or [])]

    def namespace_file_read(self, namespace: str, path: str) -> bytes:
        from apps.files import paths, store

        self._files_reach(namespace, writing=False)
        row = store.find(namespace, paths.normalize(path))
        if row is None or row.is_dir:
            raise TaskFailed(f"no namespace file '/{path.lstrip('/')}' in '{namespace}'")
        return store.read_bytes(row)

    def namespace_file_write(self, namespace: str, path: str, data: bytes, overwrite: bool = True) -> bool:
        from apps.files import paths, store

        self._files_reach(namespace, writing=True)
        target = paths.normalize(path)
        if not overwrite and store.find(namespace, target) is not None:
            return False
        store.write(namespace, target, data)
        return True

    def namespace_file_delete(self, namespace: str, path: str) -> bool:
        from apps.core.errors import NotFound
        from apps.files import paths, store

        self._files_reach(namespace, writing=True)
        try:
            store.remove(namespace, paths.normalize(path))
        except NotFound:
            return False
        return True

    # -- KV, state, secrets --------------------------------------------------------------------

    def _kv_reach(self, namespace: str, access: reach.Access, what: str) -> None:
        try:
            reach.require(self.namespace, namespace, access, what=f"{what} KV of '{namespace}'")
        except reach.ReachDenied as error:
            raise TaskFailed(str(error)) from error

    def kv_get(self, namespace: str, key: str) -> Any:
        self._kv_reach(namespace, reach.Access.READ, "read")
        return kvstore.get(namespace, key)[1]

    def kv_lookup(self, namespace: str, key: str) -> tuple[bool, Any]:
        self._kv_reach(namespace, reach.Access.READ, "read")
        return kvstore.get(namespace, key)

    def kv_set(self, namespace: str, key: str, value: Any, ttl: float | None = None, kind: str = "STRING",
               overwrite: bool = True) -> None:
        self._kv_reach(namespace, reach.Access.WRITE, "write")
        kvstore.put(namespace, key, value, kind=kind, ttl=ttl, overwrite=overwrite)

    def kv_keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        self._kv_reach(namespace, reach.Access.READ, "list")
        return kvstore.keys(namespace, prefix)

    def kv_delete(self, namespace: str, key: str) -> bool:
        self._kv_reach(namespace, reach.Access.WRITE, "delete from")
        return kvstore.delete(namespace, key)

    def state_key(self, name: str, namespace_scope: bool, task_run_value: bool) -> str:
        flow = "" if namespace_scope else self.flow_id
        value = (self.run.value or "") if task_run_value else ""
        return f"{flow}/{name}/{value}"

    def state_get(self, key: str) -> tuple[bool, Any]:
        return kvstore.get(self.namespace, key, scope="state")

    def state_set(self, key: str, value: Any) -> None:
        kvstore.put(self.namespace, key, value, kind="JSON", scope="state")

    def state_delete(self, key: str) -> bool:
        return kvstore.delete(self.namespace, key, scope="state")

    def secret(self, name: str) -> str:
        return self.services.secret(name)

    # -- execution-level operations ------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        if self.cancel.wait(max(seconds, 0.0)):
            raise Cancelled()

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def is_cancelled(self) -> bool:
        return self.cancel.is_set()

    def set_labels(self, labels: list[dict[str, Any]]) -> None:
        current = self.labels if self.labels is not None else []
        self.labels = [*current, *labels]

    def set_state(self, state: str) -> None:
        """End the attempt in WARNING (or another terminal state) instead of SUCCESS."""
        self.final_state = State(state)

    def host(self) -> Any:
        """Execution-level operations (resume, logs, counts, purges) for core tasks."""
        from apps.executions.runtime import hostops

        return hostops.HostOperations(self)

    def timedelta(self, seconds: float) -> timedelta:
        return timedelta(seconds=seconds)
