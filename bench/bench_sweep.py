"""`spu sweep` on an embedded Dask cluster: speedup of a CPU-bound sweep with 1 and 2
workers, the engine's own cost per point, and the figures of a large Monte Carlo plan.

1. CPU-bound: 64 points of `spu montecarlo --boards 20000 --json` of the 8-cell SPU with
   tolerances (vectorized numpy on one BLAS thread per worker, ~1 s and 18 kB of JSON per
   point; ``seeds: 64``), with ``--workers 1`` and ``--workers 2``. (`spu simulate` already
   draws its noise on a second thread, so one worker of it keeps two cores busy.)
   Wall times include starting and stopping the cluster (also timed alone).
2. Engine overhead: a trivial command (`spu check --json` of netlists/single_cell.yaml)
   over N1 and N2 points on one worker; overhead per point =
   (T(N2) − T(N1)) / (N2 − N1) − the command's own time in this process.
3. Plan figures: the 256-cell programmed design (a random SPD matrix compiled with
   `compile_matrix`, tolerances added) — one board's point netlist (draw + YAML) and
   `spu analyze --json` of it in this process, its JSON size, and
   `spu montecarlo --boards B --json` (boards per second on one core).

    python bench/bench_sweep.py [--quick] [--cpu-only]

Writes bench/results/sweep.json. Other processes on the machine slow the parallel run
down: the load average before and after is recorded beside the times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed_sweep(text: str, tmp: Path, name: str, workers: int) -> tuple[float, dict]:
    from spu_emulator.sweep.engine import sweep

    f = tmp / f"{name}.yaml"
    f.write_text(text)
    t = time.perf_counter()
    r = sweep(f, tmp / f"{name}-{workers}", workers=workers)
    wall = time.perf_counter() - t
    assert r.failed == 0, r.errors
    return wall, r.to_dict()


def cluster_start_stop(workers: int) -> float:
    """Start the embedded cluster as `spu sweep` does, run one trivial task, stop it."""
    import contextlib

    from spu_emulator.sweep.engine import _connect

    t = time.perf_counter()
    with contextlib.ExitStack() as stack:
        client, cluster, _ = _connect(None, workers, stack)
        client.submit(int, 1).result()
        client.close()
        cluster.close()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer points (a smoke run)")
    ap.add_argument("--cpu-only", action="store_true",
                    help="rerun only the CPU-bound sweep, updating bench/results/sweep.json")
    args = ap.parse_args()
    from spu_emulator.cli.capture import run_captured

    out: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "load_before": os.getloadavg()}}
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))

    # 1. CPU-bound: `spu montecarlo` of the 8-cell SPU (vectorized numpy on one BLAS thread
    #    per worker, 18 kB of JSON per point), one point per seed
    import numpy as np

    from spu_emulator.hardware.compiler import compile_matrix
    from spu_emulator.netlist.dump import dumps
    from spu_emulator.sampling.matrices import spd

    n = 8 if args.quick else 64
    boards = 4000 if args.quick else 20000
    os.chdir(tmp)
    spu8 = tmp / "spu8-tol.yaml"
    spu8.write_text((ROOT / "netlists/spu8.yaml").read_text()
                    + "tolerances: {C: 2%, L: 1%, R: 1%}\n")
    cmd = ["montecarlo", "--boards", str(boards), "--json"]
    run_captured([cmd[0], str(spu8), *cmd[1:]])  # warm
    t = time.perf_counter()
    for s in range(3):
        run_captured([cmd[0], str(spu8), *cmd[1:], "--seed", str(s + 1)])
    point = (time.perf_counter() - t) / 3
    text = (f"sweep: spu-sweep/1\nnetlist: {spu8}\ncommand: {json.dumps(cmd)}\n"
            f"seeds: {n}\n")
    startup = {w: cluster_start_stop(w) for w in (1, 2)}
    t1, _ = timed_sweep(text, tmp, "cpu", 1)
    t2, _ = timed_sweep(text, tmp, "cpu", 2)
    out["cpu_bound"] = {
        "points": n, "command": f"spu montecarlo --boards {boards} --json (8-cell SPU, 2% C, 1% L and R)",
        "point_in_process_s": point,
        "cluster_start_stop_s": {str(k): v for k, v in startup.items()},
        "wall_1_worker_s": t1, "wall_2_workers_s": t2, "speedup": t1 / t2,
        "speedup_without_start_stop": (t1 - startup[1]) / (t2 - startup[2]),
        "load_during": os.getloadavg(),
    }
    print(json.dumps(out["cpu_bound"], indent=1), flush=True)
    if args.cpu_only:
        prev = json.loads((ROOT / "bench/results/sweep.json").read_text())
        prev["cpu_bound"] = out["cpu_bound"]
        from spu_emulator.io import write_json

        write_json(ROOT / "bench/results/sweep.json", prev)
        return

    # 2. engine overhead per point
    single = ROOT / "netlists/single_cell.yaml"
    t = time.perf_counter()
    for _ in range(100):
        run_captured(["check", str(single), "--json"])
    cmd = (time.perf_counter() - t) / 100
    n1, n2 = (20, 120) if args.quick else (50, 550)
    walls = {}
    for k in (n1, n2):
        vals = ", ".join(f'"{1 + i * 1e-4:.4f} nF"' for i in range(k))
        txt = (f"sweep: spu-sweep/1\nnetlist: {single}\ncommand: [check, --json]\n"
               f"zip: {{\"cells[0].C\": [{vals}]}}\n")
        walls[k], _ = timed_sweep(txt, tmp, f"trivial{k}", 1)
    per = (walls[n2] - walls[n1]) / (n2 - n1)
    out["overhead"] = {"command": "spu check --json single_cell.yaml", "command_in_process_s": cmd,
                       "points": [n1, n2], "wall_s": [walls[n1], walls[n2]],
                       "per_point_s": per, "engine_overhead_per_point_s": per - cmd}
    print(json.dumps(out["overhead"], indent=1))

    # 3. figures for the plan: the 256-cell design
    from spu_emulator.netlist.tolerance import Tolerance, Tolerances
    from spu_emulator.sweep.points import Point, netlist_text

    d = 32 if args.quick else 256
    des = compile_matrix(spd(d, np.random.default_rng(d), 20.0), "matrix")
    tol = Tolerances(classes={"C": Tolerance(0.01), "L": Tolerance(0.01, lot=0.005),
                              "R": Tolerance(0.02)})
    base = dumps(des.netlist.replace(tolerances=tol))
    (tmp / "d.yaml").write_text(base)
    t = time.perf_counter()
    board = netlist_text(base, Point(0, (), 0, None), 0)  # builds the board family (cached)
    first = time.perf_counter() - t
    t = time.perf_counter()
    for b in range(1, 4):
        board = netlist_text(base, Point(b, (), b, None), 0)
    per_board_netlist = (time.perf_counter() - t) / 3
    (tmp / "netlist.yaml").write_text(board)
    t = time.perf_counter()
    status, js, err = run_captured(["analyze", "netlist.yaml", "--json"])
    analyze = time.perf_counter() - t
    assert status == 0, err
    boards = 50 if args.quick else 200
    t = time.perf_counter()
    status, mjs, err = run_captured(["montecarlo", "d.yaml", "--boards", str(boards), "--json"])
    mc = time.perf_counter() - t
    assert status == 0, err
    out["plan_figures"] = {
        "cells": d, "states": int(json.loads(js)["state_covariance"].__len__()),
        "netlist_bytes": len(base), "board_family_first_s": first,
        "board_netlist_s": per_board_netlist, "analyze_in_process_s": analyze,
        "analyze_json_bytes": len(js), "montecarlo_boards": boards, "montecarlo_s": mc,
        "montecarlo_boards_per_s": boards / mc, "montecarlo_json_bytes": len(mjs),
    }
    print(json.dumps(out["plan_figures"], indent=1))
    out["machine"]["load_after"] = os.getloadavg()
    os.chdir(ROOT)
    dest = ROOT / "bench/results/sweep.json"
    if not args.quick:
        from spu_emulator.io import write_json

        write_json(dest, out)
        print(f"wrote {dest}")


if __name__ == "__main__":
    main()
