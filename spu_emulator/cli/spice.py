"""CLI subcommands of the SPICE bridge (registered by :mod:`spu_emulator.cli`).

- ``spu spice export NETLIST -o deck.cir [--analysis noise|tran|noise,tran]
  [--nodes a,b|all] [--trnoise NT] [--stop T] [--points-per-decade N] [--fstart F]
  [--fstop F]``: write a deck that runs on its own (``ngspice -b deck.cir``);
- ``spu spice import DECK -o netlist.yaml [--json]``: a SPICE deck as a netlist;
- ``spu spice calibrate NETLIST -o ref.npz [--quick]``: run ngspice and store its
  outputs (with version and command) for ``spu validate --reference``;
- ``spu validate NETLIST [--json] [--plot DIR] [--quick] [--seed N]
  [--checks a,b] [--reference ref.npz]``: the cross-checks; exit 0 on pass, 1 on
  fail or when no check could run, 2 on bad input or missing ngspice.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from ..errors import InputError
from .options import out_option, positive_int, seed


def _items(text: str) -> tuple[str, ...]:
    """Comma-separated words."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


#: The checks of ``spu validate`` (the names of spice.checks.CHECK_NAMES, spelled here so
#: that building the parser imports no numerics; a test keeps the two equal).
CHECK_NAMES = ("spectrum", "waveform", "statistics")


def _checks(text: str) -> tuple[str, ...]:
    items = _items(text)
    bad = [s for s in items if s not in CHECK_NAMES]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(CHECK_NAMES)} (comma-separated)")
    return items


def _quantity(unit: str, what: str):
    """An argparse type: a positive finite value in ``unit`` (``10u``, ``1 GHz``)."""

    def parse(text: str) -> float:
        from ..units import parse_value

        try:
            v = parse_value(text, unit)
        except Exception as exc:  # noqa: BLE001 - argparse wants one message
            raise argparse.ArgumentTypeError(f"expected a positive {what}, got {text!r}") from exc
        if not (v > 0 and math.isfinite(v)):
            raise argparse.ArgumentTypeError(f"expected a positive {what}, got {text!r}")
        return v

    return parse


_positive = _quantity("s", "time")
_frequency = _quantity("Hz", "frequency")


def _names(text: str) -> tuple[str, ...] | str:
    items = _items(text)
    if not items:
        raise argparse.ArgumentTypeError("give node names separated by commas, or all")
    return "all" if items == ("all",) else items


def _analyses(text: str) -> tuple[str, ...]:
    from ..spice.export import ANALYSES

    items = _items(text)
    if not items or any(s not in ANALYSES for s in items) or len(set(items)) != len(items):
        raise argparse.ArgumentTypeError("choose noise, tran or noise,tran")
    return items


def cmd_spice_export(args: argparse.Namespace) -> int:
    import os

    from ..io import write_text
    from ..netlist import load
    from ..spice.export import ExportOptions, export, plan_export

    net = load(args.netlist)
    opts = ExportOptions(analysis=args.analysis, nodes=args.nodes, trnoise=args.trnoise,
                         stop=args.stop, points_per_decade=args.points_per_decade,
                         fstart=args.fstart, fstop=args.fstop)
    stem = None if args.out == "-" else os.path.splitext(os.path.basename(args.out))[0]
    deck = export(net, opts, stem=stem)
    if args.out == "-":
        sys.stdout.write(deck)
    else:
        write_text(args.out, deck)
        files = plan_export(net, opts, stem).files
        print(f"wrote {args.out} ({len(deck.splitlines())} lines); run: ngspice -b {args.out} "
              f"(writes {', '.join(files)} where it runs)")
    return 0


