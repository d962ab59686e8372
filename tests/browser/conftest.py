"""Browser fixtures: a real ASGI server (HTTP + WebSockets) with an in-process worker, and a
logged-in Playwright page on Debian's Chromium.

- `asgi_server`: uvicorn serving `config.asgi` in a thread (apps/cli/devserver.py) against the
  test database, with a worker that runs executions in this process (not eager: they run while
  the page watches). Its `.url` is the base URL.
- `page`: a Chromium page logged in as `admin` (a superuser); JavaScript errors fail the test.
- `artifacts`: var/artifacts/<test name>/ for screenshots (var/ is git-ignored).

Playwright's sync API keeps an event loop in the test thread while the browser is open, which
makes Django refuse synchronous queries there; the test thread never runs async code itself,
so `page` allows them for the duration of the test.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.cli.devserver import (
    ServerThread,
    remove_sqlite_files,
    shared_memory_sqlite,
    start_worker,
    stop_worker,
    use_file_sqlite_for_tests,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
USERNAME, PASSWORD = "admin", "password"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests need the built front end and Chromium: say so loudly instead of failing."""
    built = Path(settings.WEIR_FRONTEND_MANIFEST).exists()
    chromium = Path(CHROMIUM).exists()
    for item in items:
        if "tests/browser/" not in str(item.fspath).replace("\\", "/"):
            continue
        if not built:
            item.add_marker(pytest.mark.skip(reason="front end not built: cd frontend && npm run build"))
        elif not chromium:
            item.add_marker(pytest.mark.skip(reason="needs Chromium (apt-get install -y chromium)"))


def settle(timeout: float = 60.0) -> None:
    """Wait until no execution is running (kill leftovers), so the flush meets no writer."""
    import time

    from apps.engine.states import TERMINATED
    from apps.executions import services
    from apps.executions.models import Execution

    running = Execution.objects.exclude(state__in=[s.value for s in TERMINATED])
    for row in running.exclude(state="KILLING"):
        with contextlib.suppress(Exception):  # already ending: waiting below is enough
            services.kill(row.id)
    deadline = time.monotonic() + timeout
    while running.exists() and time.monotonic() < deadline:
        time.sleep(0.05)



@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    """A file-based SQLite test database when these tests run on their own (see devserver)."""
    path = use_file_sqlite_for_tests()
    yield
    remove_sqlite_files(path)

@pytest.fixture
def asgi_server(transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerThread]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if shared_memory_sqlite():
        pytest.skip("the test database is SQLite in memory (set up by another directory's tests): run this "
                    "directory on its own, or with DATABASE_URL")
    start_worker()
    try:
        with ServerThread() as server:
            yield server
            settle()
    finally:
        stop_worker()


@pytest.fixture
def admin(asgi_server: ServerThread, django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser(username=USERNAME, password=PASSWORD, email="")


@pytest.fixture
def browser(asgi_server: ServerThread) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, asgi_server: ServerThread, admin: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Shown by pytest only when the test fails: what the page said and what it could not load.
    page.on("console", lambda m: print(f"console {m.type}: {m.text}"))
    page.on("requestfailed", lambda r: print(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and print(f"HTTP {r.status}: {r.url}"))
    page.on("websocket", lambda ws: ws.on("close", lambda _: print(f"websocket closed: {ws.url}")))
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{asgi_server.url}/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{asgi_server.url}/")
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    path: Path = Path(settings.BASE_DIR) / "var" / "artifacts" / str(request.node.name).replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path
