"""Engine semantics as Kestra has them, seen through Kestra's own client (kestrapy).

Each test names the KESTRA.md section it pins. These are the behaviours a blind conformance run
found differing once: instants, a failed execution's flow outputs, where FILE inputs are stored,
the KV tasks and function, and JSON inputs.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.kestra.conftest import TENANT
from tests.kestra.test_kestrapy import NS, _flow, _state

pytestmark = pytest.mark.django_db(transaction=True)

INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
"""`java.time.Instant.toString()`: UTC, `Z`, seconds always, a fraction only in groups of 3 digits."""


def _run(kestra: Any, flow: str, flow_id: str, **inputs: Any) -> Any:
    kestra.flows.create_flow(TENANT, flow)
    return kestra.executions.create_execution(TENANT, NS, flow_id, wait=True, inputs=inputs or None)


def _outputs(execution: Any) -> dict[str, Any]:
    return {run.task_id: (run.additional_properties.get("outputs") or {}) for run in execution.task_run_list}


def _raw(kestra: Any, execution_id: str) -> dict[str, Any]:
    """The execution's JSON as sent (not through the SDK's model)."""
    response = kestra.executions._request("GET", f"/api/v1/{TENANT}/executions/{execution_id}")
    body: dict[str, Any] = response.json()
    return body


def test_instants_in_expressions_and_in_api_answers(kestra: Any) -> None:
    """KESTRA.md §1.3 (DATETIME is an Instant) and §6.2 (`execution.startDate`, `taskrun.startDate`):
    an Instant renders, and serializes in the API, as `Instant.toString()`."""
    done = _run(kestra, _flow("instants", """\
inputs:
  - id: at
    type: DATETIME
  - id: precise
    type: DATETIME
tasks:
  - id: started
    type: io.kestra.plugin.core.debug.Return
    format: "{{ execution.startDate }}|{{ taskrun.startDate }}"
  - id: given
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.at }}|{{ inputs.precise }}"
"""), "instants", at="2019-10-06T18:27:49Z", precise="2019-10-06T20:27:49.500+02:00")
    assert _state(done) == "SUCCESS"
    outputs = _outputs(done)
    started, run_started = outputs["started"]["value"].split("|")
    assert INSTANT.match(started) and INSTANT.match(run_started), (started, run_started)
    assert outputs["given"]["value"] == "2019-10-06T18:27:49Z|2019-10-06T18:27:49.500Z"

    raw = _raw(kestra, done.id)
    assert raw["inputs"] == {"at": "2019-10-06T18:27:49Z", "precise": "2019-10-06T18:27:49.500Z"}
    dates = [raw["state"]["startDate"], raw["state"]["endDate"], *(h["date"] for h in raw["state"]["histories"])]
    assert all(INSTANT.match(d) for d in dates), dates
    assert raw["state"]["startDate"] == started


def test_a_failed_execution_has_no_flow_outputs(kestra: Any) -> None:
    """KESTRA.md §1 (`outputs`: a render failure makes the execution FAILED) and §5.10: the
    execution's outputs are never set, so Kestra's answer carries no `outputs` (null is not
    serialized); the task runs keep theirs."""
    done = _run(kestra, _flow("outputs_failed", """\
tasks:
  - id: ok
    type: io.kestra.plugin.core.debug.Return
    format: "{{ flow.id }}"
outputs:
  - id: key
    type: STRING
    value: "{{ invalid }}"
"""), "outputs_failed")
    assert _state(done) == "FAILED"
    assert _outputs(done) == {"ok": {"value": "outputs_failed"}}
    assert "outputs" not in _raw(kestra, done.id)
    logs = [line.message for line in kestra.logs.list_logs_from_execution(done.id, TENANT)]
    assert any(m.startswith("Failed to render output values") for m in logs), logs

    fine = _run(kestra, _flow("no_outputs", """\
tasks:
  - id: ok
    type: io.kestra.plugin.core.debug.Return
    format: fine
"""), "no_outputs")
    assert _state(fine) == "SUCCESS" and "outputs" not in _raw(kestra, fine.id)


def test_file_inputs_are_stored_under_the_execution(kestra: Any) -> None:
    """KESTRA.md §1.3 (FILE: uploaded to internal storage) and §5.10 (the storage layout):
    `kestra:///<namespace as a path>/<flowId>/executions/<executionId>/inputs/<inputId>/<file name>`."""
    kestra.flows.create_flow(TENANT, _flow("upload", """\
inputs:
  - id: report
    type: FILE
