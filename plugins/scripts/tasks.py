"""Kestra's script tasks: Python, Shell and Node, as `Script` and `Commands` (PLUGINS.md §4).

The run sequence: a private working directory; `inputFiles` written into it; the script
written to a file; `script`/`commands`/`beforeCommands` rendered with `workingDir` and
`outputDir`, every `kestra://` URI in them replaced by a downloaded local copy; the commands
joined (`set -e` first when `failFast`) and run through the interpreter by the Process runner
(plugins/scripts/process.py, confined by plugins/scripts/sandbox.py); stdout and stderr parsed
for `::{…}::` lines and logged live; `outputFiles` uploaded whatever the exit code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from apps.plugins.sdk import (
    Issue,
    NamespaceFiles,
    Plugin,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    ValidationContext,
    dynamic,
)
from plugins.scripts import envs, globs, process, protocol

KESTRA_URI = re.compile(r"kestra://[-a-zA-Z0-9%._+~#=/]*")
RUNNERS = ("io.kestra.plugin.core.runner.Process",)
MAX_LOG_LINES = int(os.environ.get("WEIR_SCRIPT_MAX_LOG_LINES", "1000000"))
FLUSH_SECONDS = 0.2


class TaskRunner(BaseModel):
    """Only the Process runner exists in Weir; any other type is rejected at validation."""

    model_config = {"extra": "forbid"}
    type: str = Field(description="`io.kestra.plugin.core.runner.Process` (the only runner Weir has).")


class ScriptOutputs(BaseModel):
    vars: dict[str, Any] = Field(default_factory=dict, description="What the script set with `::{\"outputs\":…}::`.")
    exitCode: int = Field(0, description="The process's exit code.")
    outputFiles: dict[str, str] | None = Field(None, description="Relative path → `kestra://` URI of each output file.")


class ScriptProperties(TaskProperties):
    beforeCommands: list[str] | None = Field(None, description="Run first, in the same shell (rendered with `workingDir`).")
    interpreter: list[str] = dynamic(["/bin/sh", "-c"], description="The joined commands become its last argument.")
    env: dict[str, str] | None = dynamic(None, description="Extra environment variables.")
    failFast: bool = Field(True, description="Stop at the first failing command (`set -e`).")
    warningOnStdErr: bool = Field(True, description="A line on stderr ends the task in WARNING.")
    inputFiles: dict[str, str | None] | str | None = dynamic(
        None, description="Files to create: name → content or `kestra://` URI (or that map as JSON).")
    outputFiles: list[str] | None = dynamic(None, description="Globs of files to upload after the run.")
    namespaceFiles: NamespaceFiles | None = Field(
        None, description="Copy the flow namespace's files (matching `include`, not `exclude`) into the working directory.")
    outputDirectory: bool = Field(False, description="Deprecated: upload every file written to `{{ outputDir }}`.")
    containerImage: str | None = dynamic(None, description="Ignored by the Process runner (logged), as in Kestra.")
    taskRunner: TaskRunner | None = Field(None, description="`{type: io.kestra.plugin.core.runner.Process}`.")
    targetOS: Literal["AUTO", "LINUX"] = Field("AUTO", description="Weir's workers run Linux.")
    runner: Literal["PROCESS", "DOCKER"] | None = Field(
        None, description="Deprecated: `PROCESS` is the Process runner; `DOCKER` is not available in Weir.")
    docker: dict[str, Any] | None = Field(None, description="Deprecated Docker options: not available in Weir.")


class _ScriptBase(RunnableTask):
    group = "io.kestra.plugin.scripts"
    icon = "terminal"
    Outputs = ScriptOutputs
    language: ClassVar[str]
    suffix: ClassVar[str] = ""

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        if raw.get("runner") == "DOCKER" or raw.get("docker") is not None:
            where = "runner" if raw.get("runner") == "DOCKER" else "docker"
            yield ((where,), "Docker is not available in Weir: scripts run with the Process runner "
                   "(remove `docker`/`runner: DOCKER`, or set `runner: PROCESS`)")
        runner = raw.get("taskRunner")
        if isinstance(runner, Mapping) and runner.get("type") not in RUNNERS:
            yield (("taskRunner", "type"), f"the task runner {runner.get('type')!r} is not available in Weir: "
                   "only io.kestra.plugin.core.runner.Process runs scripts here (Docker and cloud runners "
                   "are Kestra Enterprise or container features Weir does not provide)")

    # -- the run sequence ----------------------------------------------------------------------

    def run(self, ctx: RunContext, props: Any) -> ScriptOutputs:  # type: ignore[override]
        if props.containerImage:
            ctx.log("INFO", f"containerImage {props.containerImage!r} is ignored: the Process runner runs "
                            "the script on the worker")
        shared = ctx.shared_working_dir()
        workdir = shared or tempfile.mkdtemp(prefix="weir-script-")
        os.chmod(workdir, 0o700)
        output_dir = os.path.join(workdir, ".output") if props.outputDirectory else None
        try:
            os.makedirs(os.path.join(workdir, ".tmp"), exist_ok=True)
            if output_dir:
                os.makedirs(output_dir, exist_ok=True)
            self._copy_namespace_files(ctx, workdir, props.namespaceFiles)
            self._write_inputs(ctx, workdir, props.inputFiles)
            python = self._python(ctx, props)
            variables = {"workingDir": workdir, "outputDir": output_dir or workdir}
            commands = self._commands(ctx, props, workdir, python, variables)
            before = [ctx.render(c, variables) for c in props.beforeCommands or []]
            lines = (["set -e"] if props.failFast else []) + before + commands
            lines = [self._localize(ctx, line, workdir) for line in lines]
            argv = [*props.interpreter, "\n".join(lines)]
            environment = self._environment(ctx, props, workdir, output_dir, python)
            readonly = [python.root] if python is not None and python.root.startswith(envs.root_dir()) else []
            code, collected, stderr_seen = self._execute(ctx, argv, workdir, environment, readonly)
            files = self._collect(ctx, workdir, output_dir, props.outputFiles)
            outputs = ScriptOutputs(vars=collected.vars, exitCode=code, outputFiles=files or None)
            for kind, name, value, tags in collected.metrics:
                ctx.metric("timer" if kind == "timer" else "counter", name, value, tags)
            if code != 0:
                raise TaskFailed(f"Command failed with exit code {code}", outputs=outputs.model_dump(mode="json"))
            if stderr_seen and props.warningOnStdErr:
                ctx.set_state("WARNING")
            return outputs
        finally:
            if shared is None:
                shutil.rmtree(workdir, ignore_errors=True)

    def _python(self, ctx: RunContext, props: Any) -> envs.Env | None:
        return None

    def _commands(self, ctx: RunContext, props: Any, workdir: str, python: envs.Env | None,
                  variables: dict[str, str]) -> list[str]:
        raise NotImplementedError  # each concrete type builds its own command line

    def _script_file(self, ctx: RunContext, text: str, workdir: str, variables: dict[str, str]) -> str:
        path = os.path.join(workdir, f"{hashlib.sha1(os.urandom(8)).hexdigest()[:12]}{self.suffix}")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(ctx.render(text, variables))
        return path

    @staticmethod
    def _copy_namespace_files(ctx: RunContext, workdir: str, wanted: NamespaceFiles | None) -> None:
        """PLUGINS.md §4.3 step 1: the namespace's files at their relative paths."""
        if wanted is None or not wanted.enabled:
            return
        for path in ctx.namespace_files(ctx.namespace, wanted.include, wanted.exclude):
            target = os.path.join(workdir, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(ctx.namespace_file_read(ctx.namespace, path))

    @staticmethod
    def _write_inputs(ctx: RunContext, workdir: str, given: Any) -> None:
        if given is None:
            return
        files = given
        if isinstance(given, str):
            try:
                files = json.loads(given)
            except ValueError as error:
                raise TaskFailed(f"inputFiles must be a map or a JSON object: {error}") from error
        if not isinstance(files, Mapping):
            raise TaskFailed("inputFiles must be a map of file name to content or kestra:// URI")
        root = os.path.realpath(workdir)
        for name, value in files.items():
            if value is None:
                continue
            name = str(name)
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "./")) or ".." in parts or "\x00" in name or not name:
                raise TaskFailed(f"inputFiles: {name!r} is not a relative path inside the working directory")
            path = os.path.realpath(os.path.join(workdir, name))
            if not path.startswith(root + os.sep):
                raise TaskFailed(f"inputFiles: {name!r} is not a relative path inside the working directory")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = str(value)
            data = ctx.get_file(text) if text.startswith("kestra://") else text.encode("utf-8")
            with open(path, "wb") as handle:
                handle.write(data)

    @staticmethod
    def _localize(ctx: RunContext, text: str, workdir: str) -> str:
        """Every `kestra://…` in a command becomes the path of a downloaded copy."""
        def download(match: re.Match[str]) -> str:
            uri = match.group(0)
            local = os.path.join(workdir, ".inputs", hashlib.sha1(uri.encode()).hexdigest()[:12],
                                 os.path.basename(uri) or "file")
            if not os.path.exists(local):
                os.makedirs(os.path.dirname(local), exist_ok=True)
                with open(local, "wb") as handle:
                    handle.write(ctx.get_file(uri))
            return local

        return KESTRA_URI.sub(download, text)

    def _environment(self, ctx: RunContext, props: Any, workdir: str, output_dir: str | None,
                     python: envs.Env | None) -> dict[str, str]:
        from plugins.scripts import sandbox

        extra: dict[str, str] = {"WORKING_DIR": workdir, "EXECUTION_ID": ctx.execution_id,
                                 "TASK_RUN_ID": ctx.task_run_id, "ATTEMPT": str(ctx.attempt)}
        if output_dir:
            extra["OUTPUT_DIR"] = output_dir
        extra.update(self._language_env(python))
        extra.update({str(k): str(v) for k, v in (props.env or {}).items()})
        return sandbox.environment(extra, workdir)

    def _language_env(self, python: envs.Env | None) -> dict[str, str]:
        return {}

    def _execute(self, ctx: RunContext, argv: list[str], workdir: str, environment: dict[str, str],
                 readonly: list[str]) -> tuple[int, protocol.Collected, bool]:
        collected = protocol.Collected()
        state = {"stderr": False, "lines": 0, "dropped": 0}
        lock = threading.Lock()

        def on_line(stream: str, text: str) -> None:
            with lock:
                if stream == "stdout":
                    collected.stdout_lines += 1
                else:
                    collected.stderr_lines += 1
                entries = protocol.parse(text, collected)
                if entries is None:
                    if stream == "stderr":
                        state["stderr"] = True
                    entries = [("INFO" if stream == "stdout" else "ERROR", text)]
                for level, message in entries:
                    if state["lines"] >= MAX_LOG_LINES:
                        state["dropped"] += 1
                        continue
                    state["lines"] += 1
                    ctx.log(level, message)

        done = threading.Event()

        def flusher() -> None:
            while not done.wait(FLUSH_SECONDS):
                ctx.flush_logs()

        thread = threading.Thread(target=flusher, name="weir-script-logs", daemon=True)
        thread.start()
        try:
            code = process.run(argv, workdir=workdir, env=environment, readonly=readonly, on_line=on_line,
                               cancelled=ctx.is_cancelled)
        except process.Stopped:
            ctx.check_cancelled()
            raise
        finally:
            done.set()
            thread.join()
        if state["dropped"]:
            ctx.log("WARN", f"{state['dropped']} log lines dropped: a task logs at most {MAX_LOG_LINES} lines "
                            "(WEIR_SCRIPT_MAX_LOG_LINES)")
        ctx.flush_logs()
        return code, collected, bool(state["stderr"])

    @staticmethod
    def _collect(ctx: RunContext, workdir: str, output_dir: str | None, patterns: list[str] | None) -> dict[str, str]:
        files: dict[str, str] = {}
        for rel in globs.matches(workdir, patterns or []) if patterns else []:
            if rel.startswith((".tmp/", ".inputs/")):
                continue
            stored = f"{hashlib.sha1(rel.encode()).hexdigest()[:8]}-{os.path.basename(rel)}"
            files[rel] = ctx.put_local_file(os.path.join(workdir, rel), stored)
        if output_dir:
            for rel in globs.matches(output_dir, ["**"]):
                stored = f"{hashlib.sha1(rel.encode()).hexdigest()[:8]}-{os.path.basename(rel)}"
                files[rel] = ctx.put_local_file(os.path.join(output_dir, rel), stored)
        return files


