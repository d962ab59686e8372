"""Connects the orchestration runtime's ports to the layers above it (docs/adr/0020).

`ExecutionsConfig.ready()` calls `connect()` once Django's apps are loaded, so every process
(web, worker, scheduler, standalone, tests) has its ports connected before any decision runs.
The triggers app connects its own ports in `TriggersConfig.ready()`.
"""

from __future__ import annotations


def connect() -> None:
    from apps.executions import services
    from apps.executions.api import serializers
    from apps.executions.runtime import lifecycle, ports, runner, tasks

    ports.load_runs.connect(runner.load_runs)
    ports.compiled.connect(runner.compiled)
    ports.process.connect(runner.process)
    ports.enqueue_run.connect(tasks.enqueue_run)
    ports.render_services.connect(lifecycle.render_services)
    ports.start_subflows.connect(lifecycle.start_subflows)
    ports.after_commit.connect(lifecycle.after_commit)
    ports.create_execution.connect(services.create_execution)
    ports.kill.connect(services.kill)
    ports.replay.connect(services.replay)
    ports.resume.connect(services.resume)
    ports.log_json.connect(serializers.log_json)
