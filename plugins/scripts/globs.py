"""Java's glob rules for `outputFiles` (PLUGINS.md §4.3): `*` stays within a directory, `**`
crosses directories (`**.csv` matches at any depth, `*.csv` only at the top), `?` is one
character, `{a,b}` alternatives, `[…]` classes; a `regex:` prefix takes a regular expression and
a `glob:` prefix is explicit."""

from __future__ import annotations

import os
import re


def to_regex(pattern: str) -> re.Pattern[str]:
    if pattern.startswith("regex:"):
        return re.compile(pattern[len("regex:"):])
    if pattern.startswith("glob:"):
        pattern = pattern[len("glob:"):]
    out, i, depth = [], 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def matches(root: str, patterns: list[str]) -> list[str]:
    """Relative paths of the regular files under `root` that match any pattern (no symlinks
    followed: a script cannot make the worker upload a file outside its directory)."""
    compiled = [to_regex(p) for p in patterns]
    found: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            full = os.path.join(folder, name)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if any(rx.fullmatch(rel) for rx in compiled):
                found.append(rel)
    return sorted(found)
