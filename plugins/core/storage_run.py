"""How the `storage.*` tasks run: every file streamed through the task's working directory.

Files are read with `RunContext.open_file` and written to a local file that `put_path` uploads,
so memory stays flat in the file size (DeduplicateItems keeps one entry per distinct key).
"""

from __future__ import annotations

import glob
import json
import mmap
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from apps.plugins.sdk import RunContext, TaskFailed, ion, is_truthy

CHUNK = 1 << 20


def _check_uri(uri: Any, name: str) -> str:
    if not isinstance(uri, str) or not uri.startswith(("kestra://", "weir://")):
        raise TaskFailed(f"`{name}` must be a kestra:// URI of a stored file, got {uri!r}")
    return uri


@contextmanager
def _source(ctx: RunContext, uri: str, name: str = "from") -> Iterator[IO[bytes]]:
    try:
        handle = ctx.open_file(_check_uri(uri, name))
    except (FileNotFoundError, OSError) as error:
        raise TaskFailed(f"cannot read {uri}: file not found") from error
    with handle:
        yield handle


def _local(ctx: RunContext, suffix: str) -> tuple[IO[bytes], str]:
    fd, path = tempfile.mkstemp(suffix=suffix, dir=ctx.working_dir())
    return os.fdopen(fd, "wb", buffering=CHUNK), path


def _extension(uri: str) -> str:
    base = uri.rsplit("/", 1)[-1]
    return base[base.index("."):] if "." in base else ".tmp"


def concat(ctx: RunContext, files: list[str] | str, separator: str | None, extension: str) -> str:
    if isinstance(files, str):
        try:
            files = json.loads(files)
        except ValueError as error:
            raise TaskFailed(f"`files` must be a list of URIs or a JSON array, got {files!r}") from error
    if not isinstance(files, list) or not files:
        raise TaskFailed("`files` must be a non-empty list of kestra:// URIs")
    out, path = _local(ctx, extension if extension.startswith(".") else "." + extension)
    with out:
        for index, uri in enumerate(files):
            if index and separator is not None:
                out.write(separator.encode("utf-8"))
            with _source(ctx, uri, "files") as src:
                shutil.copyfileobj(src, out, CHUNK)
    return ctx.put_path(path)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*$", re.IGNORECASE)


def parse_bytes(text: str) -> int:
    """`10MB`, `512KB`, `1GB`, `2048` (powers of 1024, as Kestra reads them)."""
    match = _SIZE.match(text)
    if not match:
        raise TaskFailed(f"`bytes` must be a size such as 10MB, 512KB or 2048, got {text!r}")
    unit = match.group(2).upper().rstrip("B")
    return int(float(match.group(1)) * 1024 ** " KMGT".index(unit or " "))


