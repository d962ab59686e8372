"""Namespace files as users reach them: READ to look, WRITE to change (DESIGN.md §7). Each
function checks the caller's role with `require`, then calls `store`; changes are audited."""

from __future__ import annotations

from typing import Any

from apps.audit.services import record
from apps.core.errors import NotFound
from apps.files import archive, paths, store
from apps.files.models import NamespaceFile
from apps.namespaces.permissions import Action, require


def _audit(user: Any, action: str, namespace: str, detail: dict[str, Any]) -> None:
    record(user, action, namespace=namespace, target_type="namespace_file",
           target_id=str(detail.get("path") or detail.get("to") or detail.get("folder") or ""), after=detail)


def read(user: Any, namespace: str, raw_path: str, version: int | None = None) -> tuple[NamespaceFile, bytes]:
    require(user, Action.READ, namespace)
    path = paths.normalize(raw_path)
    row = store.find(namespace, path, version)
    if row is None or row.is_dir:
        suffix = f" at version {version}" if version is not None else ""
        raise NotFound(f"no namespace file '/{path}'{suffix} in {namespace!r}")
    return row, store.read_bytes(row)


def stat(user: Any, namespace: str, raw_path: str | None) -> dict[str, Any]:
    require(user, Action.READ, namespace)
    return store.stat(namespace, paths.normalize(raw_path or "/", allow_root=True)).as_json()


def listdir(user: Any, namespace: str, raw_path: str | None) -> list[dict[str, Any]]:
    require(user, Action.READ, namespace)
    return [e.as_json() for e in store.listdir(namespace, paths.normalize(raw_path or "/", allow_root=True))]


def search(user: Any, namespace: str, q: str) -> list[str]:
    require(user, Action.READ, namespace)
    rows = store.live(namespace).filter(is_dir=False)
    if q:
        rows = rows.filter(path__icontains=q)
    return ["/" + p for p in rows.order_by("path").values_list("path", flat=True)[:1000]]


def revisions(user: Any, namespace: str, raw_path: str) -> list[dict[str, Any]]:
    require(user, Action.READ, namespace)
    path = paths.normalize(raw_path)
    rows = NamespaceFile.objects.filter(namespace=namespace, path=path).order_by("version")
    if not rows.exists():
        raise NotFound(f"no namespace file '/{path}' in {namespace!r}")
    return [{"version": r.version, "size": r.size, "deleted": r.deleted, "createdAt": r.created_at.isoformat(),
             "createdBy": r.created_by.get_username() if r.created_by else None} for r in rows]


def write(user: Any, namespace: str, raw_path: str, data: bytes, *, extract_zip: bool = False) -> dict[str, Any]:
    require(user, Action.WRITE, namespace)
    path = paths.normalize(raw_path)
    if extract_zip:
        folder = paths.parent(path)
        written = archive.extract(namespace, folder, data, user)
        _audit(user, "namespace_file.import", namespace, {"folder": "/" + folder, "files": len(written)})
        return {"extracted": ["/" + p for p in written]}
    row = store.write(namespace, path, data, user)
    _audit(user, "namespace_file.write", namespace, {"path": "/" + path, "version": row.version})
    return store.stat(namespace, path).as_json()


def mkdir(user: Any, namespace: str, raw_path: str) -> dict[str, Any]:
    require(user, Action.WRITE, namespace)
    path = paths.normalize(raw_path)
    store.mkdir(namespace, path, user)
    _audit(user, "namespace_file.mkdir", namespace, {"path": "/" + path})
    return store.stat(namespace, path).as_json()


def move(user: Any, namespace: str, raw_from: str, raw_to: str) -> dict[str, Any]:
    require(user, Action.WRITE, namespace)
    source, target = paths.normalize(raw_from), paths.normalize(raw_to)
    moved = store.move(namespace, source, target, user)
    _audit(user, "namespace_file.move", namespace, {"from": "/" + source, "to": "/" + target, "paths": moved})
    return store.stat(namespace, target).as_json()


def delete(user: Any, namespace: str, raw_path: str) -> int:
    require(user, Action.WRITE, namespace)
    path = paths.normalize(raw_path)
    count = store.remove(namespace, path, user)
    _audit(user, "namespace_file.delete", namespace, {"path": "/" + path, "files": count})
    return count


def export(user: Any, namespace: str) -> bytes:
    require(user, Action.READ, namespace)
    return store.export_zip(namespace)
