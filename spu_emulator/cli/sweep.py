"""``spu sweep``: run any spu command over the points of a sweep file on Dask. Thin:
parse, call :func:`~spu_emulator.sweep.engine.sweep`, print what it did."""

from __future__ import annotations

import argparse
import sys

from ..io import dumps_json
from .options import add_max_memory, positive_int
from .progress import TerminalProgress


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..sweep.engine import SweepInterrupted, sweep

    try:
        r = sweep(args.sweep_file, args.out, scheduler=args.scheduler, workers=args.workers,
                  plot=args.plot, progress=TerminalProgress("sweep", quiet=args.json or args.quiet),
                  max_memory=args.max_memory)
    except SweepInterrupted as exc:
        sys.stderr.write(f"spu: interrupted: {exc.done} of {exc.total} points done in "
                         f"{exc.out}; run the same command again to resume\n")
        return 130
    if args.json:
        sys.stdout.write(dumps_json(r.to_dict()))
    else:
        print(f"{r.out}: {r.points} points ({r.ran} run now, {r.skipped} done before) on "
              f"{r.scheduler} in {r.wall_time:.1f} s")
        print(f"  results {r.results}")
        print(f"  summary {r.summary}")
        if r.plot:
            print(f"  plot    {r.plot}")
        for e in r.errors[:5]:
            print(f"  point {e['index']}: {e['error']}")
    if r.failed:
        sys.stderr.write(f"spu: {r.failed} of {r.points} points failed (their errors are in "
                         f"{r.results})\n")
        return 1
    return 0


def register(sub) -> None:
    """Add ``sweep``."""
    s = sub.add_parser(
        "sweep",
        help="run any spu command over a grid of netlist values, random draws, Monte Carlo "
        "boards or seeds, on an embedded Dask cluster or a running one",
    )
    s.add_argument("sweep_file", metavar="SWEEP.yaml",
                   help="sweep file (spu-sweep/1: netlist, command, set/zip/random/montecarlo/seeds)")
    s.add_argument("-o", "--out", "--output", dest="out", required=True, metavar="DIR",
                   help="output directory (results.jsonl, summary.csv, points/INDEX/); "
                   "rerunning on the same DIR resumes")
    s.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="address of a running Dask scheduler, e.g. tcp://HOST:8786 (default: "
                   "$DASK_SCHEDULER_ADDRESS, else an embedded local cluster)")
    s.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes of the embedded cluster (default: one per core)")
    s.add_argument("--plot", action="append", metavar="FIELD", default=None,
                   help="result field to plot against the swept values, e.g. relaxation_time "
                   "or modes[0].frequency; repeat for several (default: the file's plot.y)")
    s.add_argument("--json", action="store_true", help="print what the sweep did as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress output")
    add_max_memory(s, "this process may plan to hold for the sweep's points")
    s.set_defaults(func=cmd_sweep)
