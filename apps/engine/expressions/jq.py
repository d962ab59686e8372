"""A practical subset of jq in pure Python, for Kestra's ``jq`` filter (which always returns a list).

Supported: ``.``, ``..``, ``.a``, ``."a"``, ``.a.b``, ``.[0]``, ``.[-1]``, ``.[]``, ``.a[]``, ``.[1:3]``,
``?``, ``|``, ``,``, ``//``, ``and``/``or``/``not``, comparisons, ``+ - * / %``, literals,
``[…]`` and ``{…}`` construction, ``if … then … elif … else … end``, and the builtins ``length``,
``keys``, ``keys_unsorted``, ``values``, ``has(k)``, ``contains(x)``, ``map(f)``, ``map_values(f)``,
``select(f)``, ``empty``, ``error(m)``, ``type``, ``not``, ``add``, ``any``, ``all``, ``first``,
``last``, ``first(f)``, ``last(f)``, ``limit(n; f)``, ``range(n)``, ``range(a; b)``, ``reverse``,
``sort``, ``sort_by(f)``, ``group_by(f)``, ``unique``, ``unique_by(f)``, ``min``, ``max``,
``min_by(f)``, ``max_by(f)``, ``flatten``, ``flatten(d)``, ``to_entries``, ``from_entries``,
``with_entries(f)``, ``tostring``, ``tonumber``, ``tojson``, ``fromjson``, ``ascii_downcase``,
``ascii_upcase``, ``startswith(s)``, ``endswith(s)``, ``ltrimstr(s)``, ``rtrimstr(s)``,
``split(s)``, ``join(s)``, the regex builtins ``test``, ``match``, ``capture`` (with optional
flags ``g i x s n``), ``sub(re; s)`` and ``gsub(re; s)`` (the replacement is evaluated with the
named captures as input; users' patterns go through ``userregex``, under the render's time limit),
``floor``, ``sqrt``, ``recurse``, ``paths``-free type
selectors (``arrays``, ``objects``, ``strings``, ``numbers``, ``booleans``, ``nulls``,
``iterables``, ``scalars``). Variables, ``reduce``, ``foreach``, ``def``, assignment operators,
string interpolation and ``@format`` strings are not supported and fail with a clear error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cmp_to_key, lru_cache
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

from . import userregex
from .limits import MAX_RANGE, MAX_REPEAT, check_deadline, check_length


class JqError(TemplateRuntimeError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\?//|//|\.\.|==|!=|<=|>=|[.\[\](){}|,:;?<>+\-*/%$@=])
)""",
    re.X,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    value: str
    pos: int


def _tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(source) and source[pos].isspace():
            pos += 1
        if pos >= len(source):
            return tokens
        if source[pos] == "#":
            end = source.find("\n", pos)
            pos = len(source) if end < 0 else end
            continue
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise JqError(f"jq: unexpected character {source[pos]!r} at {pos}")
        kind = match.lastgroup or "op"
        tokens.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()


