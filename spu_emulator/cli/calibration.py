"""``spu calibrate``: identify a board's as-built values from its samples. Thin: parse,
call :func:`~spu_emulator.calibration.estimate.calibrate`, write the calibration file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import check_output, dumps_json
from .options import out_option
from .progress import TerminalProgress


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..calibration.estimate import calibrate
    from ..calibration.report import calibration_dict, write_calibration
    from ..calibration.samples import load_samples
    from ..netlist import load

    check_output(args.out)
    if args.plot and not Path(args.plot).is_dir():
        raise InputError(f"{args.plot}: not a directory", "plot")
    netlist = load(args.design)
    samples = load_samples(args.samples)
    cal = calibrate(samples, netlist, design_file=args.design,
                    progress=TerminalProgress("calibrating", quiet=args.json or args.quiet))
    write_calibration(args.out, cal, netlist)
    out = calibration_dict(cal, netlist)
    out.pop("relative_covariance")
    out["output"] = args.out
    if args.plot:
        from ..calibration.plots import plot_calibration

        out["plots"] = plot_calibration(cal, args.plot)
    if args.json:
        sys.stdout.write(dumps_json(out))
        return 0
    print("\n".join(_text(cal, out)))
    return 0


def _text(cal: Any, out: dict[str, Any]) -> list[str]:
    from . import text

    g = cal.fit.get("goodness_of_fit") or {}
    d = cal.data
    lines = [f"wrote {out['output']}: {len(cal.names)} parameters of {cal.design['name']} from "
             f"{d['chains']} × {d['samples_per_chain']} samples every {text.si(d['interval'], 's')} "
             f"({cal.fit['iterations']} iterations, {cal.fit['wall_time']:.3g} s)"]
    if g:
        lines.append(f"  goodness of fit ({g['statistic']}): chi2 {g['chi2']:.4g} on "
                     f"{g['dof']:.4g} dof, p = {g['p_value']:.3g}")
    w = max(8, *(len(n) for n in cal.names)) + 2
    lines.append(f"  {'element':<{w}}{'nominal':>12}{'estimate':>12}{'stderr':>12}{'deviation':>11}")
    for nm, e in out["parameters"].items():
        u = e["unit"] if e["unit"] != "1" else ""
        lines.append(f"  {nm:<{w}}{text.si(e['nominal'], u):>12}{text.si(e['estimate'], u):>12}"
                     f"{text.si(e['stderr'], u):>12}{100 * e['relative_deviation']:>10.3g}%")
    for p in out.get("plots", ()):
        lines.append(f"  wrote {p}")
    return lines


def register(subparsers: Any) -> None:
    """Add ``calibrate``."""
    p = subparsers.add_parser(
        "calibrate", help="identify a board's as-built component values from its node-voltage samples")
    p.add_argument("samples", help="samples .npz: spu simulate's (t, states, state_names) or "
                                   "plain (t, v, nodes)")
    p.add_argument("--design", required=True, metavar="DESIGN",
                   help="the design netlist the board was built from")
    out_option(p, required=True, help="calibration file to write (.yaml)")
    p.add_argument("--json", action="store_true", help="print the calibration as JSON")
    p.add_argument("--plot", metavar="DIR", default=None,
                   help="write identified-vs-nominal and spectrum PNGs into DIR")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_calibrate)
