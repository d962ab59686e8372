"""HTTP for plugins, through the egress policy: every hop checked, every connection pinned.

`send()` opens a request with httpx without following redirects itself: each hop's URL goes
through `egress.resolve()`, and the connection goes to the checked address (the URL carries the
IP; the Host header and the TLS server name carry the original host, so certificates are still
verified against the name). A redirect is then followed by hand, up to `MAX_REDIRECTS`, with the
same check. The response is returned unread, so callers stream it (Download) or cap it (Request).
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from apps.plugins.egress import EgressDenied, resolve

MAX_REDIRECTS = 10
HTTP_SCHEMES = ("http", "https")


@dataclass
class HttpCall:
    """One request as a plugin describes it."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    data: Mapping[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    auth: tuple[str, str] | None = None
    follow_redirects: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    verify: bool = True


def _pinned(url: str, address: str) -> str:
    parts = urlsplit(url)
    host = f"[{address}]" if isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address) else address
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host + (f":{parts.port}" if parts.port else "")


@contextmanager
def send(call: HttpCall) -> Iterator[tuple[httpx.Response, str]]:
    """Yield the final response (unread) and its URL; raises `EgressDenied` before any refused hop."""
    timeout = httpx.Timeout(call.read_timeout, connect=call.connect_timeout)
    with httpx.Client(timeout=timeout, verify=call.verify, follow_redirects=False, trust_env=False) as client:
        method, url = call.method.upper(), call.url
        content, data, files = call.content, call.data, call.files
        for _hop in range(MAX_REDIRECTS + 1):
            target = resolve(url, HTTP_SCHEMES, what="HTTP request")
            headers = {**call.headers, "Host": _host_header(url)}
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request = client.build_request(method, _pinned(url, target.address), headers=headers, content=content,
                                           data=data, files=files, extensions=extensions)
            if call.auth:
                token = base64.b64encode(f"{call.auth[0]}:{call.auth[1]}".encode()).decode("ascii")
                request.headers["Authorization"] = f"Basic {token}"
            response = client.send(request, stream=True)
            if not (call.follow_redirects and response.is_redirect and "location" in response.headers):
                try:
                    yield response, url
                finally:
                    response.close()
                return
            location = response.headers["location"]
            response.close()
            next_url = urljoin(url, location)
            if urlsplit(next_url).netloc != urlsplit(url).netloc:
                call = HttpCall(**{**call.__dict__, "auth": None})  # credentials stay with their host
            url = next_url
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, content, data, files = ("GET" if method != "HEAD" else "HEAD"), None, None, None
        raise EgressDenied(f"too many redirects (more than {MAX_REDIRECTS}) starting at {call.url}")
