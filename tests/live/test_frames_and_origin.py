"""RELIABILITY.md §4 rows 35 and 37 against a real server: the handshake's Origin rule
(docs/adr/0014) and bad client input (bad `after`, non-JSON, oversized frames): an error frame
and a clean close, no background work left behind, the server healthy afterwards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.executions import services as ex_services
from apps.flows import services as flow_services
from apps.live import publish
from apps.live.limits import CLOSE_BAD_DATA, CLOSE_TOO_BIG, MAX_FRAME_BYTES

FLOW = """\
id: quiet
namespace: acme.live
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hello
"""


@pytest.fixture
def execution_id(writer: Any) -> str:
    """An execution to subscribe to; whether it has run does not matter to these tests (no worker
    serves them, so waiting for its end would only spend a minute per test)."""
    flow_services.create_flow(writer, FLOW)
    return str(ex_services.create_execution("acme.live", "quiet").id)


def _closed_with(sock: Any) -> int:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            sock.conn.recv(timeout=20)
    assert closed.value.rcvd is not None, "the server did not send a close frame"
    return int(closed.value.rcvd.code)


def _pumps() -> int:
    """Execution consumers' background tasks still alive on the server's loop."""
    loop = publish._consumer_loop
    if loop is None:
        return 0

    async def count() -> int:
        return sum(1 for task in asyncio.all_tasks()
                   if getattr(task.get_coro(), "__qualname__", "") == "ExecutionConsumer._pump")
    return asyncio.run_coroutine_threadsafe(count(), loop).result(10)


def _no_pumps_left(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _pumps():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_row35_a_foreign_origin_is_refused_even_with_a_valid_session(
        execution_id: str, writer: Any, ws: Callable[..., Any],
        session_headers: Callable[[Any], dict[str, str]]) -> None:
    for origin in ("https://evil.example", "null", "http://127.0.0.1.evil.example"):
        with pytest.raises(InvalidStatus) as refused:
            ws(f"/ws/v1/executions/{execution_id}", {**session_headers(writer), "Origin": origin})
        assert refused.value.response.status_code == 403, origin
    assert ws(f"/ws/v1/executions/{execution_id}", session_headers(writer)).frame()["type"] == "state"


def test_row35_no_origin_needs_an_api_token_and_never_uses_the_session(
        execution_id: str, writer: Any, ws: Callable[..., Any],
        session_headers: Callable[[Any], dict[str, str]]) -> None:
    from apps.accounts.services import create_token

    cookie_only = {"Cookie": session_headers(writer)["Cookie"]}
    for headers in (cookie_only, {}):
        with pytest.raises(InvalidStatus) as refused:
            ws(f"/ws/v1/executions/{execution_id}", headers)
        assert refused.value.response.status_code == 403
    raw = create_token(writer, "script").raw
    assert ws(f"/ws/v1/executions/{execution_id}", {"Authorization": f"Bearer {raw}"}).frame()["type"] == "state"
    # A bad token with the session cookie: the token decides, so the cookie does not log it in.
    frame = ws(f"/ws/v1/executions/{execution_id}", {**cookie_only, "Authorization": "Bearer nope"}).frame()
    assert (frame["type"], frame["status"]) == ("error", 401)


@pytest.mark.parametrize("after", ["-1", "9e99", "99999999999999999999999", "1.5", "\u00b2", "0x10"])
def test_row37_a_bad_after_is_an_error_frame_and_a_close(
        execution_id: str, writer: Any, ws: Callable[..., Any],
        session_headers: Callable[[Any], dict[str, str]], after: str) -> None:
    from urllib.parse import quote

    sock = ws(f"/ws/v1/executions/{execution_id}?after={quote(after)}", session_headers(writer))
    frame = sock.frame()
    assert (frame["type"], frame["status"]) == ("error", 400) and "after=" in frame["message"]
    assert _closed_with(sock) == 4400


def test_row37_non_json_and_oversized_frames_close_cleanly_and_leave_nothing_running(
        execution_id: str, writer: Any, ws: Callable[..., Any],
        session_headers: Callable[[Any], dict[str, str]]) -> None:
    headers = session_headers(writer)
    for bad in ("not json", "[1, 2]", '"ping"', b"\x00\xff binary"):
        sock = ws(f"/ws/v1/executions/{execution_id}", headers)
        sock.until(lambda f: f["type"] == "ready")
        assert _pumps() >= 1  # the connection's background work is running
        sock.conn.send(bad)
        frame = sock.frame()
        assert (frame["type"], frame["status"]) == ("error", 400) and "JSON" in frame["message"], bad
        assert _closed_with(sock) == CLOSE_BAD_DATA
        assert _no_pumps_left(), f"a consumer task outlived its socket after {bad!r}"

    for size in (MAX_FRAME_BYTES + 1, 10 * 1024 * 1024):
        sock = ws(f"/ws/v1/executions/{execution_id}", headers)
        sock.until(lambda f: f["type"] == "ready")
        sock.conn.send("x" * size)
        assert _closed_with(sock) == CLOSE_TOO_BIG
        assert _no_pumps_left(), f"a consumer task outlived its socket after a {size}-byte frame"

    healthy = ws(f"/ws/v1/executions/{execution_id}", headers)
    frames = healthy.until(lambda f: f["type"] == "ready")
    assert frames[0]["type"] == "state" and frames[0]["execution"]["id"] == execution_id
    healthy.conn.send('{"type": "ping"}')
    assert healthy.frame()["type"] == "pong"
    healthy.close()
    assert _no_pumps_left()
