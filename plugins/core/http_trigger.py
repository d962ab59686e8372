"""`io.kestra.plugin.core.http.Trigger`: poll a URL and start an execution when the response
meets `responseCondition` (KESTRA.md §4.5, PLUGINS.md §2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

import httpx
from pydantic import Field

from apps.plugins.sdk import (
    EgressDenied,
    Issue,
    Plugin,
    PollingTrigger,
    PollingTriggerProperties,
    PollResult,
    TriggerContext,
    ValidationContext,
    dynamic,
    http_send,
    is_truthy,
)
from plugins.core import http_run
from plugins.core._common import Expression
from plugins.core.http import GROUP, HttpMethod, RequestOptions, SslOptions, no_proxy

DEFAULT_CONDITION = "{{ response.statusCode < 400 }}"


class Trigger(PollingTrigger):
    """Call a URL every `interval`; when `responseCondition` holds for the response, start an
    execution. The response is `trigger.uri`, `trigger.code`, `trigger.headers` and `trigger.body`
    in the execution (the body as text; with `encryptBody`, `trigger.encryptedBody`, sealed and
    masked). In the condition it is `response.statusCode`,
    `response.body` and `response.headers`. Connections go through the egress policy."""

    type = "io.kestra.plugin.core.http.Trigger"
    aliases = ("io.kestra.plugin.fs.http.Trigger",)
    title = "HTTP trigger"
    group = GROUP
    icon = "http"
    examples = ("""\
id: http_trigger
namespace: company.team
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.body }}"
triggers:
  - id: new_release
    type: io.kestra.plugin.core.http.Trigger
    uri: https://api.example.com/releases/latest
    responseCondition: "{{ response.statusCode == 200 and fromJson(response.body).ready }}"
    interval: PT5M
""",)

    class Properties(PollingTriggerProperties):
        uri: str = dynamic(description="The full URL, with scheme and query string.")
        method: HttpMethod | Expression = dynamic("GET", description="The HTTP method.")
        body: str | None = dynamic(None, description="The raw request body.")
        contentType: str | None = dynamic(None, description="The request `Content-Type`.")
        headers: dict[str, Any] | None = dynamic(None, description="Request headers.")
        options: RequestOptions | None = dynamic(None, description="Timeouts, authentication, redirects.")
        sslOptions: SslOptions | None = Field(None, description="TLS settings.")
        encryptBody: bool = Field(False, description="Pass the body encrypted, as `trigger.encryptedBody`.")
        responseCondition: str = dynamic(
            DEFAULT_CONDITION, description="When it renders true for the response, an execution starts.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        return no_proxy(raw)

    def evaluate(self, ctx: TriggerContext, props: Any) -> PollResult | None:
        options = ctx.render(props.options.model_dump(exclude_none=True)) if props.options else None
        request = SimpleNamespace(
            uri=str(ctx.render(props.uri)), method=str(ctx.render(props.method)),
            body=ctx.render(props.body), contentType=ctx.render(props.contentType), formData=None,
            headers=ctx.render(props.headers), options=RequestOptions.model_validate(options) if options else None,
            sslOptions=props.sslOptions)
        call = http_run.build_call(None, request)  # type: ignore[arg-type]  # no form data: no files to read
        limit = request.options.maxContentLength if request.options else 10 * 1024 * 1024
        try:
            with http_send(call) as (response, url):
                raw = b""
                for chunk in response.iter_bytes():
                    raw += chunk
                    if len(raw) > limit:
                        raise ValueError(f"the response body is larger than maxContentLength ({limit} bytes)")
                body = raw.decode(response.charset_encoding or "utf-8", errors="replace")
        except EgressDenied as error:
            raise ValueError(str(error)) from error
        except httpx.HTTPError as error:
            raise ValueError(f"HTTP request to {call.url} failed: {error}") from error
        headers = http_run.headers_of(response)
        seen = {"statusCode": response.status_code, "body": body, "headers": headers}
        if not is_truthy(ctx.render(props.responseCondition, {"response": seen})):
            return None
        variables: dict[str, Any] = {"uri": url, "code": response.status_code, "headers": headers}
        if props.encryptBody:
            variables["encryptedBody"] = ctx.seal(body)
        else:
            variables["body"] = body
        return PollResult(variables=variables)


PLUGINS: list[type[Plugin]] = [Trigger]
