"""Namespaces as objects: implicit creation, inheritance of variables and plugin defaults,
allowed namespaces for subflows, the tree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.flows import services as flows
from apps.flows.validation import apply_plugin_defaults
from apps.namespaces import services
from apps.namespaces.models import Binding, Namespace, Role

FLOW = "id: f\nnamespace: {ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


@pytest.mark.django_db
def test_saving_a_flow_creates_its_namespace_and_ancestors(writer: Any) -> None:
    flows.create_flow(writer, FLOW.format(ns="company.team.data"))
    assert list(Namespace.objects.values_list("name", flat=True)) == ["company", "company.team",
                                                                      "company.team.data"]
    flows.create_flow(writer, FLOW.format(ns="company.team.data").replace("id: f", "id: g"))
    assert Namespace.objects.count() == 3


@pytest.mark.django_db
def test_variables_merge_root_to_leaf() -> None:
    Namespace.objects.create(name="acme", variables={"env": "prod", "region": "eu", "team": "all"})
    Namespace.objects.create(name="acme.data", variables={"team": "data"})
    Namespace.objects.create(name="acme.data.etl", variables={"region": "us"})
    assert services.variables_for("acme.data.etl") == {"env": "prod", "region": "us", "team": "data"}
    assert services.variables_for("acme.data.etl.deeper") == {"env": "prod", "region": "us", "team": "data"}
    assert services.variables_for("acmex") == {}


@pytest.mark.django_db
def test_plugin_defaults_nearest_first_and_forced_root_wins() -> None:
    log = "io.kestra.plugin.core.log.Log"
    Namespace.objects.create(name="acme", plugin_defaults=[
        {"type": log, "values": {"level": "WARN", "message": "root"}},
        {"type": log, "values": {"level": "ERROR"}, "forced": True}])
    Namespace.objects.create(name="acme.data", plugin_defaults=[{"type": log, "values": {"message": "leaf"}}])
    defaults = services.defaults_for("acme.data")
    assert [d["values"] for d in defaults] == [{"message": "leaf"}, {"level": "WARN", "message": "root"},
                                               {"level": "ERROR"}]
    flow = {"id": "f", "namespace": "acme.data", "tasks": [{"id": "t", "type": log}],
            "pluginDefaults": defaults}
    task = apply_plugin_defaults(flow)["tasks"][0]
    assert task["message"] == "leaf" and task["level"] == "ERROR"


@pytest.mark.django_db
@pytest.mark.parametrize(("caller", "target", "allowed"), [
    ("acme.sales", "acme.ops", False), ("acme", "acme.ops.deep", True), ("other", "acme.ops", False),
    ("partner.x", "acme.ops", True), ("partner", "acme.ops", True), ("partnerx", "acme.ops", False),
    ("anyone", "open.api", True),
], ids=["same-tree", "same-root", "other-tree", "allowed-child", "allowed-self", "lookalike", "star"])
def test_a_flow_reaches_another_namespace_only_where_it_is_listed(caller: str, target: str, allowed: bool) -> None:
    from apps.namespaces import reach

    reach.forget()
    Namespace.objects.create(name="acme", allowed_namespaces=["partner"])
    Namespace.objects.create(name="open", allowed_namespaces=["*"])
    assert reach.reach(caller, target, reach.Access.READ).allowed is allowed


@pytest.mark.django_db
def test_the_tree_shows_readable_namespaces_under_their_nearest_readable_ancestor(
        make_user: Callable[..., Any]) -> None:
    for name in ("acme", "acme.a", "acme.a.b", "acme.c", "zeta"):
        Namespace.objects.create(name=name)
    user = make_user("u")
    Binding.objects.create(user=user, namespace="acme.a", role=Role.READ)
    Binding.objects.create(user=user, namespace="zeta", role=Role.READ)
    roots = services.tree(user)
    assert [r.namespace.name for r in roots] == ["acme.a", "zeta"]
    assert [c.namespace.name for c in roots[0].children] == ["acme.a.b"]
