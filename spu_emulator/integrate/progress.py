"""The progress interface long runs report through.

The numerics never draw a progress bar themselves: a run takes an object with
``start(total, unit)``, ``update(k)`` and ``close()`` (the CLI supplies one that draws
on a terminal; :class:`NoProgress` does nothing).
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, unit: str = "step") -> None: ...
    def update(self, k: int) -> None: ...
    def close(self) -> None: ...


class NoProgress:
    """A progress that reports nothing."""

    def start(self, total: int, unit: str = "step") -> None:
        pass

    def update(self, k: int) -> None:
        pass

    def close(self) -> None:
        pass


__all__ = ["NoProgress", "Progress"]
