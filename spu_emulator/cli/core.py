"""``spu check | analyze | simulate | plot``: the core commands (netlist in, exact
analysis or a trajectory out). Thin: parse, call one library function, write."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ..errors import InputError
from ..io import check_output, dumps_json, save_npz
from ..resources import Budget
from .options import add_budget_options, nonneg_float, positive_float, positive_int, seed
from .progress import TerminalProgress


def _fmt_si(x: float, unit: str) -> str:
    from ..units import format_si

    return format_si(float(x), unit)


def cmd_check(args: argparse.Namespace) -> int:
    from ..analysis import summary
    from ..netlist import load

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
    from ..analysis import analyze
    from ..netlist import load

    if args.out:
        check_output(args.out)
    a = analyze(load(args.netlist))
    if args.out:
        from ..io import write_json

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
    from ..analysis import run_simulation, trajectory_summary
    from ..netlist import load

    if not args.out.endswith(".npz"):
        raise InputError(
            f"--out {args.out}: the trajectory is written as .npz; give a name ending in .npz"
        )
    check_output(args.out)
    netlist = load(args.netlist)
    x0 = None
    if args.x0:
        try:
            x0 = np.load(args.x0, allow_pickle=False)
        except (OSError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:120]
            raise InputError(f"--x0 {args.x0}: cannot read a .npy array ({reason})") from None
        if not isinstance(x0, np.ndarray) or x0.size == 0 or not (
                np.issubdtype(x0.dtype, np.floating) or np.issubdtype(x0.dtype, np.integer)):
            raise InputError(f"--x0 {args.x0}: expected a non-empty array of real numbers")
    traj = run_simulation(
        netlist,
        args.duration,
        dt=args.dt,
        chains=args.chains,
        seed=args.seed,
        method=args.method,
        burn_in=args.burn_in,
        save_every=args.save_every,
        float32=args.float32,
        progress=TerminalProgress("simulating", quiet=args.json),
        x0=x0,
        budget=Budget(args.max_memory, args.max_chain_steps, output=args.out),
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
    from .. import plots
    from ..netlist import load

    netlist = load(args.netlist)
    written = plots.plot_all(
        netlist, args.out_dir, trajectory=args.trajectory, seed=args.seed, duration=args.duration
    )
    for p in written:
        print(f"wrote {p}")
    return 0


def register(sub) -> None:
    """Add ``check``, ``analyze``, ``simulate`` and ``plot``."""
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
        type=positive_float,
        required=True,
        help="simulated time, e.g. 1e-4 or '100 us'",
    )
    s.add_argument(
        "--dt", type=positive_float, help="step (default: from the circuit's time scales)"
    )
    s.add_argument("--chains", type=positive_int, default=1, help="independent chains (default 1)")
    s.add_argument(
        "--seed", type=seed, default=0, help="random seed (default 0); same seed, same bytes"
    )
    s.add_argument(
        "--method",
        choices=("exact", "euler", "heun"),
        default=None,
        help="exact (linear circuits, default), euler (default for nonlinear ones) or heun",
    )
    s.add_argument(
        "--burn-in",
        type=nonneg_float,
        default=0.0,
        help="simulate but do not store this much time first",
    )
    s.add_argument("--save-every", type=positive_int, default=1, help="store every k-th step")
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
    add_budget_options(s)
    s.add_argument("--json", action="store_true", help="print a statistical summary as JSON")
    s.set_defaults(func=cmd_simulate)

    pl = sub.add_parser(
        "plot", help="PNG plots: trajectories, node PSD (simulated vs theory), covariance"
    )
    pl.add_argument("netlist")
    pl.add_argument("--out-dir", default=".", help="directory for the PNGs (default: .)")
    pl.add_argument("--trajectory", help="an .npz from `spu simulate` (default: simulate now)")
    pl.add_argument(
        "--duration", type=positive_float, help="simulated time when no trajectory is given"
    )
    pl.add_argument("--seed", type=seed, default=0,
                    help="seed of the simulation when no trajectory is given (default 0)")
    pl.set_defaults(func=cmd_plot)
