"""Another transaction holding an execution's lock while a test's block runs (the busy paths of
`runtime/worker.py` and `runtime/runner.py`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from apps.executions.models import Execution


@contextmanager
def in_thread(target: Callable[[threading.Event, threading.Event], None]) -> Iterator[None]:
    """Run `target(ready, release)` on its own connection until the block ends."""
    ready, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target(ready, release)
        except BaseException as error:  # surfaced in the test thread below
            errors.append(error)
            ready.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(20)
    assert not errors, errors


def lock_held(execution_id: str) -> Callable[[threading.Event, threading.Event], None]:
    """A bare lock holder (not a decision): it applies nothing when it lets go."""
    def hold(ready: threading.Event, release: threading.Event) -> None:
        with transaction.atomic():
            Execution.objects.select_for_update().get(id=execution_id)
            ready.set()
            release.wait(10)
    return hold
