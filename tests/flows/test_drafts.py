"""Invalid drafts (docs/adr/0026): kept verbatim with their problems, never executable, never
scheduled, superseded by a valid save, listed and marked on the flows page."""

from __future__ import annotations

from typing import Any

import pytest

from apps.flows.models import Flow, FlowDraft, FlowRevision
from apps.triggers import sync
from apps.triggers.models import TriggerState
from tests.conftest import bind

pytestmark = pytest.mark.django_db

VALID = """\
id: hello
namespace: acme.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
"""

# Pasted from elsewhere: a task type Weir lacks and a schedule trigger.
PASTED = """\
id: hello
namespace: acme.team
# kept verbatim, comment included
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * *"
tasks:
  - id: say
    type: io.kestra.plugin.snowflake.Query
    sql: SELECT 1 -- etl.py
"""

BROKEN_YAML = "id: fresh\nnamespace: acme.team\ntasks:\n  - id: [unclosed\n"


def test_draft_of_a_saved_flow_keeps_source_and_errors_and_leaves_revisions(api: Any, post_yaml: Any) -> None:
    assert post_yaml(api, "/api/v1/flows", VALID).status_code == 200
    response = post_yaml(api, "/api/v1/flows/acme.team/hello/draft", PASTED, method="PUT")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["source"] == PASTED and body["valid"] is False and body["updatedBy"] == "wes"
    assert any("snowflake.Query" in e["message"] for e in body["errors"]), body["errors"]
    # The flow itself is untouched: same revision, same source, one revision row.
    flow = Flow.objects.get(namespace="acme.team", flow_id="hello")
    assert flow.revision == 1 and flow.source == VALID and FlowRevision.objects.count() == 1
    got = api.get("/api/v1/flows/acme.team/hello/draft").json()
    assert got["source"] == PASTED and got["errors"] == body["errors"]
    # Saving again replaces it (one draft per flow).
    again = PASTED.replace("etl.py", "load.py")
    post_yaml(api, "/api/v1/flows/acme.team/hello/draft", again, method="PUT")
    assert list(FlowDraft.objects.values_list("source", flat=True)) == [again]


def test_executing_latest_is_refused_while_an_invalid_draft_is_pending(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", VALID)
    post_yaml(api, "/api/v1/flows/acme.team/hello/draft", PASTED, method="PUT")
    refused = api.post("/api/v1/executions/acme.team/hello")
    assert refused.status_code == 409
    message = refused.json()["message"]
    assert "invalid draft" in message and "/api/v1/flows/acme.team/hello/draft" in message
    # A saved revision named explicitly still runs.
    assert api.post("/api/v1/executions/acme.team/hello", QUERY_STRING="revision=1").status_code == 200
    # Discarding the draft makes the flow executable again.
    assert api.delete("/api/v1/flows/acme.team/hello/draft").status_code == 204
    assert api.get("/api/v1/flows/acme.team/hello/draft").status_code == 404
    assert api.post("/api/v1/executions/acme.team/hello").status_code == 200


def test_a_new_flow_can_be_only_a_draft_even_when_its_yaml_does_not_parse(api: Any, post_yaml: Any) -> None:
    response = post_yaml(api, "/api/v1/flows/drafts", BROKEN_YAML)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["namespace"], body["id"], body["source"]) == ("acme.team", "fresh", BROKEN_YAML)
    assert body["errors"] and not Flow.objects.exists()
    refused = api.post("/api/v1/executions/acme.team/fresh")
    assert refused.status_code == 409 and "invalid draft" in refused.json()["message"]
    listed = api.get("/api/v1/flows/drafts").json()
    assert [(d["namespace"], d["id"]) for d in listed] == [("acme.team", "fresh")] and "source" not in listed[0]


