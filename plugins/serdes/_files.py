"""Streaming helpers shared by the serdes tasks: open a stored file as text, write a local
result file in the task's working directory, upload it."""

from __future__ import annotations

import codecs
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from apps.plugins.sdk import RunContext, TaskFailed

CHUNK = 1 << 20


def check_charset(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as error:
        raise TaskFailed(f"unknown charset {name!r}") from error


@contextmanager
def reading(ctx: RunContext, uri: str, charset: str = "utf-8") -> Iterator[IO[str]]:
    """The stored file `uri` as a text stream (universal newlines off: the readers decide)."""
    if not isinstance(uri, str) or not uri.startswith(("kestra://", "weir://")):
        raise TaskFailed(f"`from` must be a kestra:// URI of a stored file, got {uri!r}")
    try:
        raw = ctx.open_file(uri)
    except (FileNotFoundError, OSError) as error:
        raise TaskFailed(f"cannot read {uri}: file not found") from error
    buffered = raw if isinstance(raw, io.BufferedIOBase) else io.BufferedReader(raw, CHUNK)  # type: ignore[arg-type,type-var]
    with io.TextIOWrapper(buffered, encoding=check_charset(charset), newline="") as text:
        yield text


@contextmanager
def writing(ctx: RunContext, suffix: str, charset: str = "utf-8") -> Iterator[tuple[IO[str], list[str]]]:
    """A local result file in the working directory; its URI lands in the yielded list on success."""
    fd, path = tempfile.mkstemp(suffix=suffix, dir=ctx.working_dir())
    uri: list[str] = []
    try:
        with open(fd, "w", encoding=check_charset(charset), newline="", buffering=CHUNK) as out:
            yield out, uri
    except BaseException:
        if os.path.exists(path):
            os.unlink(path)
        raise
    uri.append(ctx.put_path(path))
