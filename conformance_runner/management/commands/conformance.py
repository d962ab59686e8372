"""`manage.py conformance MANIFEST [--only ID ...]`: run a Kestra conformance manifest against
the real engine; one `PASS id` / `FAIL id: reason` line per scenario, then `N passed, M failed`.

The exit code is 0 whatever the outcome (the lines are the result); only an unreadable manifest
is an error. Logic lives in conformance_runner.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conformance_runner.harness import Harness
from conformance_runner.manifest import ManifestError, load


class Command(BaseCommand):
    help = "Run the scenarios of a conformance manifest (flows in flows/ beside it) and report each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest")
        parser.add_argument("--only", nargs="+", action="extend", default=[], metavar="ID",
                            help="scenario ids (`<id>` or `<id>/<case>`) to run")
        parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a terminal state")
        parser.add_argument("--long-timeout", type=float, default=60.0,
                            help="the same for flows with sleeps, pauses, retries, subflows, triggers")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = load(options["manifest"])
        except ManifestError as error:
            raise CommandError(str(error)) from error

        def emit(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        def warn(line: str) -> None:
            self.stderr.write(line)

        harness = Harness(manifest, timeout=options["timeout"], long_timeout=options["long_timeout"],
                          emit=emit, warn=warn)
        harness.run(manifest.select(options["only"] or None))
        sys.stdout.flush()
