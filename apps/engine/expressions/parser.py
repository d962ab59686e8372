"""Parse one Pebble expression (a token list) and emit the equivalent, fully parenthesised Jinja.

This is Pebble's precedence-climbing ``ExpressionParser`` transcribed: same operator table (with
Kestra's ``??``/``???`` at 120), same unary precedence (500, so ``not a == b`` is ``(not a) == b``),
ternary only at the outermost level of an expression, filters applying to everything on their left
with a higher precedence. Because every compound sub-expression is emitted in parentheses, Jinja's
own (different) precedence rules never come into play.

Pebble semantics that plain Jinja operators lack are emitted as calls to ``__weir_*`` helpers, which
the environment's code generator turns into direct calls (see ``environment.HELPERS``):
``??``/``???``/``is defined``/``| default(x)`` become lazily evaluated thunks, ``~`` skips nulls,
``/`` and ``%`` use Java integer rules, ``contains`` follows ``ContainsExpression``, ``a..b`` is an
inclusive range.
"""

from __future__ import annotations

from typing import NoReturn

from .errors import ExpressionSyntaxError
from .lexer import Token

HELPER_PREFIX = "__weir_"

_BINARY_PRECEDENCE = {
    "or": 10,
    "and": 15,
    "is": 20,
    "is not": 20,
    "contains": 20,
    "==": 30,
    "equals": 30,
    "!=": 30,
    "<": 30,
    ">": 30,
    "<=": 30,
    ">=": 30,
    "+": 40,
    "-": 40,
    "*": 60,
    "/": 60,
    "%": 60,
    "|": 100,
    "~": 110,
    "..": 120,
    "??": 120,
    "???": 120,
}
_WORD_OPERATORS = frozenset({"or", "and", "contains", "equals"})
_UNARY_PRECEDENCE = 500
_NATIVE = {"or", "and", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*"}
_HELPER_OPERATORS = {
    "/": "div",
    "%": "mod",
    "~": "concat",
    "contains": "contains",
    "..": "range",
    "??": "nc",
    "???": "uc",
}
_LITERALS = {
    "true": "true",
    "TRUE": "true",
    "false": "false",
    "FALSE": "false",
    "null": "none",
    "NULL": "none",
    "none": "none",
    "NONE": "none",
}
_NOT_A_PRIMARY = frozenset({"and", "or", "is", "contains", "equals"})
# Pebble's loop variable is 0-based where Jinja's plain names are 1-based.
_LOOP_ATTRIBUTES = {"index": "index0", "revindex": "revindex0"}


def helper(name: str, *args: str) -> str:
    """Emit a call to the runtime helper ``name`` (see ``environment.HELPERS``)."""
    return f"{HELPER_PREFIX}{name}({', '.join(args)})"


def string_literal(value: str) -> str:
    """A Jinja string literal that decodes to exactly ``value``.

    Python's ``repr`` escapes are a subset of what Jinja's ``unicode-escape`` decoding accepts.
    """
    return repr(value)


def describe(token: Token | None) -> str:
    if token is None:
        return "end of expression"
    if token.kind == "string":
        return "string literal"
    return f"'{token.value}'"


class ExpressionParser:
    """Parses ``tokens[position:]``; ``block`` is the enclosing block's span, for error messages."""

    def __init__(
        self,
        source: str,
        tokens: tuple[Token, ...],
        block: tuple[int, int],
        in_loop: bool = False,
        position: int = 0,
    ) -> None:
        self.source = source
        self.tokens = tokens
        self.block = block
        self.in_loop = in_loop
        self.position = position

    # -- token stream -------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.position + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def advance(self) -> Token:
        token = self.peek()
        if token is None:
            self.fail("unexpected end of expression")
        self.position += 1
        return token

    def fail(self, detail: str, token: Token | None = None) -> NoReturn:
        if token is None:
            token = self.peek()
        offset = token.start if token is not None else self.block[1] - 2
        raise ExpressionSyntaxError(detail, max(offset, self.block[0]), self.source, self.block)

    def unexpected(self, token: Token | None = None, expected: str = "") -> NoReturn:
        token = token if token is not None else self.peek()
        suffix = f", expected {expected}" if expected else ""
        if token is not None and token.kind == "op" and token.value == "*":
            index = self.tokens.index(token)
            previous = self.tokens[index - 1] if index else None
            if previous is not None and previous.value == "*" and previous.end == token.start:
                suffix += " (Pebble has no '**' power operator)"
        self.fail(f"unexpected {describe(token)}{suffix}", token)

    def at_punct(self, value: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.is_punct(value)

    def expect_punct(self, value: str) -> Token:
        token = self.peek()
        if token is None or not token.is_punct(value):
            self.unexpected(token, f"'{value}'")
        self.position += 1
        return token

    def expect_name(self, what: str = "a name") -> Token:
        token = self.peek()
        if token is None or token.kind != "name":
            self.unexpected(token, what)
        self.position += 1
        return token

    def expect_new_variable(self) -> str:
        """A name being assigned (``set``, ``for``, named arguments, macro parameters)."""
        token = self.expect_name("a variable name")
        if token.value in _LITERALS:
            self.fail(f"can not assign a value to {token.value}", token)
        return self.checked_name(token)

    def checked_name(self, token: Token) -> str:
        if token.value.startswith(HELPER_PREFIX):
            self.fail(f"'{token.value}' is a reserved name", token)
        return token.value

    def expect_end(self) -> None:
        if self.peek() is not None:
            self.unexpected()

    # -- expressions --------------------------------------------------------------------------

    def parse_all(self) -> str:
        """Parse one expression that must use every remaining token."""
        if self.peek() is None:
            self.fail("expected an expression")
        expression = self.parse_expression()
        self.expect_end()
        return expression

    def parse_expression(self, min_precedence: int = 0) -> str:
        token = self.peek()
        if token is None:
            self.fail("expected an expression")
        if token.is_name("not") or (token.kind == "op" and token.value in ("-", "+")):
            self.position += 1
            operand = self.parse_expression(_UNARY_PRECEDENCE)
            expression = f"(not {operand})" if token.value == "not" else f"({token.value}{operand})"
        elif token.is_punct("("):
            self.position += 1
            inner = self.parse_expression()
            self.expect_punct(")")
            expression = self.parse_postfix(f"({inner})")
        elif token.is_punct("["):
            expression = self.parse_postfix(self.parse_list())
        elif token.is_punct("{"):
            expression = self.parse_postfix(self.parse_map())
        else:
            expression = self.parse_primary()
        while True:
            operator = self.binary_operator()
            if operator is None or _BINARY_PRECEDENCE[operator] < min_precedence:
                break
            self.position += 2 if operator == "is not" else 1
            if operator == "|":
                expression = self.emit_filter(expression)
            elif operator in ("is", "is not"):
                expression = self.emit_test(expression, operator == "is not")
            else:
                right = self.parse_expression(_BINARY_PRECEDENCE[operator] + 1)
                expression = self.emit_binary(operator, expression, right)
        if min_precedence == 0 and self.at_punct("?"):
            self.position += 1
            when_true = self.parse_expression()
            self.expect_punct(":")
            when_false = self.parse_expression()
            expression = f"({when_true} if {expression} else {when_false})"
        return expression

    def binary_operator(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        if token.kind == "op":
            return token.value if token.value in _BINARY_PRECEDENCE else None
        if token.kind != "name":
            return None
        if token.value == "is":
            following = self.peek(1)
            return "is not" if following is not None and following.is_name("not") else "is"
        return token.value if token.value in _WORD_OPERATORS else None

    def emit_binary(self, operator: str, left: str, right: str) -> str:
        if operator in _NATIVE:
            return f"({left} {operator} {right})"
        if operator == "equals":
            return f"({left} == {right})"
        return helper(_HELPER_OPERATORS[operator], left, right)

    def emit_filter(self, subject: str) -> str:
        """``x | f(…)``; ``x | default(y)`` becomes a lazy helper, because Pebble also falls back when
        ``x`` fails on an undefined variable (its FilterExpression catches that for ``default`` only)."""
        name_token = self.peek()
        start = self.position
        invocation = self.parse_invocation("a filter name")
        if name_token is not None and name_token.value == "default":
            arguments = self.tokens[start + 1 : self.position]
            if arguments and not any(token.is_punct("=") for token in arguments):
                sub = ExpressionParser(
                    self.source, self.tokens[: self.position], self.block, self.in_loop, start + 2
                )
                fallback = sub.parse_expression()
                if sub.position == self.position - 1:
                    return helper("default", subject, fallback)
        return f"({subject} | {invocation})"

    def emit_test(self, subject: str, negated: bool) -> str:
        name_token = self.peek()
        invocation = self.parse_invocation("a test name")
        if name_token is not None and name_token.value == "defined":
            defined = helper("defined", subject)
            return f"(not {defined})" if negated else defined
        return f"({subject} is {'not ' if negated else ''}{invocation})"

    def parse_invocation(self, what: str) -> str:
        """A filter or test: a name with optional arguments."""
        name = self.checked_name(self.expect_name(what))
        if self.at_punct("("):
            return f"{name}({self.parse_arguments()})"
        return name

    def parse_primary(self) -> str:
        token = self.advance()
        base: str | None = None
        if token.kind == "name":
            if token.value in _LITERALS:
                expression = _LITERALS[token.value]
            elif token.value in _NOT_A_PRIMARY:
                self.unexpected(token)
            else:
                expression = self.checked_name(token)
                if self.at_punct("("):
                    expression = f"{expression}({self.parse_arguments()})"
                else:
                    base = expression
        elif token.kind == "number":
            # Jinja rejects leading zeros ("007"); Pebble reads them as decimal.
            expression = token.value if "." in token.value else str(int(token.value))
        elif token.kind == "string":
            expression = self.emit_string(token)
        else:
            self.unexpected(token)
        return self.parse_postfix(expression, base)

    def emit_string(self, token: Token) -> str:
        if not token.parts:
            return string_literal(token.value)
        pieces: list[str] = []
        for part in token.parts:
            if isinstance(part, str):
                pieces.append(string_literal(part))
            else:
                sub = ExpressionParser(self.source, part, self.block, self.in_loop)
                pieces.append(sub.parse_all())
        if len(pieces) == 1:  # "#{x}" alone is x itself, not a string (Pebble keeps its type)
            return pieces[0]
        return helper("concat", *pieces)

    def parse_postfix(self, expression: str, base: str | None = None) -> str:
        while True:
            if self.at_punct("."):
                self.position += 1
                attribute = self.expect_name("an attribute name after '.'").value
                if base == "loop" and self.in_loop:
                    attribute = _LOOP_ATTRIBUTES.get(attribute, attribute)
                expression = f"{expression}.{attribute}"
                if self.at_punct("("):
                    expression = f"{expression}({self.parse_arguments(allow_named=False)})"
            elif self.at_punct("["):
                self.position += 1
                index = self.parse_expression()
                self.expect_punct("]")
                expression = f"{expression}[{index}]"
            elif self.at_punct("("):
                self.unexpected()
            else:
                return expression
            base = None

    def parse_arguments(self, allow_named: bool = True) -> str:
        self.expect_punct("(")
        arguments: list[str] = []
        named = False
        while not self.at_punct(")"):
            if arguments:
                self.expect_punct(",")
            token = self.peek()
            if token is not None and token.kind == "name" and self.at_punct("=", 1):
                if not allow_named:
                    self.fail("can not use named arguments when calling a method", token)
                name = self.expect_new_variable()
                self.position += 1
                arguments.append(f"{name}={self.parse_expression()}")
                named = True
            else:
                value = self.parse_expression()
                if named:
                    self.fail("positional arguments must be declared before any named arguments", token)
                arguments.append(value)
        self.position += 1
        return ", ".join(arguments)

    def parse_list(self) -> str:
        self.expect_punct("[")
        items: list[str] = []
        while not self.at_punct("]"):
            if items:
                self.expect_punct(",")
            items.append(self.parse_expression())
        self.position += 1
        return f"[{', '.join(items)}]"

    def parse_map(self) -> str:
        self.expect_punct("{")
        entries: list[str] = []
        while not self.at_punct("}"):
            if entries:
                self.expect_punct(",")
            key = self.parse_expression()
            self.expect_punct(":")
            entries.append(f"{key}: {self.parse_expression()}")
        self.position += 1
        return f"{{{', '.join(entries)}}}"

    # -- tag headers --------------------------------------------------------------------------

    def parse_macro_parameters(self) -> str:
        self.expect_punct("(")
        parameters: list[str] = []
        while not self.at_punct(")"):
            if parameters:
                self.expect_punct(",")
            name = self.expect_new_variable()
            if self.at_punct("="):
                self.position += 1
                name = f"{name}={self.parse_expression()}"
            parameters.append(name)
        self.position += 1
        return ", ".join(parameters)

    def parse_filter_chain(self) -> str:
        chain = [self.parse_invocation("a filter name")]
        while (token := self.peek()) is not None and token.kind == "op" and token.value == "|":
            self.position += 1
            chain.append(self.parse_invocation("a filter name"))
        self.expect_end()
        return " | ".join(chain)
