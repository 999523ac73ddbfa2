"""PNG plots of a board population: histograms of metrics over the boards (nominal and
specification marked) and a tornado chart of the components that spread a metric most.
matplotlib is imported only when a plot is drawn (through :func:`spu_emulator.plots.pyplot`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .spec import METRICS

_SCALES = ((1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""))


def _scale(values: np.ndarray, name: str) -> tuple[float, str]:
    """(factor, label) to show values of metric ``name``: relative ones in %, V in µV …"""
    unit = METRICS[name].unit
    if METRICS[name].percent:
        return 100.0, "%"
    if unit == "1":
        return 1.0, ""
    big = float(np.nanmax(np.abs(values))) if np.any(np.isfinite(values)) else 1.0
    for f, p in _SCALES:
        if big < 1e3 * f:
            return 1.0 / f, p + unit
    return 1.0, unit


def plot_histograms(result: Any, metrics: list[str], path: str | os.PathLike[str],
                    spec: Any = None) -> str:
    """Histograms of ``metrics`` over the boards that did not fail, one panel each, the
    nominal board's value as a solid line and each bound of ``spec`` dashed."""
    from ..plots import pyplot, save_png

    plt = pyplot()
    k = len(metrics)
    cols = min(k, 3)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    ok = result.ok
    for ax, name in zip(axes.ravel(), metrics, strict=False):
        v = result.metrics[name][ok]
        f, u = _scale(np.concatenate([v, [result.nominal["metrics"][name]]]), name)
        ax.hist(v * f, bins=min(60, max(10, int(np.sqrt(v.size)))), color="C0", alpha=0.8)
        ax.axvline(result.nominal["metrics"][name] * f, color="k", lw=1.5, label="nominal")
        for m, _op, bound in (spec.clauses if spec is not None else ()):
            if m == name:
                ax.axvline(bound * f, color="C3", ls="--", lw=1.5, label="spec")
        ax.set_xlabel(f"{name} ({u})" if u else name)
        ax.set_ylabel("boards")
        ax.legend(fontsize=8, frameon=False)
    for ax in axes.ravel()[k:]:
        ax.set_visible(False)
    fig.suptitle(f"{result.name}: {result.boards} boards, {int(np.sum(~ok))} failed", fontsize=11)
    fig.tight_layout()
    out = save_png(fig, path)
    plt.close(fig)
    return out


def plot_tornado(sens: Any, parameters: tuple[str, ...], path: str | os.PathLike[str],
                 limit: int = 12) -> str:
    """The ``limit`` largest contributions to a metric's spread (each component's own
    tolerance, and each class's lot factor): ± bars around the nominal value for a
    smooth metric, one-sided bars from zero for a deviation metric."""
    from ..plots import pyplot, save_png

    plt = pyplot()
    rows = sens.ranked(parameters, limit)[::-1]
    names = [r[0] for r in rows]
    c = np.array([r[1] for r in rows])
    f, u = _scale(np.concatenate([c, [sens.nominal]]), sens.name)
    fig, ax = plt.subplots(figsize=(7.0, 0.35 * len(rows) + 1.4))
    y = np.arange(len(rows))
    if sens.deviation:
        ax.barh(y, c * f, color="C3", alpha=0.8)
        ax.set_xlabel(f"{sens.name} caused at one standard deviation" + (f" ({u})" if u else ""))
    else:
        ax.barh(y, c * f, left=sens.nominal * f, color="C3", alpha=0.8)
        ax.barh(y, -c * f, left=sens.nominal * f, color="C0", alpha=0.8)
        ax.axvline(sens.nominal * f, color="k", lw=1)
        ax.set_xlabel(f"{sens.name} at ±1 standard deviation of the part" + (f" ({u})" if u else ""))
    ax.set_yticks(y, names, fontsize=8)
    kind = "rms" if sens.deviation else "std"
    ax.set_title(f"largest contributors (first-order {kind} {sens.first_order * f:.3g}{u and ' ' + u})",
                 fontsize=10)
    fig.tight_layout()
    out = save_png(fig, path)
    plt.close(fig)
    return out


def plot_all(result: Any, sens: Any, metrics: list[str], out_dir: str | os.PathLike[str],
             spec: Any = None, tornado: str | None = None) -> list[str]:
    """``montecarlo.png`` (histograms) and ``tornado_<metric>.png`` in ``out_dir``."""
    out = Path(out_dir)
    written = [plot_histograms(result, metrics, out / "montecarlo.png", spec)]
    if sens is not None and tornado is not None:
        written.append(plot_tornado(sens.metric(tornado), sens.parameters,
                                    out / f"tornado_{tornado}.png"))
    return written


__all__ = ["plot_all", "plot_histograms", "plot_tornado"]
