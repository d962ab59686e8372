"""Safe extraction of an uploaded zip into a namespace's files (RELIABILITY.md §4 row 29).

Every entry is checked before anything is written: its name must be a normal relative path
(no `..`, absolute path, drive, backslash or control character), it must be a regular file or
a directory (no symlink, device or other special entry), and the archive must stay within the
entry, total-size and compression-ratio caps. Then all files are written in one transaction:
an archive with one bad entry writes nothing.
"""

from __future__ import annotations

import io
import stat
import zipfile
from typing import Any

from django.db import transaction

from apps.core.errors import BadRequest
from apps.files import paths, store

MAX_ENTRIES = 10_000
MAX_TOTAL = 200 * 1024 * 1024
MAX_RATIO = 200


def extract(namespace: str, folder: str, data: bytes, user: Any = None) -> list[str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise BadRequest(f"not a zip archive: {error}") from error
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise BadRequest(f"the archive has {len(entries)} entries; at most {MAX_ENTRIES} are accepted")
    total = 0
    planned: list[tuple[zipfile.ZipInfo, str]] = []
    for info in entries:
        raw = info.filename
        if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
            raise BadRequest(f"archive entry {raw!r}: absolute paths are not allowed")
        try:
            rel = paths.normalize(raw)
        except BadRequest as error:
            raise BadRequest(f"archive entry {raw!r}: {error}") from error
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no file type
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise BadRequest(f"archive entry {raw!r}: only regular files and directories are accepted "
                             "(no symlinks or special files)")
        total += info.file_size
        if total > MAX_TOTAL:
            raise BadRequest(f"the archive expands to more than {MAX_TOTAL // (1024 * 1024)} MiB")
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise BadRequest(f"archive entry {raw!r} is compressed {info.file_size // info.compress_size}:1; "
                             f"at most {MAX_RATIO}:1 is accepted")
        planned.append((info, f"{folder}/{rel}" if folder else rel))
    written: list[str] = []
    with transaction.atomic():
        for info, target in planned:
            if info.is_dir():
                store.mkdir(namespace, target, user)
                continue
            with archive.open(info) as handle:
                content = handle.read(MAX_TOTAL + 1)
            store.write(namespace, target, content, user)
            written.append(target)
    return written
