"""An execution's files in internal storage, for download and deletion (KESTRA.md §5.10).

Every file an execution makes (input uploads, task outputs) lives under one prefix,
`<namespace as path>/<flowId>/executions/<executionId>/`. A download names its file by a
`kestra:///…` URI; only URIs under the execution's own prefix are served, and any path with
`..`, `.`, empty segments, backslashes or control characters, percent-encoded or not, is refused
before storage is touched (apps.engine.storage_uri).
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import Storage, storages

from apps.core.errors import NotFound, Unprocessable
from apps.engine.storage_uri import SCHEMES, storage_name
from apps.executions.models import Execution


def prefix(row: Execution) -> str:
    return f"{row.namespace.replace('.', '/')}/{row.flow_id}/executions/{row.id}/"


def storage() -> Storage:
    return storages["default"]


def name_of(row: Execution, uri: str) -> str:
    """The storage name behind `uri`, if it is a safe path inside this execution's files."""
    if not uri.startswith(SCHEMES):
        raise Unprocessable(f"path must be a kestra:/// URI, got {uri!r}")
    try:
        name = storage_name(uri)
    except ValueError as error:
        raise Unprocessable(str(error)) from error
    if not name.startswith(prefix(row)):
        raise Unprocessable(f"{uri!r} does not belong to execution {row.id}: its files are under "
                            f"kestra:///{prefix(row)}")
    try:
        exists = storage().exists(name)
    except SuspiciousFileOperation as error:
        raise Unprocessable(f"invalid path {uri!r}") from error
    if not exists:
        raise NotFound(f"file {uri!r} not found")
    return name


def delete_all(row: Execution) -> int:
    """Remove every file of the execution; returns how many were removed."""
    store = storage()
    count = 0

    def walk(folder: str) -> None:
        nonlocal count
        try:
            dirs, names = store.listdir(folder)
        except FileNotFoundError:
            return
        for name in names:
            store.delete(folder + name)
            count += 1
        for sub in dirs:
            walk(f"{folder}{sub}/")

    walk(prefix(row))
    return count
