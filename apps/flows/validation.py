"""Validation of flow documents: every rule of KESTRA.md §1.2, plus Weir's two extensions.

`validate_source(text)` parses strictly (see `yamlsource`), applies `pluginDefaults`, checks the
flow's own properties, then walks every task, trigger, condition and input, validating each with
its own model so that each problem names its path, line and column and says what is expected.
Nothing here touches the database: the CLI validates without Django.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core.errors import Problem, SourceInvalid
from apps.flows import yamlsource
from apps.flows.inputs import INPUT_MODELS
from apps.flows.pydantic_errors import dynamic_fields, iter_strings, validate_model
from apps.flows.spec import FlowSpec
from apps.flows.yamlsource import Document, Marks, Path
from apps.plugins.registry import Registry, registry
from apps.plugins.sdk import ExecutableMixin, Plugin, PluginKind, SlotKind, SlotShape

TASK_KINDS = (PluginKind.RUNNABLE, PluginKind.FLOWABLE)
DEFAULT_MAX_TASKS = 2000
ALLOWED_SYSTEM_LABELS = frozenset({"system.readOnly"})


@dataclass(frozen=True)
class Options:
    """What validation may depend on beyond the text itself."""

    worker_groups: frozenset[str] = frozenset()
    check_expressions: bool = True
    max_bytes: int = yamlsource.DEFAULT_MAX_BYTES
    max_tasks: int = DEFAULT_MAX_TASKS
    """Tasks a flow may hold, counted at every nesting level (`tasks`, `errors`, `finally`,
    `afterExecution`, listeners and every plugin's child slots); beyond it the walk stops."""


@dataclass
class Result:
    """The outcome of validating one document."""

    document: Document | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    infos: list[Problem] = field(default_factory=list)
    deprecation_paths: list[str] = field(default_factory=list)
    flow: dict[str, Any] | None = None
    """The flow with plugin defaults merged in (None when unreadable)."""
    phase: str = "validation"

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unreadable(self) -> bool:
        """True when some problem means the text is not a readable flow (HTTP 400, not 422)."""
        return any(p.unreadable for p in self.problems)

    @property
    def data(self) -> Any:
        return self.document.data if self.document else None

    def raise_for_problems(self) -> None:
        if self.problems:
            raise SourceInvalid(self.problems, phase=self.phase)


def labels_as_dict(labels: Any) -> dict[str, str]:
    """Flow labels as a map, from either the map or the `[{key, value}]` list form."""
    if isinstance(labels, dict):
        return {str(k): "" if v is None else str(v) for k, v in labels.items()}
    if isinstance(labels, list):
        return {str(i.get("key")): str(i.get("value")) for i in labels if isinstance(i, dict) and "key" in i}
    return {}


def _default_matches(default_type: str, type_name: str, reg: Registry) -> bool:
    if type_name == default_type or type_name.startswith(default_type + "."):
        return True
    canonical = reg.canonical(type_name)
    return canonical is not None and (canonical == default_type or canonical == reg.canonical(default_type))


def _deep_merge(under: Any, over: Any) -> Any:
    """`over` wins; mappings merge recursively."""
    if isinstance(under, dict) and isinstance(over, dict):
        merged = dict(under)
        for key, value in over.items():
            merged[key] = _deep_merge(under.get(key), value) if key in under else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)


def apply_plugin_defaults(data: dict[str, Any], reg: Registry = registry) -> dict[str, Any]:
    """Merge `pluginDefaults` (and the deprecated `taskDefaults`) into every typed mapping.

    Non-forced defaults go under the user's values; forced ones over them. The stored source is
    never rewritten: this returns a new structure.
    """
    defaults = [d for d in (data.get("pluginDefaults") or []) + (data.get("taskDefaults") or [])
                if isinstance(d, dict) and isinstance(d.get("type"), str) and isinstance(d.get("values"), dict)]
    if not defaults:
        return data

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()}
        type_name = out.get("type")
        if isinstance(type_name, str):
            for d in defaults:
                if _default_matches(d["type"], type_name, reg):
                    out = _deep_merge(out, d["values"]) if d.get("forced") else _deep_merge(d["values"], out)
        return out

    result = {k: (v if k in {"pluginDefaults", "taskDefaults", "inputs"} else walk(v)) for k, v in data.items()}
    return result


