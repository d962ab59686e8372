"""Script tasks' properties, outputs and exit-code rules (PLUGINS.md §4), for each language.

Run end to end through the engine and the worker's code (Celery eager), with real processes in
the real sandbox. tests/scripts/test_scripts_worker.py runs the same kind of flows on a real
Celery worker process.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.scripts.conftest import run_flow

pytestmark = pytest.mark.django_db(transaction=True)

LANGS = {
    "python": ("io.kestra.plugin.scripts.python", 'from kestra import Kestra\nKestra.outputs({"v": "{{ inputs.x }}"})\n'
               'Kestra.counter("rows", 3, {"t": "a"})\nKestra.timer("took", 1.5)\nprint("plain")\n'),
    "shell": ("io.kestra.plugin.scripts.shell", 'echo \'::{"outputs": {"v": "{{ inputs.x }}"}, "metrics": '
              '[{"name": "rows", "type": "counter", "value": 3, "tags": {"t": "a"}}, '
              '{"name": "took", "type": "timer", "value": 1.5}]}::\'\necho plain\n'),
    "node": ("io.kestra.plugin.scripts.node", "console.log('::' + JSON.stringify({outputs: {v: '{{ inputs.x }}'}, "
             "metrics: [{name: 'rows', type: 'counter', value: 3, tags: {t: 'a'}}, "
             "{name: 'took', type: 'timer', value: 1.5}]}) + '::');\nconsole.log('plain');\n"),
}


def indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_script_outputs_metrics_and_logs(root: Any, lang: str) -> None:
    package, script = LANGS[lang]
    ran = run_flow(root, f"""\
        id: outputs_{lang}
        namespace: acme.scripts
        inputs:
          - id: x
            type: STRING
            defaults: hello
        tasks:
          - id: s
            type: {package}.Script
            containerImage: ignored/image:1
            taskRunner:
              type: io.kestra.plugin.core.runner.Process
            script: |
{indent(script, 14)}
        """)
    assert ran.state == "SUCCESS", ran.logs()
    out = ran.outputs("s")
    assert out["vars"] == {"v": "hello"}
    assert out["exitCode"] == 0
    messages = ran.messages("s")
    assert "plain" in messages
    assert not any(m.startswith("::") for m in messages)
    assert any("containerImage 'ignored/image:1' is ignored" in m for m in messages)
    from apps.executions.models import Metric

    metrics = {m.name: (m.kind, m.value, m.tags) for m in Metric.objects.filter(execution_id=ran.row.id)}
    assert metrics["rows"] == ("counter", 3.0, {"t": "a"})
    assert metrics["took"][0:2] == ("timer", 1.5)


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_commands_before_env_input_and_output_files(root: Any, lang: str) -> None:
    package = LANGS[lang][0]
    runner = {"python": "python", "shell": "sh", "node": "node"}[lang]
    program = {"python": "import os,sys; print(open('in/data.txt').read().strip(), os.environ['GREETING'])",
               "shell": "echo $(cat in/data.txt) $GREETING",
               "node": "console.log(require('fs').readFileSync('in/data.txt','utf8').trim(), process.env.GREETING)"}[lang]
    ext = {"python": "py", "shell": "sh", "node": "js"}[lang]
    ran = run_flow(root, f"""\
        id: files_{lang}
        namespace: acme.scripts
        tasks:
          - id: make
            type: io.kestra.plugin.scripts.shell.Commands
            outputFiles: ["*.csv", "**.json"]
            commands:
              - echo a,b > top.csv
              - mkdir -p deep/er && echo '{{"k":1}}' > deep/er/x.json && echo no > deep/skip.csv
          - id: use
            type: {package}.Commands
            env:
              GREETING: "from {{{{ flow.id }}}}"
            inputFiles:
              in/data.txt: "{{{{ outputs.make.outputFiles['top.csv'] }}}}"
              prog.{ext}: "{program}"
            beforeCommands:
              - echo before > before.txt
            outputFiles: ["before.txt"]
            commands:
              - {runner} prog.{ext}
              - cat {{{{ outputs.make.outputFiles['deep/er/x.json'] }}}}
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert sorted(ran.outputs("make")["outputFiles"]) == ["deep/er/x.json", "top.csv"]
    use = ran.outputs("use")
    assert list(use["outputFiles"]) == ["before.txt"]
    assert use["outputFiles"]["before.txt"].startswith("kestra:///acme/scripts/files_")
    messages = ran.messages("use")
    assert f"a,b from files_{lang}" in messages
    assert '{"k":1}' in messages


