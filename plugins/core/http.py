"""HTTP tasks: `io.kestra.plugin.core.http.*` (KESTRA.md §3.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    Duration,
    Issue,
    Plugin,
    Properties,
    RunContext,
    RunnableTask,
    TaskProperties,
    ValidationContext,
    dynamic,
)
from plugins.core import http_run
from plugins.core._common import Expression, NonNegativeInt, PositiveInt

GROUP = "io.kestra.plugin.core.http"

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]


class RequestOptions(Properties):
    """HTTP client settings."""

    connectTimeout: Duration | None = Field(None, description="Time allowed to open the connection.")
    readTimeout: Duration = Field("PT10S", description="Maximum time to read the response.")
    readIdleTimeout: Duration = Field("PT5M", description="Time a read may stay idle.")
    connectionPoolIdleTimeout: Duration = Field("PT0S", description="Idle time of a pooled connection.")
    maxContentLength: PositiveInt = Field(10 * 1024 * 1024, description="Maximum response size in bytes.")
    proxyType: Literal["DIRECT", "HTTP", "SOCKS"] = Field("DIRECT", description="Proxy kind.")
    proxyAddress: str | None = dynamic(None, description="Proxy host.")
    proxyPort: NonNegativeInt | None = Field(None, description="Proxy port.")
    proxyUsername: str | None = dynamic(None, description="Proxy user.")
    proxyPassword: str | None = dynamic(None, description="Proxy password.")
    basicAuthUser: str | None = dynamic(None, description="User for HTTP basic authentication.")
    basicAuthPassword: str | None = dynamic(None, description="Password for HTTP basic authentication.")
    followRedirects: bool = Field(True, description="Follow 3xx redirects.")
    logLevel: Literal["ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF", "NOT_SPECIFIED"] | None = Field(
        None, description="Log requests and responses at this level."
    )
    defaultCharset: str = Field("UTF-8", description="Charset used when the response does not say.")


class SslOptions(Properties):
    """TLS settings."""

    insecureTrustAllCertificates: bool | None = Field(
        None, description="Accept any server certificate (unsafe; for self-signed test servers only)."
    )


class HttpProperties(TaskProperties):
    """What every HTTP task accepts."""

    uri: str = dynamic(description="The full URL, with scheme and query string.")
    method: HttpMethod | Expression = dynamic("GET", description="The HTTP method.")
    body: str | None = dynamic(None, description="The raw request body.")
    formData: dict[str, Any] | None = dynamic(
        None, description="Form fields; sent as `application/x-www-form-urlencoded` or multipart."
    )
    contentType: str | None = dynamic(None, description="The request `Content-Type`.")
    headers: dict[str, Any] | None = dynamic(None, description="Request headers.")
    options: RequestOptions | None = dynamic(None, description="Timeouts, proxy, authentication, redirects.")
    sslOptions: SslOptions | None = Field(None, description="TLS settings.")


def no_proxy(raw: Mapping[str, Any]) -> Iterable[Issue]:
    options = raw.get("options")
    if isinstance(options, Mapping) and options.get("proxyType") not in (None, "DIRECT"):
        yield ("options", "proxyType"), (
            "Weir's HTTP tasks connect directly (through the egress policy); proxies are not supported: "
            "remove proxyType or set it to DIRECT")


class HttpTask(RunnableTask):
    """Shared validation of the HTTP tasks."""

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        return no_proxy(raw)


class Request(HttpTask):
    """Send an HTTP request and return the response.

    Use it to call a REST API, a webhook or any HTTP endpoint. A response code ≥ 400 fails the
    task unless `allowFailed: true`.

    Outputs: `uri` (the requested URL, not a file), `code`, `headers` and `body`. The body is
    always a string: read JSON with `{{ fromJson(outputs.call.body).id }}` or
    `{{ outputs.call.body | jq('.id') }}`. With `encryptBody: true` the body is stored encrypted as
    `encryptedBody` instead (shown masked). For large or binary responses use `Download`, which
    streams the body to internal storage. Bodies over `options.maxContentLength` (10 MiB) fail.

    Every connection goes through Weir's egress policy: only http and https, and private,
    loopback, link-local and metadata addresses are refused (after DNS resolution, at every
    redirect hop) unless `WEIR_EGRESS_ALLOW` lists them.
    """

    type = "io.kestra.plugin.core.http.Request"
    aliases = ("io.kestra.plugin.fs.http.Request",)
    title = "HTTP request"
    group = GROUP
    icon = "http"
    examples = (
        """\
id: api_call
namespace: company.team
tasks:
  - id: create
    type: io.kestra.plugin.core.http.Request
    uri: https://example.com/api/products
    method: POST
    contentType: application/json
    headers:
      X-Trace: "{{ execution.id }}"
    body: '{"name": "{{ flow.id }}"}'
    options:
      readTimeout: PT30S
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.create.code }}: {{ outputs.create.body }}"
""",
    )

    class Properties(HttpProperties):
        property_hints = {
            "store": "Request has no file output; use io.kestra.plugin.core.http.Download to store the body",
            "outputFile": "Request has no file output; use io.kestra.plugin.core.http.Download to store the body",
            "queryParams": "put query parameters in `uri` (`?a=1&b=2`)",
            "pagination": "Request sends one request; loop with ForEach or WaitFor for pages",
            "rateLimit": "Request sends one request; space calls with retry or flow.Sleep",
        }
        allowFailed: bool = Field(False, description="Do not fail on a response code ≥ 400.")
        encryptBody: bool = Field(False, description="Store the body encrypted in `encryptedBody`.")

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="The requested URL.")
        code: int | None = Field(None, description="The response status code.")
        headers: dict[str, list[str]] | None = Field(None, description="The response headers.")
        body: str | None = Field(None, description="The response body, as text.")
        encryptedBody: Any = Field(None, description="The encrypted body (with `encryptBody`).")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(**http_run.request(ctx, props))


class Download(HttpTask):
    """Download a file over HTTP into internal storage.

    The response body is streamed to a `kestra://` file, so it suits large or binary payloads;
    pass `{{ outputs.<id>.uri }}` to the next task. An empty response fails the task unless
    `failOnEmptyResponse: false`.

    Outputs: `uri` (the stored file), `code`, `length` (bytes) and `headers`.
    """

    type = "io.kestra.plugin.core.http.Download"
    aliases = ("io.kestra.plugin.fs.http.Download",)
    title = "HTTP download"
    group = GROUP
    icon = "download"
    examples = (
        """\
id: download
namespace: company.team
tasks:
  - id: fetch
    type: io.kestra.plugin.core.http.Download
    uri: https://example.com/data/orders.csv
  - id: size
    type: io.kestra.plugin.core.storage.Size
    uri: "{{ outputs.fetch.uri }}"
""",
    )

    class Properties(HttpProperties):
        failOnEmptyResponse: bool = Field(True, description="Fail when the response body is empty.")

    class Outputs(BaseModel):
        uri: str | None = Field(None, description="`kestra://` URI of the downloaded file.")
        code: int | None = Field(None, description="The response status code.")
        length: int | None = Field(None, description="Size of the file in bytes.")
        headers: dict[str, list[str]] | None = Field(None, description="The response headers.")

    def run(self, ctx: RunContext, props: Properties) -> Outputs:  # type: ignore[override]
        return self.Outputs(**http_run.download(ctx, props))


PLUGINS: list[type[Plugin]] = [Request, Download]
