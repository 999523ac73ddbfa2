"""Sweeps: any ``spu`` command over a grid of netlist values, random draws, Monte Carlo
boards or seeds, run on Dask distributed (an embedded local cluster by default, a
running cluster by address). See docs/sweeps.md.

``load_sweep`` (:mod:`.spec`) reads a sweep file, ``points`` (:mod:`.points`) lists its
points, ``sweep`` (:mod:`.engine`) runs them. Names are imported on first use, so this
package imports neither Dask nor argparse until a sweep runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "load_sweep": "spu_emulator.sweep.spec",
    "SweepSpec": "spu_emulator.sweep.spec",
    "points": "spu_emulator.sweep.points",
    "Point": "spu_emulator.sweep.points",
    "sweep": "spu_emulator.sweep.engine",
    "SweepReport": "spu_emulator.sweep.engine",
    "SweepInterrupted": "spu_emulator.sweep.engine",
    "run_point": "spu_emulator.sweep.engine",
}


def __getattr__(name: str) -> Any:
    try:
        module = _NAMES[name]
    except KeyError:
        raise AttributeError(f"module 'spu_emulator.sweep' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


__all__ = list(_NAMES)
