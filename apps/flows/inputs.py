"""Declarations of flow inputs (KESTRA.md §1.3): one model per input type.

These validate the *declaration* in a flow. Resolving provided values against them (typing,
validators, dependsOn) is the execution engine's job.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from apps.engine.expressions import userregex
from apps.plugins.sdk import Duration, Properties

INPUT_ID_PATTERN = r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$"


class DependsOn(Properties):
    inputs: list[str] | None = None
    condition: str | None = Field(None, json_schema_extra={"$dynamic": True})


class InputBase(Properties):
    """Properties common to every input type."""

    id: str | None = Field(None, pattern=INPUT_ID_PATTERN, max_length=100)
    name: str | None = Field(None, pattern=INPUT_ID_PATTERN, description="Deprecated alias of `id`.")
    type: str
    description: str | None = None
    displayName: str | None = Field(None, max_length=64)
    required: bool = True
    defaults: Any = None
    dependsOn: DependsOn | None = None

    @model_validator(mode="after")
    def _needs_id(self) -> InputBase:
        if not self.id and not self.name:
            raise ValueError("an input needs an `id`")
        return self

    @property
    def input_id(self) -> str:
        return self.id or self.name or ""


def _regex(value: str | None) -> str | None:
    """A `validator` must compile with the engine that will run it (apps/engine/expressions/userregex)."""
    if value is not None:
        problem = userregex.check_pattern(value)
        if problem is not None:
            raise ValueError(f"invalid pattern [{value}]: {problem}")
    return value


class StringInput(InputBase):
    type: Literal["STRING"]
    validator: str | None = None
    _check = field_validator("validator")(_regex)


class SecretInput(InputBase):
    type: Literal["SECRET"]
    validator: str | None = None
    _check = field_validator("validator")(_regex)


class EnumInput(InputBase):
    type: Literal["ENUM"]
    values: list[str]


class SelectInput(InputBase):
    type: Literal["SELECT"]
    values: list[str] | None = None
    expression: str | None = Field(None, json_schema_extra={"$dynamic": True})
    allowCustomValue: bool = False
    isRadio: bool = False

    @model_validator(mode="after")
    def _source(self) -> SelectInput:
        if self.values is None and self.expression is None:
            raise ValueError("a SELECT input needs `values` or `expression`")
        return self


class MultiselectInput(InputBase):
    type: Literal["MULTISELECT"]
    values: list[str] | None = None
    options: list[str] | None = Field(None, description="Deprecated: use `values`.")
    expression: str | None = Field(None, json_schema_extra={"$dynamic": True})
    itemType: str = "STRING"
    allowCustomValue: bool = False

    @model_validator(mode="after")
    def _source(self) -> MultiselectInput:
        if self.values is not None and self.options is not None:
            raise ValueError("set `values` or the deprecated `options`, not both")
        return self


class IntInput(InputBase):
    type: Literal["INT"]
    min: int | None = None
    max: int | None = None


class FloatInput(InputBase):
    type: Literal["FLOAT"]
    min: float | None = None
    max: float | None = None


class BooleanInput(InputBase):
    type: Literal["BOOLEAN", "BOOL"]


class _TemporalInput(InputBase):
    """DATETIME, DATE and TIME: `defaults` is a typed literal, never rendered (KESTRA.md §12), so
    an expression there (`{{ now() }}`) could never parse when a run starts: refuse it at save."""

    @model_validator(mode="after")
    def _literal_default(self) -> _TemporalInput:
        if isinstance(self.defaults, str) and "{{" in self.defaults:
            raise ValueError(
                f"`defaults` of a {self.type} input is a literal value and is not rendered, so "
                f"{self.defaults!r} can never be a {self.type}: write a value such as "
                f"{_TEMPORAL_EXAMPLES.get(self.type, '')!r}, or drop `defaults` and compute it in a task "
                "(e.g. `{{ inputs.at ?? now() }}` with `required: false`)")
        return self


_TEMPORAL_EXAMPLES = {"DATETIME": "2024-01-31T09:30:00Z", "DATE": "2024-01-31", "TIME": "09:30:00"}


class DateTimeInput(_TemporalInput):
    type: Literal["DATETIME"]
    after: str | None = None
    before: str | None = None


class DateInput(_TemporalInput):
    type: Literal["DATE"]
    after: str | None = None
    before: str | None = None


class TimeInput(_TemporalInput):
    type: Literal["TIME"]
    after: str | None = None
    before: str | None = None


class DurationInput(InputBase):
    type: Literal["DURATION"]
    min: Duration | None = None
    max: Duration | None = None


class FileInput(InputBase):
    type: Literal["FILE"]
    extension: str | None = None

    @model_validator(mode="after")
    def _no_defaults(self) -> FileInput:
        if self.defaults is not None:
            raise ValueError("no `defaults` can be set for inputs of type 'FILE'")
        return self


class JsonInput(InputBase):
    type: Literal["JSON"]


class YamlInput(InputBase):
    type: Literal["YAML"]


class UriInput(InputBase):
    type: Literal["URI"]


class EmailInput(InputBase):
    type: Literal["EMAIL"]


class ArrayInput(InputBase):
    type: Literal["ARRAY"]
    itemType: str

    @field_validator("itemType")
    @classmethod
    def _item(cls, value: str) -> str:
        if value == "ARRAY":
            raise ValueError("`itemType` cannot be `ARRAY`")
        if value not in INPUT_TYPES:
            raise ValueError(f"unknown itemType {value!r}; expected one of {', '.join(sorted(INPUT_TYPES))}")
        return value


INPUT_MODELS: dict[str, type[InputBase]] = {
    "STRING": StringInput, "SECRET": SecretInput, "ENUM": EnumInput, "SELECT": SelectInput,
    "MULTISELECT": MultiselectInput, "INT": IntInput, "FLOAT": FloatInput, "BOOLEAN": BooleanInput,
    "BOOL": BooleanInput, "DATETIME": DateTimeInput, "DATE": DateInput, "TIME": TimeInput,
    "DURATION": DurationInput, "FILE": FileInput, "JSON": JsonInput, "YAML": YamlInput, "URI": UriInput,
    "EMAIL": EmailInput, "ARRAY": ArrayInput,
}
INPUT_TYPES = frozenset(INPUT_MODELS)
