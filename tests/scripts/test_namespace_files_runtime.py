"""Namespace files at run time: `namespaceFiles` in script tasks, the core
`namespace.UploadFiles/DownloadFiles/DeleteFiles` tasks, and `read('path')` (PLUGINS.md §4.3, §5)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.files import store
from tests.scripts.conftest import run_flow

pytestmark = pytest.mark.django_db(transaction=True)

NS = "acme.nsfiles"


def test_script_uses_namespace_files(root: Any) -> None:
    store.write(NS, "lib/helpers.py", b"def greet(name):\n    return 'hi ' + name\n")
    store.write(NS, "main.py", b"from lib.helpers import greet\nprint(greet('weir'))\n")
    store.write(NS, "notes/skip.txt", b"not copied")
    ran = run_flow(root, f"""\
        id: uses_files
        namespace: {NS}
        tasks:
          - id: run
            type: io.kestra.plugin.scripts.python.Commands
            namespaceFiles:
              enabled: true
              include: ["**.py"]
              exclude: ["notes/**"]
            commands:
              - python main.py
              - ls notes 2>/dev/null || echo no-notes
          - id: disabled
            type: io.kestra.plugin.scripts.shell.Commands
            namespaceFiles:
              enabled: false
            commands:
              - ls main.py 2>/dev/null || echo absent
          - id: read_fn
            type: io.kestra.plugin.core.log.Log
            message: "{{{{ read('lib/helpers.py') | length }}}} {{{{ fileSize('/main.py') }}}}"
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert "hi weir" in ran.messages("run")
    assert "no-notes" in ran.messages("run")
    assert "absent" in ran.messages("disabled")
    assert ran.messages("read_fn") == ["41 51"]  # the two files' lengths in bytes


def test_upload_download_delete_tasks(root: Any) -> None:
    store.write(NS, "data/old.csv", b"a,b\n")
    ran = run_flow(root, f"""\
        id: file_tasks
        namespace: {NS}
        tasks:
          - id: make
            type: io.kestra.plugin.scripts.shell.Commands
            outputFiles: ["report.csv"]
            commands:
              - echo x,y > report.csv
          - id: upload
            type: io.kestra.plugin.core.namespace.UploadFiles
            namespace: {NS}
            destination: /data
            filesMap:
              report.csv: "{{{{ outputs.make.outputFiles['report.csv'] }}}}"
          - id: keep
            type: io.kestra.plugin.core.namespace.UploadFiles
            namespace: {NS}
            conflict: SKIP
            filesMap:
              data/report.csv: "{{{{ outputs.make.outputFiles['report.csv'] }}}}"
          - id: clash
            type: io.kestra.plugin.core.namespace.UploadFiles
            namespace: {NS}
            conflict: ERROR
            allowFailure: true
            filesMap:
              data/report.csv: "{{{{ outputs.make.outputFiles['report.csv'] }}}}"
          - id: download
            type: io.kestra.plugin.core.namespace.DownloadFiles
            namespace: {NS}
            files: ["data/*.csv"]
          - id: show
            type: io.kestra.plugin.core.log.Log
            message: "{{{{ read(outputs.download.files['/data/report.csv']) }}}}"
          - id: delete
            type: io.kestra.plugin.core.namespace.DeleteFiles
            namespace: {NS}
            files: ["/data/old.csv"]
        """)
    assert ran.task_state("clash") == "WARNING"
    assert any("already exists" in m for m in ran.messages("clash"))
    assert ran.outputs("upload")["files"] == ["/data/report.csv"]
    assert ran.outputs("keep")["files"] == []
    assert sorted(ran.outputs("download")["files"]) == ["/data/old.csv", "/data/report.csv"]
    assert ran.messages("show") == ["x,y\n"]
    assert ran.outputs("delete")["files"] == ["/data/old.csv"]
    assert [r.path for r in store.live(NS).filter(is_dir=False)] == ["data/report.csv"]


def test_other_namespaces_files_are_out_of_reach(root: Any) -> None:
    store.write("betaco", "secret.txt", b"theirs")
    ran = run_flow(root, f"""\
        id: foreign
        namespace: {NS}
        tasks:
          - id: steal
            type: io.kestra.plugin.core.namespace.DownloadFiles
            namespace: betaco
            files: ["**"]
        """)
    assert ran.task_state("steal") == "FAILED"
    assert any("may not read the files of 'betaco'" in m for m in ran.messages("steal"))
