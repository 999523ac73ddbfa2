"""Thermodynamic neural networks: training time per method on the digits split,
inference throughput (images x trajectories per second), and Whitelam's paper preset
(784-64-10 at 28x28, kT = J2 = J4 = 1, dt = 1e-3, t_f = 0.2): time per 10,000
inferences. No MNIST files are bundled, so the 28x28 inputs are the digits upsampled
3.5x (nearest neighbour) to 28x28; the time does not depend on the pixel values.

    PYTHONPATH=. python bench/bench_nn.py [--quick] [--out bench/results/nn.json]

Set OPENBLAS_NUM_THREADS=1 to measure one core. Writes JSON with the machine's core count.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from spu_emulator.nn.data import load_labeled
from spu_emulator.nn.dynamics import outputs_at, predict
from spu_emulator.nn.model import NetConfig, ThermoNet, init_params
from spu_emulator.nn.train import train
from spu_emulator.nn.trained import TrainSettings


def _acc(tm, te, M, seed):
    u = tm.scale(te.pixels)
    return float(np.mean(predict(tm.net, u, np.random.default_rng(seed), M) == te.labels))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    ap.add_argument("--out", default="bench/results/nn.json", help="JSON output")
    ap.add_argument("--methods", default="gradient,teacher,ga", help="methods to train")
    ap.add_argument("--merge", action="store_true",
                    help="update the methods' entries of an existing --out file, skip the rest")
    args = ap.parse_args()
    tr, te = load_labeled("digits", "train"), load_labeled("digits", "test")
    res: dict = {"cores": os.cpu_count(), "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                 "training": {}, "throughput": [], "paper_preset": {}}
    runs = {
        "gradient": (NetConfig(n_in=64, n_hidden=128), TrainSettings(method="gradient",
                                                       epochs=2 if args.quick else 40)),
        "teacher": (NetConfig(n_in=64), TrainSettings(method="teacher",
                                                      epochs=1 if args.quick else 3)),
        "ga": (NetConfig(n_in=64, n_hidden=16, dt=0.02),
               TrainSettings(method="ga", population=64, elite=8, mutation=0.05,
                             generations=20 if args.quick else 2500, batch_size=100)),
    }
    for name in args.methods.split(","):
        cfg, st = runs[name]
        t0 = time.perf_counter()
        tm = train(cfg, st, tr)
        sec = time.perf_counter() - t0
        res["training"][name] = {"seconds": sec, "hidden": cfg.n_hidden, "dt": cfg.dt,
                                 "t_final": cfg.t_final, "kT": cfg.kT,
                                 "top1_single": _acc(tm, te, 1, 1), "top1_avg16": _acc(tm, te, 16, 2)}
        print(name, res["training"][name], flush=True)
    if args.merge and os.path.exists(args.out):
        with open(args.out) as fh:
            old = json.load(fh)
        old["training"].update(res["training"])
        with open(args.out, "w") as fh:
            json.dump(old, fh, indent=1)
        return
    cfg = NetConfig(n_in=64, n_hidden=128)
    W, K, b = init_params(cfg, np.random.default_rng(0))
    net = ThermoNet(cfg, W, K, b)
    u = te.scaled()
    for M in (1, 16):
        t0 = time.perf_counter()
        outputs_at(net, u, np.random.default_rng(0), M)
        sec = time.perf_counter() - t0
        res["throughput"].append({"images": len(u), "trajectories": M, "steps": cfg.n_steps,
                                  "seconds": sec, "per_second": len(u) * M / sec})
        print(res["throughput"][-1], flush=True)
    pc = NetConfig(n_in=784, n_hidden=64, n_out=10, kT=1.0, J2=1.0, J4=1.0, dt=1e-3, t_final=0.2)
    W, K, b = init_params(pc, np.random.default_rng(0))
    pnet = ThermoNet(pc, W, K, b)
    n = 500 if args.quick else 10_000
    img = np.kron(te.pixels.reshape(-1, 8, 8), np.ones((4, 4)))[:, 2:30, 2:30]  # 32 -> 28
    img = np.resize(img.reshape(len(img), -1) / 16.0, (n, 784))
    t0 = time.perf_counter()
    for a in range(0, n, 1000):
        outputs_at(pnet, img[a: a + 1000], np.random.default_rng(a), 1)
    sec = time.perf_counter() - t0
    res["paper_preset"] = {"network": "784-64-10", "kT": 1.0, "dt": 1e-3, "t_final": 0.2,
                           "steps": pc.n_steps, "inferences": n, "seconds": sec,
                           "seconds_per_10000": sec * 10_000 / n,
                           "input": "digits upsampled to 28x28 (no MNIST here)"}
    print(res["paper_preset"], flush=True)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
