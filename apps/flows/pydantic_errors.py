"""Turn pydantic's errors into `Problem`s that point at YAML lines and say what is expected.

Pydantic locates errors with tuples that include union-member tags (`('retry', 'constant',
'interval')`, `('message', 'str')`). We walk the tuple through the actual data and keep only
the parts that exist in it, so the path matches what the user wrote.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from apps.core.errors import Problem
from apps.flows.yamlsource import Marks, Path

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean (true or false)",
    "bool_parsing": "a boolean (true or false)",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _real_path(data: Any, loc: tuple[int | str, ...], keep_last_missing: bool) -> tuple[Path, bool]:
    """Follow `loc` through `data`; returns the real path and whether the end was reached."""
    path: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        in_map = isinstance(cur, Mapping) and isinstance(part, str) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_map or in_list:
            path.append(part)
            cur = cur[part]  # type: ignore[index]
        elif last and keep_last_missing and isinstance(part, str):
            path.append(part)
            return tuple(path), True
        # else: a union tag or model-name part of the loc that is not in the data: skip it
    return tuple(path), True


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _message(err: Mapping[str, Any], owner: str, model: type[BaseModel], field: str | None) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        known = sorted(f.alias or name for name, f in model.model_fields.items())
        near = difflib.get_close_matches(str(field), known, n=1, cutoff=0.6)
        fix = getattr(model, "property_hints", {}).get(str(field))
        hint = f": {fix}" if fix else f"; did you mean {near[0]!r}?" if near else ""
        return (
            f'unknown property "{field}" for {owner}{hint} '
            f"(Unrecognized field \"{field}\"; known properties: {', '.join(known)})"
        )
    if kind == "missing":
        return f'missing required property "{field}"'
    if kind == "string_too_short" and (err.get("ctx") or {}).get("min_length") == 1:
        return "must not be empty"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {_describe(err.get('input'))}"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    if msg.startswith("Assertion failed, "):
        return msg[len("Assertion failed, "):]
    if msg.startswith("Input should be "):
        return "expected " + msg[len("Input should be "):]
    if kind == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern", "")
        return f"invalid value {err.get('input')!r}: must match {pattern}"
    return msg


def model_problems(
    exc: ValidationError, data: Any, base: Path, marks: Marks, owner: str, model: type[BaseModel]
) -> list[Problem]:
    """One `Problem` per distinct path; union alternatives at one path are merged with 'or'."""
    grouped: dict[Path, list[str]] = {}
    at_key: dict[Path, bool] = {}
    unreadable: dict[Path, bool] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        rel, _ = _real_path(data, loc, keep_last_missing=kind in {"extra_forbidden", "missing"})
        field = str(loc[-1]) if loc else None
        sub_model = _model_at(model, data, rel) if kind == "extra_forbidden" else model
        message = _message(err, owner, sub_model, field)
        if kind == "missing":
            rel = rel[:-1]
            message = f'missing required property "{field}"'
        grouped.setdefault(rel, [])
        if message not in grouped[rel]:
            grouped[rel].append(message)
        at_key[rel] = kind == "extra_forbidden"
        # Unknown properties and malformed identities make the text unreadable as a flow.
        unreadable[rel] = unreadable.get(rel, False) or kind == "extra_forbidden" or (
            not base and rel in {("id",), ("namespace",)})
    out = []
    for rel, messages in grouped.items():
        path = base + rel
        out.append(marks.problem(path, "; or ".join(messages) if len(messages) > 1 else messages[0],
                                 at_key=at_key[rel], unreadable=unreadable[rel]))
    return out


def _model_at(model: type[BaseModel], data: Any, rel: Path) -> type[BaseModel]:
    """The (nested) model that owns the last element of `rel`, for 'known properties' hints."""
    current: type[BaseModel] = model
    for part in rel[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        if field is None:
            break
        nested = _first_model(field.annotation)
        if nested is None:
            break
        current = nested
    return current


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def validate_model(
    model: type[BaseModel], data: Any, base: Path, marks: Marks, owner: str, sink: list[Problem]
) -> BaseModel | None:
    """Validate `data` with `model`; on failure append problems to `sink` and return None."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        sink.extend(model_problems(exc, data, base, marks, owner, model))
        return None


def dynamic_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Names (as written in YAML) of the properties the expression engine renders."""
    cached: tuple[str, ...] | None = model.__dict__.get("__weir_dynamic__")
    if cached is None:
        names = []
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("$dynamic"):
                names.append(info.alias or name)
        cached = tuple(names)
        model.__weir_dynamic__ = cached  # type: ignore[attr-defined]
    return cached


def iter_strings(value: Any, path: Path) -> Iterable[tuple[Path, str]]:
    """Every string inside a (nested) value, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from iter_strings(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_strings(item, (*path, key))
