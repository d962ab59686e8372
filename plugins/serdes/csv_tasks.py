"""CSV ⇄ ION: `io.kestra.plugin.serdes.csv.*` (PLUGINS.md §7), streamed row by row."""

from __future__ import annotations

import csv
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    DynBool,
    DynInt,
    Plugin,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    dynamic,
    ion,
)
from plugins.serdes._files import reading, writing

GROUP = "io.kestra.plugin.serdes.csv"
FROM = Field(alias="from")


def _one_char(value: str, name: str) -> str:
    if len(value) != 1:
        raise TaskFailed(f"`{name}` must be a single character, got {value!r}")
    return value


class UriOutput(BaseModel):
    uri: str | None = Field(None, description="`kestra://` URI of the result file.")


class CsvToIon(RunnableTask):
    """Read a CSV file into an ION file, one record per line.

    With `header: true` (default) the first line gives the field names and each record becomes a
    struct of **strings** (no type inference); without a header each record is a list of strings.
    `skipRows` drops data rows after the header. The file is streamed: any size works.

    Output: `uri` (the ION file). Metric: `records`.
    """

    type = "io.kestra.plugin.serdes.csv.CsvToIon"
    aliases = ("io.kestra.plugin.serdes.csv.CsvReader",)
    title = "CSV to ION"
    group = GROUP
    icon = "file"
    examples = (
        """\
id: csv_to_ion
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/orders.csv
  - id: to_ion
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{ outputs.download.uri }}"
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of the CSV file.")
        header: DynBool = dynamic(True, description="The first line holds the field names.")
        fieldSeparator: str = dynamic(",", description="Field separator (one character).")
        textDelimiter: str = dynamic('"', description="Quote character (one character).")
        skipEmptyRows: DynBool = dynamic(False, description="Ignore empty lines.")
        errorOnDifferentFieldCount: DynBool = dynamic(
            False, description="Fail on a row whose field count differs from the header's.")
        skipRows: DynInt = dynamic(0, description="Data rows to skip after the header.")
        charset: str = dynamic("UTF-8", description="Charset of the CSV file.")

    Outputs = UriOutput

    def run(self, ctx: RunContext, props: Properties) -> UriOutput:  # type: ignore[override]
        sep = _one_char(props.fieldSeparator, "fieldSeparator")
        quote = _one_char(props.textDelimiter, "textDelimiter")
        count = 0
        with reading(ctx, props.from_, props.charset) as source, writing(ctx, ".ion") as (out, uri):
            rows: Iterator[list[str]] = csv.reader(source, delimiter=sep, quotechar=quote, strict=False)
            if props.skipEmptyRows:
                rows = (row for row in rows if row)
            keys = next(rows, None) if props.header else None
            for _ in range(props.skipRows):
                if next(rows, None) is None:
                    break
            write = out.write
            if keys is None:
                for row in rows:
                    write(ion.dumps(row or [""]) + "\n")
                    count += 1
            else:
                count = _structs(keys, rows, write, props.errorOnDifferentFieldCount)
        ctx.metric("counter", "records", count)
        return UriOutput(uri=uri[0])


def _structs(keys: list[str], rows: Iterable[list[str]], write: Any, strict: bool) -> int:
    """Write each row as a struct. Rows go through a %-template in chunks, the whole chunk built
    by C-level `map`s; a chunk holding a row of another width (the template raises TypeError) is
    written row by row instead."""
    width = len(keys)
    template = "{" + ",".join(f"{ion.field_name(k).replace('%', '%%')}:%s" for k in keys) + "}\n"
    fill, encode_row = template.__mod__, functools.partial(map, ion.string)
    fast = len(set(keys)) == width and width > 0
    source = iter(rows)
    count = 0
    while chunk := list(itertools.islice(source, 4096)):
        if fast:
            try:
                write("".join(map(fill, map(tuple, map(encode_row, chunk)))))
                count += len(chunk)
                continue
            except TypeError:
                pass  # a row of another width: this chunk row by row
        for row in chunk:
            count += 1
            if strict and len(row) != width:
                raise TaskFailed(f"record {count} has {len(row)} fields, the header has {width}")
            if fast and len(row) == width:
                write(fill(tuple(map(ion.string, row))))
                continue
            record: dict[str, Any] = {}
            for key, value in zip(keys, row or [""], strict=False):
                record[key] = value
            write(ion.dumps(record) + "\n")
    return count


# ---------------------------------------------------------------------------------------------

_JAVA_TOKENS = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("hh", "%I"),
                ("mm", "%M"), ("ss", "%S"), ("SSS", "\x00ms"), ("a", "%p"), ("XXX", "\x00off"), ("EEE", "%a")]


def java_format(value: date | time | datetime, pattern: str) -> str:
    """Format with a java.time pattern (the common letters; `[...]` optional, `'…'` literal)."""
    out: list[str] = []
    i = 0
    optional = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1:end] or "'")
            i = end + 1
            continue
        if ch == "[":
            optional = True
            i += 1
            continue
        if ch == "]":
            optional = False
            i += 1
            continue
        for token, code in _JAVA_TOKENS:
            if pattern.startswith(token, i):
                if code == "\x00ms":
                    out.append(f"{getattr(value, 'microsecond', 0) // 1000:03d}")
                elif code == "\x00off":
                    offset = value.utcoffset() if not isinstance(value, date) or isinstance(value, datetime) else None
                    if offset is None:
                        if not optional:
                            raise TaskFailed(f"{value} has no offset for pattern {pattern!r}")
                    elif offset.total_seconds() == 0:
                        out.append("Z")
                    else:
                        total = int(offset.total_seconds())
                        sign = "+" if total >= 0 else "-"
                        out.append(f"{sign}{abs(total) // 3600:02d}:{abs(total) % 3600 // 60:02d}")
                else:
                    out.append(value.strftime(code))
                i += len(token)
                break
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class IonToCsv(RunnableTask):
    """Write an ION file as CSV.

    The header is the first struct's field names; later rows are written in their own field order.
    A list row with `header: true` is an error; null becomes an empty field. Dates, times and
    date-times are formatted with `dateFormat`, `timeFormat` and `dateTimeFormat` (java.time
    patterns); Instants and local date-times are formatted in UTC, other zoned values in
    `timeZoneId` when given. `alwaysDelimitText: true` quotes every field (Kestra 0.21 quoted every
    field regardless, a bug fixed in 0.23; Weir follows the fixed behaviour).

    Output: `uri` (the CSV file). Metric: `records`.
    """

    type = "io.kestra.plugin.serdes.csv.IonToCsv"
    aliases = ("io.kestra.plugin.serdes.csv.CsvWriter",)
    title = "ION to CSV"
    group = GROUP
    icon = "file"
    examples = (
        """\
id: ion_to_csv
namespace: company.team
tasks:
  - id: query
    type: io.kestra.plugin.jdbc.sqlite.Query
    url: jdbc:sqlite:app.db
    sql: SELECT 1 AS one
    fetchType: STORE
  - id: to_csv
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ outputs.query.uri }}"
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of the ION file.")
        header: DynBool = dynamic(True, description="Write the field names first.")
        fieldSeparator: str = dynamic(",", description="Field separator (one character).")
        textDelimiter: str = dynamic('"', description="Quote character (one character).")
        lineDelimiter: str = dynamic("\n", description="End of line.")
        alwaysDelimitText: DynBool = dynamic(False, description="Quote every field.")
        charset: str = dynamic("UTF-8", description="Charset of the CSV file.")
        dateFormat: str = dynamic("yyyy-MM-dd", description="java.time pattern for dates.")
        timeFormat: str = dynamic("HH:mm:ss[XXX]", description="java.time pattern for times.")
        dateTimeFormat: str = dynamic("yyyy-MM-dd'T'HH:mm:ss.SSS[XXX]", description="Pattern for date-times.")
        timeZoneId: str | None = dynamic(None, description="Zone for zoned date-times (default: their own).")

    Outputs = UriOutput

    def run(self, ctx: RunContext, props: Properties) -> UriOutput:  # type: ignore[override]
        zone = _zone(props.timeZoneId)

        def cell(value: Any) -> Any:
            if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
                return value
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, datetime):
                if value.tzinfo is None or value.tzinfo is UTC:
                    moment = value if value.tzinfo is None else value.astimezone(UTC)
                elif zone is not None:
                    moment = value.astimezone(zone)
                else:
                    moment = value
                return java_format(moment, props.dateTimeFormat)
            if isinstance(value, date):
                return java_format(value, props.dateFormat)
            if isinstance(value, time):
                return java_format(value, props.timeFormat)
            if isinstance(value, dict | list):
                return ion.dumps(value)
            return str(value)

        quoting: Literal[0, 1] = csv.QUOTE_ALL if props.alwaysDelimitText else csv.QUOTE_MINIMAL
        count = 0
        with reading(ctx, props.from_) as source, writing(ctx, ".csv", props.charset) as (out, uri):
            writer = csv.writer(out, delimiter=_one_char(props.fieldSeparator, "fieldSeparator"),
                                quotechar=_one_char(props.textDelimiter, "textDelimiter"),
                                lineterminator=props.lineDelimiter, quoting=quoting)
            writerow = writer.writerow
            plain = (str, int, type(None))
            strings: Callable[[str], re.Match[str] | None] | None = None
            fast: Callable[[str], re.Match[str] | None] | None = None
            frame: list[str] | None = None
            for number, line in enumerate(source, start=1):
                if frame is not None and "\\" not in line:
                    parts = line.split('"')
                    if parts[0::2] == frame:  # every value an escape-free string, fields as in the header
                        writerow(parts[1::2])
                        count += 1
                        continue
                if strings is not None and "\\" not in line:
                    match = strings(line)
                    if match is not None:  # every value an escape-free string: its text is the cell
                        writerow(match.groups())
                        count += 1
                        continue
                    match = fast(line) if fast is not None else None
                    if match is not None:
                        writerow([v[1:-1] if v[0] == '"' else (None if v == "null" else v) for v in match.groups()])
                        count += 1
                        continue
                if not line.strip():
                    continue
                try:
                    row = ion.loads(line)
                except ion.IonError as error:
                    raise TaskFailed(f"line {number} of {props.from_} is not ION: {error}") from error
                if isinstance(row, dict):
                    if count == 0 and props.header:
                        writerow(list(row))
                    if count == 0:
                        strings, fast = flat_matcher(list(row), _STRING_VALUE), flat_matcher(list(row))
                        frame = struct_frame(list(row))
                    values: Iterable[Any] = row.values()
                elif isinstance(row, list):
                    if props.header:
                        raise TaskFailed("a list row cannot be written with `header: true`: set `header: false`")
                    values = row
                else:
                    values = [row]
                if all(type(v) in plain for v in values):
                    writerow(values)
                else:
                    writerow([cell(v) for v in values])
                count += 1
        ctx.metric("counter", "records", count)
        return UriOutput(uri=uri[0])


