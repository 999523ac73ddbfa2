"""Exact-integrator throughput (chain-steps/s) vs thermox.sample and a plain numpy loop.

Run by hand (not in CI), on a quiet machine:

    python3 -m pip install thermox jax      # benchmark-only dependencies
    python3 bench/bench_integrator.py [--quick] [--out bench/results/integrator.json]

Workloads: the bundled 8-cell SPU (16 states) and random all-to-all SPUs of d = 64,
256, 1024 cells (2d states), batch 1 and 256. Every contender samples the same
number of states per step:

- spu_emulator: ``Exact.run`` (Van Loan transition, block-fused GEMMs, threaded
  SFC64 normals; Box–Muller in float32), float64 and float32; setup (transition +
  factor) timed apart.
- numpy loop: ``x = x @ F.T + z @ L.T`` with ``rng.standard_normal`` per step.
- thermox.sample, in float32 (jax's default) and float64: jit-compiled, associative scan, pre-processed matrices, on an OU
  process of the same dimension (dx = −A x dt + dW with A symmetric positive
  definite: thermox needs a non-singular diffusion, which RLC circuits lack);
  batch 256 by jax.vmap over keys. Compile time excluded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from spu_emulator.circuit import assemble  # noqa: E402
from spu_emulator.integrate import Exact  # noqa: E402
from spu_emulator.integrate.base import NoiseSource  # noqa: E402
from spu_emulator.netlist import load  # noqa: E402
from spu_emulator.netlist.schema import GROUND, Capacitor, Inductor, Netlist, Resistor  # noqa: E402


def random_spu(d: int, seed: int = 0) -> Netlist:
    """An all-to-all SPU of d cells with realistic values (built as objects: a
    1024-cell netlist has 523,776 couplers)."""
    rng = np.random.default_rng(seed)
    els = []
    names = [f"n{i}" for i in range(d)]
    for n in names:
        els.append(Capacitor(name=f"{n}.C", nodes=(n, GROUND), C=rng.uniform(1.0, 1.3) * 1e-9))
        els.append(Inductor(name=f"{n}.L", nodes=(n, GROUND), L=rng.uniform(1.5, 2.2) * 1e-6))
        els.append(Resistor(name=f"{n}.R", nodes=(n, GROUND), R=rng.uniform(1.0, 1.5) * 1e3))
    cc = rng.uniform(0, 1, (d, d)) * (0.5e-9 / d)
    for i in range(d):
        for j in range(i + 1, d):
            els.append(Capacitor(name=f"c{i}_{j}", nodes=(names[i], names[j]), C=float(cc[i, j])))
    return Netlist(
        name=f"spu{d}",
        temperature=300.0,
        nodes=tuple(names),
        cells=tuple(names),
        elements=tuple(els),
    )


def timeit(fn, min_time: float = 0.6) -> float:
    """Best-of-3 seconds per call, each repeat at least ``min_time`` long."""
    fn()  # warm up
    best = np.inf
    for _ in range(3):
        reps, t0 = 0, time.perf_counter()
        while True:
            fn()
            reps += 1
            el = time.perf_counter() - t0
            if el >= min_time:
                break
        best = min(best, el / reps)
    return best


def bench_ours(sde, dt: float, B: int, steps: int, dtype) -> float:
    integ = Exact()
    plan = integ.init(sde, dt, dtype)
    n = sde.dim
    out = np.empty((B, steps, n), dtype=dtype)
    x0 = np.zeros((B, n), dtype=dtype)
    rng = np.random.default_rng(0)

    def run():
        noise = NoiseSource(rng, B, integ.noise_dim(plan), dtype)
        try:
            integ.run(plan, x0, steps, noise, 0.0, dt, out)
        finally:
            noise.close()

    return B * steps / timeit(run)


def bench_numpy(F, L, B: int, steps: int) -> float:
    rng = np.random.default_rng(0)
    n = F.shape[0]
    out = np.empty((steps, B, n))

    def run():
        x = np.zeros((B, n))
        for k in range(steps):
            z = rng.standard_normal((B, n))
            x = x @ F.T + z @ L.T
            out[k] = x

    return B * steps / timeit(run)


def bench_thermox(n: int, B: int, steps: int, dt: float, x64: bool = False) -> float | None:
    """thermox.sample throughput; float32 (jax's default, its fastest) or float64."""
    try:
        import jax
        import jax.numpy as jnp
        import thermox
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", x64)
    rng = np.random.default_rng(1)
    M = rng.standard_normal((n, n)) / np.sqrt(n)
    A = jnp.asarray(M @ M.T + np.eye(n))
    D = jnp.eye(n)
    b = jnp.zeros(n)
    A_y, D_p = thermox.preprocess(A, D)
    ts = jnp.arange(steps + 1) * dt
    x0 = jnp.zeros(n)
    if B == 1:
        f = jax.jit(lambda k: thermox.sample(k, ts, x0, A_y, b, D_p, associative_scan=True))
        arg = jax.random.PRNGKey(0)
    else:
        f = jax.jit(
            jax.vmap(lambda k: thermox.sample(k, ts, x0, A_y, b, D_p, associative_scan=True))
        )
        arg = jax.random.split(jax.random.PRNGKey(0), B)
    f(arg).block_until_ready()  # compile
    return B * steps / timeit(lambda: f(arg).block_until_ready())


def markdown_table(rows: list[dict]) -> str:
    """The figures as a markdown table (chain-steps per second)."""
    out = [
        "| workload | states | batch | ours f64 | ours f32 | numpy loop (f64) | thermox f64 "
        "| thermox f32 | ours f64 / numpy | best / numpy | best / best thermox |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def g(v):
        return f"{v:.3g}" if v else "–"

    for r in rows:
        best = max(r["ours_f64"], r["ours_f32"])
        ths = [v for v in (r.get("thermox"), r.get("thermox_f32")) if v]
        th = max(ths) if ths else None
        out.append(
            f"| {r['case']} | {r['states']} | {r['batch']} | {g(r['ours_f64'])} "
            f"| {g(r['ours_f32'])} | {g(r['numpy_loop'])} | {g(r.get('thermox'))} | {g(r.get('thermox_f32'))} "
            f"| {r['ours_f64'] / r['numpy_loop']:.1f}× | {best / r['numpy_loop']:.1f}× | "
            + (f"{best / th:.1f}× |" if th else "– |")
        )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip d = 1024")
    ap.add_argument("--out", default="bench/results/integrator.json")
    args = ap.parse_args()
    cases = [("spu8 (bundled)", None), ("random SPU d=64", 64), ("random SPU d=256", 256)]
    if not args.quick:
        cases.append(("random SPU d=1024", 1024))
    rows = []
    for label, d in cases:
        t0 = time.perf_counter()
        netlist = load("netlists/spu8.yaml") if d is None else random_spu(d)
        sde = assemble(netlist).to_sde()
        t_build = time.perf_counter() - t0
        dt = 0.25 / np.max(np.abs(sde.eigenvalues())) * 4  # about a sixteenth of a period
        t0 = time.perf_counter()
        F, Q = sde.transition(dt)
        t_setup = time.perf_counter() - t0
        w, V = np.linalg.eigh(Q)
        L = V * np.sqrt(np.clip(w, 0, None))
        n = sde.dim
        for B in (1, 256):
            # aim at ~10^7 multiply-adds x steps per measurement
            steps = int(np.clip(2e8 / (B * n * n), 8, 200_000))
            row = {
                "case": label,
                "states": n,
                "batch": B,
                "steps": steps,
                "build_s": t_build,
                "transition_s": t_setup,
            }
            row["ours_f64"] = bench_ours(sde, dt, B, steps, np.float64)
            row["ours_f32"] = bench_ours(sde, dt, B, steps, np.float32)
            row["numpy_loop"] = bench_numpy(F, L, B, min(steps, 20_000))
            th_steps = min(steps, 20_000)
            small = n <= 512 or B == 1
            row["thermox_f32"] = bench_thermox(n, B, th_steps, dt, x64=False) if small else None
            row["thermox"] = bench_thermox(n, B, th_steps, dt, x64=True) if small else None
            rows.append(row)
            print(json.dumps(row), flush=True)
    meta = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "command": "python3 bench/bench_integrator.py" + (" --quick" if args.quick else ""),
    }
    try:
        import jax
        import thermox  # noqa: F401

        meta["jax"] = jax.__version__
    except ImportError:
        pass
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=2)
    print()
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
