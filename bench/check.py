"""Quick performance check: run before submitting a change, so a 2× loss anywhere shows.

    python3 bench/check.py            # ~1 minute; exit 1 if a ratio fell below half its reference
    python3 bench/check.py --record   # measure and store the reference ratios

Every figure is a *ratio measured in one run* against a plain numpy baseline doing the
same work, so machine speed and load cancel out (absolute times on shared machines
move 20–40% between runs):

- exact integrator (``Exact.run``, the best of float64 and float32) against the plain
  loop ``x = x @ F.T + z @ L.T`` with ``rng.standard_normal`` per step, on the bundled
  8-cell SPU and random SPUs of d = 64 and 256 cells, batch 1 and 256;
- Euler–Maruyama through ``Stepper`` on a nonlinear circuit against a plain numpy
  Euler loop of the same drift;
- the sampling layer's matrix inversion (samples per second of a d = 8 and a d = 64
  board) against the plain exact-step loop of the same design.

Plain loops run with one-thread BLAS, as the emulator does.

The references live in bench/results/check.json (with the machine they were measured
on). Not a test: timings do not belong in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_integrator import random_spu  # noqa: E402

from spu_emulator.circuit import assemble  # noqa: E402
from spu_emulator.integrate import EulerMaruyama, Exact, Stepper  # noqa: E402
from spu_emulator.integrate.noise import NoiseSource, SequentialNoise  # noqa: E402
from spu_emulator.netlist import load  # noqa: E402

REFERENCE = os.path.join(ROOT, "bench", "results", "check.json")


def best_time(fn, min_time: float = 0.4, repeats: int = 3, plain: bool = False) -> float:
    """Best-of-``repeats`` seconds per call, each repeat at least ``min_time`` long.
    ``plain`` loops run with one-thread BLAS (as the emulator's own runs do): on small
    products OpenBLAS's threads only spin, which on a 2-core machine made the plain
    loops up to 40x slower and the ratios meaningless. The emulator's code runs as a
    user runs it."""
    if not plain:
        return _best_time(fn, min_time, repeats)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _best_time(fn, min_time, repeats)


def _best_time(fn, min_time: float, repeats: int) -> float:
    fn()
    best = np.inf
    for _ in range(repeats):
        reps, t0 = 0, time.perf_counter()
        while True:
            fn()
            reps += 1
            el = time.perf_counter() - t0
            if el >= min_time:
                break
        best = min(best, el / reps)
    return best


def exact_ratio(sde, B: int) -> float:
    """Best of our float64/float32 exact runs over the plain numpy loop, chain-steps/s."""
    dt = 0.25 / np.max(np.abs(sde.eigenvalues())) * 4
    n = sde.dim
    steps = int(np.clip(2e8 / (B * n * n), 8, 100_000))
    integ = Exact()
    ours = 0.0
    for dtype in (np.float64, np.float32):
        plan = integ.init(sde, dt, dtype)
        out = np.empty((B, steps, n), dtype)
        x0 = np.zeros((B, n), dtype)
        rng = np.random.default_rng(0)

        def run(plan=plan, out=out, x0=x0, rng=rng, dtype=dtype):
            noise = NoiseSource(rng, B, integ.noise_dim(plan), dtype)
            try:
                integ.run(plan, x0, steps, noise, 0.0, dt, out)
            finally:
                noise.close()

        ours = max(ours, B * steps / best_time(run))
    F, Q = sde.transition(dt)
    w, V = np.linalg.eigh(Q)
    L = V * np.sqrt(np.clip(w, 0, None))
    rng = np.random.default_rng(0)
    m = min(steps, 10_000)
    buf = np.empty((m, B, n))

    def loop():
        x = np.zeros((B, n))
        for k in range(m):
            x = x @ F.T + rng.standard_normal((B, n)) @ L.T
            buf[k] = x

    return ours / (B * m / best_time(loop, plain=True))


def euler_ratio(chains: int = 64, steps: int = 4000) -> float:
    """Euler–Maruyama through the stepping loop against a plain numpy Euler loop of
    the same drift (the nonlinear pair: quartic wells, a coupler, a bias ramp)."""
    sde = assemble(load(os.path.join(ROOT, "netlists/nonlinear_pair.yaml"))).to_sde()
    dt = sde.default_dt()
    x0 = np.zeros((chains, sde.dim))

    def ours():
        noise = SequentialNoise(np.random.default_rng(0), chains, sde.noise_dim)
        Stepper(sde, EulerMaruyama(), dt, x0, noise).advance(steps)

    BT = np.sqrt(dt) * sde.B.T

    def plain():
        rng = np.random.default_rng(0)
        x = x0
        out = np.empty((chains, steps, sde.dim))
        for k in range(steps):
            x = x + dt * sde.drift(x, k * dt) + rng.standard_normal((chains, BT.shape[0])) @ BT
            out[:, k] = x

    return best_time(plain, plain=True) / best_time(ours)


def inverse_ratio(d: int) -> float:
    """The sampling Board's samples per second against the plain exact-step loop (one
    GEMM per step, default_rng normals) on the same compiled design."""
    from spu_emulator.hardware.compiler import compile_matrix
    from spu_emulator.sampling.engine import Board
    from spu_emulator.sampling.options import BoardOptions

    rng = np.random.default_rng(d)
    X = rng.standard_normal((d, d))
    design = compile_matrix(X @ X.T + d * np.eye(d), "matrix")
    steps = max(64, int(4e6 / (128 * d * d)))
    board = Board(design, seed=0, options=BoardOptions(chains=128, groups=16))
    try:
        ours = 128 * steps / best_time(lambda: board.advance(steps))
        plan = board.plan
        F, Lq = plan.F_exact, plan.Lq_exact
    finally:
        board.close()
    n = F.shape[0]

    def loop():
        r = np.random.default_rng(0)
        x = np.zeros((128, n))
        acc = np.zeros((n, n))
        for _ in range(steps):
            x = x @ F.T + r.standard_normal((128, Lq.shape[1])) @ Lq.T
            acc += x.T @ x
    return ours / (128 * steps / best_time(loop, plain=True))


def measure() -> dict[str, float]:
    out: dict[str, float] = {}
    spu8 = assemble(load(os.path.join(ROOT, "netlists/spu8.yaml"))).to_sde()
    for label, sde in (("spu8", spu8), ("d64", assemble(random_spu(64)).to_sde()),
                       ("d256", assemble(random_spu(256)).to_sde())):
        for B in (1, 256):
            if label == "d256" and B == 256:
                continue
            out[f"exact {label} batch {B}"] = exact_ratio(sde, B)
            print(f"  exact {label} batch {B}: {out[f'exact {label} batch {B}']:.2f}x", flush=True)
    out["euler nonlinear_pair 64 chains"] = euler_ratio()
    print(f"  euler: {out['euler nonlinear_pair 64 chains']:.2f}x", flush=True)
    for d in (8, 64):
        out[f"inverse board d={d}"] = inverse_ratio(d)
        print(f"  inverse board d={d}: {out[f'inverse board d={d}']:.2f}x", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", action="store_true", help="store the measured ratios as the reference")
    args = ap.parse_args()
    print("measuring (ratios against plain numpy loops, same run):", flush=True)
    got = measure()
    if args.record:
        meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                "numpy": np.__version__, "python": platform.python_version(),
                "date": time.strftime("%Y-%m-%d")}
        with open(REFERENCE, "w") as fh:
            json.dump({"meta": meta, "ratios": got}, fh, indent=2)
            fh.write("\n")
        print(f"wrote {REFERENCE}")
        return 0
    ref = json.load(open(REFERENCE))["ratios"]
    bad = []
    print(f"\n{'workload':36} {'ratio':>8} {'reference':>10} {'floor':>8}")
    for k, v in got.items():
        r = ref.get(k)
        floor = 0.5 * r if r else None
        flag = "" if floor is None or v >= floor else "  <-- below half the reference"
        if flag:
            bad.append(k)
        print(f"{k:36} {v:8.2f} {r if r else float('nan'):10.2f} {floor or float('nan'):8.2f}{flag}")
    if bad:
        print(f"\n{len(bad)} workload(s) lost more than 2x: {', '.join(bad)}")
        return 1
    print("\nall within 2x of the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
