"""A stored revision keeps its parsed source as JSON text (`FlowRevision.document`), and the
engine compiles a revision from it rather than composing the YAML again in every process."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from apps.executions.runtime import runner
from apps.flows import services as flow_services
from apps.flows import yamlsource
from apps.flows.models import FlowRevision

pytestmark = pytest.mark.django_db

FLOW = """id: doc
namespace: acme.documents
description: "héllo ✓ — 日本"
labels:
  zeta: last-but-first
  alpha: "2"
variables:
  big: 1180591620717411303424
  ratio: .inf
  low: -.inf
  missing: .nan
  when: 2024-01-01T10:00:00Z
  flags: {yes: true, "1": one, null: nothing}
  nested: {b: 1, a: [3, 2, {y: 0, x: -0.0}]}
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: "{{ vars.big }}"
  - id: b
    type: io.kestra.plugin.core.debug.Return
    format: b
"""


def _same(left: Any, right: Any) -> bool:
    """Equal, NaN included, with every mapping's keys in the same order."""
    if isinstance(left, dict):
        return (isinstance(right, dict) and list(left) == list(right)
                and all(_same(left[k], right[k]) for k in left))
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, float) and math.isnan(left):
        return isinstance(right, float) and math.isnan(right)
    return type(left) is type(right) and left == right


def test_a_saved_revision_keeps_the_parsed_source_with_its_order_and_values(writer: Any) -> None:
    flow_services.create_flow(writer, FLOW)
    row = FlowRevision.objects.get(flow__namespace="acme.documents", flow__flow_id="doc", revision=1)
    stored = json.loads(row.document)
    assert _same(stored, yamlsource.load(FLOW).data)
    variables = stored["variables"]
    assert variables["big"] == 2**70 and isinstance(variables["big"], int)
    assert variables["ratio"] == math.inf and variables["low"] == -math.inf and math.isnan(variables["missing"])
    assert variables["when"] == "2024-01-01T10:00:00Z"  # timestamps stay strings, as the loader keeps them
    assert list(variables["flags"]) == ["true", "1", "null"]  # YAML 1.1 keys as the loader names them
    assert list(stored["labels"]) == ["zeta", "alpha"]


def test_a_deleted_revision_keeps_its_document_too(writer: Any) -> None:
    flow_services.create_flow(writer, FLOW)
    flow_services.delete_flow(writer, "acme.documents", "doc")
    row = FlowRevision.objects.get(flow__namespace="acme.documents", flow__flow_id="doc", revision=2)
    assert row.deleted and _same(json.loads(row.document), yamlsource.load(FLOW).data)


def test_the_engine_compiles_a_revision_from_its_document(writer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    flow_services.create_flow(writer, FLOW)
    runner.clear_compiled()
    flow_services._parse_cached.cache_clear()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the revision's YAML was parsed again")

    monkeypatch.setattr(yamlsource, "load", refuse)
    flow = runner.compiled("acme.documents", "doc", 1)
    assert [task.id for task in flow.tasks] == ["a", "b"]
    assert flow.raw["variables"]["big"] == 2**70
    runner.clear_compiled()


def test_a_revision_saved_before_documents_were_kept_is_parsed_from_its_yaml(writer: Any) -> None:
    flow_services.create_flow(writer, FLOW)
    FlowRevision.objects.filter(flow__namespace="acme.documents", flow__flow_id="doc").update(document="")
    runner.clear_compiled()
    flow = runner.compiled("acme.documents", "doc", 1)
    assert [task.id for task in flow.tasks] == ["a", "b"]
    assert _same(dict(flow.raw["variables"]), yamlsource.load(FLOW).data["variables"])
    runner.clear_compiled()
