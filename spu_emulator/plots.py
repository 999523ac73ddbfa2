"""PNG plots a person would look at. matplotlib is imported here only (lazily).

- ``trajectories.png``: node voltages of one chain over time, with ±σ bands;
- ``psd.png``: Welch PSD of each simulated node voltage vs the exact one-sided PSD;
- ``covariance.png``: theory vs sample voltage covariance heatmaps and their z-scores.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError, MissingDependencyError
from .io import atomic_path
from .netlist.schema import Netlist


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(
            "plots need matplotlib: pip install matplotlib (or pip install -e '.[plot]')"
        ) from None
    return plt


def _save(fig, path: Path) -> str:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    return str(path)


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
    plt = _plt()
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

    # Trajectories.
    S = sde.stationary_covariance()
    mu = sde.stationary_mean()
    show = min(n, 8)
    fig, axes = plt.subplots(show, 1, figsize=(9, 1.4 * show + 0.8), sharex=True, squeeze=False)
    span = slice(0, min(v.shape[1], int(40 * sde.relaxation_time() / dt) + 1))
    for i in range(show):
        ax = axes[i, 0]
        sd = np.sqrt(S[i, i])
        ax.plot(t[span] * 1e6, v[0, span, i] * 1e6, lw=0.7)
        ax.axhspan(
            (mu[i] - sd) * 1e6, (mu[i] + sd) * 1e6, color="C1", alpha=0.15, label="±σ (theory)"
        )
        ax.set_ylabel(f"{names[i]} (µV)")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time (µs)")
    fig.suptitle(f"{netlist.name}: node voltages (chain 0)")
    written.append(_save(fig, out / "trajectories.png"))
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
        axes.loglog(fpos, theory[:, i], lw=0.8, ls=":", color="k")
    axes.set_xlabel("frequency (Hz)")
    axes.set_ylabel("one-sided PSD (V²/Hz)")
    axes.set_title(
        f"{netlist.name}: node PSD, simulated (solid, Welch) vs exact\n"
        f"sampled every {dt:.3g} s (dashed, aliasing included); continuous-time (dotted)",
        fontsize=10,
    )
    axes.legend(fontsize=8, ncol=2)
    written.append(_save(fig, out / "psd.png"))
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
    written.append(_save(fig, out / "covariance.png"))
    plt.close(fig)
    return written
