"""WEIR_LOG_FORMAT=json: every line a process logs is one JSON object."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from apps.core.logformat import JsonFormatter, logging_config
from tests.ops import opskit

SCRIPT = """
import logging, django
django.setup()
log = logging.getLogger("weir.test")
log.info("hello %s", "world", extra={"execution_id": "e1"})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("it broke")
"""


def test_a_process_logs_json_lines() -> None:
    env = opskit.server_env(WEIR_LOG_FORMAT="json", WEIR_LOG_LEVEL="INFO")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=opskit.ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    hello, broke = lines[-2], lines[-1]
    assert hello["message"] == "hello world"
    assert hello["level"] == "INFO" and hello["logger"] == "weir.test"
    assert hello["execution_id"] == "e1"
    assert hello["time"].endswith("+00:00")
    assert broke["level"] == "ERROR"
    assert "ZeroDivisionError" in broke["exception"]


def test_text_stays_the_default() -> None:
    env = opskit.server_env(WEIR_LOG_LEVEL="INFO")
    env.pop("WEIR_LOG_FORMAT", None)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=opskit.ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert "INFO weir.test hello world" in done.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(done.stderr.splitlines()[0])


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="WEIR_LOG_FORMAT='xml' is not a log format"):
        logging_config("xml", "INFO")


def test_values_that_are_not_json_are_kept_as_text() -> None:
    record = logging.LogRecord("weir", logging.WARNING, __file__, 1, "m", None, None)
    record.thing = object()
    data = json.loads(JsonFormatter().format(record))
    assert data["thing"].startswith("<object object")
