"""Progress on a terminal: the CLI's implementation of
:class:`~spu_emulator.integrate.progress.Progress`.

A tqdm bar when tqdm is installed and stderr is a terminal; otherwise a plain line
every half second on a terminal, and nothing when stderr is not a terminal (logs and
pipes stay clean). ``quiet`` silences it altogether.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class TerminalProgress:
    def __init__(self, what: str = "simulating", quiet: bool = False):
        self.what = what
        self.active = not quiet and sys.stderr.isatty()
        self.bar: Any = None
        self.total = self.done = 0
        self.last = 0.0

    def start(self, total: int, unit: str = "step") -> None:
        if not self.active:
            return
        self.total, self.done = total, 0
        try:
            from tqdm import tqdm
        except ImportError:
            self.bar = None
            return
        self.bar = tqdm(total=total or None, unit=unit, unit_scale=True, dynamic_ncols=True,
                        leave=False, desc=self.what, file=sys.stderr)

    def update(self, k: int) -> None:
        if not self.active:
            return
        if self.bar is not None:
            self.bar.update(k)
            return
        self.done += k
        now = time.perf_counter()
        if now - self.last > 0.5 or (self.total and self.done >= self.total):
            self.last = now
            done = f"{100 * self.done / self.total:5.1f}%" if self.total else f"{self.done:,}"
            sys.stderr.write(f"\r  {self.what}: {done}")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.active:
            return
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.total:
            sys.stderr.write("\n")


__all__ = ["TerminalProgress"]


class BatchProgress:
    """Progress over a training run's batches, called as ``(done, total)`` with a ``log``
    for lines between them: a tqdm bar when tqdm is installed and stderr is a terminal,
    else a plain line every ``every`` seconds (training logs stay readable in files)."""

    def __init__(self, quiet: bool, every: float = 10.0):
        self.quiet = quiet
        self.every = every
        self.bar: Any = None
        self.last = 0.0
        self.t0 = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None and sys.stderr.isatty():
            try:
                from tqdm import tqdm  # lazy optional dependency

                self.bar = tqdm(total=total, unit="batch", file=sys.stderr, initial=done - 1)
            except ImportError:
                self.bar = False
        if self.bar:
            self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if now - self.last >= self.every or done == total:
            self.last = now
            print(f"  batch {done}/{total} ({now - self.t0:.0f} s)", file=sys.stderr, flush=True)

    def log(self, line: str) -> None:
        if self.quiet:
            return
        if self.bar:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar:
            self.bar.close()
