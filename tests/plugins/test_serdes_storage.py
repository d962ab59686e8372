"""serdes (CSV/JSON ⇄ ION) and the core storage.* tasks, run in real flows.

Source files come from a local HTTP server through `http.Download` (loopback opened with
WEIR_EGRESS_ALLOW), as a real pipeline would fetch them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from apps.plugins import egress, ion
from tests.plugins.flowrun import eager, execute, read, root

__all__ = ["eager", "root"]

pytestmark = pytest.mark.django_db(transaction=True)
NS = "weir.files"

CSV = 'id,name,amount\n1,"Smith, Ann",120\n2,Zoë,80\n3,"multi\nline ""q""",300\n'


@pytest.fixture
def served(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    monkeypatch.setenv(egress.ENV, "127.0.0.1")
    httpserver.expect_request("/orders.csv").respond_with_data(CSV.encode(), content_type="text/csv")
    httpserver.expect_request("/plain.csv").respond_with_data(b"a;b\nskip;me\n1;2\n\n3;4\n")
    httpserver.expect_request("/rows.jsonl").respond_with_data(
        b'{"id": 1, "price": 1.5, "tags": ["x"], "when": null}\n{"id": 2, "price": 10, "name": "b"}\n')
    httpserver.expect_request("/blank.jsonl").respond_with_data(b'{"id": 1}\n\n{"id": 2}\n')
    httpserver.expect_request("/array.json").respond_with_data(b'[{"a": 1}, {"a": 2}, {"a": 3}]')
    httpserver.expect_request("/ragged.csv").respond_with_data(b"a,b\n1,2\n3\n4,5,6\n")
    httpserver.expect_request("/lines.txt").respond_with_data(b"l1\nl2\nl3\nl4\nl5\n")
    return httpserver


def test_csv_to_ion_and_back(served: HTTPServer, root: Any, eager: None) -> None:
    ran = execute(root, f"""\
        id: csv_roundtrip
        namespace: {NS}
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/orders.csv')}"
          - id: to_ion
            type: io.kestra.plugin.serdes.csv.CsvToIon
            from: "{{{{ outputs.fetch.uri }}}}"
          - id: to_csv
            type: io.kestra.plugin.serdes.csv.IonToCsv
            from: "{{{{ outputs.to_ion.uri }}}}"
          - id: quoted
            type: io.kestra.plugin.serdes.csv.CsvWriter
            from: "{{{{ outputs.to_ion.uri }}}}"
            alwaysDelimitText: "{{{{ true }}}}"
            fieldSeparator: ";"
            header: false
          - id: plain
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/plain.csv')}"
          - id: lists
            type: io.kestra.plugin.serdes.csv.CsvToIon
            from: "{{{{ outputs.plain.uri }}}}"
            header: false
            fieldSeparator: ";"
            skipEmptyRows: true
            skipRows: 1
        """)
    assert ran.state == "SUCCESS", ran.logs()
    ion_text = read(ran.outputs("to_ion")["uri"]).decode()
    assert ion_text == ('{id:"1",name:"Smith, Ann",amount:"120"}\n{id:"2",name:"Zoë",amount:"80"}\n'
                        '{id:"3",name:"multi\\nline \\"q\\"",amount:"300"}\n')
    assert read(ran.outputs("to_csv")["uri"]).decode() == CSV
    assert read(ran.outputs("quoted")["uri"]).decode().splitlines()[0] == '"1";"Smith, Ann";"120"'
    assert read(ran.outputs("lists")["uri"]).decode() == '["skip","me"]\n["1","2"]\n["3","4"]\n'


def test_rows_of_another_width(served: HTTPServer, root: Any, eager: None) -> None:
    ran = execute(root, f"""\
        id: ragged
        namespace: {NS}
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/ragged.csv')}"
          - id: lenient
            type: io.kestra.plugin.serdes.csv.CsvToIon
            from: "{{{{ outputs.fetch.uri }}}}"
          - id: strict
            type: io.kestra.plugin.serdes.csv.CsvToIon
            from: "{{{{ outputs.fetch.uri }}}}"
            errorOnDifferentFieldCount: true
        """)
    assert read(ran.outputs("lenient")["uri"]).decode() == '{a:"1",b:"2"}\n{a:"3"}\n{a:"4",b:"5"}\n'
    assert ran.task_state("strict") == "FAILED"
    assert any("record 2 has 1 fields, the header has 2" in line for line in ran.logs("strict"))


def test_json_to_ion_and_back(served: HTTPServer, root: Any, eager: None) -> None:
    ran = execute(root, f"""\
        id: json_roundtrip
        namespace: {NS}
        tasks:
          - id: fetch
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/rows.jsonl')}"
          - id: to_ion
            type: io.kestra.plugin.serdes.json.JsonToIon
            from: "{{{{ outputs.fetch.uri }}}}"
          - id: to_json
            type: io.kestra.plugin.serdes.json.IonToJson
            from: "{{{{ outputs.to_ion.uri }}}}"
            newLine: false
          - id: array
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/array.json')}"
          - id: exploded
            type: io.kestra.plugin.serdes.json.JsonReader
            from: "{{{{ outputs.array.uri }}}}"
            newLine: false
          - id: blank
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/blank.jsonl')}"
          - id: strict
            type: io.kestra.plugin.serdes.json.JsonToIon
            from: "{{{{ outputs.blank.uri }}}}"
        """)
    assert read(ran.outputs("to_ion")["uri"]).decode() == (
        '{id:1,price:1.5,tags:["x"],when:null}\n{id:2,price:10,name:"b"}\n')
    assert json.loads(read(ran.outputs("to_json")["uri"])) == [
        {"id": 1, "price": 1.5, "tags": ["x"], "when": None}, {"id": 2, "price": 10, "name": "b"}]
    assert ran.outputs("to_json")["uri"].endswith(".json")
    assert [ion.loads(x) for x in read(ran.outputs("exploded")["uri"]).decode().splitlines()] == [
        {"a": 1}, {"a": 2}, {"a": 3}]
    assert ran.task_state("strict") == "FAILED"
    assert any("line 2 is blank" in line for line in ran.logs("strict"))


def test_storage_tasks(served: HTTPServer, root: Any, eager: None) -> None:
    ran = execute(root, f"""\
        id: storage
        namespace: {NS}
        tasks:
          - id: lines
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/lines.txt')}"
          - id: size
            type: io.kestra.plugin.core.storage.Size
            uri: "{{{{ outputs.lines.uri }}}}"
          - id: split
            type: io.kestra.plugin.core.storage.Split
            from: "{{{{ outputs.lines.uri }}}}"
            rows: 2
          - id: by_bytes
            type: io.kestra.plugin.core.storage.Split
            from: "{{{{ outputs.lines.uri }}}}"
            bytes: "7B"
          - id: concat
            type: io.kestra.plugin.core.storage.Concat
            files: "{{{{ outputs.split.uris | json }}}}"
            extension: .txt
          - id: reverse
            type: io.kestra.plugin.core.storage.Reverse
            from: "{{{{ outputs.lines.uri }}}}"
          - id: orders
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/orders.csv')}"
          - id: ion
            type: io.kestra.plugin.serdes.csv.CsvToIon
            from: "{{{{ outputs.orders.uri }}}}"
          - id: big
            type: io.kestra.plugin.core.storage.FilterItems
            from: "{{{{ outputs.ion.uri }}}}"
            filterCondition: "{{{{ amount | number > 100 }}}}"
          - id: dedup
            type: io.kestra.plugin.core.storage.DeduplicateItems
            from: "{{{{ outputs.ion.uri }}}}"
            expr: "{{{{ amount | number > 100 }}}}"
          - id: delete
            type: io.kestra.plugin.core.storage.Delete
            uri: "{{{{ outputs.reverse.uri }}}}"
          - id: delete_again
            type: io.kestra.plugin.core.storage.Delete
            uri: "{{{{ outputs.reverse.uri }}}}"
            errorOnMissing: true
            allowFailure: true
          - id: purge
            type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
        """)
    assert ran.outputs("size")["size"] == 15
    assert len(ran.outputs("split")["uris"]) == 3 and len(ran.outputs("by_bytes")["uris"]) == 3
    assert ran.outputs("reverse")["uri"].endswith(".txt")
    assert ran.outputs("big")["processedItemsTotal"] == 3 and ran.outputs("big")["droppedItemsTotal"] == 1
    dedup = ran.outputs("dedup")
    assert dedup["numKeys"] == 2 and dedup["droppedItemsTotal"] == 1
    assert ran.outputs("delete")["deleted"] is True
    assert ran.task_state("delete_again") == "WARNING"  # failed, allowed
    purged = ran.outputs("purge")["uris"]
    assert ran.outputs("concat")["uri"] in purged and ran.outputs("lines")["uri"] in purged
    with pytest.raises(FileNotFoundError):
        read(ran.outputs("lines")["uri"])


def test_reverse_and_filter_contents(served: HTTPServer, root: Any, eager: None) -> None:
    ran = execute(root, f"""\
        id: contents
        namespace: {NS}
        tasks:
          - id: lines
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/lines.txt')}"
          - id: reverse
            type: io.kestra.plugin.core.storage.Reverse
            from: "{{{{ outputs.lines.uri }}}}"
          - id: split
            type: io.kestra.plugin.core.storage.Split
            from: "{{{{ outputs.lines.uri }}}}"
            rows: 2
          - id: by_bytes
            type: io.kestra.plugin.core.storage.Split
            from: "{{{{ outputs.lines.uri }}}}"
            bytes: "7B"
          - id: concat
            type: io.kestra.plugin.core.storage.Concat
            files: "{{{{ outputs.split.uris | json }}}}"
            separator: "--"
          - id: orders
            type: io.kestra.plugin.core.http.Download
            uri: "{served.url_for('/orders.csv')}"
          - id: ion
            type: io.kestra.plugin.serdes.csv.CsvToIon
            from: "{{{{ outputs.orders.uri }}}}"
          - id: small
            type: io.kestra.plugin.core.storage.FilterItems
            from: "{{{{ outputs.ion.uri }}}}"
            filterCondition: "{{{{ amount | number > 100 }}}}"
            filterType: EXCLUDE
          - id: dedup
            type: io.kestra.plugin.core.storage.DeduplicateItems
            from: "{{{{ outputs.ion.uri }}}}"
            expr: "{{{{ amount | number > 100 }}}}"
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert read(ran.outputs("reverse")["uri"]) == b"l5\nl4\nl3\nl2\nl1\n"
    assert [read(u) for u in ran.outputs("split")["uris"]] == [b"l1\nl2\n", b"l3\nl4\n", b"l5\n"]
    assert [read(u) for u in ran.outputs("by_bytes")["uris"]] == [b"l1\nl2\n", b"l3\nl4\n", b"l5\n"]
    assert read(ran.outputs("concat")["uri"]) == b"l1\nl2\n--l3\nl4\n--l5\n"
    assert read(ran.outputs("small")["uri"]).decode() == '{id:"2",name:"Zoë",amount:"80"}\n'
    kept = [ion.loads(x)["id"] for x in read(ran.outputs("dedup")["uri"]).decode().splitlines()]
    assert kept == ["2", "3"]
