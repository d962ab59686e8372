"""Namespace files without a user: the records, the content store and the tree walk. The
user-facing services (services.py) check permissions and then call these; the worker's
`RunContext` calls them after the flow-to-namespace rule."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import QuerySet

from apps.core.errors import Conflict, NotFound
from apps.files import paths
from apps.files.models import NamespaceFile
from apps.plugins.sdk import glob_regex

PREFIX = "_namespace_files"


def content_name(digest: str) -> str:
    return f"{PREFIX}/{digest[:2]}/{digest}"


def live(namespace: str) -> QuerySet[NamespaceFile]:
    return NamespaceFile.objects.filter(namespace=namespace, current=True, deleted=False)


def _store(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    storage = storages["default"]
    name = content_name(digest)
    if not storage.exists(name):
        storage.save(name, ContentFile(data))
    return digest


def read_bytes(row: NamespaceFile) -> bytes:
    with storages["default"].open(content_name(row.digest), "rb") as handle:
        data: bytes = handle.read()
    return data


def find(namespace: str, path: str, version: int | None = None) -> NamespaceFile | None:
    if version is not None:
        return NamespaceFile.objects.filter(namespace=namespace, path=path, version=version, deleted=False).first()
    return live(namespace).filter(path=path).first()


def is_dir(namespace: str, path: str) -> bool:
    if path == "":
        return True
    rows = live(namespace)
    return rows.filter(path=path, is_dir=True).exists() or rows.filter(path__startswith=path + "/").exists()


def _new_version(namespace: str, path: str, user: Any, **fields: Any) -> NamespaceFile:
    """Write the next version of `path` (the caller holds a transaction)."""
    previous = list(NamespaceFile.objects.select_for_update().filter(namespace=namespace, path=path)
                    .order_by("-version")[:1])
    version = previous[0].version + 1 if previous else 1
    NamespaceFile.objects.filter(namespace=namespace, path=path, current=True).update(current=False)
    return NamespaceFile.objects.create(namespace=namespace, path=path, version=version, current=True,
                                        created_by=user if getattr(user, "pk", None) else None, **fields)


def _check_tree(namespace: str, path: str, *, as_dir: bool) -> None:
    """A file may not sit where a directory is, nor under a file."""
    folder = paths.parent(path)
    while folder:
        existing = find(namespace, folder)
        if existing is not None and not existing.is_dir:
            raise Conflict(f"'/{folder}' is a file, so '/{path}' cannot be created under it")
        folder = paths.parent(folder)
    if not as_dir and is_dir(namespace, path):
        raise Conflict(f"'/{path}' is a directory")
    if as_dir:
        existing = find(namespace, path)
        if existing is not None and not existing.is_dir:
            raise Conflict(f"'/{path}' is a file")


def write(namespace: str, path: str, data: bytes, user: Any = None) -> NamespaceFile:
    with transaction.atomic():
        _check_tree(namespace, path, as_dir=False)
        current = find(namespace, path)
        digest = _store(data)
        if current is not None and current.digest == digest:
            return current  # unchanged content: no new version
        return _new_version(namespace, path, user, digest=digest, size=len(data))


def mkdir(namespace: str, path: str, user: Any = None) -> NamespaceFile:
    with transaction.atomic():
        _check_tree(namespace, path, as_dir=True)
        current = find(namespace, path)
        if current is not None:
            return current
        return _new_version(namespace, path, user, is_dir=True)


def remove(namespace: str, path: str, user: Any = None) -> int:
    """Delete a file, or a directory and everything under it; returns how many files went."""
    with transaction.atomic():
        targets = [row.path for row in live(namespace).filter(path=path)]
        targets += [row.path for row in live(namespace).filter(path__startswith=path + "/")] if path else \
            [row.path for row in live(namespace)]
        if not targets:
            raise NotFound(f"no namespace file or directory '/{path}' in {namespace!r}")
        for target in sorted(set(targets)):
            _new_version(namespace, target, user, deleted=True)
        return len(set(targets))


def move(namespace: str, source: str, target: str, user: Any = None) -> int:
    """Rename a file or a directory (with everything under it); returns how many paths moved."""
    if paths.under(target, source):
        raise Conflict(f"cannot move '/{source}' into itself ('/{target}')")
    with transaction.atomic():
        rows = list(live(namespace).filter(path=source)) + list(live(namespace).filter(path__startswith=source + "/"))
        if not rows:
            raise NotFound(f"no namespace file or directory '/{source}' in {namespace!r}")
        if find(namespace, target) is not None or live(namespace).filter(path__startswith=target + "/").exists():
            raise Conflict(f"'/{target}' already exists")
        for row in rows:
            moved = target + row.path[len(source):]
            _check_tree(namespace, moved, as_dir=row.is_dir)
            _new_version(namespace, moved, user, is_dir=row.is_dir, digest=row.digest, size=row.size)
            _new_version(namespace, row.path, user, deleted=True)
        return len(rows)


@dataclass(frozen=True)
class Entry:
    path: str
    is_dir: bool
    size: int
    created: datetime | None
    modified: datetime | None
    version: int

    def as_json(self) -> dict[str, Any]:
        return {"fileName": paths.name(self.path) or "/", "path": "/" + self.path,
                "type": "Directory" if self.is_dir else "File", "size": self.size, "version": self.version,
                "creationTime": self.created.isoformat() if self.created else None,
                "lastModifiedTime": self.modified.isoformat() if self.modified else None}


def stat(namespace: str, path: str) -> Entry:
    row = find(namespace, path)
    if row is not None:
        first = NamespaceFile.objects.filter(namespace=namespace, path=path).order_by("version").first()
        return Entry(path, row.is_dir, row.size, first.created_at if first else row.created_at, row.created_at,
                     row.version)
    if is_dir(namespace, path):
        return Entry(path, True, 0, None, None, 0)
    raise NotFound(f"no namespace file or directory '/{path}' in {namespace!r}")


def listdir(namespace: str, folder: str) -> list[Entry]:
    """The direct children of `folder` (directories implied by deeper paths included)."""
    if folder and not is_dir(namespace, folder):
        raise NotFound(f"no namespace directory '/{folder}' in {namespace!r}")
    rows = live(namespace) if not folder else live(namespace).filter(path__startswith=folder + "/")
    children: dict[str, Entry] = {}
    for row in rows:
        rest = row.path[len(folder) + 1:] if folder else row.path
        head = rest.split("/", 1)[0]
        child = f"{folder}/{head}" if folder else head
        if "/" in rest or row.is_dir:
            children.setdefault(child, Entry(child, True, 0, None, None, 0))
        else:
            children[child] = Entry(child, False, row.size, row.created_at, row.created_at, row.version)
    return sorted(children.values(), key=lambda e: (not e.is_dir, e.path))


def files(namespace: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[NamespaceFile]:
    """Live files matching the namespace globs: `*` stays in a directory, and a pattern that
    starts with a word character gets an implicit `**/` (PLUGINS.md §5). No include: all files."""
    def compile_all(patterns: Iterable[str]) -> list[Any]:
        out = []
        for pattern in patterns:
            text = str(pattern).lstrip("/")
            if text[:1].isalnum() or text[:1] == "_":
                text = "{,**/}" + text
            out.append(glob_regex(text))
        return out

    wanted, unwanted = compile_all(include), compile_all(exclude)
    found = []
    for row in live(namespace).filter(is_dir=False).order_by("path"):
        if wanted and not any(rx.fullmatch(row.path) for rx in wanted):
            continue
        if any(rx.fullmatch(row.path) for rx in unwanted):
            continue
        found.append(row)
    return found


def export_zip(namespace: str) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for row in live(namespace).order_by("path"):
            if row.is_dir:
                archive.writestr(row.path + "/", b"")
            else:
                archive.writestr(row.path, read_bytes(row))
    return buffer.getvalue()
