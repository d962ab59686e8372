"""Which kestrapy 2.0.3 calls Weir routes: every method of the SDK's open-source API groups,
resolved the way a request would be (apps/core/api/kestra1.py's rewrite, then Django's URL
resolver, then the view's HTTP verbs).

Each SDK method is called with placeholder arguments while its transport records the verb and
path instead of sending anything, so the table follows the SDK's own path builders rather than
a copy of them. Run: `python scripts/kestra_api_coverage.py [--markdown] [--missing]`.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
import typing
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

GROUPS = ("flows", "executions", "logs", "kv", "files", "triggers", "plugins", "metrics", "namespaces", "misc")
"""KestraClient properties an open-source user calls (the others are Enterprise Edition)."""


WHY_NOT: tuple[tuple[str, str], ...] = (
    (r"promot|policies|concurrency_limit|credential|namespace_connection|secrets?$|inherited_secrets|"
     r"worker_selector|basic_auth|license|setup|auths$|generate_reports|resume_execution_from_breakpoint|"
     r"flow_hashes",
     "Enterprise Edition or Kestra-instance administration: no open-source counterpart"),
    (r"source_code|^expressions$|validate_task|validate_trigger|list_deprecated|pebble_",
     "editor helpers of Kestra's UI: Weir's editor has its own (apps/ui, /api/v1/flows/validate)"),
    (r"plugin|install", "plugin icons, versions, installation and UI bundles: Weir's plugins are built in"),
    (r"autocomplete_namespaces|search_namespaces|inherited_variables",
     "namespace lists of Kestra's UI: not built yet (Weir's are /api/v1/namespaces?q= and "
     "/api/v1/namespaces/{ns}/inherited)"),
    (r"delete_revisions|delete_logs_from_flow|login_configuration", "not built yet"),
)
"""Why a call is not served, by method name (first match)."""


def why_not(name: str) -> str:
    return next((why for pattern, why in WHY_NOT if re.search(pattern, name)), "not built yet")


class Sent(Exception):
    """Raised by the recording transport in place of a request."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(method, path)
        self.method, self.path = method, path


SAMPLES = {"cls": "io.kestra.plugin.core.log.Log", "input_type": "STRING", "schema_type": "flow",
           "tenant": "main"}
"""Parameters whose value a route constrains (a plugin class, an input type, a schema kind)."""
PLACED: set[str] = set(SAMPLES.values())


def _placeholder(name: str, annotation: Any) -> Any:
    text = str(annotation)
    if name in SAMPLES:
        return SAMPLES[name]
    if "List" in text or "list" in text:
        return []
    if annotation is bool or "bool" in text:
        return False
    if annotation is int or "int" in text:
        return 1
    if "bytes" in text:
        return b""
    if "Dict" in text or "dict" in text:
        return {}
    PLACED.add(f"p_{name}")
    return f"p_{name}"


def calls() -> list[tuple[str, str, str, str]]:
    """(group, method name, HTTP verb, path) for every public method of the open-source groups."""
    import requests
    from kestrapy import KestraClient
    from kestrapy.base_api import BaseApi

    def record(self: Any, method: str, path: str, **_: Any) -> Any:
        raise Sent(method, path)

    BaseApi._request = record  # type: ignore[method-assign]
    requests.Session.request = lambda self, method, url, **_: record(self, method, urlsplit(url).path)  # type: ignore[method-assign,assignment]
    client = KestraClient(host="http://weir.invalid")  # type: ignore[no-untyped-call]
    found: list[tuple[str, str, str, str]] = []
    for group in GROUPS:
        api = getattr(client, group)
        for name, member in inspect.getmembers(type(api), inspect.isfunction):
            if name.startswith("_") or member.__qualname__.split(".")[0] == "BaseApi":
                continue
            hints = typing.get_type_hints(member) if hasattr(member, "__annotations__") else {}
            args = {p.name: _placeholder(p.name, hints.get(p.name, p.annotation))
                    for p in list(inspect.signature(member).parameters.values())[1:]
                    if p.default is inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD}
            try:
                result = member(api, **args)
                if inspect.isgenerator(result):
                    next(result)
            except Sent as sent:
                found.append((group, name, sent.method, sent.path.split("?")[0]))
            except Exception as error:  # a helper that builds no request is reported as such
                found.append((group, name, "-", f"(no request: {type(error).__name__})"))
    return found


def served(method: str, path: str) -> tuple[bool, str]:
    """Whether Weir answers `method path` with a real view, and which one (or why not)."""
    from django.urls import Resolver404, resolve

    from apps.core.api.kestra1 import rewrite
    from apps.core.api.views import UnknownEndpoint

    weir_path, tenant = rewrite(path)
    if tenant is not None:
        return False, f"unknown tenant {tenant}"
    try:
        match = resolve(weir_path)
    except Resolver404:
        return False, "no route"
    captured = [value for value in match.kwargs.values() if str(value) not in PLACED]
    if captured:
        # A fixed word of the SDK's path (`delete`, `by-query`) taken as a namespace or an id:
        # some other route answers, not this call's.
        return False, f"no route (taken by {getattr(match.func, 'view_class', match.func).__name__} with " \
                      f"{', '.join(map(repr, captured))} as parameters)"
    view: Callable[..., Any] = match.func
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if cls is None or cls is UnknownEndpoint:
        return False, "no route"
    if not hasattr(cls, method.lower()):
        return False, f"{cls.__name__} has no {method}"
    return True, cls.__name__


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    parser.add_argument("--missing", action="store_true", help="only the calls Weir does not serve")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    rows = []
    for group, name, method, path in calls():
        ok, why = served(method, path) if method != "-" else (False, path)
        if options.missing and ok:
            continue
        rows.append((group, name, method, path, ok, why))
    if options.markdown:
        print("| group | method | request | Weir |\n| --- | --- | --- | --- |")
        for group, name, method, path, ok, why in rows:
            path = re.sub(r"\bp_(\w+)", r"{\1}", path)
            print(f"| {group} | `{name}` | `{method} {path}` | {why if ok else '**no** — ' + why_not(name)} |")
    else:
        for group, name, method, path, ok, why in rows:
            print(f"{'ok ' if ok else 'NO '} {group:10} {name:40} {method:6} {path}  {why if ok else why_not(name)}")
    total, covered = len(rows), sum(1 for row in rows if row[4])
    print(f"\n{covered} of {total} served", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
