"""Server-rendered pages: login gate, flow list/search, flow page, editor mount, tokens, assets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Template
from django.test import override_settings

from apps.accounts.models import ApiToken
from apps.flows import services

pytestmark = pytest.mark.django_db

HELLO = """\
id: hello
namespace: acme.data
description: Says **hello** to the team.
labels:
  team: data
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: hi there
"""

OTHER = """\
id: nightly_report
namespace: acme.finance
tasks:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: report
"""


def _props(html: str, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"json_script {element_id!r} missing"
    return json.loads(match.group(1))


@pytest.fixture
def hello(admin_user: Any) -> Any:
    return services.create_flow(admin_user, HELLO)


@pytest.mark.parametrize("url", ["/", "/flows/new/", "/flows/acme.data/hello/", "/flows/acme.data/hello/edit/",
                                 "/account/tokens/"])
def test_anonymous_is_sent_to_login(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_login_page_renders_a_form_and_logs_in(client: Any, admin_user: Any) -> None:
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content
    response = client.post("/login/", {"username": "admin", "password": "password"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_login_page_shows_bad_credentials(client: Any, admin_user: Any) -> None:
    response = client.post("/login/", {"username": "admin", "password": "wrong"})
    assert response.status_code == 200
    assert b"alert-error" in response.content


def test_list_shows_flows_and_search_filters(admin_client: Any, admin_user: Any, hello: Any) -> None:
    services.create_flow(admin_user, OTHER)
    everything = admin_client.get("/").content.decode()
    assert "/flows/acme.data/hello/" in everything and "/flows/acme.finance/nightly_report/" in everything
    assert "team" in everything and "data" in everything  # the label chip

    by_text = admin_client.get("/", {"q": "nightly"}).content.decode()
    assert "/flows/acme.finance/nightly_report/" in by_text
    assert "/flows/acme.data/hello/" not in by_text

    by_namespace = admin_client.get("/", {"namespace": "acme.data"}).content.decode()
    assert "/flows/acme.data/hello/" in by_namespace
    assert "/flows/acme.finance/nightly_report/" not in by_namespace

    nothing = admin_client.get("/", {"q": "no-such-flow"}).content.decode()
    assert "No flows match" in nothing


def test_list_pages_through_many_flows(admin_client: Any, admin_user: Any) -> None:
    for i in range(30):
        services.create_flow(admin_user, OTHER.replace("nightly_report", f"flow_{i:02d}"))
    first = admin_client.get("/").content.decode()
    second = admin_client.get("/", {"page": 2}).content.decode()
    assert "flow_00" in first and "flow_29" not in first
    assert "flow_29" in second and "Page 2 of 2" in second


def test_flow_page_shows_header_source_and_revisions(admin_client: Any, admin_user: Any, hello: Any) -> None:
    services.update_flow(admin_user, "acme.data", "hello", HELLO.replace("hi there", "hello again"))
    page = admin_client.get("/flows/acme.data/hello/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>hello</h1>" in html and "acme.data" in html
    assert "<strong>hello</strong>" in html  # the description, rendered as markdown
    assert 'data-island="topology"' in html

    source = admin_client.get("/flows/acme.data/hello/", {"tab": "source"}).content.decode()
    assert "hello again" in source and "hi there" not in source

    revisions = admin_client.get("/flows/acme.data/hello/", {"tab": "revisions"}).content.decode()
    assert "?tab=source&amp;revision=1" in revisions and "?tab=source&amp;revision=2" in revisions

    old = admin_client.get("/flows/acme.data/hello/", {"revision": 1}).content.decode()
    assert "hi there" in old and "Viewing revision <strong>1</strong>" in old


def test_flow_page_embeds_the_topology_graph(admin_client: Any, hello: Any) -> None:
    html = admin_client.get("/flows/acme.data/hello/").content.decode()
    props = _props(html, "topology-props")
    uids = {node["uid"] for node in props["graph"]["nodes"]}
    assert "root.greet" in uids
    assert props["message"] is None


def test_flow_page_survives_a_broken_graph_builder(admin_client: Any, hello: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(flow: Any) -> Any:
        raise RuntimeError("graph bug")

    monkeypatch.setattr("apps.flows.graph.build_graph", boom)
    response = admin_client.get("/flows/acme.data/hello/")
    assert response.status_code == 200
    assert "Topology unavailable" in response.content.decode()


def test_unknown_flow_and_revision_are_404(admin_client: Any, hello: Any) -> None:
    assert admin_client.get("/flows/acme.data/nope/").status_code == 404
    assert admin_client.get("/flows/acme.data/nope/edit/").status_code == 404
    assert admin_client.get("/flows/acme.data/hello/", {"revision": 99}).status_code == 404
    assert admin_client.get("/flows/acme.data/hello/", {"revision": "x"}).status_code == 404


def test_description_is_rendered_inert(admin_client: Any, admin_user: Any) -> None:
    evil = HELLO.replace(
        "description: Says **hello** to the team.",
        'description: "<img src=x onerror=alert(1)> [x](javascript:alert(1)) {{ 7*7 }} {% debug %}"',
    )
    services.create_flow(admin_user, evil)
    html = admin_client.get("/flows/acme.data/hello/").content.decode()
    description = html.split('class="card-body prose">', 1)[1].split("</div>", 1)[0]
    assert "<img" not in description and "&lt;img src=x onerror=alert(1)&gt;" in description  # shown as text
    assert 'href="javascript' not in html
    assert "{{ 7*7 }}" in description and "49" not in description  # never evaluated as a template


def test_source_view_escapes_markup(admin_client: Any, admin_user: Any) -> None:
    services.create_flow(admin_user, HELLO.replace("message: hi there", 'message: "</code><script>alert(1)</script>"'))
    html = admin_client.get("/flows/acme.data/hello/", {"tab": "source"}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_editor_page_mounts_the_island_with_props(admin_client: Any, hello: Any) -> None:
    html = admin_client.get("/flows/acme.data/hello/edit/").content.decode()
    assert 'data-island="flow-editor"' in html and 'data-props="editor-props"' in html
    props = _props(html, "editor-props")
    assert props["mode"] == "edit"
    assert (props["namespace"], props["id"], props["revision"]) == ("acme.data", "hello", 1)
    assert props["source"] == HELLO
    assert props["urls"]["api"] == "/api/v1"
    assert props["urls"]["editPage"] == "/flows/__NS__/__ID__/edit/"
    assert "hi there" in html  # the no-JS fallback shows the source too


def test_new_flow_editor_starts_from_a_valid_template(admin_client: Any) -> None:
    html = admin_client.get("/flows/new/", {"namespace": "acme.ops"}).content.decode()
    props = _props(html, "editor-props")
    assert props["mode"] == "create" and props["revision"] is None
    assert "namespace: acme.ops" in props["source"]
    assert services.validate(props["source"]).problems == []


def test_new_flow_ignores_a_namespace_that_would_inject_yaml(admin_client: Any) -> None:
    html = admin_client.get("/flows/new/", {"namespace": "x\ntasks: []"}).content.decode()
    assert "namespace: company.team" in _props(html, "editor-props")["source"]


def test_tokens_page_creates_a_token_shown_once_and_revokes(admin_client: Any, admin_user: Any) -> None:
    created = admin_client.post("/account/tokens/", {"name": "release-bot"}).content.decode()
    raw = re.search(r'value="(weir_[^"]+)"', created)
    assert raw, "the new token is shown"
    token = ApiToken.objects.get(user=admin_user, name="release-bot")
    assert raw.group(1).startswith(token.prefix)

    listing = admin_client.get("/account/tokens/").content.decode()
    assert "release-bot" in listing and raw.group(1) not in listing

    admin_client.post("/account/tokens/", {"revoke": token.pk})
    token.refresh_from_db()
    assert token.revoked
    assert "release-bot" not in admin_client.get("/account/tokens/").content.decode()


MANIFEST = {
    "_shared-abc.js": {"file": "assets/shared-abc.js", "css": ["assets/shared-abc.css"]},
    "src/topology.ts": {"file": "assets/topology-1.js", "isEntry": True, "imports": ["_shared-abc.js"]},
    "src/yaml-editor.ts": {"file": "assets/editor-1.js", "isEntry": True, "imports": ["_shared-abc.js"],
                           "css": ["assets/editor-1.css"]},
}


def test_vite_asset_emits_script_css_and_shared_chunks_once(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(MANIFEST))
    with override_settings(WEIR_FRONTEND_MANIFEST=manifest):
        from apps.ui.context import frontend

        ctx = frontend(None)  # type: ignore[arg-type]
        html = Template('{% load vite %}{% vite_asset "src/yaml-editor.ts" %}{% vite_asset "src/topology.ts" %}'
                        ).render(Context(ctx))
    assert '<script type="module" src="/static/dist/assets/editor-1.js"></script>' in html
    assert '<script type="module" src="/static/dist/assets/topology-1.js"></script>' in html
    assert html.count("assets/shared-abc.css") == 1 and html.count('href="/static/dist/assets/shared-abc.js"') == 1
    assert html.index("shared-abc.css") < html.index("editor-1.css")


def test_vite_asset_without_a_build_leaves_a_comment(tmp_path: Path) -> None:
    with override_settings(WEIR_FRONTEND_MANIFEST=tmp_path / "missing.json"):
        html = Template('{% load vite %}{% vite_asset "src/yaml-editor.ts" %}').render(Context({}))
    assert html.startswith("<!--") and "npm run build" in html and "<script" not in html
