"""Namespace file tasks: `io.kestra.plugin.core.namespace.*` (KESTRA.md §3.2).

Namespace files are code and data files stored per namespace (the editor's file tree), usable by
every flow of the namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    Issue,
    Plugin,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    ValidationContext,
    dynamic,
    glob_regex,
)

GROUP = "io.kestra.plugin.core.namespace"

FileList = list[str] | str
"""One pattern/path, or a list of them."""


def patterns(value: FileList | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def join(folder: str, path: str) -> str:
    return "/".join(p for p in (folder.strip("/"), path.strip("/")) if p)


class UploadFiles(RunnableTask):
    """Upload files to a namespace's file storage.

    Give `files` — regular expressions matched against paths in the task's working directory
    (useful inside a `WorkingDirectory`) — or `filesMap` `{destination path: kestra:// URI or
    content}`. Files land under `destination` (default `/`). `conflict` decides what happens when
    a file exists: OVERWRITE (default), ERROR or SKIP.

    Output: `files` (the uploaded files).
    """

    type = "io.kestra.plugin.core.namespace.UploadFiles"
    title = "Upload namespace files"
    group = GROUP
    icon = "upload"
    examples = (
        """\
id: upload
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/data/orders.csv
  - id: upload
    type: io.kestra.plugin.core.namespace.UploadFiles
    namespace: company.team
    filesMap:
      data/orders.csv: "{{ outputs.download.uri }}"
    conflict: OVERWRITE
""",
    )

    class Properties(TaskProperties):
        namespace: str = dynamic(description="Target namespace.")
        files: FileList | None = dynamic(None, description="Regexes of working-directory paths to upload.")
        filesMap: dict[str, str] | str | None = dynamic(
            None, description="`{destination: kestra:// URI}`, or an expression rendering to such a map."
        )
        destination: str = dynamic("/", description="Folder to upload into.")
        conflict: Literal["OVERWRITE", "ERROR", "SKIP"] = Field("OVERWRITE", description="When a file exists.")

    class Outputs(BaseModel):
        files: Any = Field(None, description="The uploaded files.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        if raw.get("files") is None and raw.get("filesMap") is None:
            yield (), "Set `files` or `filesMap`: there is nothing to upload"

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        sources: dict[str, bytes | str] = {}
        if props.files is not None:
            import os

            root = ctx.working_dir()
            compiled = [glob_regex(p.lstrip("/")) for p in patterns(props.files)]
            for folder, dirs, names in os.walk(root):
                dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
                for name in names:
                    full = os.path.join(folder, name)
                    rel = os.path.relpath(full, root).replace(os.sep, "/")
                    if not os.path.islink(full) and any(rx.fullmatch(rel) for rx in compiled):
                        with open(full, "rb") as handle:
                            sources[join(props.destination, rel)] = handle.read()
        files_map = props.filesMap
        if isinstance(files_map, str):
            import json

            try:
                files_map = json.loads(files_map)
            except ValueError as error:
                raise TaskFailed(f"filesMap must be a map or a JSON object: {error}") from error
        for target, source in (files_map or {}).items():
            if source is None:
                continue
            sources[join(props.destination, str(target))] = str(source)
        uploaded: list[str] = []
        for target, source in sorted(sources.items()):
            if isinstance(source, str):
                if not source.startswith("kestra://"):
                    ctx.log("WARN", f"filesMap: {source!r} is not a kestra:// URI; skipped")
                    continue
                try:
                    data = ctx.get_file(source)
                except (FileNotFoundError, OSError):
                    ctx.log("WARN", f"filesMap: {source} does not exist; skipped")
                    continue
            else:
                data = source
            if ctx.namespace_file_write(props.namespace, target, data, overwrite=props.conflict == "OVERWRITE"):
                uploaded.append("/" + target)
            elif props.conflict == "ERROR":
                raise TaskFailed(f"the namespace file '/{target}' already exists in '{props.namespace}' "
                                 "(conflict: ERROR)")
        ctx.log("INFO", f"uploaded {len(uploaded)} file(s) to namespace '{props.namespace}'")
        return self.Outputs(files=uploaded)


class DownloadFiles(RunnableTask):
    """Copy namespace files into internal storage so tasks can read them.

    `files` is a glob or a list of globs (e.g. `/scripts/**.py`). Files are prefixed with
    `destination` (default empty).

    Output: `files` — a map from file path to its `kestra://` URI, e.g.
    `{{ outputs.dl.files['/scripts/etl.py'] }}`.
    """

    type = "io.kestra.plugin.core.namespace.DownloadFiles"
    title = "Download namespace files"
    group = GROUP
    icon = "download"
    examples = (
        """\
id: download_files
namespace: company.team
tasks:
  - id: dl
    type: io.kestra.plugin.core.namespace.DownloadFiles
    namespace: company.team
    files:
      - "/data/**"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.dl.files }}"
""",
    )

    class Properties(TaskProperties):
        namespace: str = dynamic(description="Namespace to read from.")
        files: FileList = dynamic(description="Glob pattern(s) of files to download.")
        destination: str = dynamic("", description="Prefix added to the downloaded paths.")

    class Outputs(BaseModel):
        files: dict[str, str] | None = Field(None, description="Path → `kestra://` URI.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        found = ctx.namespace_files(props.namespace, patterns(props.files))
        files = {}
        for path in found:
            name = join(props.destination, path)
            files["/" + name] = ctx.put_file(name.replace("/", "_"), ctx.namespace_file_read(props.namespace, path))
        ctx.metric("counter", "downloaded", len(files))
        return self.Outputs(files=files)


class DeleteFiles(RunnableTask):
    """Delete namespace files matching `files` (a glob or a list of globs).

    Output: `files` (the deleted paths).
    """

    type = "io.kestra.plugin.core.namespace.DeleteFiles"
    title = "Delete namespace files"
    group = GROUP
    icon = "trash"
    examples = (
        """\
id: delete_files
namespace: company.team
tasks:
  - id: clean
    type: io.kestra.plugin.core.namespace.DeleteFiles
    namespace: company.team
    files:
      - "/tmp/**"
""",
    )

    class Properties(TaskProperties):
        namespace: str = dynamic(description="Namespace to delete from.")
        files: FileList = dynamic(description="Glob pattern(s) of files to delete.")

    class Outputs(BaseModel):
        files: list[str] | None = Field(None, description="The deleted paths.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        deleted = [path for path in ctx.namespace_files(props.namespace, patterns(props.files))
                   if ctx.namespace_file_delete(props.namespace, path)]
        ctx.metric("counter", "deleted", len(deleted))
        return self.Outputs(files=["/" + p for p in deleted])


PLUGINS: list[type[Plugin]] = [UploadFiles, DownloadFiles, DeleteFiles]
