"""The `weir` command: `flow validate` output and exit codes, `flow deploy` idempotence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.cli.main import main
from apps.flows.models import Flow, FlowRevision

FLOW = "id: {id}\nnamespace: acme.cli\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def test_validate_prints_file_line_col_and_exits_1(tmp_path: Path, capsys: Any) -> None:
    good = tmp_path / "good.yml"
    good.write_text(FLOW.format(id="good"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(FLOW.format(id="bad").replace("message: hi", "mesage: hi"))
    assert main(["flow", "validate", str(good)]) == 0
    assert main(["flow", "validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:6:5: tasks[0].mesage: unknown property" in out


@pytest.mark.django_db
def test_deploy_is_idempotent(tmp_path: Path, django_user_model: Any, capsys: Any) -> None:
    django_user_model.objects.create_superuser("root", password="pw")
    for name in ("a", "b"):
        (tmp_path / f"{name}.yml").write_text(FLOW.format(id=name))
    assert main(["flow", "deploy", str(tmp_path), "--namespace", "acme.cli"]) == 0
    assert main(["flow", "deploy", str(tmp_path), "--namespace", "acme.cli"]) == 0
    assert "unchanged acme.cli.a" in capsys.readouterr().out
    assert Flow.objects.count() == 2 and FlowRevision.objects.count() == 2
    (tmp_path / "a.yml").write_text(FLOW.format(id="a").replace("other", "x").replace("hi", "changed"))
    assert main(["flow", "deploy", str(tmp_path), "--namespace", "other.ns"]) == 1