def test_a_valid_save_supersedes_the_draft(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows/drafts", PASTED)
    created = post_yaml(api, "/api/v1/flows", VALID)
    assert created.status_code == 200 and not FlowDraft.objects.exists()
    post_yaml(api, "/api/v1/flows/acme.team/hello/draft", PASTED, method="PUT")
    # Saving the latest revision's own text over the draft chooses it, too.
    assert post_yaml(api, "/api/v1/flows/acme.team/hello", VALID, method="PUT").status_code == 200
    assert not FlowDraft.objects.exists()


def test_draft_triggers_are_not_scheduled(api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows/drafts", PASTED)
    sync.reconcile_scope("acme.team", "hello")
    assert not TriggerState.objects.filter(flow_id="hello").exists()
    post_yaml(api, "/api/v1/flows", VALID)  # a valid revision without triggers
    post_yaml(api, "/api/v1/flows/acme.team/hello/draft", PASTED, method="PUT")
    sync.reconcile_scope("acme.team", "hello")
    assert not TriggerState.objects.filter(flow_id="hello").exists()


@pytest.mark.parametrize(("url", "method", "body", "status", "needle"), [
    ("/api/v1/flows/drafts", "POST", VALID, 400, "valid"),
    ("/api/v1/flows/drafts", "POST", "tasks: [\n", 400, "`id` and `namespace`"),
    ("/api/v1/flows/drafts", "POST", "   \n", 400, "empty"),
    ("/api/v1/flows/acme.team/hello/draft", "PUT", VALID, 400, "valid"),
    ("/api/v1/flows/acme.team/bad%20id/draft", "PUT", PASTED, 400, "invalid flow id"),
    ("/api/v1/flows/acme.team/nothing/draft", "GET", "", 404, "no draft"),
    ("/api/v1/flows/acme.team/nothing/draft", "DELETE", "", 404, "no draft"),
])
def test_bad_draft_requests_are_4xx_naming_the_problem(api: Any, url: str, method: str, body: str, status: int,
                                                       needle: str) -> None:
    response = api.generic(method, url, body.encode(), content_type="application/x-yaml")
    assert response.status_code == status, response.content
    assert needle in response.json()["message"]
    assert not FlowDraft.objects.exists()


def test_drafts_follow_namespace_roles(make_user: Any, post_yaml: Any) -> None:
    from rest_framework.test import APIClient

    writer, viewer, stranger = (APIClient() for _ in range(3))
    writer.force_authenticate(bind(make_user("w"), "WRITE", "acme"))
    viewer.force_authenticate(bind(make_user("v"), "READ", "acme"))
    stranger.force_authenticate(bind(make_user("s"), "WRITE", "other"))
    assert post_yaml(writer, "/api/v1/flows/drafts", PASTED).status_code == 200
    assert viewer.get("/api/v1/flows/acme.team/hello/draft").status_code == 200
    assert post_yaml(viewer, "/api/v1/flows/acme.team/hello/draft", PASTED, method="PUT").status_code == 403
    assert viewer.delete("/api/v1/flows/acme.team/hello/draft").status_code == 403
    assert stranger.get("/api/v1/flows/acme.team/hello/draft").status_code == 404
    assert stranger.get("/api/v1/flows/drafts").json() == []
    assert post_yaml(stranger, "/api/v1/flows/drafts", PASTED).status_code == 404


def test_flows_page_marks_drafts_and_lists_unsaved_ones(client: Any, writer: Any, api: Any, post_yaml: Any) -> None:
    post_yaml(api, "/api/v1/flows", VALID)
    post_yaml(api, "/api/v1/flows/acme.team/hello/draft", PASTED, method="PUT")
    post_yaml(api, "/api/v1/flows/drafts", BROKEN_YAML)
    client.force_login(writer)
    page = client.get("/").content.decode()
    assert page.count("draft · invalid") == 2
    assert "Drafts not saved as flows yet" in page and "/flows/acme.team/fresh/edit/" in page
    # The editor opens the draft, for a saved flow and for a draft-only one.
    assert "etl.py" in client.get("/flows/acme.team/hello/edit/").content.decode()
    assert "[unclosed" in client.get("/flows/acme.team/fresh/edit/").content.decode()


def test_drafts_are_in_the_openapi_schema(admin_client: Any) -> None:
    paths = admin_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    detail = paths["/api/v1/flows/{namespace}/{flow_id}/draft"]
    assert {"get", "put", "delete"} <= set(detail) and {"get", "post"} <= set(paths["/api/v1/flows/drafts"])
    assert "source" in detail["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
