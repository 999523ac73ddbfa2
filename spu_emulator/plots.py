"""PNG plots a person would look at. matplotlib is imported here only (lazily), and
:func:`pyplot` / :func:`save_png` are what every plotting module of the package uses.

- ``trajectories.png``: node voltages of one chain: the whole run (left) and a zoom of
  a few oscillation periods (right), with ±σ bands;
- ``psd.png``: Welch PSD of each simulated node voltage vs the exact one-sided PSD,
  node by node in its own colour;
- ``covariance.png``: theory vs sample voltage covariance heatmaps and their z-scores,
  labelled with the node names.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError, MissingDependencyError
from .io import atomic_path
from .netlist.schema import Netlist


def pyplot():
    """matplotlib.pyplot on the Agg backend, or a one-line MissingDependencyError."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(
            "plots need matplotlib: pip install matplotlib (or pip install -e '.[plot]')"
        ) from None
    return plt


def save_png(fig, path: str | os.PathLike[str], dpi: int = 110) -> str:
    """Write ``fig`` atomically as PNG (tight box: no title runs off the edge)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return str(path)


def time_unit(span: float) -> tuple[float, str]:
    """(factor, label) to show times of about ``span`` seconds: ns, µs, ms or s."""
    for f, u in ((1e9, "ns"), (1e6, "µs"), (1e3, "ms")):
        if span * f < 1e3:
            return f, u
    return 1.0, "s"


def envelope(t: np.ndarray, y: np.ndarray, bins: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bin times, minimum, maximum) of y over ``bins`` equal stretches of the run: an
    oscilloscope's view of a long, fast-oscillating trace (plotted point by point it
    is a solid blob)."""
    m = max(1, len(y) // bins)
    k = len(y) // m * m
    yy = y[:k].reshape(-1, m)
    return t[:k:m], yy.min(axis=1), yy.max(axis=1)


def welch_psd(x: np.ndarray, dt: float, segments: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Welch PSD of x (B, T, k) (Hann window, 50% overlap), averaged over
    chains. Returns (freqs, psd (F, k)) in units²/Hz."""
    from scipy.signal import welch

    B, T, k = x.shape
    nper = max(16, T // segments)
    f, p = welch(x, fs=1.0 / dt, nperseg=nper, axis=1, detrend="constant")
    return f, p.mean(axis=0)


def _load_trajectory(path: str, dim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(states (B, T, n), t (T,), sample interval) from an ``spu simulate`` .npz."""
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):
            raise ValueError("it is a single array (.npy), not an .npz of states and times")
        with data:
            if not {"states", "t"} <= set(data.files):
                raise ValueError("it has no 'states' and 't' arrays")
            states, t = np.asarray(data["states"], float), np.asarray(data["t"], float)
            every = int(data["save_every"]) if "save_every" in data.files else 1
            dt = float(data["dt"]) * every if "dt" in data.files else float(t[1] - t[0])
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise InputError(f"{path}: not a trajectory from 'spu simulate' ({reason})") from None
    if states.ndim != 3 or t.ndim != 1 or states.shape[1] != t.size:
        raise InputError(f"{path}: states and times do not match ({states.shape}, {t.shape})")
    if states.shape[-1] != dim:
        raise InputError(f"{path}: has {states.shape[-1]} states, the netlist has {dim}")
    if not np.all(np.isfinite(states)):
        raise InputError(f"{path}: contains non-finite states")
    return states, t, dt


def plot_all(
    netlist: Netlist,
    out_dir: str | os.PathLike[str],
    trajectory: str | None = None,
    seed: int = 0,
    duration: float | None = None,
) -> list[str]:
    from .analysis import run_simulation
    from .circuit import assemble
    from .sampling.estimators import covariance_with_errors

    out = Path(out_dir)
    if not out.is_dir():
        raise InputError(f"{out}: not a directory", "out_dir")
    plt = pyplot()
    sde = assemble(netlist).to_sde()
    n = sde.n_voltage
    names = list(sde.node_names)
    if trajectory:
        states, t, dt = _load_trajectory(trajectory, sde.dim)
    else:
        T = duration if duration is not None else 400 * sde.relaxation_time()
        traj = run_simulation(netlist, T, chains=4, seed=seed)
        states, t, dt = traj.states, traj.t, traj.dt * traj.meta.get("save_every", 1)
    if states.shape[1] < 16:
        raise InputError(f"{trajectory or 'the run'}: {states.shape[1]} samples per chain are "
                         "too few to plot (need 16)")
    v = states[:, :, :n]
    written = []
    if not sde.linear:
        names = [f"q({x})" for x in names]

    # Trajectories: the whole run, and a zoom on a few periods of the fastest mode.
    exact = sde.exact_covariance()  # None for a nonlinear circuit (no closed form)
    S = exact if exact is not None else np.cov(v.reshape(-1, n).T).reshape(n, n)
    mu = sde.stationary_mean() if exact is not None else v.reshape(-1, n).mean(axis=0)
    quantity = sde.quantity
    show = min(n, 8)
    lam = sde.stiffness()
    oscillates = bool(np.any(lam.imag))
    period = 2 * np.pi / np.max(np.abs(lam.imag)) if oscillates else sde.relaxation_time()
    zoom = slice(0, max(2, min(v.shape[1], int(round(8 * period / dt)) + 1)))
    total = float(t[-1] - t[0]) if t.size > 1 else dt
    fig, axes = plt.subplots(show, 2, figsize=(12, 1.5 * show + 1.0), sharex="col", squeeze=False,
                             gridspec_kw={"width_ratios": [3, 2]})
    fa, ua = time_unit(total)
    fz, uz = time_unit(float(t[zoom][-1] - t[0]) if t[zoom].size > 1 else dt)
    vs = np.sqrt(np.max(np.diag(S)[:show]))
    if quantity == "charge":
        fv, uv = 1.0 / max(vs, 1e-300), "units of the largest σ"
    else:
        fv, uv = (1e6, "µV") if vs < 1e-3 else (1e3, "mV")
    for i in range(show):
        sd = np.sqrt(S[i, i])
        tb, lo, hi = envelope(t, v[0, :, i])
        axes[i, 0].fill_between(tb * fa, lo * fv, hi * fv, color=f"C{i}", alpha=0.6, lw=0)
        axes[i, 1].plot(t[zoom] * fz, v[0, zoom, i] * fv, lw=0.9, color=f"C{i}")
        for ax in axes[i]:
            ax.axhspan((mu[i] - sd) * fv, (mu[i] + sd) * fv, color="0.5", alpha=0.2,
                       label="±σ (exact)" if exact is not None else "±σ (sample)")
        axes[i, 0].set_ylabel(f"{names[i]} ({uv})")
    axes[0, 0].set_title(f"whole run, {total * fa:.4g} {ua} (min–max envelope)", fontsize=9)
    what = "8 periods" if oscillates else "8 relaxation times"
    axes[0, 1].set_title(f"first {(t[zoom][-1] - t[0]) * fz:.4g} {uz} ({what})", fontsize=9)
    axes[0, 1].legend(loc="upper right", fontsize=7)
    axes[-1, 0].set_xlabel(f"time ({ua})")
    axes[-1, 1].set_xlabel(f"time ({uz})")
    more = f"; first {show} of {n} nodes" if n > show else ""
    fig.suptitle(f"{netlist.name}: node {quantity}s of chain 0{more}", fontsize=11)
    written.append(save_png(fig, out / "trajectories.png"))
    plt.close(fig)

    # PSD.
    f, p = welch_psd(v, dt)
    fpos = f[1:]
    unit = "V²/Hz" if quantity == "voltage" else "C²/Hz"
    fig, axes = plt.subplots(1, 1, figsize=(8, 5))
    for i in range(show):
        axes.loglog(fpos, p[1:, i], lw=0.8, color=f"C{i}", alpha=0.5,
                    label=names[i] if exact is None else None)
    if exact is not None:
        theory = sde.node_psd(fpos)
        sampled = sde.sampled_node_psd(fpos, dt)
        for i in range(show):
            axes.loglog(fpos, sampled[:, i], lw=1.2, ls="--", color=f"C{i}", label=names[i])
            axes.loglog(fpos, theory[:, i], lw=0.9, ls=":", color=f"C{i}")
        title = (f"{netlist.name}: node PSD, simulated (solid, Welch) vs exact\n"
                 f"sampled every {dt:.3g} s (dashed, aliasing included); continuous-time (dotted)")
    else:
        title = f"{netlist.name}: node PSD, simulated (Welch; no closed form for a nonlinear circuit)"
    axes.set_xlabel("frequency (Hz)")
    axes.set_ylabel(f"one-sided PSD ({unit})")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, ncol=2)
    written.append(save_png(fig, out / "psd.png"))
    plt.close(fig)

    # Covariance: exact, simulated and their z-scores (simulated only without a closed form).
    est = covariance_with_errors(v)
    panels = [(est.covariance, "simulated")]
    if exact is not None:
        panels.insert(0, (S[:n, :n], "exact (Lyapunov)"))
    fig, axes = plt.subplots(1, len(panels) + (exact is not None), figsize=(4.8 * (len(panels) + 1), 4.3),
                             squeeze=False)
    axes = axes[0]
    scale = np.max(np.abs(panels[0][0]))
    fs, us = (1e12, "pV²") if quantity == "voltage" else (1.0 / max(scale, 1e-300), "of max")
    vmax = scale * fs
    for ax, (mat, title) in zip(axes, panels, strict=False):
        im = ax.imshow(mat * fs, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(f"{title} ({us})", fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
    if exact is not None:
        z = est.z_scores(S[:n, :n])
        im = axes[-1].imshow(z, cmap="PuOr", vmin=-4.5, vmax=4.5)
        axes[-1].set_title(f"z-score (max |z| = {np.max(np.abs(z)):.2f})", fontsize=10)
        fig.colorbar(im, ax=axes[-1], shrink=0.8)
    for ax in axes:
        ax.set_xticks(range(n), names, rotation=90 if n > 6 else 0, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
    fig.suptitle(f"{netlist.name}: {quantity} covariance, N_eff ≥ {est.min_effective_samples:.0f}")
    written.append(save_png(fig, out / "covariance.png"))
    plt.close(fig)
    return written
