"""JSON ⇄ ION: `io.kestra.plugin.serdes.json.*` (PLUGINS.md §7), streamed record by record."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field

from apps.plugins.sdk import (
    DynBool,
    Plugin,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    dynamic,
    ion,
)
from plugins.serdes._files import reading, writing
from plugins.serdes.csv_tasks import UriOutput

GROUP = "io.kestra.plugin.serdes.json"
FROM = Field(alias="from")


class JsonToIon(RunnableTask):
    """Read JSON into an ION file.

    With `newLine: true` (default) each line is one JSON value (JSON Lines) and a blank line
    fails. With `newLine: false` the whole document is one JSON value, and a top-level array is
    exploded into one record per element.

    Output: `uri` (the ION file). Metric: `records`.
    """

    type = "io.kestra.plugin.serdes.json.JsonToIon"
    aliases = ("io.kestra.plugin.serdes.json.JsonReader",)
    title = "JSON to ION"
    group = GROUP
    icon = "file"
    examples = (
        """\
id: json_to_ion
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/orders.jsonl
  - id: to_ion
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{ outputs.download.uri }}"
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of the JSON file.")
        charset: str = dynamic("UTF-8", description="Charset of the JSON file.")
        newLine: DynBool = dynamic(True, description="One JSON value per line (JSON Lines).")

    Outputs = UriOutput

    def run(self, ctx: RunContext, props: Properties) -> UriOutput:  # type: ignore[override]
        count = 0
        decode = json.JSONDecoder(parse_float=Decimal).decode
        with reading(ctx, props.from_, props.charset) as source, writing(ctx, ".ion") as (out, uri):
            if props.newLine:
                for number, line in enumerate(source, start=1):
                    if not line.strip():
                        raise TaskFailed(f"line {number} is blank: with `newLine: true` every line must be JSON")
                    try:
                        value = decode(line)
                    except ValueError as error:
                        raise TaskFailed(f"line {number} is not valid JSON: {error}") from error
                    out.write(ion.dumps(value) + "\n")
                    count += 1
            else:
                try:
                    document = decode(source.read())
                except ValueError as error:
                    raise TaskFailed(f"the file is not valid JSON: {error}") from error
                for value in document if isinstance(document, list) else [document]:
                    out.write(ion.dumps(value) + "\n")
                    count += 1
        ctx.metric("counter", "records", count)
        return UriOutput(uri=uri[0])


def json_default(zone: ZoneInfo | None) -> Any:
    """`json.dumps(default=…)` for ION values: temporal values as ISO strings, bytes as base64."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value) if value != value.to_integral_value() else int(value)
        if isinstance(value, datetime):
            if zone is not None and value.tzinfo is not None and value.tzinfo is not UTC:
                value = value.astimezone(zone)
            text = value.isoformat()
            return text.replace("+00:00", "Z") if value.tzinfo is UTC else text
        if isinstance(value, date | time):
            return value.isoformat()
        if isinstance(value, timedelta):
            return ion.iso_duration(value)
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    return default


class IonToJson(RunnableTask):
    """Write an ION file as JSON.

    `newLine: true` (default) writes JSON Lines (`.jsonl`); `newLine: false` one JSON array
    (`.json`), streamed element by element. Temporal values become ISO-8601 strings (zoned ones in
    `timeZoneId` when given), bytes base64.

    Output: `uri` (the JSON file). Metric: `records`.
    """

    type = "io.kestra.plugin.serdes.json.IonToJson"
    aliases = ("io.kestra.plugin.serdes.json.JsonWriter",)
    title = "ION to JSON"
    group = GROUP
    icon = "file"
    examples = (
        """\
id: ion_to_json
namespace: company.team
tasks:
  - id: query
    type: io.kestra.plugin.jdbc.duckdb.Query
    sql: SELECT 42 AS answer
    fetchType: STORE
  - id: to_json
    type: io.kestra.plugin.serdes.json.IonToJson
    from: "{{ outputs.query.uri }}"
    newLine: false
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of the ION file.")
        charset: str = dynamic("UTF-8", description="Charset of the JSON file.")
        newLine: DynBool = dynamic(True, description="JSON Lines (true) or one array (false).")
        timeZoneId: str | None = dynamic(None, description="Zone for zoned date-times.")

    Outputs = UriOutput

    def run(self, ctx: RunContext, props: Properties) -> UriOutput:  # type: ignore[override]
        try:
            zone = ZoneInfo(props.timeZoneId) if props.timeZoneId else None
        except (KeyError, ValueError) as error:
            raise TaskFailed(f"unknown time zone {props.timeZoneId!r}") from error
        encode = json.JSONEncoder(ensure_ascii=False, default=json_default(zone), separators=(",", ":")).encode
        count = 0
        suffix = ".jsonl" if props.newLine else ".json"
        with reading(ctx, props.from_) as source, writing(ctx, suffix, props.charset) as (out, uri):
            if not props.newLine:
                out.write("[")
            for value in ion.read_lines(source):
                if props.newLine:
                    out.write(encode(value) + "\n")
                else:
                    out.write(("," if count else "") + encode(value))
                count += 1
            if not props.newLine:
                out.write("]")
        ctx.metric("counter", "records", count)
        return UriOutput(uri=uri[0])


PLUGINS: list[type[Plugin]] = [JsonToIon, IonToJson]