Node = tuple[Any, ...]

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0

    def peek(self, value: str | None = None) -> _Tok | None:
        token = self.tokens[self.index] if self.index < len(self.tokens) else None
        if value is not None and (token is None or token.value != value or token.kind == "string"):
            return None
        return token

    def take(self, value: str) -> bool:
        if self.peek(value) is not None:
            self.index += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.take(value):
            token = self.peek()
            found = f"'{token.value}'" if token else "end of expression"
            raise JqError(f"jq: expected '{value}', found {found} in '{self.source}'")

    def parse(self) -> Node:
        if not self.tokens:
            return ("identity",)
        node = self.pipe()
        if self.peek() is not None:
            raise JqError(f"jq: unexpected '{self.tokens[self.index].value}' in '{self.source}'")
        return node

    def pipe(self) -> Node:
        left = self.comma()
        token = self.peek()
        if token is not None and token.kind == "name" and token.value == "as":
            raise JqError("jq: variables ('as $x') are not supported")
        if self.take("|"):
            return ("pipe", left, self.pipe())
        return left

    def comma(self) -> Node:
        node = self.alternative()
        while self.take(","):
            node = ("comma", node, self.alternative())
        return node

    def alternative(self) -> Node:
        node = self.logic_or()
        if self.take("//"):
            return ("alt", node, self.alternative())
        if self.peek("=") is not None:
            raise JqError("jq: assignment operators are not supported")
        return node

    def logic_or(self) -> Node:
        node = self.logic_and()
        while self._keyword("or"):
            node = ("or", node, self.logic_and())
        return node

    def logic_and(self) -> Node:
        node = self.comparison()
        while self._keyword("and"):
            node = ("and", node, self.comparison())
        return node

    def _keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "name" and token.value == word:
            self.index += 1
            return True
        return False

    def comparison(self) -> Node:
        node = self.additive()
        token = self.peek()
        if token is not None and token.kind == "op" and token.value in _COMPARISONS:
            self.index += 1
            return ("binop", token.value, node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while (token := self.peek()) is not None and token.kind == "op" and token.value in "+-":
            self.index += 1
            node = ("binop", token.value, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token.kind == "op" and token.value in "*/%":
            self.index += 1
            node = ("binop", token.value, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.take("-"):
            return ("neg", self.postfix())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.term()
        while True:
            token = self.peek()
            if token is None:
                return node
            if token.kind == "field":
                self.index += 1
                node = ("index", node, ("literal", token.value[1:]))
            elif token.value == "." and token.kind == "op":
                following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
                if following is not None and following.kind == "string":
                    self.index += 2
                    node = ("index", node, ("literal", json.loads(following.value)))
                elif following is not None and following.value == "[":
                    self.index += 1
                else:
                    return node
            elif token.value == "[" and token.kind == "op":
                node = self.bracket(node)
            elif token.value == "?" and token.kind == "op":
                self.index += 1
                node = ("try", node)
            else:
                return node

    def bracket(self, subject: Node) -> Node:
        self.expect("[")
        if self.take("]"):
            return ("iterate", subject)
        start: Node | None = None
        if not self.peek(":"):
            start = self.pipe()
        if self.take(":"):
            end = None if self.peek("]") else self.pipe()
            self.expect("]")
            return ("slice", subject, start, end)
        self.expect("]")
        return ("index", subject, start)

    def term(self) -> Node:
        token = self.peek()
        if token is None:
            raise JqError(f"jq: unexpected end of expression in '{self.source}'")
        self.index += 1
        kind, value = token.kind, token.value
        if kind == "number":
            number = float(value)
            integral = number.is_integer() and "." not in value and "e" not in value.lower()
            return ("literal", int(number) if integral else number)
        if kind == "string":
            if "\\(" in value:
                raise JqError("jq: string interpolation is not supported")
            return ("literal", json.loads(value))
        if kind == "field":
            return ("index", ("identity",), ("literal", value[1:]))
        if value == "..":
            return ("recurse",)
        if value == ".":
            following = self.peek()
            if following is not None and following.kind == "string":
                self.index += 1
                return ("index", ("identity",), ("literal", json.loads(following.value)))
            return ("identity",)
        if value == "(":
            node = self.pipe()
            self.expect(")")
            return node
        if value == "[":
            if self.take("]"):
                return ("array", None)
            node = self.pipe()
            self.expect("]")
            return ("array", node)
        if value == "{":
            return self.object()
        if kind == "name":
            return self.name(value)
        if value in ("$", "@"):
            raise JqError(f"jq: '{value}' expressions (variables, formats) are not supported")
        raise JqError(f"jq: unexpected '{value}' in '{self.source}'")

    def name(self, value: str) -> Node:
        if value in ("null", "true", "false"):
            return ("literal", None if value == "null" else value == "true")
        if value == "if":
            return self.conditional()
        if value in ("reduce", "foreach", "def", "try", "label", "import", "include"):
            raise JqError(f"jq: '{value}' is not supported")
        arguments: list[Node] = []
        if self.take("("):
            arguments.append(self.pipe())
            while self.take(";"):
                arguments.append(self.pipe())
            self.expect(")")
        key = f"{value}/{len(arguments)}"
        if key not in _BUILTINS:
            raise JqError(f"jq: {key} is not defined")
        return ("call", key, tuple(arguments))

    def conditional(self) -> Node:
        condition = self.pipe()
        if not self._keyword("then"):
            raise JqError("jq: expected 'then'")
        branch = self.pipe()
        if self._keyword("elif"):
            return ("if", condition, branch, self.conditional())
        otherwise: Node = ("identity",)
        if self._keyword("else"):
            otherwise = self.pipe()
        if not self._keyword("end"):
            raise JqError("jq: expected 'end'")
        return ("if", condition, branch, otherwise)

    def object(self) -> Node:
        entries: list[tuple[Node, Node]] = []
        while not self.take("}"):
            if entries:
                self.expect(",")
            token = self.peek()
            if token is None:
                raise JqError("jq: unclosed object")
            self.index += 1
            if token.kind == "name":
                key: Node = ("literal", token.value)
            elif token.kind == "string":
                key = ("literal", json.loads(token.value))
            elif token.value == "(":
                key = self.pipe()
                self.expect(")")
            else:
                raise JqError(f"jq: unexpected '{token.value}' in an object key")
            value = self.alternative() if self.take(":") else ("index", ("identity",), key)
            entries.append((key, value))
        return ("object", tuple(entries))


@lru_cache(maxsize=256)
def compile_jq(source: str) -> Node:
    return _Parser(source).parse()


# -- evaluation ---------------------------------------------------------------------------------


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_ORDER = {"null": 0, "boolean": 1, "number": 2, "string": 3, "array": 4, "object": 5}


def _compare(left: Any, right: Any) -> int:
    left_type, right_type = _type(left), _type(right)
    if left_type != right_type:
        return _ORDER[left_type] - _ORDER[right_type]
    if left_type == "array":
        for a, b in zip(left, right, strict=False):
            result = _compare(a, b)
            if result:
                return result
        return len(left) - len(right)
    if left_type == "object":
        keys = _compare(sorted(left), sorted(right))
        if keys:
            return keys
        for key in sorted(left):
            result = _compare(left[key], right[key])
            if result:
                return result
        return 0
    if left_type == "null":
        return 0
    return int(left > right) - int(left < right)


_SORT_KEY = cmp_to_key(_compare)


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


def _number(value: float) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def _binop(operator: str, left: Any, right: Any) -> Any:
    if operator in _COMPARISONS:
        result = _compare(left, right)
        return {"==": result == 0, "!=": result != 0, "<": result < 0, "<=": result <= 0,
                ">": result > 0, ">=": result >= 0}[operator]  # fmt: skip
    left_type, right_type = _type(left), _type(right)
    if operator == "+":
        if left is None:
            return right
        if right is None:
            return left
        if left_type == right_type == "number":
            return left + right
        if left_type == right_type and left_type in ("string", "array"):
            check_length(len(left) + len(right))
            return left + right
        if left_type == right_type == "object":
            return {**left, **right}
    elif operator == "-":
        if left_type == right_type == "number":
            return left - right
        if left_type == right_type == "array":
            return [item for item in left if all(_compare(item, other) for other in right)]
    elif operator == "*":
        if left_type == right_type == "number":
            return left * right
        if left_type == right_type == "object":
            return _deep_merge(left, right)
        if {left_type, right_type} == {"string", "number"}:
            text, times = (left, right) if left_type == "string" else (right, left)
            if times <= 0:
                return None
            check_length(len(text) * math.ceil(times))
            return text * math.ceil(times)
    elif operator == "/":
        if left_type == right_type == "number":
            if right == 0:
                raise JqError(f"jq: {left} and {right} cannot be divided because the divisor is zero")
            return _number(left / right)
        if left_type == right_type == "string":
            return left.split(right) if left else []
    elif operator == "%" and left_type == right_type == "number":
        if int(right) == 0:
            raise JqError(f"jq: {left} and {right} cannot be divided because the divisor is zero")
        return int(math.fmod(int(left), int(right)))
    raise JqError(
        f"jq: {left_type} ({_short(left)}) and {right_type} ({_short(right)}) "
        f"cannot be combined with {operator}"
    )


def _deep_merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    result = dict(left)
    for key, value in right.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 30 else text[:27] + "..."


def _index(subject: Any, key: Any) -> Any:
    if subject is None:
        return None
    if isinstance(key, str):
        if isinstance(subject, dict):
            return subject.get(key)
        raise JqError(f'jq: Cannot index {_type(subject)} with "{key}"')
    if isinstance(key, int | float) and not isinstance(key, bool):
        if isinstance(subject, list):
            position = math.floor(key)
            if position < 0:
                position += len(subject)
            return subject[position] if 0 <= position < len(subject) else None
        raise JqError(f"jq: Cannot index {_type(subject)} with number")
    raise JqError(f"jq: Cannot index {_type(subject)} with {_type(key)}")


def _slice(subject: Any, start: Any, end: Any) -> Any:
    if subject is None:
        return None
    if not isinstance(subject, list | str):
        raise JqError(f"jq: Cannot index {_type(subject)} with object")
    first = None if start is None else math.floor(start)
    last = None if end is None else math.ceil(end)
    return subject[first:last]


def _iterate(subject: Any) -> Iterator[Any]:
    if isinstance(subject, list):
        yield from subject
    elif isinstance(subject, dict):
        yield from subject.values()
    else:
        raise JqError(f"jq: Cannot iterate over {_type(subject)}{_describe(subject)}")


def _describe(value: Any) -> str:
    return "" if value is None else f" ({_short(value)})"


def _recurse(value: Any) -> Iterator[Any]:
    check_deadline()
    yield value
    if isinstance(value, list | dict):
        for item in value if isinstance(value, list) else value.values():
            yield from _recurse(item)


def evaluate(node: Node, value: Any) -> Iterator[Any]:
    check_deadline()
    kind = node[0]
    if kind == "identity":
        yield value
    elif kind == "literal":
        yield node[1]
    elif kind == "recurse":
        yield from _recurse(value)
    elif kind == "pipe":
        for item in evaluate(node[1], value):
            yield from evaluate(node[2], item)
    elif kind == "comma":
        yield from evaluate(node[1], value)
        yield from evaluate(node[2], value)
    elif kind == "index":
        for subject in evaluate(node[1], value):
            for key in evaluate(node[2], value):
                yield _index(subject, key)
    elif kind == "slice":
        for subject in evaluate(node[1], value):
            starts = [None] if node[2] is None else list(evaluate(node[2], value))
            ends = [None] if node[3] is None else list(evaluate(node[3], value))
            for start in starts:
                for end in ends:
                    yield _slice(subject, start, end)
    elif kind == "iterate":
        for subject in evaluate(node[1], value):
            yield from _iterate(subject)
    elif kind == "try":
        try:
            results = list(evaluate(node[1], value))
        except JqError:
            return
        yield from results
    elif kind == "alt":
        found = False
        try:
            for item in evaluate(node[1], value):
                if _truthy(item):
                    found = True
                    yield item
        except JqError:
            pass
        if not found:
            yield from evaluate(node[2], value)
    elif kind in ("and", "or"):
        for left in evaluate(node[1], value):
            if kind == "and" and not _truthy(left):
                yield False
            elif kind == "or" and _truthy(left):
                yield True
            else:
                for right in evaluate(node[2], value):
                    yield _truthy(right)
    elif kind == "binop":
        for right in evaluate(node[3], value):
            for left in evaluate(node[2], value):
                yield _binop(node[1], left, right)
    elif kind == "neg":
        for item in evaluate(node[1], value):
            if _type(item) != "number":
                raise JqError(f"jq: {_type(item)} cannot be negated")
            yield -item
    elif kind == "array":
        yield [] if node[1] is None else _collect(node[1], value)
    elif kind == "object":
        yield from _object(node[1], value, {})
    elif kind == "if":
        for condition in evaluate(node[1], value):
            yield from evaluate(node[2] if _truthy(condition) else node[3], value)
    elif kind == "call":
        yield from _BUILTINS[node[1]](value, *node[2])
    else:  # pragma: no cover - the parser only builds the kinds above
        raise JqError(f"jq: unknown node {kind}")


def _collect(node: Node, value: Any) -> list[Any]:
    items: list[Any] = []
    for item in evaluate(node, value):
        items.append(item)
        if len(items) > MAX_REPEAT:
            raise JqError(f"jq: more than {MAX_REPEAT} results")
    return items


def _object(
    entries: tuple[tuple[Node, Node], ...], value: Any, built: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    if not entries:
        yield dict(built)
        return
    (key_node, value_node), rest = entries[0], entries[1:]
    for key in evaluate(key_node, value):
        if not isinstance(key, str):
            raise JqError(f"jq: Object keys must be strings, got {_type(key)}")
        for item in evaluate(value_node, value):
            yield from _object(rest, value, {**built, key: item})


def _one(node: Node, value: Any) -> Any:
    for item in evaluate(node, value):
        return item
    raise JqError("jq: an argument produced no value")


# -- builtins -----------------------------------------------------------------------------------

Builtin = Callable[..., Iterator[Any]]
_BUILTINS: dict[str, Builtin] = {}


def _builtin(name: str, arity: int = 0) -> Callable[[Builtin], Builtin]:
    def register(function: Builtin) -> Builtin:
        _BUILTINS[f"{name}/{arity}"] = function
        return function

    return register


def _simple(name: str, function: Callable[[Any], Any]) -> None:
    def builtin(value: Any) -> Iterator[Any]:
        yield function(value)

    _BUILTINS[f"{name}/0"] = builtin


def _length(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise JqError("jq: boolean has no length")
    if isinstance(value, int | float):
        return abs(value)
    return len(value)


def _keys(value: Any, ordered: bool = True) -> list[Any]:
    if isinstance(value, dict):
        return sorted(value) if ordered else list(value)
    if isinstance(value, list):
        return list(range(len(value)))
    raise JqError(f"jq: {_type(value)} has no keys")


def _require(value: Any, kind: str, name: str) -> Any:
    if _type(value) != kind:
        raise JqError(f"jq: {name} cannot be applied to {_type(value)}")
    return value


def _add(value: Any) -> Any:
    result: Any = None
    for item in _iterate(value):
        result = _binop("+", result, item)
    return result


def _tostring(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _tonumber(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return _number(float(value)) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            pass
    raise JqError(f"jq: {_type(value)} ({_short(value)}) cannot be parsed as a number")


def _flatten(value: Any, depth: float = math.inf) -> list[Any]:
    if depth < 0:
        raise JqError("jq: flatten depth must not be negative")
    result: list[Any] = []
    for item in _require(value, "array", "flatten"):
        if isinstance(item, list) and depth > 0:
            result.extend(_flatten(item, depth - 1))
        else:
            result.append(item)
    return result


def _unique(items: list[Any]) -> list[Any]:
    result: list[Any] = []
    for item in sorted(items, key=_SORT_KEY):
        if not result or _compare(result[-1], item):
            result.append(item)
    return result


def _from_entries(value: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in _require(value, "array", "from_entries"):
        if not isinstance(entry, dict):
            raise JqError("jq: from_entries expects objects")
        key = next(
            (entry[k] for k in ("key", "k", "name", "Name", "Key", "K") if entry.get(k) is not None), None
        )
        if isinstance(key, bool | int | float):
            key = json.dumps(key)
        if not isinstance(key, str):
            raise JqError("jq: from_entries expects string keys")
        result[key] = next((entry[k] for k in ("value", "v", "Value", "V") if k in entry), None)
    return result


def _contains(container: Any, item: Any) -> bool:
    if _type(container) != _type(item):
        raise JqError(f"jq: {_type(container)} and {_type(item)} cannot have their containment checked")
    if isinstance(container, dict):
        return all(key in container and _contains(container[key], sub) for key, sub in item.items())
    if isinstance(container, list):
        return all(any(_type(c) == _type(sub) and _contains(c, sub) for c in container) for sub in item)
    if isinstance(container, str):
        return item in container
    return bool(container == item)


_SIMPLE: dict[str, Callable[[Any], Any]] = {
    "length": _length,
    "keys": _keys,
    "keys_unsorted": lambda value: _keys(value, ordered=False),
    "type": _type,
    "not": lambda value: not _truthy(value),
    "add": _add,
    "tostring": _tostring,
    "tonumber": _tonumber,
    "tojson": lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False),
    "reverse": lambda value: [] if value is None else value[::-1],
    "sort": lambda value: sorted(_require(value, "array", "sort"), key=_SORT_KEY),
    "unique": lambda value: _unique(_require(value, "array", "unique")),
    "min": lambda value: min(_require(value, "array", "min"), key=_SORT_KEY, default=None),
    "max": lambda value: max(_require(value, "array", "max"), key=_SORT_KEY, default=None),
    "flatten": _flatten,
    "to_entries": lambda value: [
        {"key": k, "value": v} for k, v in _require(value, "object", "to_entries").items()
    ],
    "from_entries": _from_entries,
    "ascii_downcase": lambda value: _require(value, "string", "ascii_downcase").lower(),
    "ascii_upcase": lambda value: _require(value, "string", "ascii_upcase").upper(),
    "floor": lambda value: math.floor(_require(value, "number", "floor")),
    "sqrt": lambda value: _number(math.sqrt(_require(value, "number", "sqrt"))),
    "any": lambda value: any(_truthy(item) for item in _iterate(value)),
    "all": lambda value: all(_truthy(item) for item in _iterate(value)),
    "first": lambda value: _index(value, 0),
    "last": lambda value: _index(value, -1),
}
for _name, _function in _SIMPLE.items():
    _simple(_name, _function)


@_builtin("fromjson")
def _fromjson(value: Any) -> Iterator[Any]:
    try:
        yield json.loads(_require(value, "string", "fromjson"))
    except ValueError as error:
        raise JqError(f"jq: {error}") from None


@_builtin("values")
def _values(value: Any) -> Iterator[Any]:
    if value is not None:
        yield value


@_builtin("empty")
def _empty(value: Any) -> Iterator[Any]:
    return iter(())


@_builtin("recurse")
def _recurse_builtin(value: Any) -> Iterator[Any]:
    return _recurse(value)


for _selector, _test in {
    "arrays": lambda value: isinstance(value, list),
    "objects": lambda value: isinstance(value, dict),
    "iterables": lambda value: isinstance(value, list | dict),
    "scalars": lambda value: not isinstance(value, list | dict),
    "strings": lambda value: isinstance(value, str),
    "numbers": lambda value: _type(value) == "number",
    "booleans": lambda value: isinstance(value, bool),
    "nulls": lambda value: value is None,
}.items():

    def _select_type(value: Any, test: Callable[[Any], bool] = _test) -> Iterator[Any]:
        if test(value):
            yield value

    _BUILTINS[f"{_selector}/0"] = _select_type


@_builtin("error", 1)
def _error(value: Any, message: Node) -> Iterator[Any]:
    raise JqError(f"jq: error: {_tostring(_one(message, value))}")


@_builtin("select", 1)
def _select(value: Any, condition: Node) -> Iterator[Any]:
    for result in evaluate(condition, value):
        if _truthy(result):
            yield value


@_builtin("map", 1)
def _map(value: Any, function: Node) -> Iterator[Any]:
    yield [result for item in _iterate(value) for result in evaluate(function, item)]


@_builtin("map_values", 1)
def _map_values(value: Any, function: Node) -> Iterator[Any]:
    if isinstance(value, dict):
        mapped: dict[str, Any] = {}
        for key, item in value.items():
            for result in evaluate(function, item):
                mapped[key] = result
                break
        yield mapped
    else:
        yield [
            next(iter(evaluate(function, item))) for item in _iterate(value) if list(evaluate(function, item))
        ]


@_builtin("with_entries", 1)
def _with_entries(value: Any, function: Node) -> Iterator[Any]:
    entries = [{"key": k, "value": v} for k, v in _require(value, "object", "with_entries").items()]
    yield _from_entries([result for entry in entries for result in evaluate(function, entry)])


@_builtin("has", 1)
def _has(value: Any, key: Node) -> Iterator[Any]:
    for item in evaluate(key, value):
        if isinstance(value, dict) and isinstance(item, str):
            yield item in value
        elif isinstance(value, list) and isinstance(item, int | float) and not isinstance(item, bool):
            yield 0 <= item < len(value)
        else:
            raise JqError(f"jq: Cannot check whether {_type(value)} has a {_type(item)} key")


@_builtin("contains", 1)
def _contains_builtin(value: Any, item: Node) -> Iterator[Any]:
    for other in evaluate(item, value):
        yield _contains(value, other)


def _by(name: str, value: Any, function: Node) -> list[tuple[Any, Any]]:
    return [(_collect(function, item), item) for item in _require(value, "array", name)]


@_builtin("sort_by", 1)
def _sort_by(value: Any, function: Node) -> Iterator[Any]:
    pairs = _by("sort_by", value, function)
    yield [item for _, item in sorted(pairs, key=lambda pair: _SORT_KEY(pair[0]))]


@_builtin("group_by", 1)
def _group_by(value: Any, function: Node) -> Iterator[Any]:
    groups: list[tuple[Any, list[Any]]] = []
    for key, item in sorted(_by("group_by", value, function), key=lambda pair: _SORT_KEY(pair[0])):
        if groups and _compare(groups[-1][0], key) == 0:
            groups[-1][1].append(item)
        else:
            groups.append((key, [item]))
    yield [items for _, items in groups]


@_builtin("unique_by", 1)
def _unique_by(value: Any, function: Node) -> Iterator[Any]:
    seen: list[tuple[Any, Any]] = []
    for key, item in sorted(_by("unique_by", value, function), key=lambda pair: _SORT_KEY(pair[0])):
        if not seen or _compare(seen[-1][0], key):
            seen.append((key, item))
    yield [item for _, item in seen]


@_builtin("min_by", 1)
def _min_by(value: Any, function: Node) -> Iterator[Any]:
    pairs = _by("min_by", value, function)
    yield min(pairs, key=lambda pair: _SORT_KEY(pair[0]))[1] if pairs else None


@_builtin("max_by", 1)
def _max_by(value: Any, function: Node) -> Iterator[Any]:
    pairs = _by("max_by", value, function)
    yield max(pairs, key=lambda pair: _SORT_KEY(pair[0]))[1] if pairs else None


@_builtin("first", 1)
def _first(value: Any, function: Node) -> Iterator[Any]:
    for item in evaluate(function, value):
        yield item
        return


@_builtin("last", 1)
def _last(value: Any, function: Node) -> Iterator[Any]:
    items = _collect(function, value)
    if items:
        yield items[-1]


@_builtin("limit", 2)
def _limit(value: Any, count: Node, function: Node) -> Iterator[Any]:
    remaining = _one(count, value)
    if remaining <= 0:
        return
    for item in evaluate(function, value):
        yield item
        remaining -= 1
        if remaining <= 0:
            return


@_builtin("flatten", 1)
def _flatten_depth(value: Any, depth: Node) -> Iterator[Any]:
    yield _flatten(value, _one(depth, value))


def _range(start: Any, end: Any) -> Iterator[Any]:
    if not all(_type(bound) == "number" for bound in (start, end)):
        raise JqError("jq: range bounds must be numbers")
    if end - start > MAX_RANGE:
        raise JqError(f"jq: range larger than {MAX_RANGE}")
    current = start
    while current < end:
        yield current
        current += 1


@_builtin("range", 1)
def _range_one(value: Any, end: Node) -> Iterator[Any]:
    for bound in evaluate(end, value):
        yield from _range(0, bound)


@_builtin("range", 2)
def _range_two(value: Any, start: Node, end: Node) -> Iterator[Any]:
    for first in evaluate(start, value):
        for last in evaluate(end, value):
            yield from _range(first, last)


def _string_builtin(name: str, apply: Callable[[str, str], Any]) -> None:
    def builtin(value: Any, argument: Node) -> Iterator[Any]:
        for item in evaluate(argument, value):
            if not isinstance(value, str) or not isinstance(item, str):
                if name in ("ltrimstr", "rtrimstr"):
                    yield value
                    continue
                raise JqError(f"jq: {name}() requires string inputs")
            yield apply(value, item)

    _BUILTINS[f"{name}/1"] = builtin


_string_builtin("startswith", lambda text, prefix: text.startswith(prefix))
_string_builtin("endswith", lambda text, suffix: text.endswith(suffix))
_string_builtin("ltrimstr", lambda text, prefix: text[len(prefix) :] if text.startswith(prefix) else text)
_string_builtin(
    "rtrimstr", lambda text, suffix: text[: -len(suffix)] if suffix and text.endswith(suffix) else text
)
_string_builtin("split", lambda text, separator: text.split(separator) if separator else list(text))


# -- regular expressions: users' patterns, matched by userregex under the render's time limit ----

_FLAGS = {"i": "i", "x": "x", "s": "s", "g": "", "n": ""}


def _regex(value: Any, pattern: Any, flags: Any, name: str) -> tuple[userregex.Pattern, bool, bool]:
    """The compiled pattern and the `g` (every match) and `n` (skip empty matches) flags."""
    if not isinstance(value, str) or not isinstance(pattern, str):
        raise JqError(f"jq: {name}() requires string inputs")
    flags = "" if flags is None else flags
    if not isinstance(flags, str) or any(flag not in _FLAGS for flag in flags):
        raise JqError(f"jq: {flags!r} is not a valid modifier string (supported: g, i, x, s, n)")
    inline = "".join(sorted({_FLAGS[flag] for flag in flags} - {""}))
    return userregex.compile_user(f"(?{inline}){pattern}" if inline else pattern), "g" in flags, "n" in flags


def _matches(value: Any, pattern: Any, flags: Any, name: str, every: bool = False) -> Iterator[userregex.Match]:
    regex, global_, skip_empty = _regex(value, pattern, flags, name)
    for match in userregex.finditer(regex, value):
        if skip_empty and match.end() == match.start():
            continue
        yield match
        if not (global_ or every):
            return


def _match_object(match: userregex.Match) -> dict[str, Any]:
    names = {index: name for name, index in match.re.groupindex.items()}
    captures = [{"offset": match.start(group), "length": max(match.end(group) - match.start(group), 0),
                 "string": match.group(group), "name": names.get(group)} for group in range(1, match.re.groups + 1)]
    return {"offset": match.start(), "length": match.end() - match.start(), "string": match.group(),
            "captures": captures}


def _capture_object(match: userregex.Match) -> dict[str, Any]:
    return {name: match.group(name) for name in match.re.groupindex}


def _regex_builtin(name: str, arity: int, apply: Callable[[Any, Any, Any], Iterator[Any]]) -> None:
    def builtin(value: Any, pattern: Node, flags: Node | None = None) -> Iterator[Any]:
        for regex in evaluate(pattern, value):
            for modifiers in ([None] if flags is None else evaluate(flags, value)):
                yield from apply(value, regex, modifiers)

    _BUILTINS[f"{name}/{arity}"] = builtin


def _regex_test(value: Any, pattern: Any, flags: Any) -> Iterator[Any]:
    yield next(_matches(value, pattern, flags, "test"), None) is not None


def _match(value: Any, pattern: Any, flags: Any) -> Iterator[Any]:
    for match in _matches(value, pattern, flags, "match"):
        yield _match_object(match)


def _capture(value: Any, pattern: Any, flags: Any) -> Iterator[Any]:
    for match in _matches(value, pattern, flags, "capture"):
        yield _capture_object(match)


for _arity in (1, 2):
    _regex_builtin("test", _arity, _regex_test)
    _regex_builtin("match", _arity, _match)
    _regex_builtin("capture", _arity, _capture)


def _substitute(value: Any, pattern: Node, replacement: Node, flags: Node | None, every: bool) -> Iterator[Any]:
    """`sub`/`gsub`: `replacement` is evaluated with the match's named captures as its input."""
    for regex in evaluate(pattern, value):
        for modifiers in ([None] if flags is None else evaluate(flags, value)):
            parts: list[str] = []
            end = 0
            for match in _matches(value, regex, modifiers, "gsub" if every else "sub", every):
                text = _one(replacement, _capture_object(match))
                if not isinstance(text, str):
                    raise JqError("jq: the replacement of sub()/gsub() must be a string")
                parts += [value[end : match.start()], text]
                end = match.end()
                check_length(sum(len(part) for part in parts))
            yield "".join(parts) + value[end:]


@_builtin("sub", 2)
def _sub(value: Any, pattern: Node, replacement: Node) -> Iterator[Any]:
    yield from _substitute(value, pattern, replacement, None, False)


@_builtin("sub", 3)
def _sub_flags(value: Any, pattern: Node, replacement: Node, flags: Node) -> Iterator[Any]:
    yield from _substitute(value, pattern, replacement, flags, False)


@_builtin("gsub", 2)
def _gsub(value: Any, pattern: Node, replacement: Node) -> Iterator[Any]:
    yield from _substitute(value, pattern, replacement, None, True)


@_builtin("gsub", 3)
def _gsub_flags(value: Any, pattern: Node, replacement: Node, flags: Node) -> Iterator[Any]:
    yield from _substitute(value, pattern, replacement, flags, True)


@_builtin("join", 1)
def _join(value: Any, separator: Node) -> Iterator[Any]:
    for glue in evaluate(separator, value):
        parts = ["" if item is None else _tostring(item) for item in _require(value, "array", "join")]
        check_length(sum(len(part) for part in parts) + len(str(glue)) * len(parts))
        yield str(glue).join(parts)


def run(expression: str, value: Any) -> list[Any]:
    """Every output of ``expression`` applied to ``value`` (plain JSON data), as a list."""
    return _collect(compile_jq(expression), value)
