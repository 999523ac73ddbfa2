"""Monte Carlo throughput (boards per second) of spu_emulator.hardware.montecarlo against
the plain route, in the same run, plus the time of all sensitivities of the 8-cell SPU.

Cases: the 8-cell SPU (netlists/spu8.yaml with a tolerances section added here) and
programmed designs of d = 8, 64, 256 (compile_matrix on random SPD matrices, which take
the inductive realization: d cells with coupled inductors, 2d states).

The plain route evaluates the *same* boards (the values the Monte Carlo drew) one at a
time: the board's netlist (dataclasses.replace of every element), assemble(), A = −M⁻¹K,
B = M⁻¹N and scipy.linalg.solve_continuous_lyapunov(A, −B Bᵀ). It is timed on a subset
of the boards (``--plain-boards``), with BLAS on its default threads and on one thread,
and the faster is kept; it computes only the covariance (the Monte Carlo also finds every
board's eigenvalues, modes and metrics). The largest difference between the two routes'
voltage covariances is printed as a check. Best of ``--repeats`` runs of each.

    python bench/bench_montecarlo.py [--dims 8 64 256] [--repeats 2] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np

from spu_emulator.circuit import assemble
from spu_emulator.hardware.compiler import compile_matrix
from spu_emulator.hardware.design import Design
from spu_emulator.hardware.montecarlo import monte_carlo
from spu_emulator.hardware.sensitivity import sensitivity
from spu_emulator.netlist import load
from spu_emulator.netlist.tolerance import Tolerance, Tolerances
from spu_emulator.sampling.matrices import spd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPU8_TOL = Tolerances(classes={"C": Tolerance(0.01), "L": Tolerance(0.01, lot=0.005),
                               "R": Tolerance(0.02)})
DESIGN_TOL = Tolerances(classes={"C": Tolerance(0.01), "L": Tolerance(0.005), "R": Tolerance(0.05),
                                 "K": Tolerance(0.002)})


def plain_board(netlist, names_fields, values):
    """One board the plain way: its netlist, assemble, scipy's Lyapunov solver."""
    import scipy.linalg as sla

    per: dict[str, dict[str, float]] = {}
    for (el, field), v in zip(names_fields, values, strict=True):
        per.setdefault(el, {})[field] = float(v)
    board = netlist.replace(elements=tuple(
        dataclasses.replace(e, **per[e.name]) if e.name in per else e for e in netlist.elements))
    c = assemble(board)
    A = -np.linalg.solve(c.M, c.K)
    B = np.linalg.solve(c.M, c.N)
    S = sla.solve_continuous_lyapunov(A, -B @ B.T)
    n = len(c.nodes)
    return 0.5 * (S[:n, :n] + S[:n, :n].T)


def time_plain(netlist, res, k: int) -> tuple[float, float]:
    """(boards/s, worst relative difference to the Monte Carlo's covariances)."""
    from threadpoolctl import threadpool_limits

    from spu_emulator.hardware.family import BoardFamily

    fam = BoardFamily(netlist)
    nf = [(p.element, p.field) for p in fam.parameters]
    best = np.inf
    for limit in (None, 1):
        with threadpool_limits(limits=limit, user_api="blas"):
            t = time.perf_counter()
            covs = [plain_board(netlist, nf, res.element_values[b]) for b in range(k)]
            best = min(best, (time.perf_counter() - t) / k)
    diff = max(float(np.max(np.abs(covs[b] - res.voltage_covariance[b])) /
                     np.max(np.abs(covs[b]))) for b in range(k))
    return 1.0 / best, diff


def time_ours(source, boards: int, repeats: int):
    best, res = np.inf, None
    for r in range(repeats):
        t = time.perf_counter()
        res = monte_carlo(source, boards, seed=r)
        best = min(best, time.perf_counter() - t)
    return best, res


def design(d: int) -> Design:
    des = compile_matrix(spd(d, np.random.default_rng(d), 20.0), "matrix")
    return Design(des.netlist.replace(tolerances=DESIGN_TOL), des.program)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", type=int, nargs="+", default=[8, 64, 256])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="fewer boards (a smoke run)")
    args = ap.parse_args()
    q = 10 if args.quick else 1
    cases = [("spu8 (8 cells, RLC)", load(os.path.join(ROOT, "netlists/spu8.yaml")).replace(
        tolerances=SPU8_TOL), 10_000 // q, 200 // q, "10,000 boards ≤ 10 s")]
    boards = {8: (10_000, 200, "≥ 5× plain"), 64: (500, 20, "≥ 2× plain"), 256: (20, 3, "")}
    for d in args.dims:
        N, k, target = boards.get(d, (100, 5, ""))
        cases.append((f"program d = {d} (inductive)", design(d), max(2, N // q), max(1, k // q),
                      target))
    rows = []
    for label, source, N, k, target in cases:
        net = source if not isinstance(source, Design) else source.netlist
        monte_carlo(source, min(N, 8), seed=99)  # warm-up
        wall, res = time_ours(source, N, args.repeats)
        plain, diff = time_plain(net, res, min(k, N))
        states = len(assemble(net).state_names)
        rows.append((label, states, len(res.parameters), N, wall, N / wall, plain,
                     N / wall / plain, diff, res.failed()["count"], target))
        print(f"  {label}: {N / wall:.4g} boards/s vs plain {plain:.4g} ({N / wall / plain:.3g}x)",
              flush=True)
    net8 = cases[0][1]
    sensitivity(net8)
    t = time.perf_counter()
    sres = sensitivity(net8)
    t_sens = time.perf_counter() - t

    print()
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    print()
    print("| case | states | values | boards | wall | boards/s | plain route boards/s | "
          "speed-up | max rel. diff | failed | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    def num(x: float) -> str:
        return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"

    for (label, s, p, N, wall, rate, plain, sp, diff, failed, target) in rows:
        print(f"| {label} | {s} | {p} | {N:,} | {wall:.3g} s | {num(rate)} | {num(plain)} | "
              f"{sp:.3g}× | {diff:.1e} | {failed} | {target} |")
    print()
    print(f"All {len(sres.parameters)} sensitivities of the 8-cell SPU (every C, L, R and "
          f"coupler; d Σ_v / d ln p, modes): {1e3 * t_sens:.3g} ms (target ≤ 1 s).")


if __name__ == "__main__":
    main()
