"""``spu check | analyze | simulate | plot``: the core commands (netlist in, exact
analysis or a trajectory out). Thin: parse, call one library function, write."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: --help and --version need none
    pass

import argparse
import sys

from ..errors import InputError
from ..io import check_output, dumps_json, save_npz
from ..resources import Budget
from . import text
from .options import (
    add_budget_options,
    nonneg_float,
    out_option,
    positive_float,
    positive_int,
    seed,
)
from .progress import TerminalProgress


def cmd_check(args: argparse.Namespace) -> int:
    from ..analysis import summary
    from ..netlist import load

    s = summary(load(args.netlist))
    if args.json:
        sys.stdout.write(dumps_json(s))
        return 0
    print(f"{args.netlist}: OK  ({s['name']}, {s['temperature']:g} K, digest {s['digest'][:12]})")
    print(f"  nodes      {len(s['nodes'])}: {text.names(s['nodes'])}")
    print(f"  cells      {len(s['cells'])}")
    print("  elements   " + ", ".join(f"{v} {k}" for k, v in s["elements"].items()))
    if not s["linear"]:
        print(
            f"  nonlinear  {text.plural(s['states'], 'charge state')}, "
            f"{text.plural(s['noise_sources'], 'noise source')}, "
            f"{text.plural(s['bias_sources'], 'bias source')}; simulate with --method euler or heun "
            f"(default step {text.si(s['default_dt'], 's')})"
        )
        return 0
    if s["reduced_nodes"]:
        print(f"  Kron-reduced (no capacitance): {text.names(s['reduced_nodes'])}")
    volts = len(s["state_nodes"])
    print(f"  states     {s['states']} ({text.plural(volts, 'voltage')} + "
          f"{text.plural(s['states'] - volts, 'inductor current')})")
    print(
        f"  noise      {text.plural(s['noise_sources'], 'source')}; "
        + ("thermal equilibrium (one temperature)" if s["equilibrium"]
           else "non-equilibrium steady state")
    )
    print(f"  relaxation {text.si(s['relaxation_time'], 's')}")
    print("\n".join(text.modes_table(s["modes"])))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    import numpy as np

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
    kind = "equilibrium" if a["equilibrium"] else "non-equilibrium"
    print(f"{a['name']}: stationary state ({kind}, relaxation time "
          f"{text.si(a['relaxation_time'], 's')}, fastest time {text.si(a['fastest_time'], 's')})")
    print(f"  {'node':<10} {'rms voltage':>14} {'mean':>12}")
    for i, n in enumerate(nodes[: text.MAX_NAMES * 4]):
        print(f"  {n:<10} {text.si(a['voltage_std'][i], 'V'):>14} {text.si(a['mean'][i], 'V'):>12}")
    if len(nodes) > text.MAX_NAMES * 4:
        print(f"  … {text.plural(len(nodes) - text.MAX_NAMES * 4, 'more node')} (see --json)")
    std = a["voltage_std"]
    corr = a["voltage_covariance"] / np.outer(std, std)
    if 1 < len(nodes) <= text.MAX_MATRIX:
        print("  voltage correlation matrix:")
        print("\n".join(text.matrix(nodes, corr, indent="  ")))
    elif len(nodes) > text.MAX_MATRIX:
        off = np.abs(corr - np.eye(len(nodes)))
        i, j = np.unravel_index(np.argmax(off), off.shape)
        print(f"  voltage correlations: largest |ρ| = {off[i, j]:.3f} ({nodes[i]}, {nodes[j]}); "
              "the full matrix is in --json")
    print(f"  modes ({len(a['modes'])}):")
    print("\n".join(text.modes_table(a["modes"], indent="  ")))
    if "fdt_max_relative_deviation" in a:
        print(
            f"  fluctuation-dissipation check: max |Σ − k_B T M⁻¹| / σσ = {a['fdt_max_relative_deviation']:.2e}"
        )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

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
        progress=TerminalProgress("simulating", quiet=args.json or args.quiet),
        x0=x0,
        budget=Budget(args.max_memory, args.max_chain_steps, output=args.out),
    )
    data = traj.to_npz_dict()
    data["netlist_source"] = np.array(str(args.netlist))
    save_npz(args.out, **data)
    summary = trajectory_summary(traj, netlist)
    if args.json:
        sys.stdout.write(dumps_json(summary | {"out": args.out}))
        return 0
    print(
        f"wrote {args.out}: {text.plural(traj.chains, 'chain')} × "
        f"{text.plural(traj.states.shape[1], 'sample')} × {text.plural(traj.states.shape[2], 'state')}, "
        f"dt {text.si(traj.dt, 's')}, method {traj.method}, seed {traj.seed}, {traj.wall_time:.2f} s"
    )
    if not args.quiet and "note" not in summary:
        print("\n".join(_estimates(summary)))
    return 0


def _estimates(s: dict) -> list[str]:
    """The sample covariance of the node states with standard errors, beside the exact
    value where the circuit has one (what --json gives in full)."""
    import numpy as np
    key = "voltage" if "voltage_covariance" in s else "charge"
    unit = "V²" if key == "voltage" else "C²"
    C, E = np.asarray(s[f"{key}_covariance"]), np.asarray(s[f"{key}_covariance_stderr"])
    T = s.get(f"theory_{key}_covariance")
    nodes = s["nodes"]
    lines = [f"  {key} covariance from the samples (N_eff ≥ {s['min_effective_samples']:.0f}), ± one "
             "standard error" + (", beside the exact value:" if T is not None else ":")]
    pairs = [(i, i) for i in range(len(nodes))] + [
        (i, j) for i in range(len(nodes)) for j in range(i + 1, len(nodes))]
    head = f"  {'entry':<16} {'sample':>12} {'± SE':>10}" + (f" {'exact':>12} {'z':>6}" if T is not None else "")
    lines.append(head)
    for i, j in pairs[: max(len(nodes), 12)]:
        row = f"  {nodes[i] + ',' + nodes[j]:<16} {text.si(C[i, j], unit):>12} {text.si(E[i, j], unit):>10}"
        if T is not None:
            T = np.asarray(T)
            z = (C[i, j] - T[i, j]) / E[i, j] if E[i, j] > 0 else 0.0
            row += f" {text.si(T[i, j], unit):>12} {z:>6.2f}"
        lines.append(row)
    if len(pairs) > max(len(nodes), 12):
        lines.append(f"  … {text.plural(len(pairs) - max(len(nodes), 12), 'more entry', 'more entries')} "
                     "(see --json)")
    if s.get("max_abs_z") is not None:
        lines.append(f"  largest |z| over all {len(pairs)} entries: {s['max_abs_z']:.2f}")
    return lines


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
    c.add_argument("netlist", help="netlist file (YAML, spu-netlist/1)")
    c.add_argument("--json", action="store_true", help="print the summary as JSON")
    c.set_defaults(func=cmd_check)

    a = sub.add_parser("analyze", help="exact stationary covariance, modes and relaxation time")
    a.add_argument("netlist", help="netlist file (YAML, spu-netlist/1; linear circuits)")
    a.add_argument(
        "--json", action="store_true", help="print JSON (keys: nodes, voltage_covariance, ...)"
    )
    out_option(a, help="also write the JSON to this file")
    a.set_defaults(func=cmd_analyze)

    s = sub.add_parser("simulate", help="integrate the circuit's SDE and write a trajectory (.npz)")
    s.add_argument("netlist", help="netlist file (YAML, spu-netlist/1)")
    s.add_argument(
        "--duration",
        type=positive_float,
        required=True,
        help="simulated time, e.g. 1e-4 or '100 us'",
    )
    s.add_argument(
        "--dt", type=positive_float, help="step (default: from the circuit's time scales)"
    )
    s.add_argument("--chains", type=positive_int, default=1, help="independent chains")
    s.add_argument(
        "--seed", type=seed, default=0, help="random seed; the same seed gives the same bytes"
    )
    s.add_argument(
        "--method",
        choices=("exact", "euler", "heun"),
        default=None,
        help="exact (linear circuits; their default), euler (nonlinear circuits' default) or "
        "heun (default: from the circuit)",
    )
    s.add_argument(
        "--burn-in",
        type=nonneg_float,
        default=0.0,
        help="simulate but do not store this much time first, e.g. '10 us'",
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
    out_option(s, required=True, help="output trajectory, .npz")
    add_budget_options(s)
    s.add_argument("--json", action="store_true", help="print a statistical summary as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress bar and no estimates table")
    s.set_defaults(func=cmd_simulate)

    pl = sub.add_parser(
        "plot", help="PNG plots: trajectories, node PSD (simulated vs theory), covariance"
    )
    pl.add_argument("netlist", help="netlist file (YAML, spu-netlist/1)")
    pl.add_argument("--out-dir", default=".", help="directory for the PNGs")
    pl.add_argument("--trajectory", help="an .npz from `spu simulate` (default: simulate now)")
    pl.add_argument(
        "--duration", type=positive_float,
        help="simulated time when no trajectory is given (default: 400 relaxation times)"
    )
    pl.add_argument("--seed", type=seed, default=0,
                    help="seed of the simulation when no trajectory is given")
    pl.set_defaults(func=cmd_plot)
