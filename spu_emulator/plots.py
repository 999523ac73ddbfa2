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
        raise InputError(f"--out-dir {out}: not a directory")
    plt = pyplot()
    sde = assemble(netlist).to_sde()
    n = sde.n_voltage
    names = list(sde.voltage_names)
    if trajectory:
        try:
            data = np.load(trajectory)
            states, t = data["states"], data["t"]
            dt = (
                float(data["dt"]) * int(data["save_every"])
                if "save_every" in data
                else float(t[1] - t[0])
            )
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(
                f"{trajectory}: not a trajectory from `spu simulate` ({exc})"
            ) from None
        if states.shape[-1] != sde.dim:
            raise InputError(
                f"{trajectory}: has {states.shape[-1]} states, the netlist has {sde.dim}"
            )
    else:
        T = duration if duration is not None else 400 * sde.relaxation_time()
        traj = run_simulation(netlist, T, chains=4, seed=seed)
        states, t, dt = traj.states, traj.t, traj.dt
    v = states[:, :, :n]
    written = []

    # Trajectories: the whole run, and a zoom on a few periods of the fastest mode.
    S = sde.stationary_covariance()
    mu = sde.stationary_mean()
    show = min(n, 8)
    lam = sde.eigenvalues()
    period = 2 * np.pi / np.max(np.abs(lam.imag)) if np.any(lam.imag) else sde.relaxation_time()
    zoom = slice(0, max(2, min(v.shape[1], int(round(8 * period / dt)) + 1)))
    total = float(t[-1] - t[0]) if t.size > 1 else dt
    fig, axes = plt.subplots(show, 2, figsize=(12, 1.5 * show + 1.0), sharex="col", squeeze=False,
                             gridspec_kw={"width_ratios": [3, 2]})
    fa, ua = time_unit(total)
    fz, uz = time_unit(float(t[zoom][-1] - t[0]) if t[zoom].size > 1 else dt)
    vs = np.sqrt(np.max(np.diag(S)[:show]))
    fv, uv = (1e6, "µV") if vs < 1e-3 else (1e3, "mV")
    for i in range(show):
        sd = np.sqrt(S[i, i])
        tb, lo, hi = envelope(t, v[0, :, i])
        axes[i, 0].fill_between(tb * fa, lo * fv, hi * fv, color=f"C{i}", alpha=0.6, lw=0)
        axes[i, 1].plot(t[zoom] * fz, v[0, zoom, i] * fv, lw=0.9, color=f"C{i}")
        for ax in axes[i]:
            ax.axhspan((mu[i] - sd) * fv, (mu[i] + sd) * fv, color="0.5", alpha=0.2,
                       label="±σ (exact)")
        axes[i, 0].set_ylabel(f"{names[i]} ({uv})")
    axes[0, 0].set_title(f"whole run, {total * fa:.4g} {ua} (min–max envelope)", fontsize=9)
    axes[0, 1].set_title(f"first {(t[zoom][-1] - t[0]) * fz:.4g} {uz} (8 periods)", fontsize=9)
    axes[0, 1].legend(loc="upper right", fontsize=7)
    axes[-1, 0].set_xlabel(f"time ({ua})")
    axes[-1, 1].set_xlabel(f"time ({uz})")
    more = f"; first {show} of {n} nodes" if n > show else ""
    fig.suptitle(f"{netlist.name}: node voltages of chain 0{more}", fontsize=11)
    written.append(save_png(fig, out / "trajectories.png"))
    plt.close(fig)

    # PSD.
    f, p = welch_psd(v, dt)
    fpos = f[1:]
    theory = sde.node_psd(fpos)
    sampled = sde.sampled_node_psd(fpos, dt)
    fig, axes = plt.subplots(1, 1, figsize=(8, 5))
    for i in range(show):
        axes.loglog(fpos, p[1:, i], lw=0.8, color=f"C{i}", alpha=0.5)
        axes.loglog(fpos, sampled[:, i], lw=1.2, ls="--", color=f"C{i}", label=names[i])
        axes.loglog(fpos, theory[:, i], lw=0.9, ls=":", color=f"C{i}")
    axes.set_xlabel("frequency (Hz)")
    axes.set_ylabel("one-sided PSD (V²/Hz)")
    axes.set_title(
        f"{netlist.name}: node PSD, simulated (solid, Welch) vs exact\n"
        f"sampled every {dt:.3g} s (dashed, aliasing included); continuous-time (dotted)",
        fontsize=10,
    )
    axes.legend(fontsize=8, ncol=2)
    written.append(save_png(fig, out / "psd.png"))
    plt.close(fig)

    # Covariance.
    est = covariance_with_errors(v)
    th = S[:n, :n]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))
    vmax = np.max(np.abs(th)) * 1e12
    for ax, mat, title in (
        (axes[0], th * 1e12, "theory (Lyapunov)"),
        (axes[1], est.covariance * 1e12, "simulated"),
    ):
        im = ax.imshow(mat, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(f"{title} (pV²)")
        fig.colorbar(im, ax=ax, shrink=0.8)
    z = est.z_scores(th)
    im = axes[2].imshow(z, cmap="PuOr", vmin=-4.5, vmax=4.5)
    axes[2].set_title(f"z-score (max |z| = {np.max(np.abs(z)):.2f})")
    fig.colorbar(im, ax=axes[2], shrink=0.8)
    for ax in axes:
        ax.set_xticks(range(n), names, rotation=90 if n > 6 else 0, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
    fig.suptitle(f"{netlist.name}: voltage covariance, N_eff ≥ {est.min_effective_samples:.0f}")
    written.append(save_png(fig, out / "covariance.png"))
    plt.close(fig)
    return written
