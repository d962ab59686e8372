"""Internal-storage file tasks: `io.kestra.plugin.core.storage.*` (KESTRA.md §3.2).

Files produced by tasks live in internal storage and are passed around as `kestra://` URIs.
Item files are line-oriented (ION, JSON Lines): one item per line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from apps.plugins.sdk import Plugin, RunContext, RunnableTask, TaskFailed, TaskProperties, dynamic
from plugins.core import storage_run
from plugins.core._common import PositiveInt

GROUP = "io.kestra.plugin.core.storage"
FROM = Field(alias="from")


class Concat(RunnableTask):
    """Concatenate files into one, optionally with a `separator` between them.

    `files` is a list of `kestra://` URIs, or a JSON-array string / expression rendering to one
    (e.g. `{{ outputs.split.uris | json }}`). Use it to merge the parts produced by a loop.

    Output: `uri` of the concatenated file (with `extension`, default `.tmp`).
    """

    type = "io.kestra.plugin.core.storage.Concat"
    aliases = ("io.kestra.core.tasks.storages.Concat",)
    title = "Concatenate files"
    group = GROUP
    icon = "file"
    examples = (
        """\
id: concat
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/a.csv
  - id: concat
    type: io.kestra.plugin.core.storage.Concat
    files:
      - "{{ outputs.download.uri }}"
      - "{{ outputs.download.uri }}"
    separator: "\\n"
    extension: .csv
""",
    )

    class Properties(TaskProperties):
        files: list[str] | str = dynamic(description="URIs to join: a list or a JSON-array string.")
        separator: str | None = dynamic(None, description="Written between two files.")
        extension: str = dynamic(".tmp", description="Extension of the result file.")

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="`kestra://` URI of the concatenated file.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(uri=storage_run.concat(ctx, props.files, props.separator, props.extension))


class Split(RunnableTask):
    """Split a file into several, by size (`bytes`), count (`partitions`) or lines (`rows`).

    Set exactly one of the three. Lines are never cut. Use it to parallelize work on a large
    file, e.g. with `ForEach` over `{{ outputs.split.uris }}`.

    Output: `uris` (the list of part files).
    """

    type = "io.kestra.plugin.core.storage.Split"
    aliases = ("io.kestra.core.tasks.storages.Split",)
    title = "Split a file"
    group = GROUP
    icon = "split"
    examples = (
        """\
