"""The manifest's English `scenario` and `actions` phrases, read into steps.

A phrase is a sequence of clauses joined by `and`, `then` or commas; each clause must match one
of the patterns below, so a phrase the runner does not understand fails its scenario instead of
being skipped. The harness gives each step kind its meaning (apps/executions/services.py
functions, or HTTP requests through Django's test client).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "twice": 2, "thrice": 3}
CREATING = frozenset({"start", "series", "upstream", "parent", "create", "http"})
# a string whose escaped quotes make it invalid JSON (for "a string that is escaped (invalid) JSON")
ESCAPED_JSON = '{\\"a\\":\\"\\",\\"b\\":{\\"c\\":{\\"d\\":{\\"e\\":\\"\\",\\"f\\":\\"1\\"}}}}'


class PhraseError(Exception):
    """A scenario or action phrase the runner does not understand."""


@dataclass(frozen=True)
class Step:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.args.get(name, default)


_CONNECTIVE = re.compile(r"[\s,.;]*(?:(?:and\s+)?then\b|and\b)?[\s,]*", re.I)
_TAIL = r"(?:\s*\([^)]*\))?"
PATTERNS: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(pattern, re.I)) for kind, pattern in [
    ("wait", r"wait until (?:(?:the execution(?P<runs> and its task runs?)?|it) (?:is|are) )?(?P<state>[A-Z]+)"),
    ("start", r"(?:start|submit) execution #(?P<n>\d+)" + _TAIL + r"(?:\s+while\b[^,.;]*)?"),
    ("series", r"run the flow (?P<n>\w+) times in a row(?: with the same inputs?)?"),
    ("kill", r"kill(?: it| the execution)?(?P<api>\s+through the API)?"),
    ("restart", r"restart(?: the failed execution)?" + _TAIL),
    ("replay", r"replay(?: (?:it )?from (?:the )?(?:task run )?(?:of )?`?(?P<task>[\w#-]+)`?)?"),
    ("resume", r"resume(?: to (?P<state>[A-Z]+))?(?: (?P<without>without inputs)| with inputs (?P<inputs>\{.*?\}))?"),
    ("mark", r"set the `?(?P<task>[\w#-]+)`? task run to (?P<state>[A-Z]+)" + _TAIL + r"(?:,? i\.e\.[^,;]*)?"),
    ("mark", r"mark ?as `?(?P<task>[\w#-]+)`? (?:->|to) (?P<state>[A-Z]+)"),
    ("upstream", r"run (?P<flow>[\w.-]+)(?: \((?P<state>[A-Z]+)\))?"),
    ("http", r"(?P<method>GET|POST|PUT|DELETE|PATCH)\b(?P<rest>.*)$"),
]]


def _count(word: str) -> int:
    if word.isdigit():
        return int(word)
    if word.lower() in WORDS:
        return WORDS[word.lower()]
    raise PhraseError(f"not a count: {word!r}")


def _http(method: str, rest: str) -> dict[str, Any]:
    """`POST JSON {a: 1} to /api/...`, `POST plain text 'bla'`, `GET /api/...`, `PUT JSON [...]`."""
    url_match = re.search(r"(?:\bto\s+)?(/api/\S+)", rest)
    url = url_match.group(1) if url_match else None
    body_text = (rest[: url_match.start()] + rest[url_match.end():] if url_match else rest).strip()
    body: str | None = None
    content_type = None
    if body_text.upper().startswith("JSON "):
        loaded = yaml.safe_load(body_text[5:].strip())
        body, content_type = json.dumps(loaded), "application/json"
    elif plain := re.fullmatch(r"plain text '([^']*)'", body_text, re.I):
        body, content_type = plain.group(1), "text/plain"
    elif re.fullmatch(r"an? (?:string|body) that is .*\binvalid\b.*JSON", body_text, re.I):
        body, content_type = ESCAPED_JSON, "application/json"
    elif body_text:
        raise PhraseError(f"cannot read the HTTP body in {body_text!r}")
    return {"method": method.upper(), "url": url, "body": body, "content_type": content_type}


def _step(kind: str, found: re.Match[str]) -> Step:
    groups = {k: v for k, v in found.groupdict().items() if v is not None}
    if kind == "http":
        return Step("http", _http(groups["method"], groups.get("rest", "")))
    if kind in ("start", "series"):
        groups["n"] = _count(groups["n"])
    if kind in ("wait", "mark", "resume", "upstream") and "state" in groups:
        groups["state"] = groups["state"].upper()
    if kind == "kill":
        groups["api"] = "api" in groups
    if kind == "wait":
        groups["runs"] = "runs" in groups
    if kind == "resume" and "inputs" in groups:
        groups["inputs"] = yaml.safe_load(groups["inputs"])
    return Step(kind, groups)


def parse(text: str) -> list[Step]:
    """The steps of one phrase; raises PhraseError on anything not understood."""
    steps: list[Step] = []
    position, text = 0, text.strip()
    while True:
        connective = _CONNECTIVE.match(text, position)
        position = connective.end() if connective else position
        if position >= len(text):
            return steps
        for kind, pattern in PATTERNS:
            found = pattern.match(text, position)
            if found and (found.end() == len(text) or not text[found.end()].isalnum()):
                steps.append(_step(kind, found))
                position = found.end()
                break
        else:
            raise PhraseError(f"unknown phrase {text[position:]!r}")


def parse_all(phrases: list[str] | tuple[str, ...]) -> list[Step]:
    return [step for phrase in phrases if phrase.strip() for step in parse(phrase)]
