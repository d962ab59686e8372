"""A WorkingDirectory's shared folder on the worker: made ready when its first child needs it,
finished by its last child (KESTRA.md §3, `io.kestra.plugin.core.flow.WorkingDirectory`).

Ready: the namespace files it asks for (`namespaceFiles`), then `inputFiles` (content or a
`kestra://` URI, names kept inside the folder), then the `cache` archive of an earlier execution
while it is younger than `cache.ttl`. Finished (after the last child succeeded): `outputFiles`
uploaded and recorded as the WorkingDirectory's `outputFiles` output, and the files matching
`cache.patterns` archived for the next execution.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from apps.executions.models import TaskRun
from apps.plugins.sdk import TaskFailed, glob_regex, parse_duration


def cache_name(namespace: str, flow_id: str, task_id: str) -> str:
    return f"{namespace.replace('.', '/')}/{flow_id}/_cache/{task_id}/cache.zip"


def _inside(root: str, name: str) -> str:
    parts = name.replace("\\", "/").split("/")
    path = os.path.realpath(os.path.join(root, name))
    if name.startswith(("/", "./")) or ".." in parts or not name or not path.startswith(os.path.realpath(root) + os.sep):
        raise TaskFailed(f"{name!r} is not a relative path inside the working directory")
    return path


def _matching(root: str, patterns: list[str]) -> list[str]:
    compiled = [glob_regex(str(p)) for p in patterns]
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if not os.path.islink(full) and any(rx.fullmatch(rel) for rx in compiled):
                found.append(rel)
    return sorted(found)


def prepare(ctx: Any, raw: Mapping[str, Any], root: str) -> None:
    wanted = raw.get("namespaceFiles")
    if isinstance(wanted, Mapping) and wanted.get("enabled", True):
        for path in ctx.namespace_files(ctx.namespace, wanted.get("include"), wanted.get("exclude")):
            target = _inside(root, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(ctx.namespace_file_read(ctx.namespace, path))
    given = ctx.render(raw.get("inputFiles")) if raw.get("inputFiles") is not None else None
    if isinstance(given, str):
        try:
            given = json.loads(given)
        except ValueError as error:
            raise TaskFailed(f"inputFiles must be a map or a JSON object: {error}") from error
    for name, value in (given or {}).items():
        if value is None:
            continue
        target = _inside(root, str(name))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        text = str(value)
        with open(target, "wb") as handle:
            handle.write(ctx.get_file(text) if text.startswith("kestra://") else text.encode("utf-8"))
    cache = raw.get("cache")
    if isinstance(cache, Mapping):
        _restore(ctx, cache, root)


def _restore(ctx: Any, cache: Mapping[str, Any], root: str) -> None:
    storage = storages["default"]
    name = cache_name(ctx.namespace, ctx.flow_id, ctx.wd_task_id)
    if not storage.exists(name):
        return
    ttl = cache.get("ttl")
    if ttl:
        saved = storage.get_modified_time(name)
        if timezone.now() - saved > timedelta(seconds=parse_duration(str(ttl))):
            ctx.log("INFO", "the WorkingDirectory cache is older than its ttl: not restored")
            return
    with storage.open(name, "rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            target = _inside(root, info.filename)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as handle_out:
                handle_out.write(source.read())
    ctx.log("INFO", "restored the WorkingDirectory cache")


def finish(ctx: Any, raw: Mapping[str, Any], root: str, wd_run_id: str) -> None:
    patterns = ctx.render(raw.get("outputFiles")) or []
    files: dict[str, str] = {}
    for rel in _matching(root, list(patterns)):
        files[rel] = ctx.put_local_file(os.path.join(root, rel), rel.replace("/", "_"))
    if files:
        row = TaskRun.objects.filter(id=wd_run_id).values_list("outputs", flat=True).first()
        TaskRun.objects.filter(id=wd_run_id).update(outputs={**(row or {}), "outputFiles": files})
    cache = raw.get("cache")
    if isinstance(cache, Mapping) and cache.get("patterns"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for rel in _matching(root, list(cache["patterns"])):
                archive.write(os.path.join(root, rel), rel)
        storage = storages["default"]
        name = cache_name(ctx.namespace, ctx.flow_id, ctx.wd_task_id)
        if storage.exists(name):
            storage.delete(name)
        storage.save(name, ContentFile(buffer.getvalue()))