# -- Python ----------------------------------------------------------------------------------


class PythonProperties(ScriptProperties):
    dependencies: list[str] | None = dynamic(
        None, description="pip requirement specs, installed with uv into a cached environment before the run.")
    dependencyCacheEnabled: bool = Field(True, description="Reuse the host's cached environment for the same list.")


class _PythonBase(_ScriptBase):
    language = "python"

    def _python(self, ctx: RunContext, props: Any) -> envs.Env | None:
        specs = [str(s) for s in props.dependencies or []]
        try:
            env = envs.ensure(specs, cache=props.dependencyCacheEnabled)
        except envs.BuildFailed as error:
            if specs:
                raise TaskFailed(f"Python dependencies {specs}: {error}") from error
            ctx.log("WARN", f"no Python environment with the `kestra` package could be built ({error}); "
                            "running on the system interpreter")
            return envs.system()
        if env.built and specs:
            ctx.log("INFO", f"installed Python dependencies {specs} into a cached environment")
        return env

    def _language_env(self, python: envs.Env | None) -> dict[str, str]:
        extra = {"PYTHONUNBUFFERED": "true", "PIP_ROOT_USER_ACTION": "ignore", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        if python is not None:
            extra["PATH"] = f"{os.path.dirname(python.python)}:/usr/local/bin:/usr/bin:/bin"
            extra["VIRTUAL_ENV"] = python.root
        return extra


class PythonScript(_PythonBase):
    """Run an inline Python script. Print `::{"outputs": {…}}::` (or call `Kestra.outputs({…})`
    from the `kestra` package, always installed) to set `outputs.<id>.vars`."""

    type = "io.kestra.plugin.scripts.python.Script"
    title = "Python script"
    suffix = ".py"
    examples = ("""\
id: python_script
namespace: company.team
tasks:
  - id: compute
    type: io.kestra.plugin.scripts.python.Script
    script: |
      from kestra import Kestra
      Kestra.outputs({"answer": 6 * 7})
""",)

    class Properties(PythonProperties):
        script: str = Field(description="The Python source (rendered with `workingDir`).")

    def _commands(self, ctx: RunContext, props: Any, workdir: str, python: envs.Env | None,
                  variables: dict[str, str]) -> list[str]:
        path = self._script_file(ctx, props.script, workdir, variables)
        return [f"{python.python if python else 'python3'} {path}"]


class PythonCommands(_PythonBase):
    """Run shell commands in a Python environment (`python etl.py`, `pip list`…)."""

    type = "io.kestra.plugin.scripts.python.Commands"
    title = "Python commands"
    examples = ("""\
id: python_commands
namespace: company.team
tasks:
  - id: version
    type: io.kestra.plugin.scripts.python.Commands
    commands:
      - python --version
""",)

    class Properties(PythonProperties):
        commands: list[str] = Field(description="Commands, run in order (rendered with `workingDir`).")

    def _commands(self, ctx: RunContext, props: Any, workdir: str, python: envs.Env | None,
                  variables: dict[str, str]) -> list[str]:
        return [ctx.render(c, variables) for c in props.commands]


# -- Shell -----------------------------------------------------------------------------------


class ShellScript(_ScriptBase):
    """Run an inline shell script with `/bin/sh -c` (or the given `interpreter`)."""

    type = "io.kestra.plugin.scripts.shell.Script"
    title = "Shell script"
    language = "shell"
    examples = ("""\
id: shell_script
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.scripts.shell.Script
    script: |
      echo "hello from $(uname -s)"
      echo '::{"outputs": {"done": true}}::'
""",)

    class Properties(ScriptProperties):
        script: str = Field(description="The shell script (rendered with `workingDir`).")

    def _commands(self, ctx: RunContext, props: Any, workdir: str, python: envs.Env | None,
                  variables: dict[str, str]) -> list[str]:
        return [ctx.render(props.script, variables)]


class ShellCommands(_ScriptBase):
    """Run shell commands in order."""

    type = "io.kestra.plugin.scripts.shell.Commands"
    title = "Shell commands"
    language = "shell"
    examples = ("""\
id: shell_commands
namespace: company.team
tasks:
  - id: list
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo one
      - echo two
""",)

    class Properties(ScriptProperties):
        commands: list[str] = Field(description="Commands, run in order (rendered with `workingDir`).")

    def _commands(self, ctx: RunContext, props: Any, workdir: str, python: envs.Env | None,
                  variables: dict[str, str]) -> list[str]:
        return [ctx.render(c, variables) for c in props.commands]


# -- Node ------------------------------------------------------------------------------------


class _NodeBase(_ScriptBase):
    language = "node"

    def _language_env(self, python: envs.Env | None) -> dict[str, str]:
        return {"PYTHONUNBUFFERED": "true", "PIP_ROOT_USER_ACTION": "ignore"}


class NodeScript(_NodeBase):
    """Run an inline Node.js script (`node <file>.js`)."""

    type = "io.kestra.plugin.scripts.node.Script"
    title = "Node.js script"
    suffix = ".js"
    examples = ("""\
id: node_script
namespace: company.team
tasks:
  - id: compute
    type: io.kestra.plugin.scripts.node.Script
    script: |
      console.log('::' + JSON.stringify({outputs: {answer: 6 * 7}}) + '::');
""",)

    class Properties(ScriptProperties):
        script: str = Field(description="The JavaScript source (rendered with `workingDir`).")

    def _commands(self, ctx: RunContext, props: Any, workdir: str, python: envs.Env | None,
                  variables: dict[str, str]) -> list[str]:
        path = self._script_file(ctx, props.script, workdir, variables)
        return [f"node {path}"]


class NodeCommands(_NodeBase):
    """Run shell commands with Node.js available (`node app.js`, `npm --version`…)."""

    type = "io.kestra.plugin.scripts.node.Commands"
    title = "Node.js commands"
    examples = ("""\
id: node_commands
namespace: company.team
tasks:
  - id: version
    type: io.kestra.plugin.scripts.node.Commands
    commands:
      - node --version
""",)

    class Properties(ScriptProperties):
        commands: list[str] = Field(description="Commands, run in order (rendered with `workingDir`).")

    def _commands(self, ctx: RunContext, props: Any, workdir: str, python: envs.Env | None,
                  variables: dict[str, str]) -> list[str]:
        return [ctx.render(c, variables) for c in props.commands]


PLUGINS: list[type[Plugin]] = [PythonScript, PythonCommands, ShellScript, ShellCommands, NodeScript, NodeCommands]
