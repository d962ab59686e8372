"""Publishing a task message on Redis without Celery's per-call routing (docs/adr/0033).

`Task.apply_async` resolves routes and options and looks the queue's exchange up in Redis on
every call: 0.35 to 0.42 ms of CPU per message, a third of creating an execution and as much
again for every run a decision publishes. The message is the same whichever way it is built,
so this module builds it with Celery's own `amqp.as_task_v2` (protocol 2: the headers, the
body and the properties a worker reads) and hands it to one kombu `Producer` per process on
the broker's default exchange, which puts it straight onto the list named like the queue, the
list the worker reads. That costs 0.17 ms.

Eager mode (tests) and any broker other than Redis keep `apply_async`: on AMQP the default
exchange needs the queue declared, which is part of what this path skips.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from celery import current_app
from celery.utils import uuid
from kombu.messaging import Producer

_lock = threading.Lock()
_producer: Any = None  # kombu's Producer and Connection (kombu has no type hints)
_connection: Any = None


def _after_fork() -> None:
    """A forked child (Celery's prefork pool) starts without its parent's producer, whose
    connection stays the parent's, and with a new lock: a fork while another thread held the
    parent's would leave the child's held for ever."""
    global _lock, _producer, _connection
    _lock, _producer, _connection = threading.Lock(), None, None


os.register_at_fork(after_in_child=_after_fork)


def lean(app: Any) -> bool:
    """Whether `publish` builds the message itself: a Redis broker, tasks not run eagerly."""
    return not app.conf.task_always_eager and str(app.conf.broker_url or "").startswith(("redis://", "rediss://"))


def publish(task: Any, args: list[Any], queue: str) -> None:
    """Send Celery task `task` with `args` to `queue`. A dropped connection is reopened by the
    Redis client itself; a send that still fails is raised, and its producer and connection are
    dropped so that the next send starts afresh (a run not published is the sweeper's)."""
    app = current_app
    if not lean(app):
        task.apply_async(args=args, queue=queue)  # eager mode runs it here
        return
    # The options apply_async takes from the task itself (tests/executions/test_publisher.py).
    message = app.amqp.as_task_v2(uuid(), task.name, args=args, argsrepr=repr(args), kwargsrepr="{}",
                                  ignore_result=task.ignore_result,
                                  time_limit=task.time_limit, soft_time_limit=task.soft_time_limit)
    with _lock:  # a kombu producer and its channel serve one thread at a time
        try:
            _current(app).publish(message.body, exchange="", routing_key=queue, headers=message.headers,
                                  serializer=app.conf.task_serializer, retry=False, declare=None,
                                  **message.properties)
        except Exception:
            _forget()
            raise


def _current(app: Any) -> Any:
    """This process's producer, made on first use (and after a fork or a failed send)."""
    global _producer, _connection
    if _producer is None:
        _connection = app.connection_for_write()
        _producer = Producer(_connection.default_channel, auto_declare=False)  # type: ignore[no-untyped-call]
    return _producer


def _forget() -> None:
    """Drop the producer and close its connection (best effort: it may be broken already)."""
    global _producer, _connection
    connection, _producer, _connection = _connection, None, None
    if connection is not None:
        with contextlib.suppress(Exception):  # closing a broken connection: nothing to do about it
            connection.close()
