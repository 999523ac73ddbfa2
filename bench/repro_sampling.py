"""Reproduce the SPU experiments of issue 4 on the emulator and render PNGs.

(a) ``inverse``: error of the 8×8 inverse vs emulated time on the 8-cell SPU
    (cells of netlists/spu8.yaml: RLC cells, 12-bit ADC), with ideal couplers, a
    4-bit coupler bank with plain (nearest) rounding, and the same bank with error
    mitigation (average over 16 stratified roundings). Statistical error falls like
    1/sqrt(time) until the exact quantization floor of the compiled couplings
    (dashed: Lyapunov covariance of the compiled netlists).
(b) ``gauss8``: 8-d Gaussian sampling on the 8-cell SPU read at its ADC rate
    (10 MHz, one board = one chain, 12-bit ADC applied): relative Frobenius error of the sample
    covariance vs number of samples N, rms over independent runs, against the
    prediction sqrt((tr S)² + ‖S‖²_F) / ‖S‖_F / sqrt(N_eff), with N_eff computed
    exactly from the circuit's lagged covariances (no fit).
(c) ``gauss64`` / ``gauss256``: the same at d = 64 and 256 (compiled with
    `spu program` defaults: RLC cells, read once per relaxation time).

Prediction used in (b, c): for a stationary zero-mean Gaussian sequence y_t with
lagged covariances C(k) = T F^k Σ Tᵀ (F the exact transition over the sample
interval, Σ the Boltzmann covariance of the states, T the readout), Isserlis'
theorem gives E‖Ŝ − S‖²_F = (1/N) Σ_{|k|<N} (1 − |k|/N) [(tr C(k))² + tr(C(k)²)],
so N_eff = N ((tr S)² + ‖S‖²_F) / Σ_k (…). Ŝ is the second moment about the known
mean (the design's mean is added digitally).

    python bench/repro_sampling.py [--only inverse gauss8 gauss64 gauss256] [--quick]

writes docs/img/sampling_inverse_vs_time.png, docs/img/sampling_gauss_d8.png,
docs/img/sampling_gauss_d64_d256.png and prints the numbers behind them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from spu_emulator.hardware.bank import Bank  # noqa: E402
from spu_emulator.hardware.compiler import CompileOptions, compile_matrix  # noqa: E402
from spu_emulator.netlist import load  # noqa: E402
from spu_emulator.sampling import BoardOptions, Quantization  # noqa: E402
from spu_emulator.sampling.engine import Board  # noqa: E402
from spu_emulator.sampling.linalg import inverse_path  # noqa: E402
from spu_emulator.sampling.matrices import m_matrix  # noqa: E402

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
SPU8 = Path(__file__).resolve().parent.parent / "netlists" / "spu8.yaml"


def inverse_figure(quick: bool) -> None:
    A = m_matrix(8, np.random.default_rng(2024), density=0.8, cond=30)
    opts = CompileOptions(cells_from=load(SPU8), covariance_report=False)
    t_max = 30.0 if quick else 400.0
    seeds = 1 if quick else 3
    times = np.logspace(-3, np.log10(t_max), 16)
    cases = [
        ("ideal couplers", None, 1, "C0"),
        ("4-bit bank, nearest rounding", Bank.uniform(4), 1, "C3"),
        ("4-bit bank, 16 roundings averaged (mitigation)", Bank.uniform(4), 16, "C2"),
    ]
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for label, bank, K, color in cases:
        t0 = time.perf_counter()
        quant = Quantization(bank, roundings=K)
        paths = [inverse_path(A, times, seed=s, quantization=quant, options=opts) for s in range(seeds)]
        t = np.array([p["emulated_time"] for p in paths[0]])
        err = np.sqrt(np.mean([[p["error"] ** 2 for p in path] for path in paths], axis=0))
        bound = np.median([[p["bound"] for p in path] for path in paths], axis=0)
        floor = paths[0][-1]["floor"]
        print(f"(a) {label}: floor {floor:.3g}; rms error {err[0]:.3g} at {t[0]:.3g} s -> {err[-1]:.3g} at "
              f"{t[-1]:.3g} s ({paths[0][-1]['samples']} samples per run, {seeds} runs, "
              f"wall {time.perf_counter() - t0:.1f} s)")
        ax.loglog(t, err, "o-", color=color, ms=3, label=f"{label}: actual error (rms of {seeds} runs)")
        ax.loglog(t, bound, ":", color=color, lw=1, label="  reported 95% bound (median; statistical only)")
        if floor > 1e-12:
            ax.axhline(floor, color=color, ls="--", lw=1)
            ax.annotate(f"exact floor {floor:.2g}", (t[-1], floor), color=color, fontsize=8, ha="right",
                        xytext=(0, 3), textcoords="offset points")
        if bank is None:
            ref = bound[len(bound) // 2] * np.sqrt(t[len(t) // 2] / t)
            ax.loglog(t, ref, color="gray", lw=0.8, alpha=0.6, label=r"$\propto 1/\sqrt{t}$")
    ax.set_xlabel("emulated hardware time (s, one board)")
    ax.set_ylabel(r"relative error $\|\hat X - A^{-1}\|_F / \|A^{-1}\|_F$")
    ax.set_title("8×8 inverse on the 8-cell SPU (spu8 cells, κ(A) = 30)")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(IMG / "sampling_inverse_vs_time.png", dpi=130)
    plt.close(fig)


def lag_model(board: Board) -> tuple[Array, Array, Array]:
    """(F, T, Σ_x): exact transition over the board's interval, readout matrix and
    Boltzmann covariance of the states."""
    F, _, Lz = board.sde.equilibrium_transition(board.h)
    T = board.design.program.readout_matrix(board.sde.state_names)
    return F, T, Lz @ Lz.T


def predicted_neff(model: tuple[Array, Array, Array], n: int) -> tuple[float, Array]:
    """(N_eff of the second-moment estimate from n samples, target S) from the exact
    lagged covariances (module docstring)."""
    F, T, Sx = model
    S = T @ Sx @ T.T
    total = float(np.trace(S)) ** 2 + float(np.sum(S * S))
    acc = total
    G = Sx @ T.T  # F^k Σ Tᵀ
    for k in range(1, n):
        G = F @ G
        C = T @ G
        term = float(np.trace(C)) ** 2 + float(np.sum(C * C.T))
        acc += 2 * (1 - k / n) * term
        if abs(term) < 1e-9 * total and k > 10:
            break
    return n * total / acc, S


Array = np.ndarray


def gauss_curve(design, n_max: int, runs: int, seed: int, rate: float | None):
    """(N grid, rms measured relative error, predicted, S) over ``runs`` single-chain boards."""
    board = Board(design, seed=seed, options=BoardOptions(
        chains=runs, groups=runs, dtype=np.float64, interval=None if rate is None else 1.0 / rate))
    grid = np.unique(np.logspace(2, np.log10(n_max), 14).astype(int))
    errs, done = [], 0
    model = lag_model(board)
    _, S_true = predicted_neff(model, 2)
    for n in grid:
        board.advance(n - done)
        done = n
        per = board.moments.s2 / board.moments.n[:, None, None]
        e = np.linalg.norm(per - S_true, axis=(1, 2)) / np.linalg.norm(S_true)
        errs.append(float(np.sqrt(np.mean(e**2))))
    pred = []
    for n in grid:
        neff, S = predicted_neff(model, int(n))
        pred.append(np.sqrt((np.trace(S) ** 2 + np.sum(S * S)) / neff) / np.linalg.norm(S))
    info = dict(interval=board.h, tau=board.tau, neff_ratio=float(predicted_neff(model, int(grid[-1]))[0] / grid[-1]),
                wall=board.wall_time, states=board.sde.dim, realization=design.program.realization,
                adc=board.adc is not None)
    board.close()
    return grid, np.array(errs), np.array(pred), info


def plot_gauss(ax, grid, errs, pred, runs, title):
    ax.loglog(grid, errs, "o", ms=4, label=f"measured (rms over {runs} runs)")
    ax.loglog(grid, pred, "-", label=r"prediction $\sqrt{((\mathrm{tr}S)^2+\|S\|_F^2)/N_\mathrm{eff}}\,/\,\|S\|_F$")
    ax.set_xlabel("samples N (one board)")
    ax.set_ylabel("relative covariance error (Frobenius)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)


def gauss8_figure(quick: bool) -> None:
    P = m_matrix(8, np.random.default_rng(8), density=0.7, cond=20)
    des = compile_matrix(P, "precision", options=CompileOptions(cells_from=load(SPU8), covariance_report=False))
    runs = 16
    rate = des.netlist.readout.rate  # the board's ADC rate (10 MHz)
    grid, errs, pred, info = gauss_curve(des, 100000 if quick else 2000000, runs, 8, rate)
    print(f"(b) d=8 on spu8 cells ({info}): " + ", ".join(
        f"N={n}: {e:.3g} (pred {p:.3g})" for n, e, p in zip(grid[::3], errs[::3], pred[::3], strict=True)))
    fig, ax = plt.subplots(figsize=(6, 4.3))
    plot_gauss(ax, grid, errs, pred, runs,
               f"8-d Gaussian sampling, 8-cell SPU at its 10 MHz ADC rate\n"
               f"(N_eff/N = {info['neff_ratio']:.3f}: samples {info['interval'] * 1e6:.2g} µs apart, "
               f"relaxation {info['tau'] * 1e6:.2g} µs, 12-bit ADC)")
    fig.tight_layout()
    fig.savefig(IMG / "sampling_gauss_d8.png", dpi=130)
    plt.close(fig)


def gauss_big_figure(dims: list[int], quick: bool) -> None:
    fig, axes = plt.subplots(1, len(dims), figsize=(6 * len(dims), 4.3), squeeze=False)
    for ax, d in zip(axes[0], dims, strict=True):
        P = m_matrix(d, np.random.default_rng(d), density=0.5, cond=50)
        des = compile_matrix(P, "precision", options=CompileOptions(covariance_report=False))
        runs = 8 if d <= 64 else 4
        n_max = {64: 100000, 256: 40000}.get(d, 50000) // (5 if quick else 1)
        t0 = time.perf_counter()
        grid, errs, pred, info = gauss_curve(des, n_max, runs, d, None)
        print(f"(c) d={d} ({info}, wall {time.perf_counter() - t0:.1f} s): " + ", ".join(
            f"N={n}: {e:.3g} (pred {p:.3g})" for n, e, p in zip(grid[::3], errs[::3], pred[::3], strict=True)))
        plot_gauss(ax, grid, errs, pred, runs,
                   f"{d}-d Gaussian sampling ({info['realization']} RLC cells, {info['states']} states),\n"
                   f"read once per relaxation time (N_eff/N = {info['neff_ratio']:.2f})")
    fig.tight_layout()
    fig.savefig(IMG / "sampling_gauss_d64_d256.png", dpi=130)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="+", default=["inverse", "gauss8", "gauss64", "gauss256"],
                    choices=["inverse", "gauss8", "gauss64", "gauss256"])
    ap.add_argument("--quick", action="store_true", help="shorter runs (smoke test)")
    args = ap.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    if "inverse" in args.only:
        inverse_figure(args.quick)
    if "gauss8" in args.only:
        gauss8_figure(args.quick)
    big = [d for d, k in ((64, "gauss64"), (256, "gauss256")) if k in args.only]
    if big:
        gauss_big_figure(big, args.quick)


if __name__ == "__main__":
    main()