id: split
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/big.csv
  - id: split
    type: io.kestra.plugin.core.storage.Split
    from: "{{ outputs.download.uri }}"
    rows: 1000
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of the file to split.")
        bytes: str | None = dynamic(None, description="Maximum size of a part, e.g. `10MB`.")
        partitions: PositiveInt | None = Field(None, description="Number of parts.")
        rows: PositiveInt | None = Field(None, description="Lines per part.")
        separator: str = dynamic("\n", description="Line separator.")

        @model_validator(mode="after")
        def _exactly_one(self) -> Any:
            chosen = [n for n in ("bytes", "partitions", "rows") if getattr(self, n) is not None]
            if len(chosen) != 1:
                raise ValueError("set exactly one of `bytes`, `partitions` or `rows`")
            return self

    class Outputs(BaseModel):
        uris: list[str] | None = Field(None, description="`kestra://` URIs of the parts.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        size = storage_run.parse_bytes(props.bytes) if props.bytes is not None else None
        return self.Outputs(uris=storage_run.split(ctx, props.from_, size, props.partitions, props.rows,
                                                   props.separator))


class Size(RunnableTask):
    """Get the size of an internal-storage file.

    Output: `size` in bytes — e.g. to skip a load when a download came back empty.
    """

    type = "io.kestra.plugin.core.storage.Size"
    aliases = ("io.kestra.core.tasks.storages.Size",)
    title = "File size"
    group = GROUP
    icon = "file"
    examples = (
        """\
id: size
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: size
    type: io.kestra.plugin.core.storage.Size
    uri: "{{ inputs.file }}"
""",
    )

    class Properties(TaskProperties):
        uri: str = dynamic(description="`kestra://` URI of the file.")

    class Outputs(BaseModel):
        size: int | None = Field(None, description="Size in bytes.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        try:
            return self.Outputs(size=ctx.file_size(props.uri))
        except (FileNotFoundError, OSError) as error:
            raise TaskFailed(f"cannot read {props.uri}: file not found") from error
        except ValueError as error:
            raise TaskFailed(str(error)) from error


class Delete(RunnableTask):
    """Delete an internal-storage file, e.g. a large intermediate you no longer need.

    A missing file is not an error unless `errorOnMissing: true`.

    Outputs: `uri` and `deleted`.
    """

    type = "io.kestra.plugin.core.storage.Delete"
    aliases = ("io.kestra.core.tasks.storages.Delete",)
    title = "Delete a file"
    group = GROUP
    icon = "trash"
    examples = (
        """\
id: delete_file
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: delete
    type: io.kestra.plugin.core.storage.Delete
    uri: "{{ inputs.file }}"
""",
    )

    class Properties(TaskProperties):
        uri: str = dynamic(description="`kestra://` URI of the file.")
        errorOnMissing: bool = Field(False, description="Fail when the file does not exist.")

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="The deleted file.")
        deleted: bool | None = Field(None, description="Whether a file was deleted.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        try:
            deleted = ctx.delete_file(props.uri)
        except ValueError as error:
            raise TaskFailed(str(error)) from error
        if not deleted and props.errorOnMissing:
            raise TaskFailed(f"Unable to find file '{props.uri}'")
        return self.Outputs(uri=props.uri, deleted=deleted)


class Reverse(RunnableTask):
    """Reverse the order of the lines of a file (the last line first).

    Output: `uri` of the reversed file.
    """

    type = "io.kestra.plugin.core.storage.Reverse"
    aliases = ("io.kestra.core.tasks.storages.Reverse",)
    title = "Reverse a file"
    group = GROUP
    icon = "file"
    examples = (
        """\
id: reverse
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: reverse
    type: io.kestra.plugin.core.storage.Reverse
    from: "{{ inputs.file }}"
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of the file.")
        separator: str = dynamic("\n", description="Line separator.")
        charset: str = dynamic("UTF-8", description="Charset of the file.")

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="`kestra://` URI of the reversed file.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(uri=storage_run.reverse(ctx, props.from_, props.separator, props.charset))


class FilterItems(RunnableTask):
    """Keep (INCLUDE) or drop (EXCLUDE) the items of a file for which `filterCondition` is truthy.

    The condition is rendered once per item, with the item's fields as variables (e.g.
    `{{ amount > 100 }}`). `errorOrNullBehavior` decides what a render error or null result does:
    FAIL (default), INCLUDE or EXCLUDE the item.

    Outputs: `uri` (the filtered ION file), `processedItemsTotal`, `droppedItemsTotal`.
    """

    type = "io.kestra.plugin.core.storage.FilterItems"
    aliases = ("io.kestra.core.tasks.storages.FilterItems",)
    title = "Filter items"
    group = GROUP
    icon = "filter"
    examples = (
        """\
id: filter
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: big_orders
    type: io.kestra.plugin.core.storage.FilterItems
    from: "{{ inputs.file }}"
    filterCondition: "{{ amount > 100 }}"
    filterType: INCLUDE
    errorOrNullBehavior: EXCLUDE
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of an ION/JSON Lines file.")
        filterCondition: str = Field(description="Expression evaluated per item.")
        filterType: Literal["INCLUDE", "EXCLUDE"] = Field("INCLUDE", description="Keep or drop matches.")
        errorOrNullBehavior: Literal["FAIL", "INCLUDE", "EXCLUDE"] = Field(
            "FAIL", description="What an error or a null result does."
        )

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="`kestra://` URI of the filtered file.")
        processedItemsTotal: int | None = Field(None, description="Items read.")
        droppedItemsTotal: int | None = Field(None, description="Items dropped.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        uri, processed, dropped = storage_run.filter_items(
            ctx, props.from_, props.filterCondition, props.filterType == "INCLUDE", props.errorOrNullBehavior)
        return self.Outputs(uri=uri, processedItemsTotal=processed, droppedItemsTotal=dropped)


class DeduplicateItems(RunnableTask):
    """Remove duplicate items from a file, keeping the **last** item for each key.

    `expr` is rendered per item to compute its key (e.g. `{{ id }}`). Keys are held in memory,
    so the number of distinct keys must fit.

    Outputs: `uri`, `numKeys`, `processedItemsTotal`, `droppedItemsTotal`.
    """

    type = "io.kestra.plugin.core.storage.DeduplicateItems"
    aliases = ("io.kestra.core.tasks.storages.DeduplicateItems",)
    title = "Deduplicate items"
    group = GROUP
    icon = "filter"
    examples = (
        """\
id: dedup
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: dedup
    type: io.kestra.plugin.core.storage.DeduplicateItems
    from: "{{ inputs.file }}"
    expr: "{{ id }}"
""",
    )

    class Properties(TaskProperties):
        from_: Annotated[str, FROM] = dynamic(description="`kestra://` URI of an ION/JSON Lines file.")
        expr: str = Field(description="Expression computing the key of an item.")

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="`kestra://` URI of the deduplicated file.")
        numKeys: int | None = Field(None, description="Distinct keys.")
        processedItemsTotal: int | None = Field(None, description="Items read.")
        droppedItemsTotal: int | None = Field(None, description="Items dropped.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        uri, keys, processed, dropped = storage_run.deduplicate(ctx, props.from_, props.expr)
        return self.Outputs(uri=uri, numKeys=keys, processedItemsTotal=processed, droppedItemsTotal=dropped)


class PurgeCurrentExecutionFiles(RunnableTask):
    """Delete every internal-storage file of the current execution (inputs, outputs, triggers).

    Put it last (or in `finally`/`errors`) when files are large or sensitive. An execution without
    files does not fail it.

    Output: `uris` (the deleted files).
    """

    type = "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles"
    aliases = ("io.kestra.core.tasks.storages.PurgeExecution", "io.kestra.plugin.core.storage.PurgeExecution")
    title = "Purge this execution's files"
    group = GROUP
    icon = "trash"
    examples = (
        """\
id: purge_files
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/a.csv
  - id: purge
    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
""",
    )

    class Properties(TaskProperties):
        pass

    class Outputs(BaseModel):
        uris: list[str] | None = Field(None, description="The deleted files.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        uris = ctx.execution_files()
        for uri in uris:
            ctx.delete_file(uri)
        return self.Outputs(uris=uris)


class LocalFiles(RunnableTask):
    """Deprecated: use `inputFiles`/`outputFiles` on `WorkingDirectory` (or on script tasks).

    Inside a `WorkingDirectory`, `inputs` creates files `{path: content}` (content may be a
    `kestra://` URI or text) and `outputs` (globs) uploads files to internal storage.

    Output: `uris` — a map from file path to `kestra://` URI, e.g.
    `{{ outputs.files.uris['out/result.txt'] }}`.
    """

    type = "io.kestra.plugin.core.storage.LocalFiles"
    aliases = ("io.kestra.core.tasks.storages.LocalFiles",)
    title = "Local files (deprecated)"
    group = GROUP
    icon = "folder"
    deprecated = "io.kestra.plugin.core.flow.WorkingDirectory"
    examples = (
        """\
id: local_files
namespace: company.team
tasks:
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: create
        type: io.kestra.plugin.core.storage.LocalFiles
        inputs:
          hello.txt: "Hello {{ flow.id }}"
      - id: collect
        type: io.kestra.plugin.core.storage.LocalFiles
        outputs:
          - "*.txt"
""",
    )

    class Properties(TaskProperties):
        inputs: dict[str, str] | str | None = dynamic(
            None, description="Files to create: `{path: content}` or an expression rendering to it."
        )
        outputs: list[str] | None = dynamic(None, description="Glob patterns of files to upload.")

    class Outputs(BaseModel):
        uris: dict[str, str] | None = Field(None, description="Uploaded files: path → `kestra://` URI.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(uris=storage_run.local_files(ctx, props.inputs, props.outputs))


PLUGINS: list[type[Plugin]] = [
    Concat, Split, Size, Delete, Reverse, FilterItems, DeduplicateItems, PurgeCurrentExecutionFiles, LocalFiles,
]
