"""Fast bulk writes for the trigger loop: thousands of rows per tick (bench/scheduler.py).

On PostgreSQL both go through `COPY … FROM STDIN` in text format, the rows serialized here in
one buffer (no SQL text to build, no per-value adaptation):

- `insert` writes new rows (Django's `bulk_create` elsewhere);
- `update` copies the new values of some columns into a temporary table and applies them with
  one `UPDATE … FROM` (an `executemany` elsewhere; Django's `bulk_update` builds a CASE per field
  and row, which takes seconds for a few thousand rows).

Like `bulk_create` they fire no signals; `insert` sets no primary key it did not know (every
model written here has its id set beforehand, or needs none back).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection, models
from django.utils import timezone

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(field: models.Field[Any, Any], value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(field, models.JSONField):
        return json.dumps(value, cls=field.encoder, separators=(",", ":")).translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).translate(_ESCAPES)


_NOW = "\x00now\x00"
"""Stands for the write time of `auto_now`/`auto_now_add` fields in a buffer prepared early."""


def _buffer(fields: Sequence[models.Field[Any, Any]], rows: Sequence[Sequence[Any]]) -> str:
    return "".join("\t".join(_text(f, v) for f, v in zip(fields, row, strict=True)) + "\n" for row in rows)


def _send(table: str, fields: Sequence[models.Field[Any, Any]], buffer: str) -> None:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.cursor() as cursor, \
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(buffer)  # `cursor.cursor`: the psycopg cursor under Django's wrapper


def _copy(table: str, fields: Sequence[models.Field[Any, Any]], rows: Sequence[Sequence[Any]]) -> None:
    _send(table, fields, _buffer(fields, rows))


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    return [model._meta.get_field(n) for n in names]  # type: ignore[misc]


def insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    prepare_insert(model, objects)()


def prepare_insert(model: type[models.Model], objects: Sequence[models.Model]) -> Callable[[], None]:
    """Serialize `objects` now; the returned function writes them. Their `auto_now(_add)` fields
    get the time of that write, not of this call (the scheduler prepares a slot's executions
    before the slot and writes them at it)."""
    if not objects:
        return lambda: None
    if connection.vendor != "postgresql":
        def create() -> None:
            model._default_manager.bulk_create(objects, batch_size=500)

        return create
    fields = [f for f in model._meta.concrete_fields
              if not (isinstance(f, models.AutoField | models.BigAutoField) and getattr(objects[0], f.attname) is None)]
    stamped = {f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
    rows = [[_NOW if f.attname in stamped else f.pre_save(obj, True) for f in fields] for obj in objects]
    buffer = _buffer([f if f.attname not in stamped else models.TextField() for f in fields], rows)
    table = connection.ops.quote_name(model._meta.db_table)

    def write() -> None:
        now = timezone.now()
        for obj in objects:
            for name in stamped:
                setattr(obj, name, now)
        _send(table, fields, buffer.replace(_NOW, now.isoformat()) if stamped else buffer)

    return write


def update(model: type[models.Model], objects: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write the `names` fields of `objects` (matched on their primary key)."""
    if not objects:
        return
    fields = _fields(model, names)
    pk = model._meta.pk
    assert pk is not None
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor != "postgresql":
        sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE {connection.ops.quote_name(pk.column)} = %s", [
                [*(f.get_db_prep_save(getattr(o, f.attname), connection) for f in fields), o.pk] for o in objects])
        return
    temp = connection.ops.quote_name(f"tmp_{model._meta.db_table}")
    names_sql = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ON COMMIT DELETE ROWS AS "
                       f"SELECT {connection.ops.quote_name(pk.column)}, {names_sql} FROM {table} WITH NO DATA")
        cursor.execute(f"TRUNCATE {temp}")
    _copy(temp, [pk, *fields], [[o.pk, *(getattr(o, f.attname) for f in fields)] for o in objects])
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = v.{connection.ops.quote_name(f.column)}"
                     for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} AS t SET {sets} FROM {temp} AS v "
                       f"WHERE t.{connection.ops.quote_name(pk.column)} = v.{connection.ops.quote_name(pk.column)}")


def update_unchanged(model: type[models.Model], objects: Sequence[models.Model], names: Sequence[str],
                     version: str, seen: dict[Any, Any]) -> set[Any]:
    """Write the `names` fields of the `objects` whose `version` field still has the value in
    `seen` (by primary key); returns the primary keys written. One `executemany`: the usual
    case, nothing changed meanwhile, needs no second statement."""
    if not objects:
        return set()
    fields = _fields(model, names)
    stamp = _fields(model, [version])[0]
    pk = model._meta.pk
    assert pk is not None
    table = connection.ops.quote_name(model._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    where = f"{connection.ops.quote_name(pk.column)} = %s AND {connection.ops.quote_name(stamp.column)} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {where}", [
            [*(f.get_db_prep_save(getattr(o, f.attname), connection) for f in fields), o.pk,
             stamp.get_db_prep_save(seen[o.pk], connection)] for o in objects])
        if cursor.rowcount == len(objects):
            return {o.pk for o in objects}
    written = {o.pk: getattr(o, stamp.attname) for o in objects}
    current = dict(model._default_manager.filter(pk__in=list(written)).values_list("pk", version))
    return {key for key, value in written.items() if current.get(key) == value}