def split(ctx: RunContext, uri: str, size: int | None, partitions: int | None, rows: int | None,
          separator: str) -> list[str]:
    """Parts by bytes, partitions (equal byte shares) or rows; lines are never cut."""
    sep = separator.encode("utf-8")
    if partitions is not None:
        size = max(1, -(-ctx.file_size(_check_uri(uri, "from")) // partitions))
    suffix = _extension(uri)
    uris: list[str] = []
    out: IO[bytes] | None = None
    path = ""
    written = lines = 0

    def close() -> None:
        nonlocal out
        if out is not None:
            out.close()
            uris.append(ctx.put_path(path))
            out = None

    with _source(ctx, uri) as src:
        for line in _lines(src, sep):
            full = out is not None and (
                (rows is not None and lines >= rows) or (size is not None and written + len(line) > size and written)
            )
            if full:
                close()
            if out is None:
                out, path = _local(ctx, suffix)
                written = lines = 0
            out.write(line)
            written += len(line)
            lines += 1
    close()
    return uris


def _lines(src: IO[bytes], sep: bytes) -> Iterator[bytes]:
    """Lines including their separator, read in chunks."""
    rest = b""
    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            break
        rest += chunk
        start = 0
        while True:
            found = rest.find(sep, start)
            if found < 0:
                break
            yield rest[start:found + len(sep)]
            start = found + len(sep)
        rest = rest[start:]
    if rest:
        yield rest


def reverse(ctx: RunContext, uri: str, separator: str, charset: str) -> str:
    """Lines in reverse order: the file is copied locally and walked backwards through mmap."""
    sep = separator.encode(charset)
    copy, copy_path = _local(ctx, ".src")
    with copy, _source(ctx, uri) as src:
        shutil.copyfileobj(src, copy, CHUNK)
    out, path = _local(ctx, _extension(uri))
    try:
        with out, open(copy_path, "rb") as handle:
            if os.path.getsize(copy_path):
                with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    end = len(data)
                    if data[end - len(sep):end] == sep:
                        end -= len(sep)
                    while end > 0:
                        start = data.rfind(sep, 0, end)
                        line_start = start + len(sep) if start >= 0 else 0
                        out.write(data[line_start:end])
                        out.write(sep)
                        end = start if start >= 0 else 0
    finally:
        os.unlink(copy_path)
    return ctx.put_path(path)


def _items(ctx: RunContext, uri: str) -> Iterator[Any]:
    with _source(ctx, uri) as src:
        for number, raw in enumerate(src, start=1):
            line = raw.decode("utf-8")
            if not line.strip():
                continue
            try:
                yield ion.loads(line)
            except ion.IonError as error:
                raise TaskFailed(f"line {number} of {uri} is not an ION value: {error}") from error


def _variables(item: Any) -> dict[str, Any]:
    return dict(item) if isinstance(item, dict) else {"value": item}


def filter_items(ctx: RunContext, uri: str, condition: str, keep_matches: bool, on_error: str) -> tuple[str, int, int]:
    out, path = _local(ctx, ".ion")
    processed = dropped = 0
    with out:
        for item in _items(ctx, uri):
            processed += 1
            try:
                rendered = ctx.render_with(condition, _variables(item))
                verdict: bool | None = None if rendered is None or not str(rendered).strip() else is_truthy(rendered)
            except Exception as error:
                if on_error == "FAIL":
                    raise TaskFailed(f"filterCondition failed on item {processed}: {error}") from error
                verdict = None
            if verdict is None:
                if on_error == "FAIL":
                    raise TaskFailed(f"filterCondition rendered nothing for item {processed}")
                keep = on_error == "INCLUDE"
            else:
                keep = verdict == keep_matches
            if keep:
                out.write((ion.dumps(item) + "\n").encode("utf-8"))
            else:
                dropped += 1
    return ctx.put_path(path), processed, dropped


def deduplicate(ctx: RunContext, uri: str, expr: str) -> tuple[str, int, int, int]:
    """Keep the last item of each key: one pass maps key → last position, a second writes those."""
    last: dict[str, int] = {}
    for index, item in enumerate(_items(ctx, uri)):
        last[ctx.render_with(expr, _variables(item))] = index
    keep = set(last.values())
    out, path = _local(ctx, ".ion")
    processed = 0
    with out:
        for index, item in enumerate(_items(ctx, uri)):
            processed += 1
            if index in keep:
                out.write((ion.dumps(item) + "\n").encode("utf-8"))
    return ctx.put_path(path), len(last), processed, processed - len(keep)


def local_files(ctx: RunContext, inputs: dict[str, str] | str | None, outputs: list[str] | None) -> dict[str, str]:
    """Write `inputs` into the working directory, upload the files matching `outputs`."""
    workdir = os.path.realpath(ctx.working_dir())
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except ValueError as error:
            raise TaskFailed("`inputs` must be a map of path to content") from error
    if not isinstance(inputs, dict | None):
        raise TaskFailed("`inputs` must be a map of path to content")
    for name, content in (inputs or {}).items():
        target = os.path.realpath(os.path.join(workdir, name))
        if not target.startswith(workdir + os.sep):
            raise TaskFailed(f"input file {name!r} would be outside the working directory")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            if isinstance(content, str) and content.startswith("kestra://"):
                with _source(ctx, content, "inputs") as src:
                    shutil.copyfileobj(src, out, CHUNK)
            else:
                out.write(str(content).encode("utf-8"))
    uris: dict[str, str] = {}
    for pattern in outputs or []:
        for found in sorted(glob.glob(os.path.join(workdir, pattern), recursive=True)):
            if os.path.isfile(found):
                relative = os.path.relpath(found, workdir)
                keep = tempfile.mkstemp(dir=workdir, suffix=os.path.basename(found))[1]
                shutil.copyfile(found, keep)
                uris[relative] = ctx.put_path(keep, os.path.basename(found))
    return uris
