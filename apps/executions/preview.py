"""First rows of an execution's file, for the Outputs tab (`GET …/file/preview`, KESTRA.md §7.2).

ION, JSON Lines and CSV files are read line by line and stop after `max_rows` rows, so a
preview costs the same for a 10 kB or a 10 GB file. A JSON array is parsed only when small.
Everything else is shown as text, cut after `max_rows` lines. The answer follows Kestra's
FileRender: `{extension, type: LIST|TEXT, content, truncated}`; LIST content is a list of
rows (maps, or lists for header-less data), values made JSON-safe.
"""

from __future__ import annotations

import base64
import codecs
import csv
import io
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from apps.core.errors import Unprocessable
from apps.plugins import ion

DEFAULT_ROWS = 100
MAX_ROWS = 5000
MAX_JSON_BYTES = 10 * 1024 * 1024
MAX_PREFIX = 2 * 1024 * 1024
MAX_LINE = 100_000


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return ion.iso_duration(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def extension_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _prefix_lines(data: bytes, complete: bool, encoding: str) -> list[str]:
    """Decoded lines of a file prefix; a last line cut by the prefix is dropped."""
    lines = data.decode(encoding, errors="replace").splitlines(keepends=True)
    if not complete and lines and not lines[-1].endswith(("\n", "\r")):
        lines.pop()
    return lines


def preview(handle: IO[bytes], name: str, size: int, max_rows: int = DEFAULT_ROWS, encoding: str = "utf-8") -> dict[str, Any]:
    """The preview of one stored file, read from at most `MAX_JSON_BYTES` of its start."""
    try:
        codecs.lookup(encoding)
    except LookupError as error:
        raise Unprocessable(f"unknown encoding {encoding!r}") from error
    if not 1 <= max_rows <= MAX_ROWS:
        raise Unprocessable(f"maxRows must be between 1 and {MAX_ROWS}, got {max_rows}")
    extension = extension_of(name)
    data = handle.read(MAX_JSON_BYTES if extension == "json" else MAX_PREFIX)
    complete = size <= len(data)
    if extension == "json" and complete:
        try:
            document = json.loads(data.decode(encoding, errors="replace"))
        except ValueError:
            document = None
        if isinstance(document, list):
            return {"extension": extension, "type": "LIST", "content": jsonable(document[:max_rows]),
                    "truncated": len(document) > max_rows}
    lines = _prefix_lines(data, complete, encoding)
    if extension in ("ion", "jsonl", "ndjson"):
        rows: list[Any] = []
        for line in (x for x in lines if x.strip()):
            if len(rows) == max_rows:
                break
            try:
                rows.append(jsonable(ion.loads(line) if extension == "ion" else json.loads(line)))
            except ValueError:
                rows.append(line.rstrip("\r\n")[:MAX_LINE])
        truncated = len(rows) < sum(1 for x in lines if x.strip()) or not complete
        return {"extension": extension, "type": "LIST", "content": rows, "truncated": truncated}
    if extension in ("csv", "tsv"):
        records = list(csv.reader(io.StringIO("".join(lines)), delimiter="\t" if extension == "tsv" else ","))
        header, body = (records[0], records[1:]) if records else ([], [])
        rows = [dict(zip(header, r, strict=True)) if len(r) == len(header) else r for r in body[:max_rows]]
        return {"extension": extension, "type": "LIST", "content": rows,
                "truncated": len(body) > max_rows or not complete}
    shown = lines[:max_rows]
    return {"extension": extension, "type": "TEXT", "content": "".join(x[:MAX_LINE] for x in shown),
            "truncated": len(lines) > max_rows or not complete}
