"""Namespace file tasks: `io.kestra.plugin.core.namespace.*` (KESTRA.md §3.2).

Namespace files are code and data files stored per namespace (the editor's file tree), usable by
every flow of the namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from apps.plugins.sdk import Issue, Plugin, RunnableTask, TaskProperties, ValidationContext, dynamic

GROUP = "io.kestra.plugin.core.namespace"

FileList = list[str] | str
"""One pattern/path, or a list of them."""


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


PLUGINS: list[type[Plugin]] = [UploadFiles, DownloadFiles, DeleteFiles]
