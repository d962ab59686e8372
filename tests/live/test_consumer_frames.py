"""The consumers' own frame checks, behind a server that lets big messages through (an ASGI
server without `weir server web`'s `ws_max_size`): an oversized frame gets an error frame and
1009, a frame that is not a JSON object an error frame and 1003."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from apps.cli.devserver import ServerThread, shared_memory_sqlite
from apps.live.limits import CLOSE_BAD_DATA, CLOSE_TOO_BIG, MAX_FRAME_BYTES


@pytest.fixture
def lenient_server(transactional_db: Any) -> Iterator[ServerThread]:
    if shared_memory_sqlite():
        pytest.skip("needs a database the server thread can share: run with DATABASE_URL")
    with ServerThread(ws_max_size=32 * 1024 * 1024) as server:
        yield server


@pytest.mark.parametrize(("frame", "code", "status"), [
    ("x" * (MAX_FRAME_BYTES + 1), CLOSE_TOO_BIG, 413), ("é" * (MAX_FRAME_BYTES // 2 + 1), CLOSE_TOO_BIG, 413),
    (b"\x00" * (10 * 1024 * 1024), CLOSE_TOO_BIG, 413), ("{not json", CLOSE_BAD_DATA, 400),
    ("[]", CLOSE_BAD_DATA, 400), (b"\xff\xfe", CLOSE_BAD_DATA, 400),
], ids=["text", "multibyte", "bytes-10MB", "not-json", "not-an-object", "binary"])
def test_a_bad_frame_gets_an_error_frame_and_a_close_code(lenient_server: ServerThread, writer: Any,
                                                          frame: str | bytes, code: int, status: int) -> None:
    import json

    from apps.accounts.services import create_token

    token = create_token(writer, "t").raw
    with connect(f"{lenient_server.ws_url}/ws/v1/executions?namespace=acme",
                 additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as sock:
        assert json.loads(sock.recv(timeout=20))["type"] == "ready"
        sock.send(frame)
        error = json.loads(sock.recv(timeout=20))
        assert error["type"] == "error" and error["status"] == status and error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            sock.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code
        # The server is fine: a new connection answers a ping.
    with connect(f"{lenient_server.ws_url}/ws/v1/executions",
                 additional_headers={"Authorization": f"Bearer {token}"}) as again:
        assert json.loads(again.recv(timeout=20))["type"] == "ready"
        again.send('{"type": "ping"}')
        assert json.loads(again.recv(timeout=20))["type"] == "pong"
