"""A small JSON/YAML HTTP client for the REST API (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 60.0


class ApiError(Exception):
    """The server answered with an error status (or could not be reached: status 0)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Client:
    server: str
    token: str

    def url(self, path: str, query: dict[str, str] | None = None) -> str:
        base = self.server.rstrip("/") + "/" + path.lstrip("/")
        return f"{base}?{urllib.parse.urlencode(query)}" if query else base

    def request(self, method: str, path: str, *, query: dict[str, str] | None = None, body: bytes | None = None,
                content_type: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.url(path, query), data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            data = _json(raw)
            message = data.get("message") if isinstance(data, dict) else None
            raise ApiError(error.code, str(message or raw[:300].decode("utf-8", "replace") or error.reason),
                           data) from error
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(0, f"cannot reach {self.server}: {reason}") from error
        return _json(raw) if raw else None

    def raw(self, method: str, path: str, query: dict[str, str] | None = None) -> bytes:
        """The answer's bytes, not parsed (a zip export)."""
        req = urllib.request.Request(self.url(path, query), method=method,
                                     headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as error:
            body = _json(error.read())
            message = body.get("message") if isinstance(body, dict) else None
            raise ApiError(error.code, str(message or error.reason), body) from error
        except (urllib.error.URLError, OSError) as error:
            raise ApiError(0, f"cannot reach {self.server}: {getattr(error, 'reason', error)}") from error

    def get(self, path: str, query: dict[str, str] | None = None) -> Any:
        return self.request("GET", path, query=query)

    def post_yaml(self, path: str, text: str, query: dict[str, str] | None = None) -> Any:
        return self.request("POST", path, query=query, body=text.encode("utf-8"), content_type="application/x-yaml")

    def post_json(self, path: str, data: Any, query: dict[str, str] | None = None) -> Any:
        return self.request("POST", path, query=query, body=json.dumps(data).encode("utf-8"),
                            content_type="application/json")

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
