"""The strict YAML loader for flow sources.

PyYAML's `safe_load` silently keeps the last of duplicate keys, expands alias bombs and has no
depth limit. Flows are untrusted text, so this loader composes the node graph with libyaml (fast,
keeps marks), then builds plain Python values itself, enforcing:

- a byte limit checked before parsing (callers map it to HTTP 413);
- duplicate keys are errors;
- aliases are bounded (a billion-laughs document fails fast) and so is the total node count;
- nesting depth is at most 64;
- only the YAML core tags (str, int, float, bool, null, seq, map; timestamps stay strings);
  `!!python/...` and any custom tag is an error, never a constructor call.

Alongside the data it returns a `Marks` index: the 1-based line/column of every key and value,
keyed by path tuple, so later validation can point at `tasks[2].retry.interval`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from apps.core.errors import Problem, SourceInvalid, SourceTooLarge

try:  # libyaml is bundled with PyYAML wheels; the pure loader is the fallback.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_DEPTH = 64
MAX_ALIASES = 32
MAX_NODES = 200_000
DEFAULT_MAX_BYTES = 1024 * 1024

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP}

_scalar_constructor = yaml.constructor.SafeConstructor()


def format_path(path: Path) -> str:
    """`("tasks", 2, "retry")` → `tasks[2].retry`."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif out:
            out.append(f".{part}")
        else:
            out.append(str(part))
    return "".join(out)


