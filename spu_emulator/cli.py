"""The ``spu`` command line: thin wrappers over library functions.

``main(argv=None) -> int``: each subcommand parses, calls one library function and
writes its output. Every :class:`~spu_emulator.errors.SPUError` becomes one line on
stderr and its exit status (2 for bad input, 1 for a failed cross-check).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from . import __version__
from .errors import InputError, PrecisionWarning, SPUError
from .io import dumps_json, save_npz

#: Subpackages that contribute subcommands through ``register(subparsers)``.
COMMAND_MODULES = (
    "spu_emulator.spice.commands",
    "spu_emulator.sampling.commands",
    "spu_emulator.generative.commands",
)


def _fmt_si(x: float, unit: str) -> str:
    from .units import format_si

    return format_si(float(x), unit)


def cmd_check(args: argparse.Namespace) -> int:
    from .analysis import summary
    from .netlist import load

    s = summary(load(args.netlist))
    if args.json:
        sys.stdout.write(dumps_json(s))
        return 0
    print(f"{args.netlist}: OK  ({s['name']}, {s['temperature']:g} K, digest {s['digest'][:12]})")
    print(f"  nodes      {len(s['nodes'])}: {', '.join(s['nodes'])}")
    print(f"  cells      {len(s['cells'])}")
    print("  elements   " + ", ".join(f"{v} {k}" for k, v in s["elements"].items()))
    if not s["linear"]:
        print(
            f"  nonlinear  {s['states']} charge states, {s['noise_sources']} noise sources, "
            f"{s['bias_sources']} bias sources; simulate with --method euler "
            f"(default step {_fmt_si(s['default_dt'], 's')})"
        )
    if s["linear"]:
        if s["reduced_nodes"]:
            print(f"  Kron-reduced (no capacitance): {', '.join(s['reduced_nodes'])}")
        print(
            f"  states     {s['states']} ({len(s['state_nodes'])} voltages + {s['states'] - len(s['state_nodes'])} inductor currents)"
        )
        print(
            f"  noise      {s['noise_sources']} sources; "
            + (
                "thermal equilibrium (one temperature)"
                if s["equilibrium"]
                else "non-equilibrium steady state"
            )
        )
        print(f"  relaxation {_fmt_si(s['relaxation_time'], 's')}")
        print("  modes      frequency        decay rate       Q")
        for m in s["modes"]:
            q = f"{m['quality_factor']:.3g}" if m["quality_factor"] else "-"
            print(
                f"             {_fmt_si(m['frequency'], 'Hz'):>14}   {_fmt_si(m['decay_rate'], '/s'):>14}   {q}"
            )
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze
    from .netlist import load

    a = analyze(load(args.netlist))
    if args.out:
        from .io import write_json

        write_json(args.out, a)
    if args.json:
        sys.stdout.write(dumps_json(a))
        return 0
    nodes = a["nodes"]
    print(
        f"{a['name']}: stationary state ({'equilibrium' if a['equilibrium'] else 'non-equilibrium'}, "
        f"relaxation time {_fmt_si(a['relaxation_time'], 's')})"
    )
    print("  node         rms voltage     mean")
    for i, n in enumerate(nodes):
        print(f"  {n:<10} {_fmt_si(a['voltage_std'][i], 'V'):>14} {_fmt_si(a['mean'][i], 'V'):>12}")
    corr = a["voltage_covariance"] / np.outer(a["voltage_std"], a["voltage_std"])
    if len(nodes) > 1:
        print("  voltage correlation matrix:")
        w = max(6, max(len(n) for n in nodes))
        print("  " + " " * w + "".join(f"{n:>{w + 1}}" for n in nodes))
        for i, n in enumerate(nodes):
            print(f"  {n:<{w}}" + "".join(f"{corr[i, j]:>{w + 1}.3f}" for j in range(len(nodes))))
    if "fdt_max_relative_deviation" in a:
        print(
            f"  fluctuation-dissipation check: max |Σ − k_B T M⁻¹| / σσ = {a['fdt_max_relative_deviation']:.2e}"
        )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .analysis import run_simulation, trajectory_summary
    from .netlist import load

    if not args.out.endswith(".npz"):
        raise InputError(
            f"--out {args.out}: the trajectory is written as .npz; give a name ending in .npz"
        )
    netlist = load(args.netlist)
    x0 = None
    if args.x0:
        try:
            x0 = np.load(args.x0, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"--x0 {args.x0}: cannot read a .npy array ({exc})") from None
    method = args.method or ("exact" if netlist.is_linear else "euler")
    traj = run_simulation(
        netlist,
        args.duration,
        dt=args.dt,
        chains=args.chains,
        seed=args.seed,
        method=method,
        burn_in=args.burn_in,
        save_every=args.save_every,
        float32=args.float32,
        progress=not args.json,
        x0=x0,
    )
    data = traj.to_npz_dict()
    data["netlist_source"] = np.array(str(args.netlist))
    save_npz(args.out, **data)
    if args.json:
        sys.stdout.write(dumps_json(trajectory_summary(traj, netlist) | {"out": args.out}))
    else:
        print(
            f"wrote {args.out}: {traj.chains} chain(s) × {traj.states.shape[1]} samples × "
            f"{traj.states.shape[2]} states, dt {_fmt_si(traj.dt, 's')}, method {traj.method}, "
            f"seed {traj.seed}, {traj.wall_time:.2f} s"
        )
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from . import plots
    from .netlist import load

    netlist = load(args.netlist)
    written = plots.plot_all(
        netlist, args.out_dir, trajectory=args.trajectory, seed=args.seed, duration=args.duration
    )
    for p in written:
        print(f"wrote {p}")
    return 0


def _positive_float(text: str) -> float:
    from .units import ValueParseError, parse_value

    try:
        x = parse_value(text, "s")
    except ValueParseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (np.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return x


def _nonneg_float(text: str) -> float:
    from .units import ValueParseError, parse_value

    try:
        x = parse_value(text, "s")
    except ValueParseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (np.isfinite(x) and x >= 0):
        raise argparse.ArgumentTypeError(f"must be non-negative, got {text!r}")
    return x


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {v}")
    return v


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 2 and a one-line message (its default, kept)."""

    def error(self, message: str):  # noqa: D401
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="spu", description="Circuit-level emulator of thermodynamic computers.")
    p.add_argument("--version", action="version", version=f"spu_emulator {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    c = sub.add_parser(
        "check", help="validate a netlist and print a summary (nodes, states, modes)"
    )
    c.add_argument("netlist")
    c.add_argument("--json", action="store_true", help="print the summary as JSON")
    c.set_defaults(func=cmd_check)

    a = sub.add_parser("analyze", help="exact stationary covariance, modes and relaxation time")
    a.add_argument("netlist")
    a.add_argument(
        "--json", action="store_true", help="print JSON (keys: nodes, voltage_covariance, ...)"
    )
    a.add_argument("--out", help="also write the JSON to this file")
    a.set_defaults(func=cmd_analyze)

    s = sub.add_parser("simulate", help="integrate the circuit's SDE and write a trajectory (.npz)")
    s.add_argument("netlist")
    s.add_argument(
        "--duration",
        type=_positive_float,
        required=True,
        help="simulated time, e.g. 1e-4 or '100 us'",
    )
    s.add_argument(
        "--dt", type=_positive_float, help="step (default: from the circuit's time scales)"
    )
    s.add_argument("--chains", type=_positive_int, default=1, help="independent chains (default 1)")
    s.add_argument(
        "--seed", type=int, default=0, help="random seed (default 0); same seed, same bytes"
    )
    s.add_argument(
        "--method",
        choices=("exact", "euler"),
        default=None,
        help="exact (linear circuits, default) or euler (default for nonlinear ones)",
    )
    s.add_argument(
        "--burn-in",
        type=_nonneg_float,
        default=0.0,
        help="simulate but do not store this much time first",
    )
    s.add_argument("--save-every", type=_positive_int, default=1, help="store every k-th step")
    s.add_argument(
        "--float32",
        action="store_true",
        help="single precision (faster; ~1e-6 relative per step, warns when rounding F could shift decay rates)",
    )
    s.add_argument(
        "--x0",
        help="initial states, .npy of shape (n,) or (chains, n) in state order "
        "(default: stationary for linear circuits, zero charge for nonlinear ones)",
    )
    s.add_argument("--out", required=True, help="output trajectory, .npz")
    s.add_argument("--json", action="store_true", help="print a statistical summary as JSON")
    s.set_defaults(func=cmd_simulate)

    pl = sub.add_parser(
        "plot", help="PNG plots: trajectories, node PSD (simulated vs theory), covariance"
    )
    pl.add_argument("netlist")
    pl.add_argument("--out-dir", default=".", help="directory for the PNGs (default: .)")
    pl.add_argument("--trajectory", help="an .npz from `spu simulate` (default: simulate now)")
    pl.add_argument(
        "--duration", type=_positive_float, help="simulated time when no trajectory is given"
    )
    pl.add_argument("--seed", type=int, default=0)
    pl.set_defaults(func=cmd_plot)

    for mod_name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:  # that capability is not installed in this tree
                continue
            raise
        mod.register(sub)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our own warnings as one line on stderr; others as Python shows them."""
    if issubclass(category, PrecisionWarning):
        sys.stderr.write(f"spu: warning: {message}\n")
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():  # restores the default display afterwards
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except SPUError as exc:
        sys.stderr.write(f"spu: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("spu: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