class _Walker:
    """One validation pass over one flow document."""

    def __init__(self, doc: Document, options: Options, reg: Registry) -> None:
        self.doc = doc
        self.marks: Marks = doc.marks
        self.options = options
        self.reg = reg
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.infos: list[Problem] = []
        self.deprecations: list[str] = []
        self.task_ids: dict[str, list[Path]] = {}
        self.trigger_ids: dict[str, list[Path]] = {}
        self.flow_namespace = ""
        self.flow_id = ""
        self.task_count = 0

    # ValidationContext protocol (for plugin hooks)
    def kind_of(self, type_name: str) -> PluginKind | None:
        plugin = self.reg.get(type_name)
        return plugin.kind if plugin else None

    def problem(self, path: Path, message: str, *, at_key: bool = False, unreadable: bool = False) -> None:
        self.problems.append(self.marks.problem(path, message, at_key=at_key, unreadable=unreadable))

    # -- the flow --------------------------------------------------------------------------

    def flow(self, raw: Any) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.problem((), "a flow must be a YAML mapping with at least `id`, `namespace` and `tasks`",
                         unreadable=True)
            return None
        self.flow_namespace = str(raw.get("namespace") or "")
        self.flow_id = str(raw.get("id") or "")
        self.plugin_defaults(raw)
        data = apply_plugin_defaults(raw, self.reg)
        validate_model(FlowSpec, data, (), self.marks, "the flow", self.problems)
        if not data.get("tasks"):
            self.problem(("tasks",), "must not be empty: a flow needs at least one task in `tasks`")
        self.labels(data.get("labels"))
        for name in ("tasks", "errors", "finally", "afterExecution"):
            self.task_list(data.get(name), (name,))
        for i, listener in enumerate(data.get("listeners") or []):
            if isinstance(listener, dict):
                self.deprecated(("listeners", i), "`listeners` are deprecated: use `errors` or `afterExecution`")
                if not listener.get("tasks"):
                    self.problem(("listeners", i, "tasks"), "must not be empty: a listener needs tasks")
                self.task_list(listener.get("tasks"), ("listeners", i, "tasks"))
                self.condition_list(listener.get("conditions"), ("listeners", i, "conditions"))
        for i, trigger in enumerate(data.get("triggers") or []):
            self.trigger(trigger, ("triggers", i))
        self.inputs(data.get("inputs"))
        self.outputs(data.get("outputs"))
        self.duplicates(self.task_ids, "task")
        self.duplicates(self.trigger_ids, "trigger")
        if data.get("taskDefaults") is not None:
            self.deprecated(("taskDefaults",), "`taskDefaults` is deprecated: use `pluginDefaults`")
        return data

    def plugin_defaults(self, raw: dict[str, Any]) -> None:
        for key in ("pluginDefaults", "taskDefaults"):
            entries = raw.get(key)
            if not isinstance(entries, list):
                continue
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
                    continue
                plugin = self.reg.get(entry["type"])
                values = entry.get("values")
                if plugin is None or not isinstance(values, dict):
                    continue
                known = {f.alias or n for n, f in plugin.Properties.model_fields.items()}
                for prop in values:
                    if prop not in known:
                        self.problem((key, i, "values", prop),
                                     f'unknown property "{prop}" for {plugin.type} in plugin defaults', at_key=True)

    def labels(self, labels: Any) -> None:
        items: Iterable[tuple[Path, str, Any]]
        if isinstance(labels, dict):
            items = ((("labels", k), k, v) for k, v in labels.items())
        elif isinstance(labels, list):
            items = ((("labels", i), str(e.get("key")), e.get("value"))
                     for i, e in enumerate(labels) if isinstance(e, dict))
        else:
            return
        for path, key, value in items:
            if key.startswith("system.") and key not in ALLOWED_SYSTEM_LABELS:
                self.problem(path, "System labels can only be set by Kestra itself, offending label: "
                                   f"{key}={value}", at_key=True)

    def duplicates(self, ids: dict[str, list[Path]], what: str) -> None:
        for ident, paths in ids.items():
            if len(paths) > 1:
                first = yamlsource.format_path(paths[0])
                for path in paths[1:]:
                    self.problem((*path, "id"), f"Duplicate {what} id with name [{ident}]: "
                                                f"ids must be unique in a flow (first used at {first})")

    def deprecated(self, path: Path, message: str) -> None:
        self.warnings.append(self.marks.problem(path, message))
        self.deprecations.append(yamlsource.format_path(path))

    # -- tasks -----------------------------------------------------------------------------

    def task_list(self, items: Any, path: Path) -> None:
        if not isinstance(items, list):
            return
        for i, task in enumerate(items):
            self.task(task, (*path, i))
        self.depends_on_graph(
            [(t.get("id"), t.get("dependsOn"), (*path, i)) for i, t in enumerate(items) if isinstance(t, dict)],
        )

    def resolve(self, raw: Any, path: Path, kinds: Sequence[PluginKind], what: str) -> type[Plugin] | None:
        if not isinstance(raw, dict):
            self.problem(path, f"expected a {what} (a mapping with `id` and `type`), got {type(raw).__name__}")
            return None
        type_name = raw.get("type")
        if not isinstance(type_name, str) or not type_name:
            self.problem(path, f'missing required property "type": every {what} names its plugin type')
            return None
        plugin = self.reg.get(type_name)
        if plugin is None:
            instead = self.reg.mistaken(type_name)
            if instead:
                self.problem((*path, "type"), f"Invalid type: {type_name} does not exist in Kestra; use {instead}",
                             unreadable=True)
                return None
            family = self.reg.missing_family(type_name)
            if family:
                self.problem((*path, "type"), f"Invalid type: {type_name} belongs to Kestra's {family} plugin, "
                             "which Weir does not provide", unreadable=True)
                return None
            near = self.reg.suggest(type_name, kinds)
            hint = f"; did you mean {' or '.join(near)}?" if near else ""
            self.problem((*path, "type"), f"Invalid type: {type_name} is not a known {what} type{hint}",
                         unreadable=True)
            return None
        if plugin.kind not in kinds:
            self.problem((*path, "type"),
                         f"{type_name} is a {plugin.kind.value} plugin, not a {what}"
                         + ("; conditions belong under `triggers[].conditions`"
                            if plugin.kind == PluginKind.CONDITION else ""))
            return None
        if type_name != plugin.type:
            self.infos.append(self.marks.problem((*path, "type"), f"{type_name} is replaced by {plugin.type}"))
        if plugin.deprecated:
            self.deprecated((*path, "type"), f"{plugin.type} is deprecated: use {plugin.deprecated}")
        return plugin

    def task(self, raw: Any, path: Path) -> None:
        self.task_count += 1
        if self.task_count > self.options.max_tasks:
            if self.task_count == self.options.max_tasks + 1:
                self.problem(path, f"too many tasks: a flow may hold at most {self.options.max_tasks} tasks, "
                                   "counted at every nesting level (WEIR_MAX_TASKS), and this is one more; "
                                   "split the flow into subflows")
            return
        plugin = self.resolve(raw, path, TASK_KINDS, "task")
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            self.task_ids.setdefault(raw["id"], []).append(path)
        if plugin is None:
            # Still walk obvious child lists so nested problems and ids are reported.
            for key in ("tasks", "errors", "then", "else", "defaults"):
                self.task_list(raw.get(key) if isinstance(raw, dict) else None, (*path, key))
            return
        self.plugin_body(plugin, raw, path)
        if isinstance(plugin, type) and issubclass(plugin, ExecutableMixin):
            target = plugin.target(raw)
            if target == (self.flow_namespace, self.flow_id):
                self.problem(path, f"Invalid Flow: Recursive call to flow [{target[0]}.{target[1]}]")
        group = raw.get("workerGroup")
        if isinstance(group, dict) and isinstance(group.get("key"), str) \
                and group["key"] not in self.options.worker_groups:
            declared = ", ".join(sorted(self.options.worker_groups)) or "none"
            self.problem((*path, "workerGroup", "key"),
                         f"unknown worker group {group['key']!r}: declared groups are {declared} "
                         "(declare them with WEIR_WORKER_GROUPS)")

    def plugin_body(self, plugin: type[Plugin], raw: dict[str, Any], path: Path) -> None:
        props = validate_model(plugin.Properties, raw, path, self.marks, plugin.type, self.problems)
        reported: list[tuple[str | int, ...]] = []
        for rel, message in plugin.validate(props, raw, self):
            self.problem((*path, *rel), message)
            reported.append(tuple(rel))
        for slot in plugin.slots:
            value = raw.get(slot.name)
            slot_path = (*path, slot.name)
            said = any(not rel or rel[0] == slot.name for rel in reported)
            if slot.required and not value and not said:
                self.problem(slot_path if slot.name in raw else path,
                             f"must not be empty: `{slot.name}` needs at least one "
                             f"{'task' if slot.kind == SlotKind.TASKS else 'condition'}")
            if slot.kind == SlotKind.CONDITIONS:
                if slot.shape == SlotShape.CONDITION_MAP and isinstance(value, dict):
                    for key, cond in value.items():
                        self.condition(cond, (*slot_path, key))
                else:
                    self.condition_list(value, slot_path)
            elif slot.shape == SlotShape.LIST:
                self.task_list(value, slot_path)
            elif slot.shape == SlotShape.MAP and isinstance(value, dict):
                for key, items in value.items():
                    self.task_list(items, (*slot_path, key))
            elif slot.shape == SlotShape.DAG and isinstance(value, list):
                self.dag(value, slot_path)
        if self.options.check_expressions:
            self.expressions(plugin, raw, path)

    def dag(self, entries: list[Any], path: Path) -> None:
        nodes = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("task"), dict):
                self.problem((*path, i), "a Dag entry is a mapping with `task` and optional `dependsOn`")
                continue
            self.task(entry["task"], (*path, i, "task"))
            nodes.append((entry["task"].get("id"), entry.get("dependsOn"), (*path, i)))
        self.depends_on_graph(nodes, owner=path)

    def depends_on_graph(self, nodes: list[tuple[Any, Any, Path]], owner: Path | None = None) -> None:
        """Dag rules for a sibling list: known ids only and no cycle (also Weir's `dependsOn`)."""
        if not any(deps for _, deps, _ in nodes):
            return
        ids = [n for n, _, _ in nodes if isinstance(n, str)]
        known = set(ids)
        edges: dict[str, list[str]] = {}
        for ident, deps, path in nodes:
            if not isinstance(ident, str) or not isinstance(deps, list):
                continue
            for j, dep in enumerate(deps):
                if dep not in known:
                    self.problem((*path, "dependsOn", j), f"Not existing task id in dependency: {dep}")
                elif dep == ident:
                    self.problem((*path, "dependsOn", j), f"Cyclic dependency detected: {ident} depends on itself")
            edges[ident] = [d for d in deps if isinstance(d, str) and d in known and d != ident]
        cycle = _find_cycle(ids, edges)
        if cycle:
            order = {ident: i for i, ident in enumerate(ids)}
            names = ", ".join(sorted(set(cycle), key=order.__getitem__))
            where = owner if owner is not None else next(p for n, _, p in nodes if n == cycle[0])
            self.problem(where, f"Cyclic dependency detected: {names}")

    def expressions(self, plugin: type[Plugin], raw: dict[str, Any], path: Path) -> None:
        from apps.engine.expressions import check_syntax

        for name in dynamic_fields(plugin.Properties):
            if name not in raw:
                continue
            for sub, text in iter_strings(raw[name], (*path, name)):
                if "{" not in text:
                    continue
                for issue in check_syntax(text):
                    # A warning, not an error: Kestra saves such flows and fails the task at
                    # render time (conformance: flowable-with-parent-fail). docs/adr/0004.
                    self.warnings.append(self.marks.problem(sub, issue.message))

    # -- triggers, conditions --------------------------------------------------------------

    def trigger(self, raw: Any, path: Path) -> None:
        plugin = self.resolve(raw, path, (PluginKind.TRIGGER,), "trigger")
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            self.trigger_ids.setdefault(raw["id"], []).append(path)
        if plugin is not None:
            self.plugin_body(plugin, raw, path)

    def condition_list(self, items: Any, path: Path) -> None:
        if isinstance(items, list):
            for i, cond in enumerate(items):
                self.condition(cond, (*path, i))

    def condition(self, raw: Any, path: Path) -> None:
        plugin = self.resolve(raw, path, (PluginKind.CONDITION,), "condition")
        if plugin is not None:
            self.plugin_body(plugin, raw, path)

    # -- inputs and outputs ----------------------------------------------------------------

    def inputs(self, inputs: Any) -> None:
        if not isinstance(inputs, list):
            return
        seen: dict[str, Path] = {}
        deps: dict[str, list[str]] = {}
        for i, raw in enumerate(inputs):
            path: Path = ("inputs", i)
            if not isinstance(raw, dict):
                self.problem(path, "an input is a mapping with `id` and `type`")
                continue
            kind = raw.get("type")
            model = INPUT_MODELS.get(kind) if isinstance(kind, str) else None
            if model is None:
                expected = ", ".join(sorted(INPUT_MODELS))
                self.problem((*path, "type") if "type" in raw else path,
                             f"Invalid type: {kind if kind is not None else 'null'}; an input type is one of {expected}",
                             unreadable=True)
            else:
                validate_model(model, raw, path, self.marks, f"a {kind} input", self.problems)
            ident = raw.get("id") or raw.get("name")
            if "name" in raw and "id" not in raw:
                self.deprecated((*path, "name"), "input `name` is deprecated: use `id`")
            if not isinstance(ident, str):
                continue
            if ident in seen:
                self.problem((*path, "id"), f"Duplicate input with name [{ident}]: input ids must be unique")
            seen[ident] = path
            depends = raw.get("dependsOn")
            if isinstance(depends, dict) and isinstance(depends.get("inputs"), list):
                deps[ident] = [str(d) for d in depends["inputs"]]
        for ident, wanted in deps.items():
            for j, dep in enumerate(wanted):
                if dep not in seen:
                    self.problem((*seen[ident], "dependsOn", "inputs", j),
                                 f"input '{ident}' depends on '{dep}', which is not an input of this flow")
        cycle = _find_cycle(list(deps), {k: [d for d in v if d in seen] for k, v in deps.items()})
        if cycle:
            self.problem(seen[cycle[0]], "cyclic dependency between inputs: " + " -> ".join([*cycle, cycle[0]]))

    def outputs(self, outputs: Any) -> None:
        if not isinstance(outputs, list):
            return
        seen: set[str] = set()
        for i, raw in enumerate(outputs):
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                if raw["id"] in seen:
                    self.problem(("outputs", i, "id"), f"Duplicate output with name [{raw['id']}]")
                seen.add(raw["id"])
                if self.options.check_expressions and isinstance(raw.get("value"), str):
                    from apps.engine.expressions import check_syntax

                    for issue in check_syntax(raw["value"]):
                        self.warnings.append(self.marks.problem(("outputs", i, "value"), issue.message))


