"""Board metrics, specifications on them and the yield of a population of boards.

A metric is one number per board (:data:`METRICS`). A specification is a conjunction
of comparisons, ``"inverse_error < 0.05 and min_q >= 10"``: a metric name, one of
``<``, ``<=``, ``>``, ``>=``, and a number (optionally with the metric's unit or
``%``), joined by ``and``. It is read by a small parser (no ``eval``). A failed board
(unstable, or with a matrix that is not positive definite) meets no specification.

The yield k/N comes with a 95% Wilson score interval,

    (k + z²/2 ± z √(k (N − k)/N + z²/4)) / (N + z²),  z = 1.96,

which, unlike the normal approximation, stays inside [0, 1] and keeps its coverage
when the yield is near 0 or 1.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError

Array = np.ndarray


@dataclass(frozen=True, slots=True)
class Metric:
    """A per-board number: its ``unit``, what it is, and whether it needs a programmed
    design (a netlist with a ``program:`` section)."""

    unit: str
    description: str
    programmed: bool = False
    #: zero on the nominal board and a norm of the deviation (first order: an rms)
    deviation: bool = False
    #: a relative quantity, shown in percent
    percent: bool = False


METRICS: dict[str, Metric] = {
    "inverse_error": Metric(
        "1", "‖Σ_x − Σ*‖_F / ‖Σ*‖_F: the realized covariance of the user variables against "
        "the target (A⁻¹ for an inversion, S for sampling), the inversion / sampling error",
        programmed=True, deviation=True, percent=True),
    "matrix_error": Metric(
        "1", "‖Σ_x⁻¹ − A‖_F / ‖A‖_F: the matrix the board realizes against the target matrix",
        programmed=True, deviation=True, percent=True),
    "covariance_error": Metric(
        "1", "‖Σ_v − Σ_v⁰‖_F / ‖Σ_v⁰‖_F: the node-voltage covariance against the nominal "
        "board's", deviation=True, percent=True),
    "max_voltage_std": Metric("V", "the largest rms node voltage, max_i √Σ_v,ii"),
    "max_variance_shift": Metric(
        "1", "max_i |Σ_v,ii / Σ⁰_v,ii − 1|: the largest relative change of a node's variance",
        deviation=True, percent=True),
    "min_q": Metric("1", "the smallest quality factor |λ| / (2 |Re λ|) of any mode (½ for a "
                         "real mode)"),
    "max_frequency_shift": Metric(
        "1", "max_k |f_k / f_k⁰ − 1|: the largest relative shift of a mode's natural "
        "frequency |λ|/2π", deviation=True, percent=True),
    "relaxation_time": Metric("s", "the slowest decay time 1 / min(−Re λ)"),
}

_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(\S.*?)\s*$")
_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def _number(text: str, unit: str, clause: str) -> float:
    from ..units import ValueParseError, parse_value

    t = text.strip()
    try:
        v = float(t[:-1]) / 100.0 if t.endswith("%") and unit == "1" else parse_value(t, unit)
    except (ValueParseError, ValueError):
        raise InputError(f"{clause!r}: cannot read the number {t!r}", "spec") from None
    if not math.isfinite(v):
        raise InputError(f"{clause!r}: the bound must be finite, got {t!r}", "spec")
    return float(v)


@dataclass(frozen=True, slots=True)
class Spec:
    """A parsed specification: ``clauses`` of (metric, operator, bound), all required."""

    text: str
    clauses: tuple[tuple[str, str, float], ...]

    @classmethod
    def parse(cls, text: str, available: tuple[str, ...] | None = None) -> Spec:
        """Read ``text``; ``available`` (default: every metric) are the metrics this
        board population has. Bad text is a one-line :class:`InputError` (``spec``)."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("give a specification like 'inverse_error < 0.05'", "spec")
        names = tuple(METRICS) if available is None else available
        if re.search(r"\bor\b|\bnot\b|[()]", text):
            raise InputError(f"cannot read {text.strip()!r}: clauses are joined by 'and' only "
                             "(no 'or', 'not' or parentheses)", "spec")
        clauses = []
        for part in re.split(r"\s+and\s+", text.strip()):
            m = _CLAUSE.match(part)
            if m is None:
                raise InputError(
                    f"cannot read {part.strip()!r}: write METRIC OP NUMBER (OP one of <, <=, >, "
                    ">=), joined by 'and', e.g. 'inverse_error < 0.05'", "spec")
            name, op, num = m.groups()
            if name not in METRICS:
                raise InputError(f"unknown metric {name!r} (known: {', '.join(names)})", "spec")
            if name not in names:
                raise InputError(f"metric {name!r} needs a programmed design (a netlist with a "
                                 "'program:' section, made by `spu program`)", "spec")
            clauses.append((name, op, _number(num, METRICS[name].unit, part.strip())))
        return cls(text.strip(), tuple(clauses))

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c[0] for c in self.clauses))

    def passes(self, metrics: dict[str, Array]) -> Array:
        """(N,) bool: which boards meet every clause (NaN, a failed board, meets none)."""
        ok = None
        for name, op, bound in self.clauses:
            with np.errstate(invalid="ignore"):
                c = _OPS[op](metrics[name], bound)
            ok = c if ok is None else ok & c
        return np.asarray(ok, bool)


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion k/n (95% for the default z)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (0.0 if k == 0 else max(0.0, mid - half), 1.0 if k == n else min(1.0, mid + half))


def yield_report(spec: Spec, metrics: dict[str, Array]) -> dict[str, Any]:
    """How many of the boards meet ``spec``, with its 95% Wilson interval."""
    ok = spec.passes(metrics)
    n, k = int(ok.size), int(np.sum(ok))
    lo, hi = wilson_interval(k, n)
    return {"spec": spec.text, "boards": n, "passed": k, "yield": k / n if n else float("nan"),
            "interval": [lo, hi], "confidence": 0.95, "method": "Wilson score"}


__all__ = ["METRICS", "Metric", "Spec", "wilson_interval", "yield_report"]
