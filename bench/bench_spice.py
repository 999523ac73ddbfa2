"""ngspice transient noise vs the emulator: wall time to the same standard error.

For the 8-cell SPU (netlists/spu8.yaml), in one process:

1. ngspice 39 transient noise (``trnoise`` at the validation's NT, one source per
   resistor) for ``--duration`` of circuit time after a burn-in; node voltages
   resampled on the NT grid; sample covariance and its batch-means standard error
   (20 batches), median over the 36 covariance entries, relative to sqrt(Σ_ii Σ_jj).
2. The emulator's exact integrator (Van Loan) for the same circuit time, sampled
   every ``--emu-dt`` (start from the stationary law: no burn-in needed); same
   estimator.

Both standard errors fall as 1/sqrt(time), so the wall time each needs to reach a
target standard error s is W · (SE / s)². The speedup is the ratio of those times
at the ngspice run's SE. Results go to stdout and, with ``--append``, under the
"## ngspice vs emulator" heading of docs/benchmarks.md.

    python bench/bench_spice.py [--duration 1e-3] [--emu-dt 2e-8] [--append]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time
from pathlib import Path

import numpy as np

from spu_emulator.circuit.assemble import assemble
from spu_emulator.integrate import simulate
from spu_emulator.netlist import load
from spu_emulator.spice.checks import ValidateOptions
from spu_emulator.spice.checks.base import node_states
from spu_emulator.spice.checks.statistics import StatisticsCheck, batch_covariance, statistics_plan
from spu_emulator.spice.run import ngspice_version, run_deck

ROOT = Path(__file__).resolve().parents[1]


def median_rel_se(cov: np.ndarray, se: np.ndarray, sigma: np.ndarray) -> float:
    d = np.sqrt(np.diag(sigma))
    iu = np.triu_indices(len(d))
    return float(np.median((se / np.outer(d, d))[iu]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--netlist", default=str(ROOT / "netlists" / "spu8.yaml"))
    ap.add_argument("--duration", type=float, default=1e-3, help="circuit time of each run (s)")
    ap.add_argument("--emu-dt", type=float, default=2e-8, help="emulator sample step (s)")
    ap.add_argument("--append", action="store_true", help="append the result to docs/benchmarks.md")
    args = ap.parse_args()

    net = load(args.netlist)
    circuit = assemble(net)
    sde = circuit.to_sde()
    sigma = sde.stationary_covariance()[: sde.n_voltage, : sde.n_voltage]
    plan = dataclasses.replace(statistics_plan(circuit, ValidateOptions()), duration=args.duration)
    nt, burn = plan.interval, plan.burn_in

    (deck,) = StatisticsCheck().decks(plan, net).values()
    t0 = time.perf_counter()
    res = run_deck(deck, timeout=3600)
    w_ng = time.perf_counter() - t0
    tt, x = node_states(net, res.plot("transient"), circuit.nodes)
    x = x[tt >= burn - 0.5 * nt]
    cov_ng, se_ng, _ = batch_covariance(x, 20)
    s_ng = median_rel_se(cov_ng, se_ng, sigma)
    var_err_ng = np.diag(cov_ng) / np.diag(sigma) - 1

    t0 = time.perf_counter()
    tr = simulate(sde, "exact", 0.0, args.duration, args.emu_dt, rng=1, chains=1, x0="stationary")
    w_emu = time.perf_counter() - t0
    v = tr.voltages[0]
    cov_emu, se_emu, _ = batch_covariance(v, 20)
    s_emu = median_rel_se(cov_emu, se_emu, sigma)
    var_err_emu = np.diag(cov_emu) / np.diag(sigma) - 1

    # wall time to reach the ngspice run's standard error s_ng
    w_emu_at = w_emu * (s_emu / s_ng) ** 2
    speedup = w_ng / w_emu_at
    lines = [
        f"netlist {net.name}, {ngspice_version()}, {platform.processor() or platform.machine()}, "
        f"circuit time {args.duration:g} s per run",
        f"ngspice trnoise: NT {nt:.3g} s, {x.shape[0]} samples, wall {w_ng:.2f} s, "
        f"median covariance SE {s_ng:.2%}, variance errors {np.abs(var_err_ng).max():.1%} max",
        f"emulator exact:  step {args.emu_dt:.3g} s, {v.shape[0]} samples, wall {w_emu:.3f} s, "
        f"median covariance SE {s_emu:.2%}, variance errors {np.abs(var_err_emu).max():.1%} max",
        f"emulator wall time to ngspice's SE: {w_emu_at:.4f} s -> speedup {speedup:,.0f}x "
        f"(target >= 100x: {'met' if speedup >= 100 else 'NOT met'})",
    ]
    print("\n".join(lines))
    if args.append:
        path = ROOT / "docs" / "benchmarks.md"
        text = path.read_text() if path.exists() else "# Benchmarks\n"
        head = "## ngspice vs emulator"
        block = "\n".join(f"- {ln}" for ln in lines)
        cmd = f"python bench/bench_spice.py --duration {args.duration:g} --emu-dt {args.emu_dt:g} --append"
        entry = f"\n`{cmd}` ({time.strftime('%Y-%m-%d')}):\n\n{block}\n"
        if head not in text:
            text = (
                text.rstrip("\n") + f"\n\n{head}\n\nWall time for ngspice transient noise vs the "
                "emulator to reach the same standard error on the covariance of the 8-cell SPU, "
                "measured in the same run (bench/bench_spice.py).\n"
            )
        # append our entry at the end of our section (before the next '## ' heading, if any)
        start = text.index(head)
        nxt = text.find("\n## ", start + len(head))
        text = text + entry if nxt < 0 else text[:nxt] + entry + text[nxt:]
        from spu_emulator.io import write_text

        write_text(path, text)
        print(f"appended to {path}")


if __name__ == "__main__":
    main()
