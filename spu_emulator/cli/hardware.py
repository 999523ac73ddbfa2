"""``spu montecarlo`` and ``spu sensitivity``: real boards from a netlist's tolerances.
Thin: parse, call :func:`~spu_emulator.hardware.montecarlo.monte_carlo` or
:func:`~spu_emulator.hardware.sensitivity.sensitivity`, write the output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it is used: --help and --version need none
    import numpy as np

from ..errors import InputError, NetlistError
from ..io import check_output, dumps_json, save_npz
from . import text
from .options import nbytes, seed
from .progress import TerminalProgress


def _source(path: str) -> Any:
    """The netlist, or the programmed design when it has a ``program:`` section."""
    from ..hardware.design import load_design
    from ..netlist import load

    netlist = load(path)  # every error in the file is reported from here
    try:
        return load_design(path)
    except NetlistError as exc:
        if exc.path == "program":
            return netlist
        raise


def _target(args: argparse.Namespace) -> np.ndarray | None:
    if not args.target:
        return None
    from .sampling import read_matrix

    return read_matrix(args.target, "target matrix")


def _metrics_option(args: argparse.Namespace, available: tuple[str, ...]) -> list[str] | None:
    from ..hardware.spec import METRICS

    if not args.metrics:
        return None
    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    for m in names:
        if m not in METRICS or m not in available:
            raise InputError(f"unknown metric {m!r} (known: {', '.join(available)})", "metrics")
    return names


def _fmt(x: float, metric: str) -> str:
    """A value of ``metric``: relative ones in percent, others with their SI unit."""
    import numpy as np

    from ..hardware.spec import METRICS

    m = METRICS[metric]
    if x is None or not np.isfinite(x):
        return "-"
    if m.percent:
        return f"{100 * x:.3g}%"
    return f"{x:.4g}" if m.unit == "1" else text.si(x, m.unit)


def cmd_montecarlo(args: argparse.Namespace) -> int:
    from ..hardware.montecarlo import monte_carlo
    from ..hardware.spec import METRICS, Spec
    from ..netlist.schema import Netlist

    if args.boards < 1:
        raise InputError(f"must be positive, got {args.boards}", "boards")
    source = _source(args.netlist)
    programmed = not isinstance(source, Netlist)
    available = tuple(k for k, m in METRICS.items() if programmed or not m.programmed)
    spec = Spec.parse(args.spec, available) if args.spec is not None else None
    chosen = _metrics_option(args, available)
    if args.save:
        check_output(args.save)
    if args.plot and not Path(args.plot).is_dir():
        raise InputError(f"{args.plot}: not a directory", "plot")
    target = _target(args)
    res = monte_carlo(source, args.boards, args.seed, target=target, chunk=args.chunk,
                      max_memory=args.max_memory,
                      progress=TerminalProgress("boards", quiet=args.json or args.quiet))
    out = res.summary()
    if spec is not None:
        out["yield"] = res.yield_(spec)
    if args.save:
        save_npz(args.save, **res.arrays())
        out["saved"] = args.save
    if args.plot:
        from ..hardware.plots import plot_all
        from ..hardware.sensitivity import sensitivity

        metrics = chosen or list(dict.fromkeys(
            (spec.metrics if spec else ())
            + (("inverse_error",) if programmed else ())
            + ("covariance_error", "max_voltage_std", "min_q", "max_frequency_shift")))
        sens = sensitivity(source, target=target)
        out["plots"] = plot_all(res, sens, metrics, args.plot, spec, tornado=metrics[0])
    if args.json:
        sys.stdout.write(dumps_json(out))
        return 0
    print("\n".join(_montecarlo_text(res, out)))
    return 0


def _montecarlo_text(res: Any, out: dict[str, Any]) -> list[str]:
    import numpy as np

    fb = out["failed_boards"]
    lines = [f"{res.name}: {res.boards} boards (seed {res.seed}), each solved exactly "
             f"({out['method']}) in {res.wall_time:.3g} s; {fb['count']} failed"]
    for reason, k in fb["reasons"].items():
        lines.append(f"  failed: {k} × {reason}")
    vc = out["voltage_covariance"]
    nodes = res.nodes
    w = max(6, *(len(x) for x in nodes[: text.MAX_NAMES * 2])) + 2
    lines.append(f"  {'node':<{w}}{'nominal rms':>13}{'mean rms':>13}{'variance std':>14}"
                 f"{'p05 … p95 rms':>26}")
    for i, nd in enumerate(nodes[: text.MAX_NAMES * 2]):
        m0, mu, sd = vc["nominal"][i, i], vc["mean"][i, i], vc["std"][i, i]
        lines.append(f"  {nd:<{w}}{text.si(np.sqrt(m0), 'V'):>13}{text.si(np.sqrt(mu), 'V'):>13}"
                     f"{100 * sd / mu:>13.3g}%{text.si(np.sqrt(vc['p05'][i, i]), 'V'):>13}"
                     f"{text.si(np.sqrt(vc['p95'][i, i]), 'V'):>13}")
    if len(nodes) > text.MAX_NAMES * 2:
        lines.append(f"  … {text.plural(len(nodes) - text.MAX_NAMES * 2, 'more node')} (see --json)")
    lines.append(f"  {'metric':<22}{'nominal':>11}{'mean':>11}{'std':>11}{'p05':>11}{'p95':>11}")
    for k, st in out["metrics"].items():
        lines.append(f"  {k:<22}" + "".join(f"{_fmt(st[c], k):>11}"
                                            for c in ("nominal", "mean", "std", "p05", "p95")))
    y = out.get("yield")
    if y:
        lo, hi = y["interval"]
        lines.append(f"  yield of '{y['spec']}': {y['passed']} / {y['boards']} = "
                     f"{100 * y['yield']:.4g}% (95% Wilson interval {100 * lo:.4g}% – {100 * hi:.4g}%)")
    for p in out.get("plots", ()):
        lines.append(f"  wrote {p}")
    if "saved" in out:
        lines.append(f"  wrote {out['saved']} (per-board arrays)")
    return lines


def cmd_sensitivity(args: argparse.Namespace) -> int:
    import numpy as np

    from ..hardware.sensitivity import sensitivity
    from ..netlist.schema import Netlist

    if args.boards < 0:
        raise InputError(f"must be 0 (no Monte Carlo) or positive, got {args.boards}", "boards")
    if args.top < 1:
        raise InputError(f"must be positive, got {args.top}", "top")
    source = _source(args.netlist)
    programmed = not isinstance(source, Netlist)
    metric = args.metric or ("inverse_error" if programmed else "covariance_error")
    target = _target(args)
    res = sensitivity(source, target=target)
    ms = res.metric(metric)  # checks the name
    out = res.summary(metric)
    mc = None
    if args.boards:
        from ..hardware.montecarlo import monte_carlo

        mc = monte_carlo(source, args.boards, args.seed, target=target,
                         progress=TerminalProgress("boards", quiet=args.json or args.quiet))
        ok = mc.ok
        vals = mc.metrics[metric][ok]
        out["monte_carlo"] = {
            "boards": mc.boards, "seed": mc.seed, "failed_boards": mc.failed(),
            "metric": {"rms" if ms.deviation else "std":
                       float(np.sqrt(np.mean(vals**2)) if ms.deviation else np.std(vals, ddof=1)),
                       "mean": float(np.mean(vals))},
            "voltage_covariance_std": np.std(mc.voltage_covariance[ok], axis=0, ddof=1),
        }
    if args.json:
        sys.stdout.write(dumps_json(out))
        return 0
    print("\n".join(_sensitivity_text(res, ms, out, args.top)))
    return 0


def _sensitivity_text(res: Any, ms: Any, out: dict[str, Any], top: int) -> list[str]:
    from ..hardware.family import CLASS_UNITS

    u = ms.name
    kind = "rms" if ms.deviation else "std"
    lines = [f"{res.name}: sensitivity of {ms.name} (nominal {_fmt(ms.nominal, u)}) to "
             f"{text.plural(len(res.parameters), 'component value')}, d/d ln p, in "
             f"{1e3 * res.wall_time:.3g} ms"]
    w = max(10, *(len(p) for p in res.parameters)) + 2
    lines.append(f"  {'rank':>4}  {'component':<{w}}{'class':<7}{'value':>12}{'tolerance':>11}"
                 f"{'dm/dln p':>12}{'at 1σ':>11}")
    idx = {p: i for i, p in enumerate(res.parameters)}
    for r, (name, c) in enumerate(ms.ranked(res.parameters, top), 1):
        if name.startswith("lot:"):
            cls = name[4:]
            lines.append(f"  {r:>4}  {name:<{w}}{cls:<7}{'':>12}{'(lot)':>11}{'':>12}{_fmt(c, u):>11}")
            continue
        i = idx[name]
        vu = CLASS_UNITS[res.classes[i]]
        val = f"{res.values[i]:.4g}" if vu == "1" else text.si(res.values[i], vu)
        lines.append(f"  {r:>4}  {name:<{w}}{res.classes[i]:<7}{val:>12}"
                     f"{100 * res.std[i]:>10.3g}%{_fmt(ms.derivative[i], u):>12}{_fmt(c, u):>11}")
    lines.append(f"  first-order {kind} of {ms.name} over boards: {_fmt(ms.first_order, u)}"
                 + ("" if ms.deviation or not ms.mean_shift
                    else f", mean shift from temperature coefficients {_fmt(ms.mean_shift, u)}"))
    mc = out.get("monte_carlo")
    if mc:
        lines.append(f"  Monte Carlo over {mc['boards']} boards (seed {mc['seed']}): {kind} "
                     f"{_fmt(mc['metric'][kind], u)}; {mc['failed_boards']['count']} failed")
    return lines


def register(subparsers: Any) -> None:
    """Add ``montecarlo`` and ``sensitivity``."""
    p = subparsers.add_parser(
        "montecarlo", help="draw as-built boards from the netlist's tolerances and evaluate "
        "each exactly: covariance, modes, stability, yield")
    p.add_argument("netlist", help="a netlist with a 'tolerances:' section (a design from "
                   "'spu program' gets its inversion error too)")
    p.add_argument("--boards", type=int, default=1000, help="how many boards to draw")
    p.add_argument("--seed", type=seed, default=0, help="random seed (board i draws from its "
                   "own stream: the result does not depend on how boards are batched)")
    p.add_argument("--spec", default=None, metavar="EXPR",
                   help="report the yield of e.g. 'inverse_error < 0.05 and min_q >= 10'")
    p.add_argument("--target", default=None, metavar="FILE",
                   help="the matrix given to 'spu program' (default: the nominal board's own)")
    p.add_argument("--save", default=None, metavar="F.npz",
                   help="write per-board arrays (element values, voltage covariance, metrics)")
    p.add_argument("--plot", default=None, metavar="DIR",
                   help="write histograms of the metrics and a tornado chart into DIR")
    p.add_argument("--metrics", default=None, metavar="LIST",
                   help="metrics to plot, comma-separated (default: the spec's, then the "
                   "usual ones)")
    p.add_argument("--chunk", type=int, default=None, metavar="N",
                   help="boards built at once (default: what fits in ~48 MB; never changes "
                   "the result)")
    p.add_argument("--max-memory", type=nbytes, default=None, metavar="SIZE",
                   help="memory the result may take (default: 80%% of what is available)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_montecarlo)

    p = subparsers.add_parser(
        "sensitivity", help="exact derivatives of the stationary covariance with respect to "
        "every component value, ranked by what each contributes to a metric's spread")
    p.add_argument("netlist", help="a linear netlist (tolerances give the spreads)")
    p.add_argument("--metric", default=None,
                   help="the metric to rank by (default: inverse_error for a programmed "
                   "design, else covariance_error)")
    p.add_argument("--target", default=None, metavar="FILE",
                   help="the matrix given to 'spu program' (default: the nominal board's own)")
    p.add_argument("--boards", type=int, default=0,
                   help="also run a Monte Carlo of this many boards beside the first-order "
                   "prediction")
    p.add_argument("--seed", type=seed, default=0, help="random seed of that Monte Carlo")
    p.add_argument("--top", type=int, default=15, help="rows of the ranked table")
    p.add_argument("--json", action="store_true",
                   help="print parameters, nodes and d_voltage_covariance (and more) as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_sensitivity)
