"""Two checkouts of the emulator measured in one run: the integrator and linear-algebra
benchmarks of each, interleaved (before, after, before, after, ...), so that machine
load falls on both alike.

    git worktree add --detach /tmp/before REV
    python3 bench/before_after.py --before /tmp/before [--rounds 2] [--out bench/results/before_after.json]

Each checkout runs its own copy of ``bench/bench_integrator.py --quick`` and
``bench/bench_linalg.py --no-thermox`` in a fresh process (thermox is left out: it does
not change between the two). Per workload the best of the rounds is kept, and also the
emulator's ratio to the plain numpy loop measured in the same process, which cancels the
machine's speed. Prints a markdown table; writes every run to ``--out``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AFTER = os.path.dirname(HERE)


def _run(tree: str, args: list[str]) -> str:
    env = dict(os.environ, PYTHONPATH=tree, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", ""))
    if not env["OMP_NUM_THREADS"]:
        del env["OMP_NUM_THREADS"]
    out = subprocess.run([sys.executable, *args], cwd=tree, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout


def integrator(tree: str, scratch: str) -> list[dict]:
    text = _run(tree, ["bench/bench_integrator.py", "--quick", "--out", scratch])
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def linalg(tree: str) -> list[dict]:
    text = _run(tree, ["bench/bench_linalg.py", "--no-thermox"])
    rows = []
    for line in text.splitlines():
        if line.startswith("{'d'"):
            rows.append(ast.literal_eval(line.replace("nan", "None")))
    return rows


def _best(runs: list[list[dict]], key, value, larger: bool) -> dict:
    out: dict = {}
    for rows in runs:
        for r in rows:
            k = key(r)
            v = value(r)
            if v is None:
                continue
            if k not in out or (v > out[k] if larger else v < out[k]):
                out[k] = v
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="checkout of the earlier code")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "before_after.json"))
    args = ap.parse_args()
    before = os.path.abspath(args.before)
    trees = {"before": before, "after": AFTER}
    runs: dict[str, dict[str, list]] = {k: {"integrator": [], "linalg": []} for k in trees}
    scratch = os.path.join(os.path.abspath(os.path.dirname(args.out)), ".before_after_scratch.json")
    os.makedirs(os.path.dirname(scratch), exist_ok=True)
    t0 = time.time()
    for rnd in range(args.rounds):
        order = ("before", "after") if rnd % 2 == 0 else ("after", "before")
        for name in order:
            print(f"round {rnd + 1}: {name} integrator", file=sys.stderr, flush=True)
            runs[name]["integrator"].append(integrator(trees[name], scratch))
            print(f"round {rnd + 1}: {name} linalg", file=sys.stderr, flush=True)
            runs[name]["linalg"].append(linalg(trees[name]))
    if os.path.exists(scratch):
        os.remove(scratch)

    def ikey(r):
        return (r["case"], r["batch"])

    table = ["| workload | batch | before (chain-steps/s) | after | after / before "
             "| before / numpy loop | after / numpy loop |", "|---|---|---|---|---|---|---|"]
    best = {k: _best(runs[k]["integrator"], ikey, lambda r: max(r["ours_f64"], r["ours_f32"]), True)
            for k in trees}
    ratio = {k: _best(runs[k]["integrator"], ikey,
                      lambda r: max(r["ours_f64"], r["ours_f32"]) / r["numpy_loop"], True)
             for k in trees}
    for k in best["after"]:
        b, a = best["before"].get(k), best["after"][k]
        table.append(f"| {k[0]} | {k[1]} | {b:.3g} | {a:.3g} | {a / b:.2f} "
                     f"| {ratio['before'][k]:.1f}× | {ratio['after'][k]:.1f}× |")
    table += ["", "| inverse d | before wall (s) | after wall (s) | after / before "
              "| before samples | after samples | before error | after error |",
              "|---|---|---|---|---|---|---|---|"]
    lw = {k: _best(runs[k]["linalg"], lambda r: r["d"], lambda r: r["t_s"], False) for k in trees}
    last = {k: {r["d"]: r for r in runs[k]["linalg"][-1]} for k in trees}
    for d in lw["after"]:
        b, a = lw["before"][d], lw["after"][d]
        table.append(f"| {d} | {b:.3g} | {a:.3g} | {a / b:.2f} | {last['before'][d]['n_s']} "
                     f"| {last['after'][d]['n_s']} | {last['before'][d]['e_s']:.3f} "
                     f"| {last['after'][d]['e_s']:.3f} |")
    meta = {"machine": platform.machine(), "cpus": os.cpu_count(), "rounds": args.rounds,
            "load_average_end": os.getloadavg(), "wall_s": time.time() - t0,
            "before": before, "date": time.strftime("%Y-%m-%d")}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "runs": runs, "table": table}, fh, indent=1)
    print("\n".join(table))
    print(f"\n{meta}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
