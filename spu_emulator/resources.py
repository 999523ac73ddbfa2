"""What a run will need, estimated before it starts, against what the machine has.

Every long run estimates its memory, its output size and its step count up front and
refuses (one line with the estimate and the parameter that raises the limit) when it
would exceed what the machine can give, instead of failing hours later with a
traceback or filling the disk. Parameters named in a message are in backticks
(`max_memory`); the CLI shows them as its flags. Standard library only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import InputError

#: Fraction of the available memory a run may plan to use by default.
MEMORY_FRACTION = 0.8
#: Default ceiling on integration work (chain-steps): ~3 h at 10⁷ chain-steps/s.
MAX_CHAIN_STEPS = 1e11


#: Environment variable capping the cores a run uses for its own threads (noise streams,
#: Monte Carlo chunks); a sweep's worker sets it to its thread count.
THREADS_ENV = "SPU_THREADS"


def cores() -> int:
    """Cores this process may use for its own threads: ``SPU_THREADS`` when it is a
    positive whole number, else the CPUs in this process's affinity mask. Threads never
    change results (every thread owns fixed parts of the work), only how fast they come."""
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def fmt_bytes(n: float) -> str:
    for unit, f in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= f:
            return f"{n / f:.3g} {unit}"
    return f"{n:.0f} B"


def available_memory() -> int | None:
    """Bytes of memory this process can still use: the smaller of the system's
    available memory and a cgroup (container) limit; None if unknown."""
    cands: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    cands.append(int(line.split()[1]) * 1024)
                    break
    except OSError:
        try:
            cands.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            cands.append(int(text))
    return min(cands) if cands else None


def free_disk(path: str | os.PathLike[str]) -> int | None:
    """Free bytes on the file system that would hold ``path`` (None if unknown)."""
    d = os.path.dirname(os.path.abspath(os.fspath(path))) or "."
    try:
        return shutil.disk_usage(d).free
    except OSError:
        return None


_LIMIT: list[float] = []


@contextmanager
def memory_limit(max_memory: float | None) -> Iterator[None]:
    """Within the block, a :class:`Budget` without its own ``max_memory`` uses this one
    (None: no change): how a command's ``--max-memory`` reaches every check below it."""
    if max_memory is None:
        yield
        return
    _LIMIT.append(float(max_memory))
    try:
        yield
    finally:
        _LIMIT.pop()


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits a run is checked against: ``max_memory`` bytes (None: a fraction of what
    is available), ``max_chain_steps`` integration steps × chains, and ``output``, the
    file the result will be written to (its size is checked against the free disk)."""

    max_memory: float | None = None
    max_chain_steps: float = MAX_CHAIN_STEPS
    output: str | None = None

    def check_output(self, need: float, what: str) -> None:
        if self.output is not None:
            check_disk(self.output, need, what)

    def memory_limit(self) -> float | None:
        if self.max_memory is not None:
            return float(self.max_memory)
        if _LIMIT:
            return _LIMIT[-1]
        avail = available_memory()
        return None if avail is None else MEMORY_FRACTION * avail

    def check_memory(self, need: float, what: str, reduce: str) -> None:
        """Refuse a run that needs ``need`` bytes beyond the limit (one line that says
        what needs it, how to reduce it and how to raise the limit)."""
        limit = self.memory_limit()
        if limit is not None and need > limit:
            raise InputError(
                f"{what} would need about {fmt_bytes(need)} of memory, more than the "
                f"{fmt_bytes(limit)} this run may use: {reduce}, or raise `max_memory`"
            )

    def check_steps(self, chain_steps: float, what: str, reduce: str) -> None:
        if chain_steps > self.max_chain_steps:
            raise InputError(
                f"{what} would take {chain_steps:.3g} chain-steps (about "
                f"{chain_steps / 1e7 / 3600:.3g} h at 10^7 per second), more than the "
                f"{self.max_chain_steps:.3g} allowed: {reduce}, or raise `max_chain_steps`"
            )


def check_disk(path: str | os.PathLike[str], need: float, what: str) -> None:
    """Refuse to start a run whose output (``need`` bytes) will not fit on the disk."""
    free = free_disk(path)
    if free is not None and need > free:
        raise InputError(
            f"{os.fspath(path)}: {what} is about {fmt_bytes(need)} and only "
            f"{fmt_bytes(free)} is free there"
        )


__all__ = ["Budget", "available_memory", "check_disk", "fmt_bytes", "free_disk"]
