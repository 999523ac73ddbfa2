"""Training throughput of the generative model: noising trajectory-steps per second
(settling + recorded steps, statistics accumulation included) and the exact solve.

    python bench/bench_train.py [--hidden 512] [--batch 256] [--repeats 3]

Prints one JSON object: trajectory-steps/s (best of repeats), unit-steps/s, solve time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from spu_emulator.generative.config import PRESETS
from spu_emulator.generative.data import load_dataset
from spu_emulator.generative.noising import noising_trajectories
from spu_emulator.generative.objective import Problem, solve
from spu_emulator.generative.train import initial_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=None)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--preset", default="digits")
    a = ap.parse_args()
    cfg = PRESETS[a.preset]
    if a.hidden is not None:
        cfg = cfg.replace(n_hidden=a.hidden)
    ds = load_dataset("digits")
    tm = initial_model(cfg, ds)
    X = ds.flat[tm.train_idx]
    X = X[np.arange(a.batch) % len(X)]
    targets = tm.targets(X)
    prot = cfg.protocol
    best, stats = np.inf, None
    for r in range(a.repeats):
        t0 = time.perf_counter()
        stats, _ = noising_trajectories(targets, prot, cfg.J2, cfg.J4, cfg.kT, cfg.mu,
                                        np.random.default_rng(r))
        best = min(best, time.perf_counter() - t0)
    steps = a.batch * (prot.n_settle + prot.n_steps)
    m = tm.model
    t0 = time.perf_counter()
    _, _, info = solve(Problem(stats, m.coupling_mask, m.bias_mask, cfg.mu, cfg.kT, cfg.dt, cfg.ridge))
    t_solve = time.perf_counter() - t0
    print(json.dumps({
        "preset": cfg.preset, "units": m.n_units, "params": m.n_params, "batch": a.batch,
        "steps_per_trajectory": prot.n_settle + prot.n_steps,
        "trajectory_steps_per_s": steps / best, "unit_steps_per_s": steps * m.n_units / best,
        "solve_s": t_solve, "solve_iterations": info.iterations,
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
