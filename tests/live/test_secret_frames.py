"""WebSocket frames never carry a secret or a value computed from one (RELIABILITY.md §4 row 18,
docs/adr/0011): the canary flow of tests/secrets/test_masking.py runs on the in-process worker,
then a server process whose masking registry was emptied streams it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from apps.executions.models import Execution
from apps.secrets import masking as secrets_mask
from apps.secrets.masking import MASK
from tests.secrets.test_masking import _run_transformed, assert_no_derived


def test_row18_transformed_secrets_never_reach_websocket_frames(
        make_user: Callable[..., Any], ws: Callable[..., Any], session_headers: Callable[[Any], dict[str, str]],
        settings: Any) -> None:
    from rest_framework.test import APIClient

    from apps.accounts.services import create_token

    settings.WEIR_EXECUTION_WAIT_SECONDS = 60
    root = make_user("root", is_superuser=True, is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(root, 'tests').raw}")
    secrets_mask.reset()
    execution_id = _run_transformed(root, api)
    assert Execution.objects.get(id=execution_id).state == "FAILED"
    secrets_mask.reset()  # the ASGI process learns what it must mask on its own
    sock = ws(f"/ws/v1/executions/{execution_id}", session_headers(root))
    raw: list[str] = []
    while not raw or json.loads(raw[-1])["type"] != "ready":
        raw.append(sock.conn.recv(timeout=20))
    frames = [json.loads(text) for text in raw]
    lines = [line["message"] for f in frames if f["type"] == "logs" for line in f["lines"]]
    for name in ("raw", "b64", "url", "reversed", "upper", "joined", "looped"):
        assert f"{name} {MASK}" in lines, (name, lines)
    runs = {run["taskId"]: run for f in frames if f["type"] == "state" for run in f["taskRuns"]}
    assert runs["out"]["outputs"] == {"value": f"{MASK}|{MASK}|{MASK}"}
    for text in raw:
        assert_no_derived(text, "a WebSocket frame")
    secrets_mask.reset()
