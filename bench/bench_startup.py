"""Start-up time of the command line: `spu --help`, `spu --version` and `spu check` of the
bundled 8-cell SPU, each run as a fresh process (as a user types it), median of N runs
after one warm-up, wall and CPU time (the children's rusage). Target: ≤ 0.5 s each.

    python3 bench/bench_startup.py [--runs 9]     # writes bench/results/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = {
    "spu --help": ["--help"],
    "spu --version": ["--version"],
    "spu check netlists/spu8.yaml": ["check", "netlists/spu8.yaml"],
}


def once(args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spu_emulator", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args()
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "load_before": os.getloadavg()}, "runs": a.runs, "commands": {}}
    for name, args in COMMANDS.items():
        once(args)  # warm-up: the file cache
        res = [once(args) for _ in range(a.runs)]
        walls, cpus = [r[0] for r in res], [r[1] for r in res]
        out["commands"][name] = {"wall_median_s": statistics.median(walls),
                                 "wall_min_s": min(walls), "cpu_median_s": statistics.median(cpus)}
        print(f"{name:32s} wall {statistics.median(walls):.3f} s (min {min(walls):.3f}), "
              f"cpu {statistics.median(cpus):.3f} s", flush=True)
    out["machine"]["load_after"] = os.getloadavg()
    with open(os.path.join(ROOT, "bench", "results", "startup.json"), "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
