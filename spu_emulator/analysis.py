"""Library functions behind ``spu check`` / ``spu analyze`` / ``spu simulate``.

Everything the CLI prints is computed here and returned as plain data, so it is
callable from Python and testable without a shell.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .circuit import assemble
from .errors import InputError, SPUWarning
from .netlist.schema import Netlist
from .resources import Budget

if TYPE_CHECKING:  # the integrators are imported by the runs that step (spu check needs none)
    from .integrate import Trajectory
    from .integrate.progress import Progress


def summary(netlist: Netlist) -> dict[str, Any]:
    """Counts, states and (linear circuits) modes of a netlist (what ``spu check``
    prints)."""
    counts: dict[str, int] = {}
    for e in netlist.elements:
        counts[e.TYPE] = counts.get(e.TYPE, 0) + 1
    out: dict[str, Any] = {
        "name": netlist.name,
        "source": netlist.source,
        "digest": netlist.digest,
        "temperature": netlist.temperature,
        "nodes": list(netlist.nodes),
        "cells": list(netlist.cells),
        "elements": counts,
        "linear": netlist.is_linear,
    }
    out.update(assemble(netlist).describe())
    return out


def analyze(netlist: Netlist) -> dict[str, Any]:
    """Exact equilibrium analysis: stationary mean and covariance (Lyapunov), modes,
    slowest relaxation time and, at one temperature, the deviation from the
    fluctuation–dissipation oracle k_B T M⁻¹. Linear netlists only (a nonlinear
    circuit has no closed-form stationary state: simulate it)."""
    c = assemble(netlist)
    if not c.linear:
        raise InputError(
            f"{netlist.source or netlist.name}: the circuit is nonlinear and has no closed-form "
            "stationary state; simulate it instead"
        )
    sde = c.to_sde()
    S = sde.stationary_covariance()
    n = sde.n_voltage
    out: dict[str, Any] = {
        "name": netlist.name,
        "digest": netlist.digest,
        "temperature": netlist.temperature,
        "nodes": list(c.nodes),
        "reduced_nodes": list(c.reduced_nodes),
        "state_names": list(sde.state_names),
        "mean": sde.stationary_mean(),
        "voltage_covariance": S[:n, :n],
        "voltage_std": np.sqrt(np.diag(S)[:n]),
        "state_covariance": S,
        "modes": sde.modes(),
        "relaxation_time": sde.relaxation_time(),
        "fastest_time": sde.fastest_time(),
        "equilibrium": c.equal_temperature is not None,
    }
    boltz = sde.boltzmann_covariance()
    if boltz is not None:
        d = np.sqrt(np.diag(boltz))
        out["fdt_max_relative_deviation"] = float(np.max(np.abs(S - boltz) / np.outer(d, d)))
    return out


def run_simulation(
    netlist: Netlist,
    duration: float,
    *,
    dt: float | None = None,
    chains: int = 1,
    seed: int = 0,
    method: str | None = None,
    burn_in: float = 0.0,
    save_every: int = 1,
    float32: bool = False,
    progress: Progress | None = None,
    x0: np.ndarray | None = None,
    budget: Budget | None = None,
) -> Trajectory:
    """Simulate a netlist with ``method`` (default: exact for linear circuits, euler
    for nonlinear ones) at step ``dt`` (default: the SDE's own for that method).
    Circuits with a closed-form stationary law start from it, others from zero charge,
    unless ``x0`` ((n,) or (chains, n), SI units in state order) is given."""
    if not (np.isfinite(duration) and duration > 0):
        raise InputError(f"must be positive, got {duration}", "duration")
    if not (np.isfinite(burn_in) and burn_in >= 0):
        raise InputError(f"must be non-negative, got {burn_in}", "burn_in")
    if burn_in >= duration:
        raise InputError(f"{burn_in:g} s is not shorter than the duration ({duration:g} s): "
                         "no state would be kept", "burn_in")
    sde = assemble(netlist).to_sde()
    method = method or sde.default_method
    h = dt if dt is not None else sde.default_dt(method)
    if duration / (h * save_every) < 0.5:
        raise InputError(
            f"{duration:g} s is shorter than one saved step ({h * save_every:g} s)", "duration"
        )
    kept = round(duration / (h * save_every)) - int(np.ceil(burn_in / (h * save_every) - 1e-9))
    if kept < 10:
        warnings.warn(f"only {kept} state(s) per chain will be kept: the saved step "
                      f"({h * save_every:.3g} s) is close to the duration", SPUWarning,
                      stacklevel=2)
    from .integrate import SaveAt, simulate

    return simulate(
        sde,
        method,
        0.0,
        duration,
        h,
        seed,
        chains=chains,
        x0=_check_x0(x0, sde, chains),
        save=SaveAt(every=save_every, t_start=burn_in),
        dtype=np.float32 if float32 else np.float64,
        progress=progress,
        budget=budget,
    )


def _check_x0(x0: np.ndarray | None, sde, chains: int):
    if x0 is None:
        return "auto"
    x0 = np.asarray(x0, dtype=float)
    n = sde.dim
    if x0.shape not in ((n,), (chains, n)):
        raise InputError(
            f"expected shape ({n},) or ({chains}, {n}) for {n} states "
            f"({', '.join(sde.state_names[:4])}{', ...' if n > 4 else ''}), got {x0.shape}",
            "x0",
        )
    if not np.all(np.isfinite(x0)):
        raise InputError("contains non-finite values", "x0")
    return x0


def trajectory_summary(traj: Trajectory, netlist: Netlist) -> dict[str, Any]:
    """Sample covariance of the node states (voltages, or charges of a nonlinear
    circuit) with standard errors and N_eff, beside the exact (Lyapunov) value and the
    z-scores of the difference where the circuit has one."""
    if traj.states.shape[0] * traj.states.shape[1] < 2:
        return {"nodes": list(traj.nodes), "seed": traj.seed, "method": traj.method,
                "dt": traj.dt, "chains": traj.chains,
                "samples_per_chain": int(traj.states.shape[1]), "wall_time": traj.wall_time,
                "netlist_digest": traj.netlist_digest,
                "note": "fewer than two states: no statistics"}
    from .sampling.estimators import covariance_with_errors

    est = covariance_with_errors(traj.voltages)
    sde = assemble(netlist).to_sde()
    theory = z = None
    exact = sde.exact_covariance()
    if exact is not None:
        n = sde.n_voltage
        theory = exact[:n, :n]
        z = est.z_scores(theory)
    key = sde.quantity
    return {
        "nodes": list(traj.nodes),
        "seed": traj.seed,
        "method": traj.method,
        "dt": traj.dt,
        "chains": traj.chains,
        "samples_per_chain": int(traj.states.shape[1]),
        "duration": float(traj.t[-1] - traj.t[0] + traj.dt * traj.meta.get("save_every", 1))
        if traj.t.size
        else 0.0,
        "wall_time": traj.wall_time,
        "netlist_digest": traj.netlist_digest,
        f"{key}_mean": est.mean,
        f"{key}_mean_stderr": est.mean_stderr,
        f"{key}_covariance": est.covariance,
        f"{key}_covariance_stderr": est.stderr,
        "effective_samples": est.effective_samples,
        "min_effective_samples": est.min_effective_samples,
        "autocorrelation_time_samples": est.tau,
        f"theory_{key}_covariance": theory,
        "max_abs_z": float(np.max(np.abs(z))) if z is not None else None,
    }
