"""Progress on long CLI work: a bar on a terminal (rich), plain lines otherwise (CI logs).

Both modes print the same result lines (`line`); only the bar is terminal-only, so a log file
holds everything a person watching the terminal saw, minus the animation.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, TextIO


class Progress:
    def __init__(self, label: str, total: int | None, *, stream: TextIO | None = None,
                 bar: bool | None = None, count_lines: bool = True) -> None:
        """`count_lines=False`: plain mode prints only `line()`s (they already say what ended)."""
        self.label = label
        self.count_lines = count_lines
        self.total = total
        self.done = 0
        self.stream = stream or sys.stdout
        self.bar = self.stream.isatty() if bar is None else bar
        self._rich: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            console = Console(file=self.stream)
            self._rich = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=console, transient=True)
            self._rich.start()
            self._task = self._rich.add_task(self.label, total=self.total)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._rich is not None:
            self._rich.stop()

    def set_total(self, total: int) -> None:
        self.total = total
        if self._rich is not None:
            self._rich.update(self._task, total=total)

    def advance(self, item: str = "", steps: int = 1) -> None:
        """One more unit done; plain mode prints `[done/total] label: item`."""
        self.done += steps
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done, description=f"{self.label} {item}".strip())
        elif self.count_lines:
            of = f"/{self.total}" if self.total is not None else ""
            print(f"[{self.done}{of}] {self.label}{': ' + item if item else ''}", file=self.stream, flush=True)

    def line(self, text: str) -> None:
        """A result line (above the bar on a terminal)."""
        if self._rich is not None:
            self._rich.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)