def cmd_spice_import(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..io import check_output, dumps_json, write_text
    from ..spice.importer import import_deck

    if args.out == "-" and args.json:
        raise InputError("prints the summary on stdout, where -o - writes the netlist: give "
                         "-o a file", "json")
    if args.out != "-":
        check_output(args.out)
    result = import_deck(args.deck)
    text = result.yaml()
    for note in result.notes:
        print(f"spu: note: {note}", file=sys.stderr)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        write_text(args.out, text)
    if args.json:
        sys.stdout.write(dumps_json(result.summary() | {"netlist": args.out}))
    elif args.out != "-":
        net = result.netlist
        how = ""
        if result.exported:
            how = ("; exported by spu_emulator, restored exactly" if result.exact
                   else "; exported by spu_emulator, not exactly the exported netlist (see note)")
        print(f"wrote {args.out}: {len(net.elements)} elements, {len(net.nodes)} nodes, "
              f"{net.temperature:g} K ({'linear' if net.is_linear else 'nonlinear'}){how}")
    return 0


def _positive_points(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of time points, got {text!r}") from None
    if not (v >= 1000 and math.isfinite(v)):
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

    if args.plot and not os.path.isdir(args.plot):  # checked before ngspice runs
        raise InputError(f"{args.plot}: not a directory (create it first)", "plot")
    net = load(args.netlist)
    if args.reference:
        report = compare_reference(net, args.reference, args.checks)
    else:
        from .progress import TerminalProgress

        opts = ValidateOptions(
            quick=args.quick,
            seed=args.seed,
            statistics=StatisticsOptions(max_trnoise_points=args.max_trnoise_points),
        )
        report = validate(net, opts, args.checks,
                          progress=TerminalProgress("running ngspice", quiet=args.json or args.quiet))
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
    """Add ``spice`` (``export``, ``import``, ``calibrate``) and ``validate``."""
    sp = subparsers.add_parser(
        "spice", help="SPICE bridge: export a netlist as an ngspice deck, import a deck")
    ssub = sp.add_subparsers(dest="spice_command", metavar="SUBCOMMAND", parser_class=type(sp))
    ssub.required = True
    e = ssub.add_parser(
        "export", help="write the netlist as a SPICE deck that runs on its own (ngspice -b)")
    e.add_argument("netlist", help="netlist file (YAML, spu-netlist/1)")
    out_option(e, required=True, help="output deck (.cir), or - for stdout")
    e.add_argument(
        "--analysis", type=_analyses, metavar="noise|tran",
        help="noise (.noise of each node), tran (transient with trnoise sources) or noise,tran "
        "(default: noise for a linear netlist, tran for a nonlinear one or with --trnoise)")
    e.add_argument(
        "--nodes", type=_names, metavar="a,b,...|all",
        help="nodes to analyse (default: every state node for noise, every node for tran)")
    e.add_argument(
        "--trnoise", type=_positive, metavar="NT",
        help="trnoise interval of the transient, e.g. 1n (default: fastest time / 20)")
    e.add_argument(
        "--stop", type=_positive, metavar="T",
        help="length of the transient, e.g. 10u (default: 20 slowest times)")
    e.add_argument("--points-per-decade", type=positive_int, default=1000, metavar="N",
                   help="points per decade of the noise sweep")
    e.add_argument("--fstart", type=_frequency, metavar="F",
                   help="start of the noise sweep (default: a decade below 1e-3 of the "
                   "slowest mode's frequency)")
    e.add_argument("--fstop", type=_frequency, metavar="F",
                   help="end of the noise sweep (default: a decade above 1e3 of the fastest "
                   "mode's frequency)")
    e.set_defaults(func=cmd_spice_export)
    im = ssub.add_parser(
        "import", help="read a SPICE deck (R, L, C, K, I, subcircuits, .param) as a netlist")
    im.add_argument("deck", help="SPICE deck (.cir, .sp, ...)")
    out_option(im, required=True, help="output netlist (.yaml), or - for stdout")
    im.add_argument("--json", action="store_true",
                    help="print a JSON summary (nodes, element counts, notes, exactness)")
    im.set_defaults(func=cmd_spice_import)
    c = ssub.add_parser(
        "calibrate", help="run ngspice and store its outputs for validate --reference"
    )
    c.add_argument("netlist", help="netlist file (YAML, spu-netlist/1)")
    out_option(c, required=True, help="output .npz")
    c.add_argument("--quick", action="store_true", help="short statistics run")
    c.add_argument("--seed", type=seed, default=0, help="seed of the waveform check's inputs")
    c.set_defaults(func=cmd_spice_calibrate)

    v = subparsers.add_parser(
        "validate", help="cross-check the emulator against ngspice (spectrum, waveform, statistics)"
    )
    v.add_argument("netlist", help="netlist file (YAML, spu-netlist/1)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--quiet", action="store_true", help="no progress output")
    v.add_argument("--plot", metavar="DIR", help="write PSD, waveform and covariance PNGs into DIR")
    v.add_argument(
        "--quick",
        action="store_true",
        help="short statistics run (100 instead of 1000 relaxation times)",
    )
    v.add_argument(
        "--seed",
        type=seed,
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
