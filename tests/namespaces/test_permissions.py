"""can() / visible() on real bindings: roles, dotted inheritance, groups, superusers, caching."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.flows.models import Flow
from apps.namespaces.models import Binding, Namespace, Role
from apps.namespaces.permissions import Action, can, compact, is_child_namespace, visible

ACTIONS = list(Action)


@pytest.mark.parametrize(("namespace", "ancestor", "covered"), [
    ("prod", "prod", True), ("prod.x", "prod", True), ("prod.x.y", "prod", True), ("prodx", "prod", False),
    ("prod", "prod.x", False), ("pro", "prod", False), ("anything", "", True),
], ids=["self", "child", "grandchild", "lookalike", "parent", "prefix-of", "global"])
def test_dotted_segments(namespace: str, ancestor: str, covered: bool) -> None:
    assert is_child_namespace(namespace, ancestor) is covered


def test_compact_drops_covered_prefixes() -> None:
    assert compact({"prod", "prod.x", "prodx", "dev.a", "dev.a.b"}) == ["dev.a", "prod", "prodx"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role.names), ids=list(Role.names))
def test_each_role_includes_the_lower_ones_in_its_subtree_only(make_user: Callable[..., Any], role: str) -> None:
    user = make_user("u")
    Binding.objects.create(user=user, namespace="prod", role=Role[role])
    for i, action in enumerate(ACTIONS, start=1):
        assert can(user, action, "prod") is (i <= Role[role])
        assert can(user, action, "prod.team.x") is (i <= Role[role])
        assert not can(user, action, "prodx")
        assert not can(user, action, "dev")


@pytest.mark.django_db
def test_a_child_binding_does_not_reach_the_parent(make_user: Callable[..., Any]) -> None:
    user = make_user("u")
    Binding.objects.create(user=user, namespace="prod.team", role=Role.OWNER)
    assert can(user, Action.OWNER, "prod.team.a") and not can(user, Action.READ, "prod")


@pytest.mark.django_db
def test_group_bindings_count_and_the_highest_role_wins(make_user: Callable[..., Any]) -> None:
    user = make_user("u")
    crew = Group.objects.create(name="crew")
    Binding.objects.create(user=user, namespace="prod", role=Role.READ)
    Binding.objects.create(group=crew, namespace="prod.app", role=Role.WRITE)
    assert not can(user, Action.WRITE, "prod.app")
    user.groups.add(crew)  # the m2m signal forgets the grants cached on `user`
    assert can(user, Action.WRITE, "prod.app") and not can(user, Action.WRITE, "prod")
    user.groups.remove(crew)
    assert not can(user, Action.WRITE, "prod.app")


@pytest.mark.django_db
def test_superusers_hold_everything_and_anonymous_or_inactive_nothing(make_user: Callable[..., Any]) -> None:
    from django.contrib.auth.models import AnonymousUser

    root = make_user("root", is_superuser=True)
    gone = make_user("gone", is_active=False)
    Binding.objects.create(user=gone, namespace="", role=Role.OWNER)
    assert all(can(root, a, "x.y") for a in ACTIONS)
    assert not any(can(u, Action.READ, "x") for u in (AnonymousUser(), gone, None))


@pytest.mark.django_db
def test_a_binding_change_is_seen_at_once(make_user: Callable[..., Any]) -> None:
    user = make_user("u")
    assert not can(user, Action.READ, "prod")
    row = Binding.objects.create(user=user, namespace="prod", role=Role.READ)
    assert can(user, Action.READ, "prod")
    row.delete()
    assert not can(user, Action.READ, "prod")


def _flows(*namespaces: str) -> None:
    """Flows written as `flows.services` writes them: with Namespace rows for their namespaces."""
    from apps.namespaces.services import ensure_namespace

    Flow.objects.bulk_create([Flow(namespace=ns, flow_id="f", revision=1, source="") for ns in namespaces])
    for ns in namespaces:
        ensure_namespace(ns)


@pytest.mark.django_db
def test_visible_is_one_query_and_honours_segments(make_user: Callable[..., Any]) -> None:
    _flows("prod", "prod.x", "prodx", "dev", "dev.a", "ops")
    user = make_user("u")
    Binding.objects.create(user=user, namespace="prod", role=Role.READ)
    Binding.objects.create(user=user, namespace="dev.a", role=Role.WRITE)
    Binding.objects.create(user=user, namespace="prod.x", role=Role.OWNER)
    with CaptureQueriesContext(connection) as queries:
        names = sorted(visible(Flow.objects.all(), user, Action.READ).values_list("namespace", flat=True))
    assert names == ["dev.a", "prod", "prod.x"]
    assert len(queries) == 2  # the grants, then the filtered list
    assert sorted(visible(Flow.objects.all(), user, Action.WRITE).values_list("namespace", flat=True)) == \
        ["dev.a", "prod.x"]
    assert visible(Flow.objects.all(), make_user("nobody"), Action.READ).count() == 0


@pytest.mark.django_db
def test_like_wildcards_in_a_binding_match_literally(make_user: Callable[..., Any]) -> None:
    """`_` and `%` are LIKE wildcards: a binding on `a_b` must not reach `axb`."""
    _flows("a_b", "a_b.c", "axb", "axb.c", "a%")
    user = make_user("u")
    Binding.objects.create(user=user, namespace="a_b", role=Role.READ)
    assert sorted(visible(Flow.objects.all(), user).values_list("namespace", flat=True)) == ["a_b", "a_b.c"]
    assert sorted(visible(Namespace.objects.all(), user, field="name").values_list("name", flat=True)) == \
        ["a_b", "a_b.c"]


@pytest.mark.django_db
def test_tables_without_namespace_rows_filter_by_prefix(make_user: Callable[..., Any]) -> None:
    """Audit events (and other tables) may name namespaces that have no row: `prefix_q` path."""
    from apps.audit.models import AuditEvent

    user = make_user("u")
    Binding.objects.create(user=user, namespace="prod", role=Role.READ)
    for ns in ("prod", "prod.x", "prodx", "dev"):
        AuditEvent.objects.create(actor=user, actor_name="u", action="x", namespace=ns, target_type="t",
                                  target_id="1")
    assert not Namespace.objects.exists()
    got = sorted(visible(AuditEvent.objects.all(), user).values_list("namespace", flat=True))
    assert got == ["prod", "prod.x"]


@pytest.mark.django_db
def test_a_tenant_wide_binding_sees_everything(make_user: Callable[..., Any]) -> None:
    _flows("a", "b.c")
    user = make_user("u")
    Binding.objects.create(user=user, namespace="", role=Role.READ)
    Binding.objects.create(user=user, namespace="a", role=Role.OWNER)
    assert visible(Flow.objects.all(), user).count() == 2
    assert list(visible(Flow.objects.all(), user, Action.OWNER).values_list("namespace", flat=True)) == ["a"]
