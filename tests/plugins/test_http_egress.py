"""The egress policy (RELIABILITY.md §4 rows 32-33) and the core HTTP tasks on a local server.

The HTTP server is pytest-httpserver on 127.0.0.1, a loopback address the policy refuses by
default: tests that talk to it open it with `WEIR_EGRESS_ALLOW`, as an operator would.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apps.plugins import egress
from tests.plugins.flowrun import eager, execute, read, root

__all__ = ["eager", "root"]

NS = "weir.http"


# ---------------------------------------------------------------------------------------------
# The policy itself


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:5432",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://[::]/",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://localhost/",
    "http://[fe80::1]/",
])
def test_internal_destinations_are_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(egress.ENV, raising=False)
    with pytest.raises(egress.EgressDenied, match="destination not allowed"):
        egress.resolve(url, ("http", "https"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "dict://example.com:11211/",
                                 "ftp://example.com/x"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(egress.EgressDenied, match="scheme not allowed"):
        egress.resolve(url, ("http", "https"))


def test_public_address_passes_and_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(egress.ENV, raising=False)
    target = egress.resolve("https://93.184.215.14/x", ("http", "https"))
    assert (target.address, target.port, target.scheme) == ("93.184.215.14", 443, "https")


def test_allow_list_by_ip_cidr_and_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "10.1.0.0/16, 127.0.0.1 ,db.internal")
    assert egress.resolve("http://10.1.2.3/", ("http",)).address == "10.1.2.3"
    assert egress.resolve("http://127.0.0.1:8080/", ("http",)).port == 8080
    with pytest.raises(egress.EgressDenied):
        egress.resolve("http://10.2.0.1/", ("http",))
    with pytest.raises(egress.EgressDenied):  # an allowed address does not open another loopback one
        egress.resolve("http://127.0.0.2/", ("http",))
    monkeypatch.setenv(egress.ENV, "localhost")
    assert egress.resolve("http://localhost/", ("http",)).host == "localhost"


def test_ports_per_plugin() -> None:
    with pytest.raises(egress.EgressDenied, match="port 25"):
        egress.check_host("smtp", "93.184.215.14", 25, ports=(465, 587))


# ---------------------------------------------------------------------------------------------
# Tasks: refused before connecting, every redirect hop checked

pytestmark_db = pytest.mark.django_db(transaction=True)


@pytestmark_db
@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:5432",
                                 "http://[::ffff:127.0.0.1]", "http://2130706433"])
def test_request_to_internal_address_fails(url: str, root: Any, eager: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(egress.ENV, raising=False)
    ran = execute(root, f"""\
        id: ssrf
        namespace: {NS}
        tasks:
          - id: call
            type: io.kestra.plugin.core.http.Request
            uri: "{url}"
        """)
    assert ran.task_state("call") == "FAILED"
    assert any("destination not allowed" in line for line in ran.logs("call"))


@pytestmark_db
@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "dict://example.com:11211/"])
def test_request_with_other_scheme_fails(url: str, root: Any, eager: None) -> None:
    ran = execute(root, f"""\
        id: scheme
        namespace: {NS}
        tasks:
          - id: call
            type: io.kestra.plugin.core.http.Download
            uri: "{url}"
        """)
    assert ran.task_state("call") == "FAILED"
    assert any("scheme not allowed" in line for line in ran.logs("call"))


@pytestmark_db
def test_redirect_to_private_address_is_refused(httpserver: HTTPServer, root: Any, eager: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/go").respond_with_data("", status=302, headers={"Location": "http://10.0.0.1/"})
    ran = execute(root, f"""\
        id: redirect
        namespace: {NS}
        tasks:
          - id: call
            type: io.kestra.plugin.core.http.Request
            uri: "{httpserver.url_for('/go')}"
        """)
    assert ran.task_state("call") == "FAILED"
    assert any("destination not allowed: 10.0.0.1" in line for line in ran.logs("call"))


@pytestmark_db
def test_redirect_inside_allowed_server_is_followed(httpserver: HTTPServer, root: Any, eager: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data("moved here")
    ran = execute(root, f"""\
        id: redirect_ok
        namespace: {NS}
        tasks:
          - id: call
            type: io.kestra.plugin.core.http.Request
            uri: "{httpserver.url_for('/old')}"
        """)
    assert ran.task_state("call") == "SUCCESS"
    assert ran.outputs("call")["body"] == "moved here"


# ---------------------------------------------------------------------------------------------
# http.Request


@pytestmark_db
def test_request_post_json_and_outputs(httpserver: HTTPServer, root: Any, eager: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    seen: dict[str, Any] = {}

    def handler(request: Request) -> Response:
        seen.update(body=request.get_data(as_text=True), ctype=request.headers.get("Content-Type"),
                    trace=request.headers.get("X-Trace"), auth=request.authorization)
        return Response('{"id": 7}', status=201, content_type="application/json", headers={"X-Id": "7"})

    httpserver.expect_request("/orders", method="POST").respond_with_handler(handler)
    ran = execute(root, f"""\
        id: post
        namespace: {NS}
        tasks:
          - id: create
            type: io.kestra.plugin.core.http.Request
            uri: "{httpserver.url_for('/orders')}"
            method: POST
            headers:
              X-Trace: "{{{{ flow.id }}}}"
            body: '{{"sku": "a-1"}}'
            options:
              basicAuthUser: ann
              basicAuthPassword: pw
          - id: read
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ fromJson(outputs.create.body).id }}}}"
        """)
    assert ran.state == "SUCCESS", ran.logs()
    out = ran.outputs("create")
    assert out["code"] == 201 and out["body"] == '{"id": 7}'
    assert out["headers"]["x-id"] == ["7"] and out["uri"].endswith("/orders")
    assert seen["body"] == '{"sku": "a-1"}' and seen["ctype"] == "application/json" and seen["trace"] == "post"
    assert (seen["auth"].username, seen["auth"].password) == ("ann", "pw")
    assert ran.outputs("read")["value"] == "7"


@pytestmark_db
def test_request_error_status_fails_unless_allowed(httpserver: HTTPServer, root: Any, eager: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/missing").respond_with_data("nope", status=404)
    ran = execute(root, f"""\
        id: status
        namespace: {NS}
        tasks:
          - id: tolerated
            type: io.kestra.plugin.core.http.Request
            uri: "{httpserver.url_for('/missing')}"
            allowFailed: true
          - id: strict
            type: io.kestra.plugin.core.http.Request
            uri: "{httpserver.url_for('/missing')}"
        """)
    assert ran.task_state("tolerated") == "SUCCESS" and ran.outputs("tolerated")["code"] == 404
    assert ran.task_state("strict") == "FAILED"
    assert any("status 404" in line for line in ran.logs("strict"))


@pytestmark_db
def test_request_body_over_max_content_length_fails(httpserver: HTTPServer, root: Any, eager: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/big").respond_with_data("x" * 5000)
    ran = execute(root, f"""\
        id: big
        namespace: {NS}
        tasks:
          - id: call
            type: io.kestra.plugin.core.http.Request
            uri: "{httpserver.url_for('/big')}"
            options:
              maxContentLength: 1000
        """)
    assert ran.task_state("call") == "FAILED"
    assert any("maxContentLength" in line for line in ran.logs("call"))


# ---------------------------------------------------------------------------------------------
# http.Download


@pytestmark_db
def test_download_streams_to_storage(httpserver: HTTPServer, root: Any, eager: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    payload = b"id,total\n" + b"".join(f"{i},{i * 3}\n".encode() for i in range(20000))
    httpserver.expect_request("/exports/orders.csv").respond_with_data(payload, content_type="text/csv")
    httpserver.expect_request("/named").respond_with_data(
        b"abc", headers={"Content-Disposition": 'attachment; filename="../../r\u00e9port 1.txt"'})
    httpserver.expect_request("/empty").respond_with_data(b"")
    ran = execute(root, f"""\
        id: dl
        namespace: {NS}
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/exports/orders.csv')}"
          - id: named
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/named')}"
          - id: empty_ok
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/empty')}"
            failOnEmptyResponse: false
          - id: empty
            type: io.kestra.plugin.core.http.Download
            uri: "{httpserver.url_for('/empty')}"
        """)
    fetch = ran.outputs("fetch")
    assert fetch["uri"].startswith("kestra:///weir/http/dl/executions/") and fetch["uri"].endswith(".csv")
    assert fetch["length"] == len(payload) and fetch["code"] == 200
    assert read(fetch["uri"]) == payload
    assert ran.outputs("named")["uri"].endswith("/r%C3%A9port%201.txt")
    assert ran.task_state("empty_ok") == "SUCCESS" and ran.outputs("empty_ok")["length"] == 0
    assert ran.task_state("empty") == "FAILED"
    assert any("No response from server" in line for line in ran.logs("empty"))


def test_proxy_options_are_a_validation_error() -> None:
    from apps.flows.validation import validate_source

    problems = validate_source("""\
id: proxy
namespace: weir.http
tasks:
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: https://example.com
    options:
      proxyType: HTTP
""")
    assert any("proxies are not supported" in p.message for p in problems.problems)
