"""`weir --server … namespace files sync DIR --namespace NS`: make a namespace's files match a
folder (GitOps for code and data files, as `flow sync` is for flows).

The server's current files come in one request (the namespace's zip export) and are compared
byte for byte with the folder's; the plan (create, update, delete with `--delete`) is printed as
a diff and applied only with `--apply`, one upload or deletion per file, with progress. A second
run finds nothing to change. Hidden files and folders (`.git`, `.venv`…) and symlinks are skipped.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from apps.cli.remote.client import Client, quote
from apps.cli.remote.progress import Progress


@dataclass
class Plan:
    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: int = 0

    def changes(self, with_delete: bool) -> int:
        return len(self.create) + len(self.update) + (len(self.delete) if with_delete else 0)


def local_files(root: Path) -> dict[str, bytes]:
    """Relative path → content of every regular, non-hidden file under `root`."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.is_symlink() or not path.is_file():
            continue
        found[rel.as_posix()] = path.read_bytes()
    return found


def remote_files(client: Client, namespace: str) -> dict[str, bytes]:
    raw = client.raw("GET", f"api/v1/namespaces/{quote(namespace)}/files/export")
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def plan(local: dict[str, bytes], remote: dict[str, bytes]) -> Plan:
    result = Plan()
    for path, content in sorted(local.items()):
        if path not in remote:
            result.create.append(path)
        elif remote[path] != content:
            result.update.append(path)
        else:
            result.unchanged += 1
    result.delete = sorted(set(remote) - set(local))
    return result


def diff_lines(the_plan: Plan, delete: bool) -> Iterable[str]:
    yield from (f"+ /{p}" for p in the_plan.create)
    yield from (f"~ /{p}" for p in the_plan.update)
    if delete:
        yield from (f"- /{p}" for p in the_plan.delete)
    elif the_plan.delete:
        yield f"({len(the_plan.delete)} file(s) only on the server are kept: add --delete to remove them)"


def summary(the_plan: Plan, delete: bool) -> str:
    deleted = f", {len(the_plan.delete)} to delete" if delete else ""
    return (f"{len(the_plan.create)} to create, {len(the_plan.update)} to update{deleted}, "
            f"{the_plan.unchanged} unchanged")


def apply(client: Client, namespace: str, local: dict[str, bytes], the_plan: Plan, delete: bool,
          bar: bool | None = None) -> None:
    base = f"api/v1/namespaces/{quote(namespace)}/files"
    steps = the_plan.create + the_plan.update
    with Progress("syncing namespace files", the_plan.changes(delete), bar=bar) as progress:
        for path in steps:
            body, content_type = multipart("fileContent", path.rsplit("/", 1)[-1], local[path])
            client.request("POST", base, query={"path": "/" + path}, body=body, content_type=content_type)
            progress.advance(f"{'created' if path in the_plan.create else 'updated'} /{path}")
        if delete:
            for path in the_plan.delete:
                client.request("DELETE", base, query={"path": "/" + path})
                progress.advance(f"deleted /{path}")


def multipart(field_name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    safe_name = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; filename=\"{safe_name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
