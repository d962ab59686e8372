"""The core catalog (KESTRA.md §3-4): every type registered with docs and examples, aliases
resolve, examples and Kestra's own valid flows validate through the plugins' models, and the
plugin-level rules reject what Kestra rejects. No Django needed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import plugins.core
from apps.plugins.registry import Registry
from apps.plugins.sdk import ExecutableMixin, FlowableTask, Issue, Plugin, PluginKind


class CoreRegistry(Registry):
    """A registry holding the core package only: no discovery of other plugin packages."""

    def ensure_loaded(self) -> None:
        pass


REGISTRY = CoreRegistry()
for _plugin in plugins.core.PLUGINS:
    REGISTRY.register(_plugin)

CORE = "io.kestra.plugin.core"
FLOWS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "flows"
OUT_OF_SCOPE = ("io.kestra.core.tasks.test.", "io.kestra.core.runners.test.", "io.kestra.plugin.fs.")

EXPECTED: dict[PluginKind, list[str]] = {
    PluginKind.FLOWABLE: [
        f"{CORE}.flow.{n}" for n in (
            "Sequential", "Parallel", "Switch", "If", "ForEach", "EachSequential", "EachParallel", "Dag",
            "AllowFailure", "Pause", "ForEachItem", "WorkingDirectory", "WaitFor", "Template",
        )
    ],
    PluginKind.RUNNABLE: [
        f"{CORE}.flow.Subflow", f"{CORE}.flow.Sleep",
        f"{CORE}.log.Log", f"{CORE}.log.Fetch", f"{CORE}.log.PurgeLogs",
        f"{CORE}.debug.Return", f"{CORE}.debug.Echo",
        *(f"{CORE}.execution.{n}" for n in ("Fail", "Labels", "Resume", "Count", "PurgeExecutions")),
        f"{CORE}.output.OutputValues",
        f"{CORE}.templating.TemplatedTask",
        *(f"{CORE}.kv.{n}" for n in ("Set", "Get", "GetKeys", "Delete")),
        *(f"{CORE}.state.{n}" for n in ("Set", "Get", "Delete")),
        f"{CORE}.http.Request", f"{CORE}.http.Download",
        *(f"{CORE}.namespace.{n}" for n in ("UploadFiles", "DownloadFiles", "DeleteFiles")),
        *(f"{CORE}.storage.{n}" for n in (
            "Concat", "Split", "Size", "Delete", "Reverse", "FilterItems", "DeduplicateItems",
            "PurgeCurrentExecutionFiles", "LocalFiles",
        )),
        f"{CORE}.trigger.Toggle",
    ],
    PluginKind.TRIGGER: [*(f"{CORE}.trigger.{n}" for n in ("Schedule", "ScheduleOnDates", "Flow", "Webhook")),
                         f"{CORE}.http.Trigger"],
    PluginKind.CONDITION: [
        f"{CORE}.condition.{n}" for n in (
            "DateTimeBetween", "DayWeek", "DayWeekInMonth", "Weekend", "TimeBetween", "PublicHoliday",
            "ExecutionFlow", "ExecutionNamespace", "ExecutionStatus", "ExecutionLabels", "ExecutionOutputs",
            "HasRetryAttempt", "Expression", "Not", "Or", "MultipleCondition", "FlowCondition",
            "FlowNamespaceCondition",
        )
    ],
}

ALIASES: dict[str, str] = {
    "io.kestra.core.tasks.flows.ForEach": f"{CORE}.flow.ForEach",
    "io.kestra.core.tasks.flows.If": f"{CORE}.flow.If",
    "io.kestra.core.tasks.flows.Subflow": f"{CORE}.flow.Subflow",
    "io.kestra.core.tasks.flows.Flow": f"{CORE}.flow.Subflow",
    "io.kestra.core.tasks.flows.Worker": f"{CORE}.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.Pause": f"{CORE}.flow.Pause",
    "io.kestra.core.tasks.executions.Fail": f"{CORE}.execution.Fail",
    "io.kestra.core.tasks.executions.Counts": f"{CORE}.execution.Count",
    "io.kestra.core.tasks.storages.Purge": f"{CORE}.execution.PurgeExecutions",
    "io.kestra.core.tasks.log.Log": f"{CORE}.log.Log",
    "io.kestra.core.tasks.log.Fetch": f"{CORE}.log.Fetch",
    "io.kestra.core.tasks.states.Set": f"{CORE}.state.Set",
    "io.kestra.core.tasks.storages.Concat": f"{CORE}.storage.Concat",
    "io.kestra.core.tasks.storages.LocalFiles": f"{CORE}.storage.LocalFiles",
    "io.kestra.core.tasks.storages.PurgeExecution": f"{CORE}.storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.tasks.templating.TemplatedTask": f"{CORE}.templating.TemplatedTask",
    "io.kestra.core.tasks.trigger.Toggle": f"{CORE}.trigger.Toggle",
    "io.kestra.plugin.fs.http.Request": f"{CORE}.http.Request",
    "io.kestra.core.models.triggers.types.Schedule": f"{CORE}.trigger.Schedule",
    "io.kestra.core.models.triggers.types.Flow": f"{CORE}.trigger.Flow",
    "io.kestra.core.models.triggers.types.Webhook": f"{CORE}.trigger.Webhook",
    "io.kestra.core.models.conditions.types.ExecutionFlowCondition": f"{CORE}.condition.ExecutionFlow",
    "io.kestra.core.models.conditions.types.VariableCondition": f"{CORE}.condition.Expression",
    "io.kestra.core.models.conditions.types.MultipleCondition": f"{CORE}.condition.MultipleCondition",
    **{
        f"{CORE}.condition.{name}Condition": f"{CORE}.condition.{name}"
        for name in (
            "Expression", "ExecutionFlow", "ExecutionStatus", "ExecutionNamespace", "ExecutionLabels",
            "ExecutionOutputs", "DateTimeBetween", "DayWeek", "DayWeekInMonth", "Weekend", "TimeBetween", "Not",
            "Or", "HasRetryAttempt", "PublicHoliday",
        )
    },
    **{f"{CORE}.condition.{n}": f"{CORE}.condition.{n}" for n in (
        "MultipleCondition", "FlowCondition", "FlowNamespaceCondition")},
}


@dataclass
class Ctx:
    """The host side of `validate()`, backed by the test registry."""

    flow_namespace: str = "company.team"
    flow_id: str = "flow"

    def kind_of(self, type_name: str) -> PluginKind | None:
        plugin = REGISTRY.get(type_name)
        return plugin.kind if plugin else None


def typed_mappings(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every mapping whose `type` looks like a plugin type (tasks, triggers, conditions, Dag tasks)."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and "." in node["type"]:
            yield path, node
        for key, value in node.items():
            if path == () and key in ("pluginDefaults", "taskDefaults"):
                continue  # `{type, values}` entries, not plugins
            yield from typed_mappings(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from typed_mappings(value, (*path, i))


def problems_of(flow: Any) -> list[str]:
    """Model errors and `validate()` issues of every registered plugin mapping in a flow."""
    out: list[str] = []
    for path, raw in typed_mappings(flow):
        plugin = REGISTRY.get(raw["type"])
        if plugin is None:
            if not raw["type"].startswith(OUT_OF_SCOPE):
                out.append(f"{path}: unknown type {raw['type']}")
            continue
        try:
            props = model(plugin).model_validate(raw)
        except ValidationError as exc:
            out.append(f"{path} ({raw['type']}): {exc}")
            continue
        out += [f"{path}{rel}: {msg}" for rel, msg in plugin.validate(props, raw, Ctx())]
    return out


def get(type_name: str) -> type[Plugin]:
    plugin = REGISTRY.get(type_name)
    assert plugin is not None, type_name
    return plugin


def model(plugin: type[Plugin]) -> Any:
    """The properties model (typed `Any`: the SDK's `type` class attribute shadows `type[...]`)."""
    return plugin.Properties


def accept(type_name: str, raw: dict[str, Any]) -> Any:
    return model(get(type_name)).model_validate(raw)


def issues(type_name: str, raw: dict[str, Any]) -> list[Issue]:
    plugin = get(type_name)
    return list(plugin.validate(model(plugin).model_validate(raw), raw, Ctx()))


ALL: list[type[Plugin]] = REGISTRY.all()


# ---------------------------------------------------------------------------------------------
# Catalog


def test_every_catalog_type_is_registered_with_its_kind() -> None:
    for kind, types in EXPECTED.items():
        for type_name in types:
            plugin = REGISTRY.get(type_name)
            assert plugin is not None, f"{type_name} is not registered"
            assert plugin.type == type_name
            assert plugin.kind == kind, f"{type_name} is {plugin.kind}, expected {kind}"
    expected = {t for types in EXPECTED.values() for t in types}
    assert {p.type for p in ALL} == expected


def test_legacy_names_resolve() -> None:
    for alias, canonical in ALIASES.items():
        assert REGISTRY.canonical(alias) == canonical, alias


def test_core_plugins_load_through_discovery() -> None:
    from apps.plugins.registry import registry

    registry.ensure_loaded()
    assert not [e for e in registry.load_errors if e.startswith("plugins.core")]
    assert all(registry.get(t) is not None for types in EXPECTED.values() for t in types)


@pytest.mark.parametrize("plugin", ALL, ids=lambda p: p.type)
def test_plugin_is_documented(plugin: type[Plugin]) -> None:
    assert plugin.title and plugin.icon
    assert plugin.group == plugin.type.rsplit(".", 1)[0]
    assert plugin.__doc__ and len(plugin.documentation()) > 40
    assert plugin.examples, "needs at least one example"
    base = next(b for b in model(plugin).__mro__[1:] if b.__module__ == "apps.plugins.sdk")
    for field, info in model(plugin).model_fields.items():
        if field not in base.model_fields:
            assert info.description, f"{plugin.type}.{info.alias or field} has no description"
    if plugin.deprecated:
        assert get(plugin.deprecated)


@pytest.mark.parametrize(
    ("plugin", "index"),
    [(p, i) for p in ALL for i in range(len(p.examples))],
    ids=lambda v: getattr(v, "type", str(v)),
)
def test_example_is_a_whole_valid_flow(plugin: type[Plugin], index: int) -> None:
    flow = yaml.safe_load(plugin.examples[index])
    assert isinstance(flow, dict) and flow.get("id") and flow.get("namespace") and flow.get("tasks")
    used = {raw["type"] for _, raw in typed_mappings(flow)}
    assert plugin.type in used, "the example must use the plugin itself"
    assert all(REGISTRY.get(t) is not None for t in used), f"non-core types in {used}"
    assert problems_of(flow) == []


# ---------------------------------------------------------------------------------------------
# Kestra's own flows


VALIDS = sorted(FLOWS.glob("valids/*.y*ml"))


@pytest.mark.skipif(not VALIDS, reason="the conformance corpus is not available")
@pytest.mark.parametrize("path", VALIDS, ids=lambda p: p.name)
def test_conformance_valid_flow_core_tasks_validate(path: Path) -> None:
    assert problems_of(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


@pytest.mark.skipif(not VALIDS, reason="the conformance corpus is not available")
@pytest.mark.parametrize(
    ("name", "path", "message"),
    [
        ("switch-invalid.yaml", (), "No task defined, neither cases or default have any tasks"),
        ("workingdirectory-invalid.yaml", ("tasks", 1),
         "Only runnable tasks are allowed as children of a WorkingDirectory task"),
        ("workingdirectory-no-tasks.yaml", (), "The 'tasks' property cannot be empty"),
    ],
)
def test_conformance_invalid_flow_is_caught_by_the_plugin(name: str, path: tuple[Any, ...], message: str) -> None:
    task = yaml.safe_load((FLOWS / "invalids" / name).read_text(encoding="utf-8"))["tasks"][0]
    assert issues(task["type"], task) == [(path, message)]


# ---------------------------------------------------------------------------------------------
# Plugin rules


def _invalid(type_name: str, raw: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as exc:
        accept(type_name, raw)
    return str(exc.value)


def test_working_directory_children_are_runnable_and_have_no_worker_group() -> None:
    raw: dict[str, Any] = {"id": "w", "type": f"{CORE}.flow.WorkingDirectory", "tasks": [
        {"id": "a", "type": "io.kestra.core.tasks.log.Log", "message": "m"},
        {"id": "b", "type": f"{CORE}.flow.Subflow", "namespace": "n", "flowId": "f"},
        {"id": "c", "type": f"{CORE}.debug.Return", "workerGroup": {"key": "gpu"}},
    ]}
    found = issues(raw["type"], raw)
    assert [p for p, _ in found] == [("tasks", 1), ("tasks", 2, "workerGroup")]
    assert issues(raw["type"], {**raw, "tasks": []}) == [((), "The 'tasks' property cannot be empty")]


def test_schedule_cron_and_timezone() -> None:
    schedule = f"{CORE}.trigger.Schedule"
    base: dict[str, Any] = {"id": "s", "type": schedule}
    for cron in ("0 * * * *", "@daily", "@midnight", "0 9 * * MON-FRI", "0 0 * * 7", "*/5 1-3 1,15 JAN *"):
        accept(schedule, {**base, "cron": cron})
    accept(schedule, {**base, "cron": "*/10 * * * * *", "withSeconds": True})
    accept(schedule, {**base, "cron": "0 0 * * *", "timezone": "Europe/Paris"})
    assert "expected 5 fields" in _invalid(schedule, {**base, "cron": "* * * *"})
    assert "withSeconds" in _invalid(schedule, {**base, "cron": "0 * * * * *"})
    assert "out of range" in _invalid(schedule, {**base, "cron": "61 * * * *"})
    assert "nickname" in _invalid(schedule, {**base, "cron": "@sometimes"})
    assert "unknown time zone" in _invalid(schedule, {**base, "cron": "@daily", "timezone": "Mars/Base"})
    assert "recoverMissedSchedules" in _invalid(schedule, {**base, "cron": "@daily", "recoverMissedSchedules": "SOME"})


def test_webhook_rejects_multiple_condition_and_long_keys() -> None:
    raw: dict[str, Any] = {"id": "w", "type": f"{CORE}.trigger.Webhook", "key": "k", "conditions": [
        {"type": "io.kestra.core.models.conditions.types.MultipleCondition", "id": "m", "conditions": {}},
    ]}
    assert issues(raw["type"], raw) == [(("conditions", 0), "A Webhook trigger cannot use a MultipleCondition")]
    assert "256" in _invalid(raw["type"], {"id": "w", "type": raw["type"], "key": "k" * 257})


def test_system_labels_are_rejected() -> None:
    raw: dict[str, Any] = {"id": "l", "type": f"{CORE}.execution.Labels", "labels": {"system.x": "1", "ok": "2"}}
    assert issues(raw["type"], raw) == [
        (("labels", "system.x"), "System labels can only be set by Kestra itself, offending label: system.x=1"),
    ]
    listed = {**raw, "labels": [{"key": "system.y", "value": "v"}]}
    assert [p for p, _ in issues(raw["type"], listed)] == [("labels", 0)]
    assert issues(raw["type"], {**raw, "labels": "{{ inputs.labels }}"}) == []


def test_typed_properties() -> None:
    assert "KV key" in _invalid(f"{CORE}.kv.Set", {"id": "s", "type": f"{CORE}.kv.Set", "key": "-bad", "value": 1})
    accept(f"{CORE}.kv.Set", {"id": "s", "type": f"{CORE}.kv.Set", "key": "{{ inputs.k }}", "value": 1, "kvType": "JSON"})
    assert "greater than or equal to 0" in _invalid(
        f"{CORE}.flow.ForEach", {"id": "f", "type": f"{CORE}.flow.ForEach", "values": [1], "concurrencyLimit": -1})
    assert "Field required" in _invalid(f"{CORE}.flow.Sleep", {"id": "s", "type": f"{CORE}.flow.Sleep"})
    assert "exactly one" in _invalid(f"{CORE}.storage.Split", {"id": "s", "type": f"{CORE}.storage.Split",
                                                              "from": "kestra:///f", "rows": 1, "bytes": "1MB"})
    assert "zoned ISO-8601" in _invalid(f"{CORE}.execution.Count", {
        "id": "c", "type": f"{CORE}.execution.Count", "startDate": "yesterday", "expression": "{{ true }}"})
    status = f"{CORE}.condition.ExecutionStatus"
    assert accept(status, {"type": status, "in": ["SUCCESS"], "notIn": ["FAILED"]}).in_ == ["SUCCESS"]
    assert "Input should be" in _invalid(status, {"type": status, "in": ["DONE"]})
    day = f"{CORE}.condition.DayWeek"
    assert accept(day, {"type": day, "dayOfWeek": "MONDAY"}).date == "{{ trigger.date }}"


def test_time_windows_reject_fields_of_other_types() -> None:
    flow_trigger = f"{CORE}.trigger.Flow"
    base = {"id": "f", "type": flow_trigger}

    def window(**tw: Any) -> dict[str, Any]:
        return {**base, "preconditions": {"id": "p", "timeWindow": tw, "flows": [{"namespace": "n"}]}}

    accept(flow_trigger, window(type="DAILY_TIME_WINDOW", startTime="06:00:00", endTime="09:00"))
    assert "cannot be used" in _invalid(flow_trigger, window(type="SLIDING_WINDOW", deadline="09:00:00"))
    assert "needs deadline" in _invalid(flow_trigger, window(type="DAILY_TIME_DEADLINE"))
    assert "needs `values`" in _invalid(flow_trigger, {**base, "preconditions": {
        "id": "p", "where": [{"id": "w", "filters": [{"field": "STATE", "type": "IN"}]}]}})


def test_loop_layouts_and_json_string_values() -> None:
    for_each = get(f"{CORE}.flow.ForEach")
    assert issubclass(for_each, FlowableTask)
    assert for_each.graph_layout({"values": [1]}) == "sequential"
    assert for_each.graph_layout({"values": [1], "concurrencyLimit": 0}) == "dynamic"
    raw: dict[str, Any] = {"id": "f", "type": for_each.type, "values": "not json", "tasks": [{"id": "t", "type": "x.Y"}]}
    assert [p for p, _ in issues(for_each.type, raw)] == [("values",)]
    assert issues(for_each.type, {**raw, "values": '["a", "b"]'}) == []
    assert issues(for_each.type, {**raw, "values": "{{ outputs.x.rows }}"}) == []


def test_slots_are_declared_for_children() -> None:
    def slots(type_name: str) -> dict[str, tuple[str, str, bool]]:
        return {s.name: (s.kind.value, s.shape.value, s.required) for s in get(type_name).slots}

    assert slots(f"{CORE}.flow.If")["else"] == ("tasks", "list", False)
    assert slots(f"{CORE}.flow.If")["then"] == ("tasks", "list", True)
    assert slots(f"{CORE}.condition.MultipleCondition")["conditions"] == ("conditions", "condition_map", True)
    assert slots(f"{CORE}.condition.Not")["conditions"] == ("conditions", "list", True)
    assert "scheduleConditions" in slots(f"{CORE}.trigger.Schedule")
    assert "tasks" in slots(f"{CORE}.flow.Pause")
    working_directory = get(f"{CORE}.flow.WorkingDirectory")
    assert issubclass(working_directory, FlowableTask) and working_directory.runs_on_worker
    assert issubclass(get(f"{CORE}.flow.Subflow"), ExecutableMixin)
    assert issubclass(get(f"{CORE}.flow.ForEachItem"), ExecutableMixin)
