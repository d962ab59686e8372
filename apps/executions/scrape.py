"""What `/metrics` serves (docs/adr/0018): the counters of `telemetry` (added up across
processes in multiprocess mode) and gauges read from PostgreSQL and Redis at scrape time,
which are the same whichever web process answers.

- `weir_queue_depth{queue}`: task runs waiting for a worker (CREATED/RESTARTED in the
  database: Redis is only the doorbell);
- `weir_broker_messages{queue}`: messages waiting in the broker's list of that queue;
- `weir_executions_active{state}`: executions not yet ended;
- `weir_workers_alive`, `weir_worker_processes{queue}`: the worker census;
- `weir_scheduler_lag_seconds`: how late the oldest due delay is (0 when none is due);
- `weir_scheduler_heartbeat_age_seconds`: since the scheduler last finished a tick.

A source that cannot be read leaves its gauges out and sets `weir_scrape_errors{source}`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from apps.executions import census, heartbeat
from apps.executions import telemetry as telemetry  # defines the counters this process serves

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _Local:
    """This process's own registry, as one collector (without multiprocess mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class Gauges:
    """The gauges read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily("weir_scrape_errors", "Sources that could not be read in this scrape.",
                                   labels=["source"])
        for source, read in (("database", self._database), ("census", self._census),
                             ("broker", self._broker), ("heartbeat", self._heartbeat)):
            try:
                yield from read()
                errors.add_metric([source], 0)
            except Exception:
                log.warning("metrics: could not read %s", source, exc_info=True)
                errors.add_metric([source], 1)
        yield errors

    def _database(self) -> Iterator[Metric]:
        from django.db import connection
        from django.db.models import Count, Min
        from django.utils import timezone

        from apps.executions.models import Delay, Execution, TaskRun

        try:
            waiting = GaugeMetricFamily("weir_queue_depth", "Task runs waiting for a worker, by queue.",
                                        labels=["queue"])
            for row in (TaskRun.objects.filter(state__in=["CREATED", "RESTARTED"]).values("queue")
                        .annotate(n=Count("id")).order_by()):
                waiting.add_metric([row["queue"] or ""], row["n"])
            active = GaugeMetricFamily("weir_executions_active", "Executions not ended yet, by state.",
                                       labels=["state"])
            for row in (Execution.objects.filter(state__in=["CREATED", "QUEUED", "RUNNING", "PAUSED", "RETRYING",
                                                            "RESTARTED", "KILLING"])
                        .values("state").annotate(n=Count("id")).order_by()):
                active.add_metric([row["state"]], row["n"])
            now = timezone.now()
            oldest = Delay.objects.filter(due__lte=now).aggregate(m=Min("due"))["m"]
            lag = GaugeMetricFamily("weir_scheduler_lag_seconds",
                                    "How late the oldest due delay is (retries, pauses, scheduled starts).")
            lag.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        except Exception:
            connection.close()
            raise
        yield from (waiting, active, lag)

    def _census(self) -> Iterator[Metric]:
        entries = census.live()
        if entries is None:
            return
        alive = GaugeMetricFamily("weir_workers_alive", "Workers in the census (refreshed within 90 s).")
        alive.add_metric([], len(entries))
        processes = GaugeMetricFamily("weir_worker_processes", "Pool processes of the live workers, by queue.",
                                      labels=["queue"])
        per_queue: dict[str, int] = {}
        for entry in entries.values():
            for queue in entry["queues"]:
                per_queue[queue] = per_queue.get(queue, 0) + entry["concurrency"]
        for queue, count in sorted(per_queue.items()):
            processes.add_metric([queue], count)
        yield from (alive, processes)

    def _broker(self) -> Iterator[Metric]:
        from apps.executions.runtime.dispatch import DEFAULT_QUEUE

        client = census._client()
        if client is None:
            return
        queues = {DEFAULT_QUEUE} | {q for e in (census.live() or {}).values() for q in e["queues"]}
        messages = GaugeMetricFamily("weir_broker_messages", "Messages waiting in the broker, by queue.",
                                     labels=["queue"])
        for queue in sorted(queues):
            messages.add_metric([queue], int(client.llen(queue)))
        yield messages

    def _heartbeat(self) -> Iterator[Metric]:
        last = heartbeat.last_beat()
        if last is None:
            return
        age = GaugeMetricFamily("weir_scheduler_heartbeat_age_seconds", "Seconds since the scheduler last ticked.")
        age.add_metric([], max(0.0, time.time() - last))
        yield age


def render() -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Local())
    registry.register(Gauges())
    return bytes(generate_latest(registry))
