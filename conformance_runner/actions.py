"""The manifest's English `scenario` and `actions` phrases, read into steps.

A phrase is a sequence of clauses joined by `and`, `then` or commas; each clause must match one
of the patterns below, so a phrase the runner does not understand fails its scenario instead of
being skipped. The harness gives each step kind its meaning (apps/executions/services.py
functions, or HTTP requests through Django's test client).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from apps.engine.states import State

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
_STATE = r"(?P<state>[A-Za-z_]+)"
_TASK = r"[`'\"]?(?P<task>[\w#.-]+)[`'\"]?"
_IT = r"(?:\s+(?:it|the execution|the (?:failed|killed|paused|running) execution))?"
_API = r"(?P<api>\s+(?:through|via|with|using|by|over) (?:the )?(?:REST )?API)?"

# The grammar: (kind, form as documented in README.md, an example, the pattern). Forms are tried
# in order; the first that matches at the current position wins.
GRAMMAR: list[tuple[str, str, str, str]] = [
    ("wait", "wait (until|for) [the execution [and its task run(s)] | it] [is|are|to be|becomes] STATE",
     "wait until the execution is PAUSED",
     r"wait (?:until|for) (?:(?:the execution(?P<runs> and its task runs?)?|it) )?"
     r"(?:(?:is|are|to be|becomes?|reaches) )?" + _STATE),
    ("start", "(start|submit) [execution] #N [(note)] [while …]", "start execution #2 while #1 is still running",
     r"(?:start|submit)(?: (?:the )?execution)? #(?P<n>\d+)" + _TAIL + r"(?:\s+while\b[^,.;]*)?"),
    ("series", "run the flow N times [in a row] [with the same input(s)]", "run the flow 3 times in a row",
     r"run the flow (?P<n>\w+) times(?: in a row)?(?: with the same inputs?)?"),
    ("kill", "kill [it|the execution] [(through|via|with) the API]", "kill it through the API",
     r"kill" + _IT + _API),
    ("restart", "restart [it|the execution|the failed execution] [(note)] [(through|via) the API]",
     "restart the failed execution (same id)", r"restart" + _IT + _TAIL + _API),
    ("replay", "replay [it|the execution] [from [the] [task run [of]] TASK]", "replay from `t2`",
     r"replay" + _IT + r"(?: (?:it )?from (?:the )?(?:task(?: run)? )?(?:of )?" + _TASK + r"(?: task(?: run)?)?)?"),
    ("resume", "resume [it|the execution] [to STATE] [without inputs | with inputs {JSON}]",
     "resume to RUNNING with inputs {asked: yes}",
     r"resume" + _IT + r"(?: to " + _STATE + r")?(?: (?P<without>without inputs)| with (?:the )?inputs:? (?P<inputs>\{.*?\}))?"),
    ("mark", "set [the] TASK task run [state] to STATE [(note)] [, i.e. …]",
     "set the `pause` task run to RUNNING",
     r"set (?:the )?" + _TASK + r" task ?run(?:'s)?(?: state)? to " + _STATE + _TAIL + r"(?:,? i\.e\.[^,;]*)?"),
    ("mark", "mark[ ]as TASK (->|to|as) STATE", "markAs pause -> RUNNING",
     r"mark ?as " + _TASK + r" (?:->|to|as) " + _STATE),
    ("mark", "mark [the] TASK [task run] (as|to|->) STATE", "mark the `pause` task run as RUNNING",
     r"mark (?:the )?" + _TASK + r"(?: task ?run)? (?:as|to|->) " + _STATE),
    ("upstream", "run FLOW [(STATE)]", "run trigger-flow (SUCCESS)",
     r"run (?:the flow )?[`'\"]?(?P<flow>[\w.-]+)[`'\"]?(?: \((?P<state>[A-Za-z_]+)\))?"),
    ("http", "METHOD [JSON <yaml> | plain text '…' | a string that is escaped (invalid) JSON] [to] /api/…",
     "POST JSON {a: 1} to /api/v1/executions/webhook/ns/flow/key",
     r"(?P<method>GET|POST|PUT|DELETE|PATCH)\b(?P<rest>.*)$"),
]
PATTERNS: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(pattern, re.I)) for kind, _, _, pattern in GRAMMAR]
HTTP_METHODS = re.compile(r"(?:GET|POST|PUT|DELETE|PATCH)\b")


def nearest_form(text: str) -> str:
    """The grammar's form closest to `text` (by its leading words), to say what was meant."""
    head = text.strip().lower()[:60]
    scored = [(difflib.SequenceMatcher(None, head, example.lower()[:60]).ratio(), form, example)
              for _, form, example, _ in GRAMMAR]
    for _, form, example, _ in GRAMMAR:
        word = form.split()[0].strip("([").split("|")[0].lower()
        if head.startswith(word):
            scored.append((2.0, form, example))
    _, form, example = max(scored, key=lambda item: item[0])
    return f"{form}  (e.g. {example!r})"


def _state(word: str) -> str:
    state = word.upper()
    if state not in State.__members__:
        raise PhraseError(f"not a state: {word!r}; one of {', '.join(State.__members__)}")
    return state


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
        groups["state"] = _state(groups["state"])
    if kind in ("kill", "restart"):
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
            rest = text[position:]
            raise PhraseError(f"unknown phrase {rest!r}; nearest form: {nearest_form(rest)} "
                              "(the grammar: conformance_runner/README.md)")


def parse_all(phrases: list[str] | tuple[str, ...]) -> list[Step]:
    return [step for phrase in phrases if phrase.strip() for step in parse(phrase)]