_FLAT_VALUE = r'("[^"\\]*"|-?[0-9]+|null|true|false)'
_STRING_VALUE = r'"([^"\\]*)"'


def flat_matcher(keys: list[str], value: str = _FLAT_VALUE) -> Callable[[str], re.Match[str] | None]:
    """A matcher for lines that are flat structs with exactly these fields in this order, whose
    values are escape-free strings, integers, booleans or nulls (or, with `_STRING_VALUE`, only
    strings, captured without their quotes): their raw tokens are the CSV cells, so the common
    line never builds a dict."""
    pattern = r"\{" + ",".join(re.escape(ion.field_name(k)) + ":" + value for k in keys) + r"\}\s*$"
    return re.compile(pattern).match


def struct_frame(keys: list[str]) -> list[str] | None:
    """The text around the values of `{k1:"v1",k2:"v2"}\\n`: what `line.split('"')[0::2]` gives
    when every value is a string. Without backslashes in the line no value holds a quote, so a
    line whose frame is exactly this one has its values at `[1::2]`. None when a field name
    itself needs quotes (the slow path handles those)."""
    names = [ion.field_name(k) for k in keys]
    if any("'" in n or '"' in n for n in names):
        return None
    return ["{" + names[0] + ":", *("," + n + ":" for n in names[1:]), "}\n"] if names else None


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as error:
        raise TaskFailed(f"unknown time zone {name!r}") from error


PLUGINS: list[type[Plugin]] = [CsvToIon, IonToCsv]
