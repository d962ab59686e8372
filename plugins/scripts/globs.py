"""Java's glob rules for `outputFiles` (PLUGINS.md §4.3): `*` stays within a directory, `**`
crosses directories (`**.csv` matches at any depth, `*.csv` only at the top), `?` is one
character, `{a,b}` alternatives, `[…]` classes; a `regex:` prefix takes a regular expression and
a `glob:` prefix is explicit."""

from __future__ import annotations

import os

from apps.plugins.sdk import glob_regex


def matches(root: str, patterns: list[str]) -> list[str]:
    """Relative paths of the regular files under `root` that match any pattern (no symlinks
    followed: a script cannot make the worker upload a file outside its directory)."""
    compiled = [glob_regex(p) for p in patterns]
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
