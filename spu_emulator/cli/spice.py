"""CLI subcommands of the SPICE bridge (registered by :mod:`spu_emulator.cli`).

- ``spu spice export NETLIST -o deck.cir [--trnoise NT]``: write the SPICE deck;
- ``spu spice calibrate NETLIST -o ref.npz [--quick]``: run ngspice and store its
  outputs (with version and command) for ``spu validate --reference``;
- ``spu validate NETLIST [--json] [--plot DIR] [--quick] [--seed N]
  [--checks a,b] [--reference ref.npz]``: the cross-checks; exit 0 on pass, 1 on
  fail or when no check could run, 2 on bad input or missing ngspice.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def _checks(text: str) -> tuple[str, ...]:
    from ..spice.checks import CHECK_NAMES

    items = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in items if s not in CHECK_NAMES]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(CHECK_NAMES)} (comma-separated)")
    return items


def _positive(text: str) -> float:
    from ..units import parse_value

    try:
        v = parse_value(text, "s")
    except Exception as exc:  # noqa: BLE001 - argparse wants one message
        raise argparse.ArgumentTypeError(f"expected a positive time, got {text!r}") from exc
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive time, got {text!r}")
    return v


def cmd_spice_export(args: argparse.Namespace) -> int:
    from ..io import write_text
    from ..netlist import load
    from ..spice.export import TrNoise, export

    net = load(args.netlist)
    deck = export(net, transient_noise=TrNoise(args.trnoise) if args.trnoise else None)
    if args.out == "-":
        sys.stdout.write(deck)
    else:
        write_text(args.out, deck)
        print(
            f"wrote {args.out} ({len(deck.splitlines())} lines); run: ngspice -b {args.out} -r out.raw"
        )
    return 0


def _positive_points(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of time points, got {text!r}") from None
    if not (v >= 1000 and np.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a number >= 1000, got {text!r}")
    return v


def cmd_spice_calibrate(args: argparse.Namespace) -> int:
    from ..netlist import load
    from ..spice.checks import ValidateOptions
    from ..spice.reference import save_outputs
    from ..spice.validate import LIVE, compare_all

    net = load(args.netlist)
    opts = ValidateOptions(quick=args.quick, seed=args.seed)
    outputs = LIVE.run(net, opts)
    report = compare_all(net, outputs, opts)
    cmd = " ".join(
        ["spu", "spice", "calibrate", args.netlist, "-o", args.out]
        + (["--quick"] if args.quick else [])
        + [f"--seed={args.seed}"]
    )
    save_outputs(
        args.out,
        outputs,
        net,
        opts,
        {
            "command": cmd,
            "ngspice_command": "ngspice -b deck.cir -r out.raw (one run per deck)",
            "passed": report.passed,
            "status": report.status,
        },
    )
    print(report.table())
    print(f"wrote {args.out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from ..io import dumps_json
    from ..netlist import load
    from ..spice.checks import StatisticsOptions, ValidateOptions
    from ..spice.reference import compare_reference
    from ..spice.validate import validate

    net = load(args.netlist)
    if args.reference:
        report = compare_reference(net, args.reference, args.checks)
    else:
        opts = ValidateOptions(
            quick=args.quick,
            seed=args.seed,
            statistics=StatisticsOptions(max_trnoise_points=args.max_trnoise_points),
        )
        report = validate(net, opts, args.checks)
    if args.plot:
        from ..spice.plots import plot_report

        for path in plot_report(report, args.plot):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        sys.stdout.write(dumps_json(report.to_dict()))
    else:
        print(report.table())
    return 0 if report.passed else 1


def register(subparsers) -> None:
    """Add ``spice`` (``export``, ``calibrate``) and ``validate`` to the ``spu`` CLI."""
    from ..spice.checks import CHECK_NAMES

    sp = subparsers.add_parser("spice", help="SPICE bridge: export a netlist as an ngspice deck")
    ssub = sp.add_subparsers(dest="spice_command", metavar="SUBCOMMAND", parser_class=type(sp))
    ssub.required = True
    e = ssub.add_parser("export", help="write the netlist as a SPICE deck (with a .noise analysis)")
    e.add_argument("netlist")
    e.add_argument("-o", "--out", required=True, help="output deck (.cir), or - for stdout")
    e.add_argument(
        "--trnoise",
        type=_positive,
        metavar="NT",
        help="also add ngspice trnoise sources with this interval (e.g. 1n)",
    )
    e.set_defaults(func=cmd_spice_export)
    c = ssub.add_parser(
        "calibrate", help="run ngspice and store its outputs for validate --reference"
    )
    c.add_argument("netlist")
    c.add_argument("-o", "--out", required=True, help="output .npz")
    c.add_argument("--quick", action="store_true", help="short statistics run")
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(func=cmd_spice_calibrate)

    v = subparsers.add_parser(
        "validate", help="cross-check the emulator against ngspice (spectrum, waveform, statistics)"
    )
    v.add_argument("netlist")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--plot", metavar="DIR", help="write PSD, waveform and covariance PNGs into DIR")
    v.add_argument(
        "--quick",
        action="store_true",
        help="short statistics run (100 instead of 1000 relaxation times)",
    )
    v.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the waveform check's input sequence (ngspice trnoise cannot be seeded)",
    )
    v.add_argument(
        "--checks",
        type=_checks,
        default=CHECK_NAMES,
        help=f"comma-separated subset of {','.join(CHECK_NAMES)} (default: all)",
    )
    v.add_argument(
        "--max-trnoise-points",
        type=_positive_points,
        default=None,
        metavar="N",
        help="time-point budget of the statistics run (default 2e6 with --quick, else 2e7; "
        "ngspice takes ~5-9 us per point); a plan over it is shortened, or not run when "
        "the slowest mode would be covered fewer than 40 times",
    )
    v.add_argument(
        "--reference",
        metavar="NPZ",
        help="compare with stored ngspice outputs (calibration/) instead of running ngspice",
    )
    v.set_defaults(func=cmd_validate)
