"""Component banks and quantization of programmed values.

An SPU coupler is a switched bank: each coupler takes one of a few values (0 = switch
open). :class:`Bank` holds the allowed non-negative levels; :func:`quantize` rounds
target values to them, either to the nearest level (plain rounding) or stochastically
(round up with probability p = (v − lo)/(hi − lo), so E[q] = v: unbiased), and
:func:`stratified_roundings` draws K stochastic roundings whose *average* is within
(hi − lo)/(2K) of the target for every component: averaging a computation over them
cancels the first-order quantization error (Aifer et al., arXiv 2401.16231).
Cost: O(m log b) for m values and b levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

Array = np.ndarray

#: How a value is rounded to a bank's levels (see :func:`quantize`).
ROUNDINGS = ("nearest", "stochastic")


@dataclass(frozen=True)
class Bank:
    """Allowed component levels (sorted, non-negative, 0 included: switch open).

    ``relative``: levels are fractions of the largest programmed value
    (:meth:`uniform`: the compiler scales them so the largest coupler is exactly
    representable); otherwise they are absolute SI values (:meth:`from_values`).
    """

    levels: tuple[float, ...]
    relative: bool = False
    label: str = ""

    @classmethod
    def uniform(cls, bits: int) -> Bank:
        """2**bits equally spaced levels 0, 1/(2^b−1), ..., 1 (relative to the top)."""
        if not isinstance(bits, int) or not 1 <= bits <= 24:
            raise InputError(f"must be an integer from 1 to 24, got {bits!r}", "bits")
        n = 2**bits
        return cls(tuple(np.arange(n) / (n - 1)), relative=True, label=f"{bits}-bit uniform")

    @classmethod
    def from_values(cls, values: list[float]) -> Bank:
        vals = sorted(set(float(v) for v in values) | {0.0})
        if any(not np.isfinite(v) or v < 0 for v in vals):
            raise InputError(f"must be finite and non-negative, got {values}", "values")
        if len(vals) < 2:
            raise InputError("give at least one positive value", "values")
        return cls(tuple(vals), relative=False, label=f"{len(vals) - 1} values")

    def scaled(self, top: float) -> Array:
        """The levels in SI units, given the largest value to represent."""
        lv = np.asarray(self.levels, float)
        return lv * top if self.relative else lv

    def describe(self) -> dict:
        return {"label": self.label, "relative": self.relative, "levels": list(self.levels)}


def _brackets(values: Array, levels: Array) -> tuple[Array, Array, Array]:
    """Lower and upper neighbouring levels and the fraction p ∈ [0, 1] between them.
    Values beyond the top are clipped to it (p = 0 at the top level)."""
    v = np.clip(values, levels[0], levels[-1])
    hi_idx = np.clip(np.searchsorted(levels, v, side="left"), 1, len(levels) - 1)
    lo, hi = levels[hi_idx - 1], levels[hi_idx]
    p = np.where(hi > lo, (v - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0)
    return lo, hi, np.clip(p, 0.0, 1.0)


def quantize(
    values: Array,
    levels: Array,
    mode: str = "nearest",
    rng: np.random.Generator | None = None,
) -> Array:
    """Round ``values`` to ``levels`` (SI, sorted): ``"nearest"`` or ``"stochastic"``
    (unbiased: E[q] = v for v inside the bank's range)."""
    values = np.asarray(values, float)
    lo, hi, p = _brackets(values, np.asarray(levels, float))
    if mode == "nearest":
        return np.where(p >= 0.5, hi, lo)
    if mode == "stochastic":
        if rng is None:
            raise InputError("stochastic rounding needs a seed or numpy Generator")
        return np.where(rng.random(values.shape) < p, hi, lo)
    raise InputError(f"unknown rounding mode {mode!r} ({' or '.join(ROUNDINGS)})", "rounding")


def stratified_roundings(
    values: Array, levels: Array, k: int, rng: np.random.Generator
) -> Array:
    """K roundings (k, m) of m values: value j is rounded up in round(p_j K) of the K
    roundings, chosen at random (independently per value). Each rounding is a valid
    stochastic rounding; their mean is within (hi − lo)/(2K) of the target."""
    values = np.asarray(values, float).ravel()
    lo, hi, p = _brackets(values, np.asarray(levels, float))
    ups = np.rint(p * k).astype(int)
    # Random rank of each rounding for each value: rounding r goes up iff rank < ups.
    ranks = np.argsort(rng.random((k, values.size)), axis=0).argsort(axis=0)
    return np.where(ranks < ups[None, :], hi[None, :], lo[None, :])
