"""Flows REST API: every endpoint, its happy path, anonymous access and bad bodies."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from apps.flows.models import Flow, FlowRevision

pytestmark = pytest.mark.django_db

FLOW = """\
id: hello
namespace: acme.team
description: Says hello
labels:
  team: data
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
"""

# comments, odd indentation, block scalars and flow-style lists: must come back byte for byte
QUIRKY = """\
# a leading comment
id:   quirky      # trailing comment
namespace: acme.team
description: |
    A block scalar,
      with odd indentation.

labels: {team: data, tier: "gold"}
tasks:
    -   id: first   # indented by four
        type: io.kestra.plugin.core.log.Log
        message: >-
          folded
          text
    - {id: second, type: io.kestra.plugin.core.log.Log, message: [a, b, "c"]}
"""


def test_create_returns_flow_with_source_and_revision(api: Any, post_yaml: Any) -> None:
    response = post_yaml(api, "/api/v1/flows", FLOW)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == "hello" and body["namespace"] == "acme.team" and body["revision"] == 1
    assert body["source"] == FLOW
    assert body["labels"] == [{"key": "team", "value": "data"}]
    assert body["tasks"][0]["id"] == "say"
    assert response["ETag"] == '"1"'


def test_source_round_trips_byte_for_byte(api: Any, post_yaml: Any) -> None:
    assert post_yaml(api, "/api/v1/flows", QUIRKY).status_code == 200
    assert api.get("/api/v1/flows/acme.team/quirky").json()["source"] == QUIRKY
    assert api.get("/api/v1/flows/acme.team/quirky/revisions").json()[0]["source"] == QUIRKY
    export = api.get("/api/v1/flows/export/by-query", {"namespace": "acme.team"})
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        assert archive.read("acme.team.quirky.yml").decode() == QUIRKY


def test_create_existing_is_409(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    response = post_yaml(api, "/api/v1/flows", FLOW)
    assert response.status_code == 409
    assert "already exists" in response.json()["message"]


def test_update_same_source_creates_no_revision(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    response = post_yaml(api, "/api/v1/flows/acme.team/hello", FLOW, method="PUT")
    assert response.status_code == 200 and response.json()["revision"] == 1
    changed = FLOW.replace("message: hi", "message: hello")
    response = post_yaml(api, "/api/v1/flows/acme.team/hello", changed, method="PUT")
    assert response.json()["revision"] == 2
    assert FlowRevision.objects.filter(flow__flow_id="hello").count() == 2


def test_update_with_stale_revision_is_409_and_keeps_the_winner(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    first = post_yaml(api, "/api/v1/flows/acme.team/hello", FLOW.replace("hi", "one"), method="PUT",
                      HTTP_IF_MATCH='"1"')
    second = post_yaml(api, "/api/v1/flows/acme.team/hello", FLOW.replace("hi", "two"), method="PUT",
                       HTTP_IF_MATCH='"1"')
    assert first.status_code == 200 and second.status_code == 409
    assert "revision 2" in second.json()["message"]
    assert "one" in Flow.objects.get(flow_id="hello").source


def test_update_cannot_change_identity(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    response = post_yaml(api, "/api/v1/flows/acme.team/hello", FLOW.replace("id: hello", "id: other"),
                         method="PUT")
    assert response.status_code == 422
    assert "Illegal flow id update" in response.json()["message"]


def test_get_revision_and_unknown_revision(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    post_yaml(api, "/api/v1/flows/acme.team/hello", FLOW.replace("hi", "v2"), method="PUT")
    assert "hi" in api.get("/api/v1/flows/acme.team/hello", {"revision": 1}).json()["source"]
    assert api.get("/api/v1/flows/acme.team/hello", {"revision": 9}).status_code == 404
    assert api.get("/api/v1/flows/acme.team/hello", {"revision": "x"}).status_code == 400
    assert "source" not in api.get("/api/v1/flows/acme.team/hello", {"source": "false"}).json()


def test_delete_is_soft_and_recreate_continues_revisions(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    assert api.delete("/api/v1/flows/acme.team/hello").status_code == 204
    assert api.get("/api/v1/flows/acme.team/hello").status_code == 404
    deleted = api.get("/api/v1/flows/acme.team/hello", {"allowDeleted": "true"}).json()
    assert deleted["deleted"] is True and deleted["revision"] == 2
    assert api.delete("/api/v1/flows/acme.team/hello").status_code == 404
    assert post_yaml(api, "/api/v1/flows", FLOW).json()["revision"] == 3


def test_search_by_namespace_prefix_q_labels_paging_sort(api: Any, post_yaml: Any) -> None:
    for ns, fid, team in [("acme", "a1", "x"), ("acme.team", "b2", "y"), ("acmex", "c3", "x"),
                          ("acme.team.sub", "d4", "x")]:
        post_yaml(api, "/api/v1/flows", FLOW.replace("hello", fid).replace("acme.team", ns)
                  .replace("team: data", f"team: {team}"))
    ids = lambda r: [f["id"] for f in r.json()["results"]]  # noqa: E731
    response = api.get("/api/v1/flows/search", {"namespace": "acme"})
    assert ids(response) == ["a1", "b2", "d4"] and response.json()["total"] == 3
    assert ids(api.get("/api/v1/flows/search", {"q": "c3"})) == ["c3"]
    assert ids(api.get("/api/v1/flows/search", {"labels": "team:x", "sort": "id:desc"})) == ["d4", "c3", "a1"]
    page = api.get("/api/v1/flows/search", {"size": 2, "page": 2, "sort": "id:asc"}).json()
    assert [f["id"] for f in page["results"]] == ["c3", "d4"] and page["total"] == 4


@pytest.mark.parametrize("params", [
    {"sort": "id;DROP TABLE x"}, {"sort": "source:asc"}, {"filter[labels]": "' OR 1=1--"},
    {"size": "0"}, {"page": "abc"}, {"labels": "nocolon"}, {"sort": "id:sideways"},
])
def test_search_rejects_unknown_fields_and_bad_values(api: Any, params: dict[str, str]) -> None:
    response = api.get("/api/v1/flows/search", params)
    assert response.status_code == 400
    assert response.json()["message"]


def test_distinct_namespaces_and_namespace_listing(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    post_yaml(api, "/api/v1/flows", FLOW.replace("acme.team", "other"))
    assert api.get("/api/v1/flows/distinct-namespaces").json() == ["acme.team", "other"]
    listed = api.get("/api/v1/flows/acme.team").json()
    assert [f["id"] for f in listed] == ["hello"] and listed[0]["source"] == FLOW


def test_validate_multi_document(api: Any, post_yaml: Any) -> None:
    bad = FLOW.replace("id: say", "id: say\n    bogus: 1")
    response = post_yaml(api, "/api/v1/flows/validate", FLOW + "---\n" + bad)
    assert response.status_code == 200
    first, second = response.json()
    assert first["index"] == 0 and first["constraints"] is None and first["errors"] == []
    assert second["index"] == 1 and second["errors"][0]["path"] == "tasks[0].bogus"
    assert second["errors"][0]["line"] == 18  # line 8 of the second document


def test_validate_reports_alias_infos_and_deprecations(api: Any, post_yaml: Any) -> None:
    text = FLOW.replace("io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log")
    (result,) = post_yaml(api, "/api/v1/flows/validate", text).json()
    assert result["errors"] == []
    assert any("is replaced by io.kestra.plugin.core.log.Log" in i for i in result["infos"])


def test_graph_of_saved_and_unsaved_flow(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    graph = api.get("/api/v1/flows/acme.team/hello/graph").json()
    assert any(n["uid"].endswith("say") for n in graph["nodes"]) and graph["edges"]
    live = post_yaml(api, "/api/v1/flows/graph", FLOW).json()
    assert {n["uid"] for n in live["nodes"]} == {n["uid"] for n in graph["nodes"]}
    assert post_yaml(api, "/api/v1/flows/graph", "id: [").status_code == 400


def test_task_definition(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    assert api.get("/api/v1/flows/acme.team/hello/tasks/say").json()["message"] == "hi"
    assert api.get("/api/v1/flows/acme.team/hello/tasks/nope").status_code == 404


def test_namespace_deploy_is_idempotent_and_deletes_others(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW.replace("hello", "old"))
    docs = FLOW + "---\n" + FLOW.replace("hello", "second")
    first = post_yaml(api, "/api/v1/flows/acme.team", docs).json()
    assert {f["id"] for f in first["created"]} == {"hello", "second"}
    assert [f["id"] for f in first["deleted"]] == ["old"]
    again = post_yaml(api, "/api/v1/flows/acme.team", docs).json()
    assert {f["id"] for f in again["unchanged"]} == {"hello", "second"} and not again["deleted"]
    assert FlowRevision.objects.filter(flow__flow_id="hello").count() == 1


def test_namespace_deploy_is_all_or_nothing(api: Any, post_yaml: Any) -> None:
    docs = FLOW + "---\n" + FLOW.replace("hello", "second").replace("type: io.kestra.plugin.core.log.Log",
                                                                  "type: io.kestra.plugin.core.log.Nope")
    response = post_yaml(api, "/api/v1/flows/acme.team", docs)
    assert response.status_code == 400
    assert response.json()["documents"][0]["index"] == 1
    assert not Flow.objects.exists()


def test_namespace_deploy_rejects_foreign_namespace(api: Any, post_yaml: Any) -> None:
    response = post_yaml(api, "/api/v1/flows/other", FLOW)
    assert response.status_code == 422 and not Flow.objects.exists()


def test_bulk_creates_across_namespaces(api: Any, post_yaml: Any) -> None:
    docs = FLOW + "---\n" + FLOW.replace("acme.team", "other")
    response = post_yaml(api, "/api/v1/flows/bulk", docs)
    assert response.status_code == 200 and len(response.json()["created"]) == 2


def _zip(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_import_zip_and_yaml(api: Any) -> None:
    upload = io.BytesIO(_zip({"a.yml": FLOW, "dir/b.yaml": FLOW.replace("hello", "b")}))
    upload.name = "flows.zip"
    response = api.post("/api/v1/flows/import", {"fileUpload": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert {f["id"] for f in response.json()["created"]} == {"hello", "b"}
    single = io.BytesIO(FLOW.replace("hello", "c").encode())
    single.name = "c.yml"
    assert api.post("/api/v1/flows/import", {"fileUpload": single}, format="multipart").status_code == 200
    assert api.post("/api/v1/flows/import", {}, format="multipart").status_code == 400


def test_export_by_ids_and_delete_by_ids(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", FLOW)
    response = api.post("/api/v1/flows/export/by-ids", [{"namespace": "acme.team", "id": "hello"}], format="json")
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["acme.team.hello.yml"]
    assert api.post("/api/v1/flows/export/by-ids", {"x": 1}, format="json").status_code == 400
    gone = api.delete("/api/v1/flows/delete/by-ids", [{"namespace": "acme.team", "id": "hello"}], format="json")
    assert gone.json() == {"count": 1}
    missing = api.delete("/api/v1/flows/delete/by-ids", [{"namespace": "acme.team", "id": "hello"}], format="json")
    assert missing.status_code == 404


def test_plugins_list_detail_and_schemas(api: Any) -> None:
    groups = api.get("/api/v1/plugins").json()
    classes = {t["cls"] for g in groups for t in g["tasks"] + g["triggers"] + g["conditions"]}
    assert {"io.kestra.plugin.core.log.Log", "io.kestra.plugin.core.trigger.Schedule"} <= classes
    detail = api.get("/api/v1/plugins/io.kestra.plugin.core.log.Log").json()
    assert "message" in detail["schema"]["properties"]["properties"] and detail["markdown"]
    alias = api.get("/api/v1/plugins/io.kestra.core.tasks.log.Log").json()
    assert alias["cls"] == "io.kestra.plugin.core.log.Log"
    assert api.get("/api/v1/plugins/io.kestra.plugin.core.log.Lgo").status_code == 404
    flow_schema = api.get("/api/v1/plugins/schemas/flow")
    assert flow_schema.status_code == 200 and "Task" in flow_schema.json()["definitions"]
    assert "max-age" in flow_schema["Cache-Control"]
    assert api.get("/api/v1/plugins/schemas/task", {"arrayOf": "true"}).json()["type"] == "array"
    assert api.get("/api/v1/plugins/schemas/nope").status_code == 404
    assert {"type": "STRING"} in api.get("/api/v1/plugins/inputs").json()
    assert api.get("/api/v1/plugins/inputs/INT").json()["type"] == "INT"
    assert api.get("/api/v1/plugins/inputs/NOPE").status_code == 404


ENDPOINTS = [
    ("post", "/api/v1/flows"), ("get", "/api/v1/flows/search"), ("get", "/api/v1/flows/distinct-namespaces"),
    ("post", "/api/v1/flows/validate"), ("post", "/api/v1/flows/graph"), ("post", "/api/v1/flows/bulk"),
    ("post", "/api/v1/flows/import"), ("get", "/api/v1/flows/export/by-query"),
    ("post", "/api/v1/flows/export/by-ids"), ("delete", "/api/v1/flows/delete/by-ids"),
    ("get", "/api/v1/flows/acme"), ("post", "/api/v1/flows/acme"), ("get", "/api/v1/flows/acme/hello"),
    ("put", "/api/v1/flows/acme/hello"), ("delete", "/api/v1/flows/acme/hello"),
    ("get", "/api/v1/flows/acme/hello/revisions"), ("get", "/api/v1/flows/acme/hello/graph"),
    ("get", "/api/v1/flows/acme/hello/tasks/t"), ("get", "/api/v1/plugins"),
    ("get", "/api/v1/plugins/io.kestra.plugin.core.log.Log"), ("get", "/api/v1/plugins/schemas/flow"),
    ("get", "/api/v1/plugins/inputs"), ("get", "/api/v1/plugins/inputs/INT"),
    ("post", "/api/v1/namespaces/configs/flows"), ("get", "/api/v1/namespaces/x/flows/health"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_gets_401_everywhere(anon: Any, method: str, url: str) -> None:
    response = getattr(anon, method)(url)
    assert response.status_code == 401
    assert "authentication required" in response.json()["message"]


def test_bad_token_is_401(anon: Any) -> None:
    anon.credentials(HTTP_AUTHORIZATION="Bearer weir_not-a-token")
    response = anon.get("/api/v1/flows/search")
    assert response.status_code == 401 and "invalid" in response.json()["message"]


def test_unknown_endpoint_is_json_404(api: Any) -> None:
    response = api.get("/api/v1/nothing/here")
    assert response.status_code == 404 and "no such endpoint" in response.json()["message"]


@pytest.mark.parametrize(("url", "body", "ctype"), [
    ("/api/v1/flows", "", "application/x-yaml"),
    ("/api/v1/flows", "- just\n- a list\n", "application/x-yaml"),
    ("/api/v1/flows", "id: [unclosed", "application/x-yaml"),
    ("/api/v1/flows", "\xff\xfe", "application/octet-stream"),
    ("/api/v1/flows/validate", "", "application/x-yaml"),
    ("/api/v1/flows/graph", "tasks: []", "application/x-yaml"),
    ("/api/v1/flows/bulk", "id: [", "application/x-yaml"),
])
def test_bad_bodies_are_4xx_with_a_message(api: Any, url: str, body: str, ctype: str) -> None:
    response = api.generic("POST", url, body.encode("latin-1"), content_type=ctype)
    assert 400 <= response.status_code < 500
    assert response.json()["message"]
    assert not Flow.objects.exists()


def test_openapi_schema_and_docs_page(api: Any, admin_client: Any) -> None:
    schema = admin_client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/flows" in paths and "/api/v1/flows/search" in paths
    assert admin_client.get("/api/docs/").status_code == 200
