"""`weir --server … flow validate|deploy|sync`: flows of a folder against a server.

Every file is validated by the server first (one request per file, so errors name the file and
its line), then deploy and sync write with one request, which the server applies in one
transaction: a folder is deployed whole or not at all.

Sync compares each flow's stored source with the local document byte for byte. The server
stores each document of a multi-document request verbatim, as split on `---` lines, so the
documents sent are the local documents themselves (each ending with a newline); a second sync
of the same folder therefore finds nothing to change.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.cli.remote.client import ApiError, Client, quote
from apps.cli.remote.progress import Progress


@dataclass(frozen=True)
class LocalFlow:
    path: Path
    namespace: str
    flow_id: str
    source: str
    line: int


@dataclass
class Plan:
    create: list[LocalFlow] = field(default_factory=list)
    update: list[tuple[LocalFlow, str]] = field(default_factory=list)
    """(local flow, the server's source)"""
    unchanged: list[LocalFlow] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    """ids on the server and not in the folder"""

    @property
    def changes(self) -> bool:
        return bool(self.create or self.update)


def yaml_files(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())
        else:
            found.append(path)
    return found


def documents(path: Path) -> list[tuple[int, str]]:
    """The documents of one file as the server will store them: (first line, text ending in \\n)."""
    from apps.flows.yamlsource import split_documents

    text = path.read_text(encoding="utf-8")
    return [(offset + 1, chunk if chunk.endswith("\n") else chunk + "\n") for offset, chunk in split_documents(text)]


def read_folder(files: Sequence[Path]) -> tuple[list[LocalFlow], list[str]]:
    """The flows of the files, and problems that stop before any request (unreadable file,
    a document without id/namespace, the same flow twice)."""
    import yaml

    flows: list[LocalFlow] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in files:
        try:
            docs = documents(path)
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{path}:1:1: cannot read: {error}")
            continue
        if not docs:
            problems.append(f"{path}:1:1: no flow in this file")
        for line, text in docs:
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                at = f"{line + mark.line}:{mark.column + 1}" if mark else f"{line}:1"
                problems.append(f"{path}:{at}: not YAML: {getattr(error, 'problem', error)}")
                continue
            if not isinstance(data, dict) or not isinstance(data.get("id"), str) \
                    or not isinstance(data.get("namespace"), str):
                problems.append(f"{path}:{line}:1: a flow needs an `id` and a `namespace`")
                continue
            key = (data["namespace"], data["id"])
            if key in seen:
                problems.append(f"{path}:{line}:1: flow {key[0]}.{key[1]} is also in {seen[key]}")
                continue
            seen[key] = path
            flows.append(LocalFlow(path, data["namespace"], data["id"], text, line))
    return flows, problems


def validate_remote(client: Client, files: Sequence[Path], progress_bar: bool | None = None,
                    warnings: bool = False) -> tuple[int, list[str]]:
    """Validate every file on the server; returns (files with errors, `file:line:col: message`
    lines, with `warning:` lines too when `warnings`)."""
    failed = 0
    out: list[str] = []
    with Progress("validating", len(files), bar=progress_bar) as progress:
        for path in files:
            errors, warned = _validate_file(client, path)
            failed += bool(errors)
            lines = errors + (warned if warnings else [])
            out += lines
            for text in lines:
                progress.line(text)
            progress.advance(str(path))
    return failed, out


def _validate_file(client: Client, path: Path) -> tuple[list[str], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [f"{path}:1:1: cannot read: {error}"], []
    try:
        results = client.post_yaml("api/v1/flows/validate", text)
    except ApiError as error:
        if error.status in (0, 401, 403):
            raise
        return [f"{path}:1:1: {error}"], []
    if not results:
        return [f"{path}:1:1: no flow in this file"], []
    errors: list[str] = []
    warned: list[str] = []
    for result in results:
        for err in result.get("errors") or []:
            at = f"{err.get('path')}: " if err.get("path") else ""
            errors.append(f"{path}:{err.get('line') or 1}:{err.get('column') or 1}: {at}{err.get('message')}")
        for warning in result.get("warningDetails") or []:
            warned.append(f"{path}:{warning.get('line') or 1}:{warning.get('column') or 1}: "
                          f"warning: {warning.get('message')}")
    return errors, warned


def plan(local: Sequence[LocalFlow], remote: Sequence[dict[str, Any]]) -> Plan:
    stored = {str(f["id"]): str(f.get("source") or "") for f in remote if not f.get("deleted")}
    result = Plan()
    for flow in local:
        if flow.flow_id not in stored:
            result.create.append(flow)
        elif stored[flow.flow_id] != flow.source:
            result.update.append((flow, stored[flow.flow_id]))
        else:
            result.unchanged.append(flow)
    names = {f.flow_id for f in local}
    result.delete = sorted(fid for fid in stored if fid not in names)
    return result


def render_diff(namespace: str, the_plan: Plan, delete: bool) -> list[str]:
    lines: list[str] = []
    for flow in the_plan.create:
        lines.append(f"+ create {namespace}.{flow.flow_id} ({flow.path})")
        lines += ["  + " + line for line in flow.source.splitlines()]
    for flow, before in the_plan.update:
        lines.append(f"~ update {namespace}.{flow.flow_id} ({flow.path})")
        lines += ["  " + line.rstrip("\n") for line in difflib.unified_diff(
            before.splitlines(keepends=True), flow.source.splitlines(keepends=True),
            fromfile=f"server:{namespace}.{flow.flow_id}", tofile=str(flow.path))]
    for flow_id in the_plan.delete:
        lines.append(f"- delete {namespace}.{flow_id}" if delete
                     else f"  keep   {namespace}.{flow_id} (not in the folder; --delete removes it)")
    return lines


def summary(the_plan: Plan, delete: bool) -> str:
    deleting = len(the_plan.delete) if delete else 0
    kept = f", {len(the_plan.delete)} kept (not in the folder)" if the_plan.delete and not delete else ""
    return (f"{len(the_plan.create)} to create, {len(the_plan.update)} to update, {deleting} to delete, "
            f"{len(the_plan.unchanged)} unchanged{kept}")


def apply(client: Client, namespace: str, local: Sequence[LocalFlow], delete: bool) -> dict[str, Any]:
    """One request, one transaction on the server: create/update every flow of the folder, and
    with `delete` remove the namespace's other flows. `local` is never empty (the command
    refuses an empty folder rather than delete a whole namespace)."""
    body = "---\n".join(flow.source for flow in local)
    outcome: dict[str, Any] = client.post_yaml(f"api/v1/flows/{quote(namespace)}", body,
                                               query={"delete": "true" if delete else "false"})
    return outcome


def outcome_lines(outcome: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("created", "updated", "unchanged", "deleted"):
        for flow in outcome.get(key) or []:
            revision = f" r{flow['revision']}" if "revision" in flow else ""
            lines.append(f"{key:9} {flow['namespace']}.{flow['id']}{revision}")
    return lines


def deploy_errors(error: ApiError) -> list[str]:
    """The documents the server refused, as lines (their index in the request)."""
    body = error.body if isinstance(error.body, dict) else {}
    lines = [f"error: {error}"]
    for doc in body.get("documents") or []:
        for err in doc.get("errors") or []:
            lines.append(f"document {doc.get('index')}:{err.get('line') or 1}:{err.get('column') or 1}: "
                         f"{err.get('path') or ''}: {err.get('message')}")
    return lines
