"""The cross-checks of ``spu validate``, one module each, behind one interface
(:class:`~.base.Check`): spectrum (:mod:`.spectrum`), waveform (:mod:`.waveform`) and
statistics (:mod:`.statistics`). :data:`CHECKS` lists them in report order."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import InputError
from .base import FAIL, NOT_RUN, PASS, Check, CheckData, CheckResult
from .options import SpectrumOptions, StatisticsOptions, ValidateOptions, WaveformOptions
from .spectrum import SpectrumCheck
from .statistics import StatisticsCheck
from .waveform import WaveformCheck

#: Every check, in the order the report lists them.
CHECKS: tuple[Check, ...] = (SpectrumCheck(), WaveformCheck(), StatisticsCheck())
#: Their names (``--checks``).
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in CHECKS)


def select(names: Sequence[str]) -> tuple[Check, ...]:
    """The checks named in ``names``, in report order (an unknown name is an InputError)."""
    bad = [n for n in names if n not in CHECK_NAMES]
    if bad:
        raise InputError(
            f"unknown check(s) {', '.join(bad)} (choose from {', '.join(CHECK_NAMES)})", "checks"
        )
    return tuple(c for c in CHECKS if c.name in names)


__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "FAIL",
    "NOT_RUN",
    "PASS",
    "Check",
    "CheckData",
    "CheckResult",
    "SpectrumOptions",
    "StatisticsOptions",
    "ValidateOptions",
    "WaveformOptions",
    "select",
]
