"""SQL expressions the ORM lacks, for single-statement updates on the hot path."""

from __future__ import annotations

import json
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, JSONField
from django.db.models.sql.compiler import SQLCompiler


class JSONAppend(Func):
    """`column` with one more element at the end of its JSON array, computed by the database.

    Lets a claim append its RUNNING entry to `history` and `attempts` in the same conditional
    UPDATE that takes the row, instead of reading the row and writing it back.
    """

    output_field = JSONField()

    def __init__(self, column: str, item: Any) -> None:
        super().__init__(F(column))
        self.item = item

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, function: str | None = None,
               template: str | None = None, arg_joiner: str | None = None, **extra_context: Any
               ) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"json_insert({column}, '$[#]', json(%s))", [*params, json.dumps(self.item)]

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
                      ) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"({column} || %s::jsonb)", [*params, json.dumps([self.item])]
