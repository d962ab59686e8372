"""Import and export of flows as zip archives of YAML files (or one multi-document YAML).

Archives are untrusted (RELIABILITY.md §4 #29): entry names are checked (no absolute paths, no
`..`, no symlinks), the entry count and the total expanded size are bounded and read with a
hard cap, and the import is all-or-nothing.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterable
from typing import Any

from apps.core.errors import BadRequest
from apps.flows.models import Flow

MAX_ENTRIES = 1000
MAX_ENTRY_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024


def _check_name(info: zipfile.ZipInfo) -> str | None:
    """A reason the entry is refused, or None."""
    name = info.filename
    mode = (info.external_attr >> 16) & 0o170000
    if mode == stat.S_IFLNK:
        return "symbolic links are not allowed"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute paths are not allowed"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "'..' is not allowed in entry names"
    if "\x00" in name:
        return "NUL bytes are not allowed in entry names"
    return None


def read_sources(data: bytes, filename: str = "") -> list[tuple[str, str]]:
    """(name, text) of each YAML document in an uploaded zip or YAML file."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if filename and not filename.lower().endswith((".yml", ".yaml")):
            raise BadRequest(f"{filename!r} is neither a .zip nor a .yml/.yaml file")
        try:
            return [(filename or "upload.yaml", data.decode("utf-8"))]
        except UnicodeDecodeError as exc:
            raise BadRequest(f"{filename or 'upload'} is not UTF-8 text") from exc
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BadRequest(f"not a readable zip archive: {exc}") from exc
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise BadRequest(f"the archive has {len(infos)} entries; at most {MAX_ENTRIES} are allowed")
    out: list[tuple[str, str]] = []
    total = 0
    for info in infos:
        reason = _check_name(info)
        if reason:
            raise BadRequest(f"refused archive entry {info.filename!r}: {reason}")
        if info.is_dir():
            continue
        if not info.filename.lower().endswith((".yml", ".yaml")):
            raise BadRequest(f"refused archive entry {info.filename!r}: only .yml/.yaml files are imported")
        if info.file_size > MAX_ENTRY_BYTES:
            raise BadRequest(f"refused archive entry {info.filename!r}: {info.file_size} bytes expanded; "
                             f"the limit is {MAX_ENTRY_BYTES}")
        with archive.open(info) as handle:
            # The declared size can lie: read with a hard cap.
            content = handle.read(MAX_ENTRY_BYTES + 1)
        if len(content) > MAX_ENTRY_BYTES:
            raise BadRequest(f"refused archive entry {info.filename!r}: expands beyond {MAX_ENTRY_BYTES} bytes")
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            raise BadRequest(f"the archive expands beyond {MAX_TOTAL_BYTES} bytes")
        try:
            out.append((info.filename, content.decode("utf-8")))
        except UnicodeDecodeError as exc:
            raise BadRequest(f"refused archive entry {info.filename!r}: not UTF-8 text") from exc
    return out


def export_zip(flows: Iterable[Flow]) -> bytes:
    """A zip with one `<namespace>.<id>.yml` per flow, sources verbatim."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for flow in flows:
            archive.writestr(f"{flow.namespace}.{flow.flow_id}.yml", flow.source)
    return buffer.getvalue()


def import_result(saved: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(saved), "flows": saved}
