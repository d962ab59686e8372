"""CSV exports as Kestra streams them (`GET …/export/by-query/csv`).

Kestra turns each entity into its JSON map and writes one row per entity, the header being the
entity's field names in serialization order. The exports here take the same JSON shapes the
API's searches answer and a fixed column list in Kestra's field order (a fixed list, so the
header does not depend on which optional fields the first row happens to have). A nested value
(labels, inputs, state) is written as compact JSON in its cell; a null is an empty cell.
The rows are streamed: an export of a whole instance is never held in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.http import StreamingHttpResponse


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def lines(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """The header, then one CSV line per row (RFC 4180 quoting, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(columns)
    yield flush()
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
        yield flush()


def response(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], filename: str) -> StreamingHttpResponse:
    answer = StreamingHttpResponse(lines(rows, columns), content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f"attachment; filename={filename}"
    return answer
