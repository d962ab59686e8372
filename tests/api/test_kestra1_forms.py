"""Kestra 1.x request forms on Weir's routes (apps/core/api/kestra1.py): the tenant prefix,
`actions/` paths, QueryFilter searches, basic auth and its throttle, the KV API's typing."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache

from apps.core.api.queryfilter import translate
from apps.core.errors import BadRequest
from apps.executions.records import kvstore

pytestmark = pytest.mark.django_db

FLOW = """\
id: hello
namespace: acme.team
labels:
  team: data
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def test_tenant_prefix_serves_the_same_routes(api: Any, anon: Any, post_yaml: Any) -> None:
    assert post_yaml(api, "/api/v1/main/flows", FLOW).status_code == 200
    assert api.get("/api/v1/main/flows/acme.team/hello").json()["id"] == "hello"
    assert api.get("/api/v1/flows/acme.team/hello").json()["id"] == "hello"
    other = api.get("/api/v1/acme/flows/acme.team/hello")
    assert other.status_code == 404 and "no such tenant 'acme'" in other.json()["message"]
    assert anon.get("/api/v1/acme/flows/acme.team/hello").status_code == 401
    assert anon.get("/api/v1/main/flows/acme.team/hello").status_code == 401


def test_query_filters_become_search_parameters(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    post_yaml(api, "/api/v1/flows", FLOW.replace("acme.team", "acme.other").replace("team: data", "team: ops"))
    found = api.get("/api/v1/main/flows/search", {"filters[namespace][EQUALS]": "acme.team"}).json()
    assert [f["namespace"] for f in found["results"]] == ["acme.team"]
    found = api.get("/api/v1/main/flows/search", {"filters[labels][EQUALS][team]": "ops"}).json()
    assert [f["namespace"] for f in found["results"]] == ["acme.other"]
    refused = api.get("/api/v1/main/flows/search", {"filters[namespace][ENDS_WITH]": "team"})
    assert refused.status_code == 400 and "ENDS_WITH is not supported" in refused.json()["message"]


def test_translate_reads_every_form() -> None:
    pairs = [("filters[state][IN]", "SUCCESS,FAILED"), ("filters[q][EQUALS]", "x"), ("page", "2"),
             ("filters[startDate][GREATER_THAN_OR_EQUAL_TO]", "2024-01-01T00:00:00Z")]
    assert translate(pairs) == [("state", "SUCCESS"), ("state", "FAILED"), ("q", "x"), ("page", "2"),
                                ("startDate", "2024-01-01T00:00:00Z")]
    assert translate([("page", "1")]) is None
    with pytest.raises(BadRequest, match="boolean filter groups"):
        translate([("filters[or][0][namespace][EQUALS]", "a")])
    with pytest.raises(BadRequest, match="unknown filter field 'colour'"):
        translate([("filters[colour][EQUALS]", "red")])


def test_actions_paths_reach_the_action_views(api: Any) -> None:
    answer = api.delete("/api/v1/main/executions/nope/actions/kill")
    assert answer.status_code == 404 and "nope" in answer.json()["message"]


def test_basic_auth_and_its_throttle(anon: Any, writer: Any) -> None:
    cache.clear()

    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    assert anon.get("/api/v1/main/flows/search", HTTP_AUTHORIZATION=basic("wes", "pw-wes")).status_code == 200
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert anon.get("/api/v1/flows/search", HTTP_AUTHORIZATION=basic("wes", "wrong")).status_code == 401
    assert anon.get("/api/v1/flows/search", HTTP_AUTHORIZATION=basic("wes", "wrong")).status_code == 429
    locked = anon.get("/api/v1/flows/search", HTTP_AUTHORIZATION=basic("wes", "pw-wes"))
    assert locked.status_code == 429 and "too many failed sign-ins" in locked.json()["message"]
    assert anon.get("/api/v1/flows/search", HTTP_AUTHORIZATION="Basic !!!").status_code == 401
    cache.clear()


@pytest.mark.parametrize(("body", "kind", "value"), [
    ('{"a": 1}', "JSON", {"a": 1}), ("[1, 2]", "JSON", [1, 2]), ("42", "NUMBER", 42), ("1.5", "NUMBER", 1.5),
    ("true", "BOOLEAN", True), ('"quoted"', "STRING", "quoted"), ("plain words", "STRING", "plain words"),
    ("2024-01-02", "DATE", "2024-01-02"), ("2024-01-02T03:04:05Z", "DATETIME", "2024-01-02T03:04:05Z"),
    ("PT1H", "DURATION", "PT1H"), ("2024-01-02T03:04:05", "STRING", "2024-01-02T03:04:05"),
])
def test_kv_put_types_the_body_as_kestra_does(api: Any, body: str, kind: str, value: Any) -> None:
    url = "/api/v1/main/namespaces/acme.team/kv/k1"
    assert api.generic("PUT", url, body.encode(), content_type="text/plain").status_code == 204
    assert api.get(url).json()["type"] == kind and api.get(url).json()["value"] == value


def test_kv_ttl_expiry_and_refusals(api: Any, viewer: Any) -> None:
    url = "/api/v1/main/namespaces/acme.team/kv/short"
    assert api.generic("PUT", url, b"1", content_type="text/plain", HTTP_TTL="PT1H").status_code == 204
    listed = api.get("/api/v1/main/namespaces/acme.team/kv").json()
    assert listed[0]["key"] == "short" and listed[0]["expirationDate"].endswith("Z")
    kvstore.put("acme.team", "gone", 1, ttl=0.001)
    import time
    time.sleep(0.01)
    assert api.get("/api/v1/main/namespaces/acme.team/kv/gone").status_code == 410
    assert api.generic("PUT", url, b"1", content_type="text/plain", HTTP_TTL="soon").status_code == 400
    assert api.generic("PUT", "/api/v1/namespaces/acme.team/kv/bad key", b"1").status_code == 400
    from rest_framework.test import APIClient

    reader = APIClient()
    reader.force_authenticate(viewer)
    assert reader.get(url).status_code == 200
    assert reader.generic("PUT", url, b"2", content_type="text/plain").status_code == 403