tasks:
  - id: uri
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.report }}"
  - id: body
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.report) }}"
"""))
    done = kestra.executions.create_execution(TENANT, NS, "upload", wait=True,
                                              inputs={"report": ("q3_figures.csv", b"a,b\n1,2\n")})
    expected = f"kestra:///acme/kestra/upload/executions/{done.id}/inputs/report/q3_figures.csv"
    assert done.inputs == {"report": expected}
    assert _outputs(done) == {"uri": {"value": expected}, "body": {"value": "a,b\n1,2\n"}}


KV = _flow("kv_tasks", """\
tasks:
  - id: put
    type: io.kestra.plugin.core.kv.Set
    key: settings
    value: '{"retries": 3, "region": "eu"}'
    kvType: JSON
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: settings
  - id: region
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.get.value.region }}|{{ kv('settings').retries }}"
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
    prefix: sett
  - id: drop
    type: io.kestra.plugin.core.kv.Delete
    key: settings
  - id: drop_again
    type: io.kestra.plugin.core.kv.Delete
    key: settings
  - id: absent
    type: io.kestra.plugin.core.kv.Get
    key: settings
  - id: fallback
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.absent.value ?? 'none' }}|{{ kv('settings') ?? 'none' }}"
""")
KV_STRICT = _flow("kv_strict", """\
tasks:
  - id: strict
    type: io.kestra.plugin.core.kv.Get
    key: settings
    errorOnMissing: true
  - id: never
    type: io.kestra.plugin.core.debug.Return
    format: not reached
""")


def test_kv_tasks_outputs_and_missing_keys(kestra: Any) -> None:
    """KESTRA.md §3 (kv.Set/Get/GetKeys/Delete and their outputs `value`, `keys`, `deleted`) and
    §6.3 (`kv()` returns null for a missing key unless errorOnMissing): a typed value comes back
    typed, and a missing key fails only when asked to, with Kestra's message."""
    done = _run(kestra, KV, "kv_tasks")
    assert _state(done) == "SUCCESS"
    outputs = _outputs(done)
    assert outputs["get"] == {"value": {"retries": 3, "region": "eu"}}
    assert outputs["region"] == {"value": "eu|3"}
    assert outputs["keys"] == {"keys": ["settings"]}
    assert (outputs["drop"], outputs["drop_again"]) == ({"deleted": True}, {"deleted": False})
    assert outputs["fallback"] == {"value": "none|none"}

    failed = _run(kestra, KV_STRICT, "kv_strict")
    assert _state(failed) == "FAILED"
    assert {run.task_id: _state(run) for run in failed.task_run_list} == {"strict": "FAILED"}
    logs = [line.message for line in kestra.logs.list_logs_from_execution(failed.id, TENANT)]
    assert "No value found for key 'settings' in namespace 'acme.kestra' and `errorOnMissing` is set to true" in logs

    function = _run(kestra, _flow("kv_function", """\
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{ kv('nope', errorOnMissing=true) }}"
"""), "kv_function")
    assert _state(function) == "FAILED"
    logs = [line.message for line in kestra.logs.list_logs_from_execution(function.id, TENANT)]
    assert any("The key 'nope' does not exist in the namespace 'acme.kestra'." in m for m in logs), logs


def test_json_inputs(kestra: Any) -> None:
    """KESTRA.md §1.3 (JSON: parsed JSON, map or list) and §6.1 (string mode serializes maps and
    lists as JSON): the input is the parsed value, in the API and in expressions."""
    done = _run(kestra, _flow("json_inputs", """\
inputs:
  - id: doc
    type: JSON
  - id: rows
    type: JSON
tasks:
  - id: whole
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.doc }}"
  - id: field
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.doc.a }}|{{ inputs.rows[1].n }}|{{ inputs.rows | length }}"
"""), "json_inputs", doc='{"a": "b", "n": [1, 2]}', rows=[{"n": 1}, {"n": 2}])
    assert _state(done) == "SUCCESS"
    assert done.inputs == {"doc": {"a": "b", "n": [1, 2]}, "rows": [{"n": 1}, {"n": 2}]}
    assert _outputs(done) == {"whole": {"value": '{"a":"b","n":[1,2]}'}, "field": {"value": "b|2|2"}}

    from kestrapy.exceptions import UnprocessableEntityException

    with pytest.raises(UnprocessableEntityException) as refused:
        kestra.executions.create_execution(TENANT, NS, "json_inputs", inputs={"doc": "{not json", "rows": "[]"})
    assert "doc" in refused.value.body
