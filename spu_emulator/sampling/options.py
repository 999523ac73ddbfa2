"""The options of the sampling layer, as small validated value objects.

* :class:`RunBudget`: when a linear-algebra run stops (emulated time, sample count or
  error tolerance).
* :class:`BoardOptions`: how the emulated board is read (chains, error-bar groups,
  sample interval, burn-in, working precision, BLAS threads, the readout converter).
* :class:`Quantization`: the coupler bank, its rounding, and how many stratified
  roundings are averaged (error mitigation).

Each is a frozen dataclass that checks itself when made: a bad value raises one
:class:`~spu_emulator.errors.InputError` naming the field (``InputError("must be
positive, got -1", "time")``), which the CLI shows as the flag that sets it
(``--time: must be positive, got -1``). Compile options stay
:class:`~spu_emulator.hardware.compiler.CompileOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError
from ..hardware.bank import ROUNDINGS, Bank
from ..netlist.schema import Readout

#: Relative error bound a run aims at when no budget is given.
DEFAULT_TOL = 0.05


def is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def check_count(value: Any, name: str, optional: bool = False) -> None:
    """A whole number ≥ 1 (or None when ``optional``)."""
    if optional and value is None:
        return
    if not is_int(value) or value < 1:
        raise InputError(f"must be a whole number ≥ 1, got {value!r}", name)


def check_positive(value: Any, name: str, zero: bool = False) -> None:
    """None, or a finite real > 0 (≥ 0 with ``zero``): a time, a tolerance, a level."""
    if value is None:
        return
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise InputError(f"must be {'≥ 0' if zero else 'positive'} and finite, got {value!r}", name)


@dataclass(frozen=True, slots=True)
class RunBudget:
    """When a linear-algebra run stops: after emulated ``time`` (s, all roundings
    together, burn-in included), after ``samples`` samples in total (rounded up to
    whole steps of every chain, at least two each), or once the 95% error bound is
    ≤ ``tol``. At most one of the three; none means ``tol`` = 0.05. ``max_samples``
    caps a ``tol`` run (it then stops with the bound it reached).
    """

    time: float | None = None
    tol: float | None = None
    samples: int | None = None
    max_samples: int = 10**8

    def __post_init__(self) -> None:
        given = [k for k in ("time", "tol", "samples") if getattr(self, k) is not None]
        if len(given) > 1:
            raise InputError(f"give at most one of time, tol and samples, got {' and '.join(given)}",
                             given[-1])
        if not given:
            object.__setattr__(self, "tol", DEFAULT_TOL)
        check_positive(self.time, "time")
        check_positive(self.tol, "tol")
        check_count(self.samples, "samples", optional=True)
        check_count(self.max_samples, "max_samples")


@dataclass(frozen=True, slots=True)
class BoardOptions:
    """How the emulated board is read (see :class:`~spu_emulator.sampling.engine.Board`).

    ``chains`` independent chains in ``groups`` groups (the spread between groups
    gives the error bars; ``chains`` must be a multiple of ``groups``). ``interval``:
    sample interval h (s); None: one relaxation time (:func:`~.gaussian.sample`: the
    design's readout rate when its ``readout:`` block gives one). ``burn_in`` (s):
    None: 15 relaxation times. ``dtype`` of the stepping, float32 or float64; None:
    float32 for the second moments of ``inv``/``logdet``/``solve(method="inverse")``,
    float64 for ``sample`` and the DC solve. ``blas_threads`` while stepping (None:
    leave BLAS alone). ``readout``: the converter the board is read through (a
    :class:`~spu_emulator.netlist.schema.Readout`: rate, bits, full scale, offset, gain
    error, noise, anti-alias bandwidth; see :mod:`.readout`); None: the design
    netlist's ``readout:`` block. ``adc=False`` reads ideally (no filter, converter or
    quantizer).
    """

    chains: int = 128
    groups: int = 16
    interval: float | None = None
    burn_in: float | None = None
    dtype: Any = None
    blas_threads: int | None = 1
    adc: bool = True
    readout: Readout | None = None

    def __post_init__(self) -> None:
        check_count(self.chains, "chains")
        check_count(self.groups, "groups")
        if self.chains % self.groups:
            raise InputError(f"must be a multiple of groups ({self.groups}), got {self.chains}", "chains")
        check_positive(self.interval, "interval")
        check_positive(self.burn_in, "burn_in", zero=True)
        if self.dtype is not None:
            try:
                dt = np.dtype(self.dtype)
            except TypeError:
                dt = None
            if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
                raise InputError(f"must be float32 or float64, got {self.dtype!r}", "dtype")
            object.__setattr__(self, "dtype", dt)
        check_count(self.blas_threads, "blas_threads", optional=True)
        if not isinstance(self.adc, (bool, np.bool_)):
            raise InputError(f"must be True or False, got {self.adc!r}", "adc")
        if self.readout is not None and not isinstance(self.readout, Readout):
            raise InputError(f"must be a netlist Readout or None, got {type(self.readout).__name__}",
                             "readout")

    def with_default_dtype(self, dtype: Any) -> BoardOptions:
        """These options with ``dtype`` where none was chosen."""
        return self if self.dtype is not None else replace(self, dtype=dtype)


#: The defaults, as module-level values (the calls' default arguments).
DEFAULT_BUDGET = RunBudget()
DEFAULT_BOARD = BoardOptions()
#: The default board of :func:`~.gaussian.sample`: one chain, as the hardware runs.
SAMPLE_BOARD = BoardOptions(chains=1, groups=1)


@dataclass(frozen=True, slots=True)
class Quantization:
    """How the couplers are programmed: to the levels of ``bank`` (None: exact values)
    with ``rounding`` (``"nearest"`` or ``"stochastic"``); ``roundings`` = K > 1
    averages K stratified stochastic roundings to the bank (error mitigation, Aifer
    et al.; needs a bank; ``rounding`` then plays no part).
    """

    bank: Bank | None = None
    rounding: str = "nearest"
    roundings: int = 1

    def __post_init__(self) -> None:
        if self.bank is not None and not isinstance(self.bank, Bank):
            raise InputError(f"must be a Bank or None, got {type(self.bank).__name__}", "bank")
        if self.rounding not in ROUNDINGS:
            raise InputError(f"must be one of {', '.join(ROUNDINGS)}, got {self.rounding!r}", "rounding")
        check_count(self.roundings, "roundings")
        if self.roundings > 1 and self.bank is None:
            raise InputError(f"averaging {self.roundings} roundings needs a bank to round to "
                             "(without one the couplers are exact)", "roundings")


#: Exact coupler values (no bank).
NO_QUANTIZATION = Quantization()

__all__ = [
    "DEFAULT_BOARD", "DEFAULT_BUDGET", "DEFAULT_TOL", "NO_QUANTIZATION", "SAMPLE_BOARD",
    "BoardOptions", "Quantization", "RunBudget",
]
