"""Progress reporting for long steps (compile, setup, prove), kept out of the library logic.

The library takes any Progress; the CLI passes StderrProgress so that stdout
stays clean for --json output.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TextIO


class Progress(Protocol):
    def step(self, label: str) -> AbstractContextManager[None]: ...


class NullProgress:
    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        yield


class StderrProgress:
    """'label ... done (2.3 s)'; on a terminal a ticking elapsed-time display."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        start = time.monotonic()
        tty = self.stream.isatty()
        stop = threading.Event()
        self.stream.write(f"{label} ...")
        self.stream.flush()

        def tick() -> None:
            while not stop.wait(0.5):
                self.stream.write(f"\r{label} ... {time.monotonic() - start:5.1f} s")
                self.stream.flush()

        ticker = threading.Thread(target=tick, daemon=True) if tty else None
        if ticker:
            ticker.start()
        ok = False
        try:
            yield
            ok = True
        finally:
            stop.set()
            if ticker:
                ticker.join()
            result = f"{'done' if ok else 'failed'} ({time.monotonic() - start:.1f} s)\n"
            # a terminal rewrites the ticking line; a log just completes "label ..."
            self.stream.write(f"\r{label} ... {result}" if tty else f" {result}")
            self.stream.flush()
