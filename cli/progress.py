"""A progress bar on a terminal, a line every tenth of the way otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr, width: int = 30):
        self.total, self.label, self.stream, self.width = max(total, 1), label, stream, width
        self.started = time.monotonic()
        self.is_terminal = stream.isatty()
        self._last_tenth = -1

    def update(self, done: int) -> None:
        fraction = min(done / self.total, 1.0)
        rate = done / max(time.monotonic() - self.started, 1e-9)
        line = f"{self.label} {done}/{self.total} ({fraction:.0%}, {rate:,.0f}/s)"
        if self.is_terminal:
            filled = int(self.width * fraction)
            bar = "#" * filled + "." * (self.width - filled)
            self.stream.write(f"\r[{bar}] {line}")
        elif int(fraction * 10) > self._last_tenth:
            self._last_tenth = int(fraction * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self, done: int) -> None:
        self.update(done)
        if self.is_terminal:
            self.stream.write("\n")
