"""Log formats: plain text for people, one JSON object per line (`WEIR_LOG_FORMAT=json`) for
log collectors (Loki, Elasticsearch, CloudWatch), which then need no parsing rules.

A JSON line has `time` (UTC, ISO 8601), `level`, `logger`, `message`, `process`, `thread`, and
`exception` (the formatted traceback) when there is one; values passed with `extra=` that are
JSON-serialisable are kept as top-level keys.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        for key, value in vars(record).items():
            if key in _STANDARD or key in data or key.startswith("_"):
                continue
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                value = repr(value)
            data[key] = value
        return json.dumps(data, ensure_ascii=False)


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for `WEIR_LOG_FORMAT` (text or json) and `WEIR_LOG_LEVEL`."""
    if fmt not in FORMATS:
        raise ValueError(f"WEIR_LOG_FORMAT={fmt!r} is not a log format (use text or json)")
    formatter: dict[str, Any] = ({"()": "apps.core.logformat.JsonFormatter"} if fmt == "json"
                                 else {"format": TEXT})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"weir": formatter},
        "filters": {
            "mask_secrets": {"()": "apps.secrets.logmask.MaskSecrets"},
            "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "weir", "filters": ["mask_secrets"]},
            "mail_admins": {"level": "ERROR", "class": "apps.secrets.logmask.MaskingAdminEmailHandler",
                            "filters": ["require_debug_false", "mask_secrets"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django": {"handlers": ["mail_admins"], "level": "INFO"},
                    "django.request": {"level": "ERROR"}},
    }
