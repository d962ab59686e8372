"""How the HTTP tasks run: building the request, reading or streaming the response.

All network access goes through `sdk.http_send` (the egress policy, checked at every hop).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from apps.plugins.sdk import EgressDenied, RunContext, TaskFailed, http_call, http_send, parse_duration

if TYPE_CHECKING:
    from apps.plugins.sdk import HttpCall

MULTIPART = "multipart/form-data"


def _seconds(value: str | None, default: float) -> float:
    return parse_duration(value) if value else default


def build_call(ctx: RunContext, props: Any) -> HttpCall:
    """The request a Request/Download task describes (after rendering)."""
    options = props.options
    method = str(props.method).upper()
    headers = {str(k): str(v) for k, v in (props.headers or {}).items()}
    content: bytes | None = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    content_type = props.contentType
    if props.formData is not None:
        if content_type and content_type.lower().startswith(MULTIPART):
            data, files = _multipart(ctx, props.formData)
        else:
            data = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in props.formData.items()}
            if content_type:
                headers.setdefault("Content-Type", content_type)
    elif props.body is not None:
        content = props.body.encode("utf-8")
        headers.setdefault("Content-Type", content_type or "application/json")
    elif content_type:
        headers.setdefault("Content-Type", content_type)
    auth = None
    if options and options.basicAuthUser:
        auth = (options.basicAuthUser, options.basicAuthPassword or "")
    return http_call(
        method=method, url=props.uri.replace(" ", "%20"), headers=headers, content=content, data=data, files=files,
        auth=auth,
        follow_redirects=options.followRedirects if options else True,
        connect_timeout=_seconds(options.connectTimeout if options else None, 10.0),
        read_timeout=_seconds(options.readTimeout if options else None, 10.0),
        verify=not (props.sslOptions and props.sslOptions.insecureTrustAllCertificates),
    )


def _multipart(ctx: RunContext, form: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, tuple[str, bytes, str]]]]:
    """Form fields: a `kestra://` value is a file part, `{name, content}` a named file, others JSON text."""
    data: dict[str, Any] = {}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for key, value in form.items():
        if isinstance(value, str) and value.startswith("kestra://"):
            files.append((key, (os.path.basename(value), ctx.get_file(value), "application/octet-stream")))
        elif isinstance(value, dict) and {"name", "content"} <= set(value):
            content = value["content"]
            payload = ctx.get_file(content) if isinstance(content, str) and content.startswith("kestra://") \
                else str(content).encode("utf-8")
            files.append((key, (str(value["name"]), payload, "application/octet-stream")))
        else:
            data[key] = value if isinstance(value, str) else json.dumps(value)
    return data, files


def headers_of(response: httpx.Response) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in response.headers.multi_items():
        out.setdefault(key.lower(), []).append(value)
    return out


def _log_exchange(ctx: RunContext, props: Any, call: HttpCall, response: httpx.Response) -> None:
    level = props.options.logLevel if props.options else None
    if level and level not in ("OFF", "NOT_SPECIFIED"):
        shown = "DEBUG" if level in ("ALL", "TRACE") else level
        ctx.log(shown, f"{call.method} {call.url} -> {response.status_code}")


def request(ctx: RunContext, props: Any) -> dict[str, Any]:
    """Run `http.Request`: the body capped at `maxContentLength`, decoded strictly."""
    call = build_call(ctx, props)
    limit = props.options.maxContentLength if props.options else 10 * 1024 * 1024
    try:
        with http_send(call) as (response, url):
            _log_exchange(ctx, props, call, response)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise TaskFailed(f"The response body is larger than maxContentLength ({limit} bytes)")
                chunks.append(chunk)
            raw = b"".join(chunks)
            charset = response.charset_encoding or (props.options.defaultCharset if props.options else "UTF-8")
            try:
                body = raw.decode(charset)
            except (UnicodeDecodeError, LookupError) as error:
                raise TaskFailed(f"The response body is not valid {charset} text: {error}") from error
            outputs: dict[str, Any] = {"uri": url, "code": response.status_code, "headers": headers_of(response)}
            if props.encryptBody:
                outputs["encryptedBody"] = ctx.seal(body)
            else:
                outputs["body"] = body
            if "content-length" in response.headers:
                ctx.metric("counter", "response.length", float(response.headers["content-length"]),
                           {"request.method": call.method, "response.code": str(response.status_code)})
    except EgressDenied as error:
        raise TaskFailed(str(error)) from error
    except httpx.HTTPError as error:
        raise TaskFailed(f"HTTP request to {call.url} failed: {error}") from error
    if response.status_code >= 400 and not props.allowFailed:
        raise TaskFailed(f"Request failed with status {response.status_code} {response.reason_phrase}", outputs)
    return outputs


def suffix_of(url: str) -> str:
    """Kestra 0.21's temp-file suffix: everything from the first dot of the last path segment."""
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return segment[segment.index("."):] if "." in segment else ".tmp"


_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r"filename\s*=\s*(\"[^\"]*\"|[^;]+)", re.IGNORECASE)


def disposition_name(header: str | None) -> str | None:
    """The file name a `Content-Disposition` header gives, path stripped and URL-encoded."""
    if not header:
        return None
    star = _FILENAME_STAR.search(header)
    if star:
        value = star.group(1).strip().strip('"')
        name = unquote(value.split("''", 1)[1]) if "''" in value else unquote(value)
    else:
        plain = _FILENAME.search(header)
        if not plain:
            return None
        name = plain.group(1).strip().strip('"')
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return quote(name) if name and name not in (".", "..") else None


def download(ctx: RunContext, props: Any) -> dict[str, Any]:
    """Run `http.Download`: the body streamed to a local file, then uploaded (never held in memory)."""
    call = build_call(ctx, props)
    fd, path = tempfile.mkstemp(suffix=suffix_of(props.uri), dir=ctx.working_dir())
    try:
        with http_send(call) as (response, _url), os.fdopen(fd, "wb") as out:
            _log_exchange(ctx, props, call, response)
            if response.status_code >= 400:
                raise TaskFailed(f"Download failed with status {response.status_code} {response.reason_phrase}")
            size = 0
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
                size += len(chunk)
            declared = response.headers.get("content-length")
            if declared is not None and "content-encoding" not in response.headers and int(declared) != size:
                raise TaskFailed(f"Invalid size: expected {declared} bytes, received {size}")
            headers, code = headers_of(response), response.status_code
            name = disposition_name(response.headers.get("content-disposition"))
    except EgressDenied as error:
        _discard(path)
        raise TaskFailed(str(error)) from error
    except httpx.HTTPError as error:
        _discard(path)
        raise TaskFailed(f"Download of {call.url} failed: {error}") from error
    except TaskFailed:
        _discard(path)
        raise
    if size == 0:
        if props.failOnEmptyResponse:
            _discard(path)
            raise TaskFailed("No response from server (503): the body is empty; set failOnEmptyResponse: false "
                             "to accept an empty file")
        ctx.log("WARN", "The response body is empty")
    ctx.metric("counter", "response.length", float(size))
    uri = ctx.put_path(path, name or os.path.basename(path))
    return {"uri": uri, "code": code, "length": size, "headers": headers}


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
