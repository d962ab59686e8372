"""Shared fixtures: personas, API clients, and the real-services policy.

PostgreSQL and Redis are used for real when DATABASE_URL / REDIS_URL point at them (CI does).
A test marked `postgres` or `redis` that lacks its service fails when CI=true and is skipped
otherwise, with a loud line in the summary.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
_skipped_for_services: list[str] = []


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def on_postgres() -> bool:
    from django.conf import settings

    if not settings.configured:
        return False
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def redis_available() -> bool:
    url = os.environ.get("REDIS_URL", "")
    return bool(url) and _reachable(url, 6379)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs = {"postgres": on_postgres(), "redis": redis_available()}
    for item in items:
        for marker, available in needs.items():
            if item.get_closest_marker(marker) and not available:
                reason = f"needs {marker} (set {'DATABASE_URL' if marker == 'postgres' else 'REDIS_URL'})"
                if IN_CI:
                    item.add_marker(pytest.mark.xfail(reason=f"CI: {reason}", strict=True, run=False))
                    item.add_marker(pytest.mark.usefixtures("_fail_missing_service"))
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))
                    _skipped_for_services.append(item.nodeid)


@pytest.fixture
def _fail_missing_service(request: pytest.FixtureRequest) -> None:
    pytest.fail("a required service (PostgreSQL/Redis) is missing while CI=true")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from django.conf import settings

    if not settings.configured:
        return
    db = settings.DATABASES["default"]
    terminalreporter.write_line(f"weir: database backend {db['ENGINE'].rsplit('.', 1)[-1]}"
                                f"{' (' + str(db.get('HOST')) + ')' if db.get('HOST') else ''}; "
                                f"redis {'yes' if redis_available() else 'no'}")
    if _skipped_for_services:
        terminalreporter.write_line("!" * 78, red=True, bold=True)
        terminalreporter.write_line(f"!!! {len(_skipped_for_services)} test(s) SKIPPED: PostgreSQL/Redis not "
                                    "configured (DATABASE_URL, REDIS_URL)", red=True, bold=True)
        terminalreporter.write_line("!" * 78, red=True, bold=True)


@pytest.fixture(autouse=True)
def _fresh_flow_cache() -> Any:
    """Compiled flows are cached per (namespace, id, revision); a flushed test database reuses
    those keys for other sources, so every test starts with an empty cache."""
    from apps.executions.runtime import runner
    from apps.triggers import sync

    runner.clear_compiled()
    sync.forget()  # trigger rows are reconciled from the flows: a new database starts over
    yield
    runner.clear_compiled()
    sync.forget()


@pytest.fixture(autouse=True)
def _fresh_grants() -> Any:
    """Role grants are cached per user id; a rolled-back test database reuses ids, so every
    test starts with an empty cache."""
    from apps.namespaces.permissions import bump_generation

    bump_generation()
    yield
    bump_generation()


@pytest.fixture(autouse=True)
def _fresh_listings() -> Any:
    """A flow's reach caches allowedNamespaces per namespace for a few seconds; a rolled-back
    test database would leave listings behind, so every test starts with none."""
    from apps.namespaces import reach

    reach.forget()
    yield
    reach.forget()


@pytest.fixture
def make_user(db: Any, django_user_model: Any) -> Callable[..., Any]:
    def make(username: str, **extra: Any) -> Any:
        return django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    return make


def bind(user: Any, role: str, namespace: str = "") -> Any:
    """Grant `role` (READ/EXECUTE/WRITE/OWNER) on `namespace` and its children; "" = every namespace."""
    from apps.namespaces.models import Binding, Role

    Binding.objects.create(user=user, namespace=namespace, role=Role[role])
    return user


# The general-purpose personas hold their role on every namespace (a tenant-wide binding), so
# tests about other things need no set-up; the RBAC tests (tests/rbac) bind on one namespace.
@pytest.fixture
def owner(make_user: Callable[..., Any]) -> Any:
    return bind(make_user("olivia"), "OWNER")


@pytest.fixture
def writer(make_user: Callable[..., Any]) -> Any:
    return bind(make_user("wes"), "WRITE")


@pytest.fixture
def reader(make_user: Callable[..., Any]) -> Any:
    """Reads and runs (EXECUTE): the execution pages' tests open the execute form as this persona."""
    return bind(make_user("rita"), "EXECUTE")


@pytest.fixture
def viewer(make_user: Callable[..., Any]) -> Any:
    """READ only, everywhere."""
    return bind(make_user("vera"), "READ")


@pytest.fixture
def outsider(make_user: Callable[..., Any]) -> Any:
    return make_user("otto")


@pytest.fixture
def api(writer: Any) -> Any:
    """An API client authenticated with a real bearer token of `writer`."""
    from rest_framework.test import APIClient

    from apps.accounts.services import create_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(writer, 'tests').raw}")
    return client


@pytest.fixture
def anon() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def post_yaml() -> Callable[..., Any]:
    """`post_yaml(client, url, text, **headers)`: send a YAML body as Kestra clients do."""
    def send(client: Any, url: str, text: str, method: str = "POST", **extra: Any) -> Any:
        return client.generic(method, url, text.encode(), content_type="application/x-yaml", **extra)
    return send
