"""The Celery app. Broker: Redis when REDIS_URL is set, else an in-memory broker (standalone).

Settings follow DESIGN.md §5: late acks, requeue on worker loss, prefetch 1, JSON only.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("weir")
app.conf.update(
    broker_url=os.environ.get("REDIS_URL") or "memory://",
    result_backend=None,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue="weir.tasks",
    broker_connection_retry_on_startup=True,
    # The in-memory broker (standalone) polls; its 1 s default would add a second per task.
    broker_transport_options={"polling_interval": 0.005} if not os.environ.get("REDIS_URL") else {},
    # WEIR_LOG_FORMAT=json: keep the root handler Django configured (apps/core/logformat.py).
    worker_hijack_root_logger=os.environ.get("WEIR_LOG_FORMAT", "").lower() != "json",
)
# Keep database connections across tasks (Celery's Django fix-up would reconnect per task).
app.conf.CELERY_DB_REUSE_MAX = 1_000_000
app.autodiscover_tasks(["apps.executions.runtime", "apps.triggers"])