def _find_cycle(order: list[str], edges: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle in a dependency graph (as the list of its nodes), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in order:
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def validate_document(doc: Document, options: Options = Options(), reg: Registry = registry) -> Result:
    """Validate one parsed document."""
    walker = _Walker(doc, options, reg)
    flow = walker.flow(doc.data)
    walker.problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return Result(document=doc, problems=walker.problems, warnings=walker.warnings, infos=walker.infos,
                  deprecation_paths=walker.deprecations, flow=flow)


def validate_source(source: str, options: Options = Options(), reg: Registry = registry) -> Result:
    """Parse and validate one flow. Raises `SourceTooLarge`; parse errors come back as problems."""
    try:
        doc = yamlsource.load(source, limit=options.max_bytes)
    except SourceInvalid as exc:
        return Result(document=None, problems=exc.problems, phase="parse")
    return validate_document(doc, options, reg)


def validate_stream(source: str, options: Options = Options(), reg: Registry = registry) -> list[Result]:
    """Validate a `---`-separated stream of flows; one result per document."""
    out: list[Result] = []
    for item in yamlsource.load_all(source, limit=options.max_bytes):
        if isinstance(item, SourceInvalid):
            out.append(Result(document=None, problems=item.problems, phase="parse"))
        else:
            out.append(validate_document(item, options, reg))
    return out