@dataclass
class Marks:
    """1-based (line, column) of every key and value of a document, by path."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def value(self, path: Path) -> tuple[int, int] | None:
        """Position of the value at `path`, or of its closest existing ancestor."""
        while True:
            if path in self.values:
                return self.values[path]
            if not path:
                return None
            path = path[:-1]

    def key(self, path: Path) -> tuple[int, int] | None:
        """Position of the key that introduces `path` (falls back to the value position)."""
        return self.keys.get(path) or self.value(path)

    def problem(self, path: Path, message: str, *, at_key: bool = False, unreadable: bool = False) -> Problem:
        pos = self.key(path) if at_key else self.value(path)
        line, col = pos if pos else (None, None)
        return Problem(path=format_path(path), message=message, line=line, column=col, unreadable=unreadable)


@dataclass
class Document:
    """One parsed YAML document: plain data plus the marks index."""

    data: Any
    marks: Marks
    index: int = 0
    source: str = ""


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns a composed node graph into Python values while enforcing the limits."""

    def __init__(self, line_offset: int = 0) -> None:
        self.marks = Marks()
        self.aliases = 0
        self.nodes = 0
        self.seen: set[int] = set()
        self.line_offset = line_offset

    def fail(self, node: Node, path: Path, message: str) -> SourceInvalid:
        line, col = _pos(node)
        return SourceInvalid(
            [Problem(path=format_path(path), message=message, line=line + self.line_offset, column=col,
                     unreadable=True)],
            phase="parse",
        )

    def build(self, node: Node, path: Path, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"max depth {MAX_DEPTH} exceeded")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, path, f"document too large: more than {MAX_NODES} nodes")
        key = id(node)
        if key in self.seen:
            # A node reached twice is an alias (`*name`): count it, and refuse bombs.
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise self.fail(node, path, f"too many aliases (at most {MAX_ALIASES} are allowed)")
        else:
            self.seen.add(key)
        line, col = _pos(node)
        self.marks.values[path] = (line + self.line_offset, col)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise self.fail(node, path, f"unknown tag {node.tag!r}: only plain YAML values are allowed")
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return node.value
        if tag not in _SCALAR_TAGS:
            raise self.fail(node, path, f"unknown tag {tag!r}: only plain YAML values are allowed")
        if tag == _INT:
            return _scalar_constructor.construct_yaml_int(node)
        if tag == _FLOAT:
            return _scalar_constructor.construct_yaml_float(node)
        if tag == _BOOL:
            return _scalar_constructor.construct_yaml_bool(node)
        return None

    def mapping(self, node: MappingNode, path: Path, depth: int) -> dict[str, Any]:
        if node.tag != _MAP:
            raise self.fail(node, path, f"unknown tag {node.tag!r}: only plain YAML values are allowed")
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self.merge_source(value_node, path, depth))
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                raise self.fail(key_node, path, "mapping keys must be plain scalars")
            raw_key = self.scalar(key_node, path)
            key = "null" if raw_key is None else str(raw_key).lower() if isinstance(raw_key, bool) else str(raw_key)
            child: Path = (*path, key)
            if key in result:
                raise self.fail(
                    key_node, child,
                    f"duplicate key {key!r} (Duplicate field '{key}'): each key may appear once in a mapping",
                )
            line, col = _pos(key_node)
            self.marks.keys[child] = (line + self.line_offset, col)
            result[key] = self.build(value_node, child, depth + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def merge_source(self, node: Node, path: Path, depth: int) -> dict[str, Any]:
        value = self.build(node, path, depth + 1)
        items = value if isinstance(value, list) else [value]
        out: dict[str, Any] = {}
        for item in reversed(items):
            if not isinstance(item, dict):
                raise self.fail(node, path, "a merge key (<<) needs a mapping or a list of mappings")
            out.update(item)
        return out


def check_size(source: str | bytes, limit: int = DEFAULT_MAX_BYTES) -> None:
    """Raise `SourceTooLarge` before any parsing when the source is over `limit` bytes."""
    size = len(source.encode("utf-8") if isinstance(source, str) else source)
    if size > limit:
        raise SourceTooLarge(size, limit)


def _yaml_error(exc: yaml.YAMLError, line_offset: int = 0) -> SourceInvalid:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if "nesting depth" in str(problem):
        message = f"max depth {MAX_DEPTH} exceeded"
    else:
        message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    line = mark.line + 1 + line_offset if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return SourceInvalid([Problem(path="", message=message, line=line, column=col, unreadable=True)],
                         phase="parse")


def load(source: str, *, limit: int = DEFAULT_MAX_BYTES) -> Document:
    """Parse one YAML document strictly. Raises `SourceTooLarge` or `SourceInvalid`."""
    check_size(source, limit)
    try:
        node = yaml.compose(source, Loader=_BaseLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from exc
    except RecursionError as exc:  # pragma: no cover - libyaml is iterative
        raise SourceInvalid([Problem("", f"max depth {MAX_DEPTH} exceeded", unreadable=True)], phase="parse") from exc
    builder = _Builder()
    data = None if node is None else builder.build(node, (), 0)
    return Document(data=data, marks=builder.marks, source=source)


def split_documents(source: str) -> Iterator[tuple[int, str]]:
    """Split a multi-document stream on `---` lines; yields (first line offset, text)."""
    lines = source.splitlines(keepends=True)
    start = 0
    chunk: list[str] = []
    for i, line in enumerate(lines):
        if line.rstrip() == "---" or line.startswith("--- "):
            if any(s.strip() and not s.lstrip().startswith("#") for s in chunk):
                yield start, "".join(chunk)
            chunk = []
            start = i + 1
            if line.startswith("--- ") and line[4:].strip():
                chunk.append(line[4:])
            continue
        chunk.append(line)
    if any(s.strip() and not s.lstrip().startswith("#") for s in chunk):
        yield start, "".join(chunk)


def load_all(source: str, *, limit: int = DEFAULT_MAX_BYTES) -> list[Document | SourceInvalid]:
    """Parse a `---`-separated stream; each entry is a Document or the parse error of that part."""
    check_size(source, limit)
    out: list[Document | SourceInvalid] = []
    for index, (offset, text) in enumerate(split_documents(source)):
        try:
            doc = load(text, limit=limit)
            doc.index = index
        except SourceInvalid as exc:
            for i, p in enumerate(exc.problems):
                if p.line is not None:
                    exc.problems[i] = Problem(p.path, p.message, p.line + offset, p.column, unreadable=True)
            out.append(exc)
            continue
        _shift(doc.marks, offset)
        out.append(doc)
    return out


def _shift(marks: Marks, offset: int) -> None:
    if offset:
        marks.values = {k: (line + offset, c) for k, (line, c) in marks.values.items()}
        marks.keys = {k: (line + offset, c) for k, (line, c) in marks.keys.items()}
