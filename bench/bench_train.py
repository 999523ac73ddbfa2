"""Training throughput of the generative model: noising trajectory-steps per second
(settling + recorded steps, statistics accumulation included) and the exact solve.

    python bench/bench_train.py [--hidden 512] [--batch 256] [--repeats 3]
    python bench/bench_train.py --paper28 [--epochs 1]

Prints one JSON object: trajectory-steps/s (best of repeats), unit-steps/s, solve time.
``--paper28`` instead times the paper preset at full size (784 visible + 512 hidden
units, Δt = 1e-3, 2500 settle + 2500 recorded steps per update, one trajectory per
update, three training images) on *synthetic* 28×28 images (smoothed random blobs in
0..255; no MNIST is needed): ``--epochs`` epochs of 3 updates through ``train()``
(statistics, gradient step, per-epoch heat estimate), and extrapolates to the
preset's 33 epochs (99 updates) and its generation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from spu_emulator.generative.config import PRESETS
from spu_emulator.generative.data import Dataset, _digest, load_dataset
from spu_emulator.generative.generate import generate
from spu_emulator.generative.noising import noising_trajectories
from spu_emulator.generative.objective import Problem, solve
from spu_emulator.generative.train import initial_model, train


def synthetic28(n: int = 510, seed: int = 0) -> Dataset:
    """n smoothed random 28×28 images in 0..255 (a stand-in with MNIST's shape)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    raw = gaussian_filter(rng.standard_normal((n, 28, 28)), sigma=(0, 2.5, 2.5))
    img = np.clip(128 + 128 * raw / raw.std(), 0, 255).round()
    return Dataset("synthetic28", img, None, 0.0, 255.0, _digest(img))


def paper28(epochs: int) -> None:
    cfg = PRESETS["paper"].replace(epochs=epochs)
    ds = synthetic28()
    t0 = time.perf_counter()
    tm = train(cfg, ds)
    t_train = time.perf_counter() - t0
    updates = epochs * len(tm.train_idx)
    t0 = time.perf_counter()
    generate(tm, 1, np.random.default_rng(0))
    t_gen1 = time.perf_counter() - t0
    per_epoch = t_train / epochs
    print(json.dumps({
        "preset": "paper", "data": "synthetic 28x28 (510 images, 3 trained)",
        "units": tm.model.n_units, "params": tm.model.n_params, "epochs": epochs,
        "updates": updates, "steps_per_update": cfg.protocol.n_settle + cfg.protocol.n_steps,
        "train_s": t_train, "s_per_update_incl_heat": t_train / updates,
        "epoch_s": per_epoch, "full_run_estimate_s": per_epoch * PRESETS["paper"].epochs,
        "generate_1_sample_s": t_gen1,
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
    }, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=None)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--preset", default="digits")
    ap.add_argument("--paper28", action="store_true",
                    help="time the paper preset at 784+512 units on synthetic 28x28 data")
    ap.add_argument("--epochs", type=int, default=1, help="epochs for --paper28")
    a = ap.parse_args()
    if a.paper28:
        paper28(a.epochs)
        return
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
