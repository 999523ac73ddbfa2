"""Figures of a calibration (matplotlib imported on first use, Agg backend)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def plot_calibration(cal: Any, directory: str, truth: np.ndarray | None = None,
                     name: str = "calibration_deviations.png") -> list[str]:
    """Relative deviation of every element (estimate ± 1 and 2 standard errors), and the
    hidden truth when it is known (a demonstration). Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    dev = 100 * (cal.estimate / cal.nominal - 1.0)
    se = 100 * cal.theta_se
    x = np.arange(len(cal.names))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.18 * len(x) + 2), 3.6), dpi=110)
    ax.errorbar(x, dev, yerr=2 * se, fmt="none", ecolor="0.75", lw=1, label="± 2 SE")
    ax.errorbar(x, dev, yerr=se, fmt="o", ms=3, lw=1.5, label="estimate ± 1 SE")
    if truth is not None:
        ax.plot(x, 100 * (np.asarray(truth) / cal.nominal - 1.0), "x", color="C3", ms=5,
                label="hidden truth")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(x)
    ax.set_xticklabels(cal.names, rotation=90, fontsize=6)
    ax.set_ylabel("as-built / nominal − 1 (%)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = os.path.join(directory, name)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return [path]


__all__ = ["plot_calibration"]