def test_exit_code_failed_keeps_outputs_and_fail_fast(root: Any) -> None:
    ran = run_flow(root, """\
        id: exits
        namespace: acme.scripts
        tasks:
          - id: fails
            type: io.kestra.plugin.scripts.shell.Commands
            allowFailure: true
            outputFiles: ["made.txt"]
            commands:
              - 'echo ''::{"outputs": {"partial": 1} }::'''
              - echo x > made.txt
              - exit 3
              - echo never
          - id: not_fast
            type: io.kestra.plugin.scripts.shell.Commands
            failFast: false
            commands:
              - "false"
              - echo kept going
          - id: fast
            type: io.kestra.plugin.scripts.shell.Commands
            allowFailure: true
            commands:
              - "false"
              - echo not reached
        """)
    assert ran.task_state("fails") == "WARNING"  # failed, and allowFailure turns that into WARNING
    fails = ran.outputs("fails")
    assert fails["exitCode"] == 3 and fails["vars"] == {"partial": 1} and "made.txt" in fails["outputFiles"]
    assert "Command failed with exit code 3" in ran.messages("fails")
    assert "never" not in ran.messages("fails")
    assert ran.task_state("not_fast") == "SUCCESS" and "kept going" in ran.messages("not_fast")
    assert ran.task_state("fast") == "WARNING" and "not reached" not in ran.messages("fast")


def test_stderr_gives_warning_unless_disabled(root: Any) -> None:
    ran = run_flow(root, """\
        id: stderr
        namespace: acme.scripts
        tasks:
          - id: warned
            type: io.kestra.plugin.scripts.python.Script
            script: |
              import sys
              print("oops", file=sys.stderr)
          - id: quiet
            type: io.kestra.plugin.scripts.python.Script
            warningOnStdErr: false
            script: |
              import sys
              print("oops", file=sys.stderr)
        """)
    assert ran.task_state("warned") == "WARNING"
    assert ("ERROR", "oops") in ran.logs("warned")
    assert ran.task_state("quiet") == "SUCCESS"


def test_interpreter_input_files_as_json_and_output_directory(root: Any) -> None:
    ran = run_flow(root, """\
        id: interp
        namespace: acme.scripts
        tasks:
          - id: bash
            type: io.kestra.plugin.scripts.shell.Script
            interpreter: ["/bin/bash", "-c"]
            inputFiles: '{"a.txt": "from json", "skip": null}'
            outputDirectory: true
            script: |
              echo "${BASH_VERSION:+bash} $(cat a.txt)"
              echo out > "{{ outputDir }}/report.txt"
              echo "$OUTPUT_DIR" | grep -q "{{ workingDir }}" && echo dirs-known
        """)
    assert ran.state == "SUCCESS", ran.logs()
    assert "bash from json" in ran.messages("bash")
    assert "dirs-known" in ran.messages("bash")
    assert "report.txt" in ran.outputs("bash")["outputFiles"]


def test_timeout_fails_with_message(root: Any) -> None:
    ran = run_flow(root, """\
        id: slow
        namespace: acme.scripts
        tasks:
          - id: sleepy
            type: io.kestra.plugin.scripts.shell.Commands
            timeout: PT1S
            commands:
              - sleep 30
        """)
    assert ran.task_state("sleepy") == "FAILED"
    assert any(m.startswith("Timeout after PT1S") for m in ran.messages("sleepy"))


@pytest.mark.parametrize(("lines", "where"), [
    ("    taskRunner:\n      type: io.kestra.plugin.scripts.runner.docker.Docker\n", "tasks[0].taskRunner"),
    ("    runner: DOCKER\n", "tasks[0].runner"),
    ("    docker:\n      image: python:3.13\n", "tasks[0].docker"),
])
def test_docker_is_rejected_at_validation(root: Any, lines: str, where: str) -> None:
    from apps.flows.validation import validate_source

    result = validate_source(f"id: docker\nnamespace: acme.scripts\ntasks:\n  - id: s\n"
                             f"    type: io.kestra.plugin.scripts.python.Script\n{lines}    script: print(1)\n")
    assert not result.ok
    assert any("not available in Weir" in p.message and p.path.startswith(where) for p in result.problems), \
        result.problems
    ok = validate_source("id: process\nnamespace: acme.scripts\ntasks:\n  - id: s\n"
                         "    type: io.kestra.plugin.scripts.python.Script\n    runner: PROCESS\n    script: print(1)\n")
    assert ok.ok, ok.problems


def test_bad_input_file_names_fail_cleanly(root: Any) -> None:
    ran = run_flow(root, """\
        id: badnames
        namespace: acme.scripts
        tasks:
          - id: s
            type: io.kestra.plugin.scripts.shell.Commands
            inputFiles:
              ../escape.txt: nope
            commands: ["true"]
        """)
    assert ran.task_state("s") == "FAILED"
    assert any("is not a relative path inside the working directory" in m for m in ran.messages("s"))


def test_python_dependencies_cached(root: Any) -> None:
    """The second run with the same list installs nothing (the environment is reused)."""
    flow = """\
        id: deps
        namespace: acme.scripts
        tasks:
          - id: s
            type: io.kestra.plugin.scripts.python.Script
            dependencies: ["six==1.16.0"]
            script: |
              import six
              print("six", six.__version__)
        """
    first = run_flow(root, flow, wait=300)
    assert first.state == "SUCCESS", first.logs()
    assert "six 1.16.0" in first.messages("s")
    second = run_flow(root, flow)
    assert second.state == "SUCCESS"
    assert not any("installed Python dependencies" in m for m in second.messages("s"))
