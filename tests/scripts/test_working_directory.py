"""WorkingDirectory's own properties (KESTRA.md §3): inputFiles, namespaceFiles, outputFiles
and cache, with script tasks sharing the folder."""

from __future__ import annotations

from typing import Any

import pytest

from apps.files import store
from tests.scripts.conftest import run_flow

pytestmark = pytest.mark.django_db(transaction=True)

NS = "acme.wdir"
FLOW = f"""\
id: wdir
namespace: {NS}
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    namespaceFiles:
      enabled: true
      include: ["conf/*.ini"]
    inputFiles:
      data.csv: |
        id,name
        1,Ada
    outputFiles: ["report.txt", "out/*.json"]
    cache:
      patterns: ["cache/**"]
      ttl: PT1H
    tasks:
      - id: first
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - cat conf/app.ini
          - wc -l < data.csv > count.txt
          - if [ -f cache/seen ]; then echo "cache hit $(cat cache/seen)"; else echo "cache miss"; fi
          - mkdir -p cache && echo "{{{{ execution.id }}}}" > cache/seen
      - id: second
        type: io.kestra.plugin.scripts.python.Script
        script: |
          import json, os
          os.makedirs("out", exist_ok=True)
          n = open("count.txt").read().strip()
          open("report.txt", "w").write("rows " + n)
          json.dump({{"rows": int(n)}}, open("out/rows.json", "w"))
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ read(outputs.wd.outputFiles['report.txt']) }}}}"
"""


def test_working_directory_files_outputs_and_cache(root: Any) -> None:
    store.write(NS, "conf/app.ini", b"[app]\nname=weir\n")
    first = run_flow(root, FLOW)
    assert first.state == "SUCCESS", first.logs()
    assert "[app]" in first.messages("first")
    assert "cache miss" in first.messages("first")
    assert sorted(first.outputs("wd")["outputFiles"]) == ["out/rows.json", "report.txt"]
    assert first.messages("after") == ["rows 2"]  # a header and one row
    second = run_flow(root, FLOW)
    assert second.state == "SUCCESS", second.logs()
    assert f"cache hit {first.row.id}" in second.messages("first")
