"""Library functions behind ``spu check`` / ``spu analyze`` / ``spu simulate``.

Everything the CLI prints is computed here and returned as plain data, so it is
callable from Python and testable without a shell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .circuit import assemble
from .errors import InputError
from .integrate import SaveAt, Trajectory, simulate
from .netlist.schema import Netlist
from .sampling.estimators import covariance_with_errors


def summary(netlist: Netlist) -> dict[str, Any]:
    """Counts and modes of a netlist (what ``spu check`` prints)."""
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
    if not netlist.is_linear:
        from .sde.nonlinear import NonlinearSDE

        sde = NonlinearSDE.from_netlist(netlist)
        out.update(
            state_nodes=list(sde.nodes),
            states=sde.dim,
            noise_sources=sde.B.shape[1],
            bias_sources=len(sde.bias_index),
            default_dt=sde.default_dt(),
        )
    if netlist.is_linear:
        c = assemble(netlist)
        sde = c.to_sde()
        out.update(
            state_nodes=list(c.nodes),
            reduced_nodes=list(c.reduced_nodes),
            states=len(sde.state_names),
            noise_sources=len(c.noise_sources),
            equilibrium=c.equal_temperature is not None,
            modes=sde.modes(),
            relaxation_time=sde.relaxation_time(),
        )
    return out


def analyze(netlist: Netlist) -> dict[str, Any]:
    """Exact equilibrium analysis: stationary mean and covariance (Lyapunov), modes,
    slowest relaxation time and, at one temperature, the deviation from the
    fluctuation–dissipation oracle k_B T M⁻¹."""
    c = assemble(netlist)
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


def default_dt(sde, method: str) -> float:
    """A sensible step: for the exact method, 1/16 of the shortest oscillation period
    or 1/4 of the fastest decay time (it is exact for any step; this only sets the
    time resolution of the output). For Euler–Maruyama, small enough that its
    stationary-variance bias h ω²/(2γ) stays ≈ 1% on every mode and h|λ| ≤ 0.05."""
    lam = sde.eigenvalues()
    rates, omegas = -lam.real, np.abs(lam.imag)
    if method == "exact":
        cands = [0.25 / np.max(rates)]
        if np.any(omegas > 0):
            cands.append(2 * np.pi / np.max(omegas) / 16)
        return float(min(cands))
    with np.errstate(divide="ignore"):
        bias = np.where(omegas > 0, 0.02 * rates / np.maximum(omegas**2, 1e-300), np.inf)
    return float(min(0.05 / np.max(np.abs(lam)), np.min(bias)))


def run_simulation(
    netlist: Netlist,
    duration: float,
    *,
    dt: float | None = None,
    chains: int = 1,
    seed: int = 0,
    method: str = "exact",
    burn_in: float = 0.0,
    save_every: int = 1,
    float32: bool = False,
    progress: bool = False,
    x0: np.ndarray | None = None,
) -> Trajectory:
    """Simulate a netlist: linear ones start from their exact stationary distribution,
    nonlinear ones from zero charge, unless ``x0`` ((n,) or (chains, n), SI units in
    state order) is given."""
    if not (np.isfinite(duration) and duration > 0):
        raise InputError(f"--duration must be positive, got {duration}")
    if not netlist.is_linear:
        from .sde.nonlinear import NonlinearSDE

        if method != "euler":
            raise InputError(
                f"{netlist.source or netlist.name}: the circuit is nonlinear; the exact method needs "
                "a linear circuit: use --method euler"
            )
        nsde = NonlinearSDE.from_netlist(netlist)
        h = dt if dt is not None else nsde.default_dt()
        if int(round(duration / (h * save_every))) < 1:
            raise InputError(
                f"duration {duration:g} s is shorter than one saved step ({h * save_every:g} s)"
            )
        return simulate(
            nsde,
            "euler",
            0.0,
            duration,
            h,
            seed,
            chains=chains,
            x0=_check_x0(x0, nsde, chains, netlist),
            save=SaveAt(every=save_every, t_start=burn_in),
            dtype=np.float32 if float32 else np.float64,
            progress=progress,
        )
    sde = assemble(netlist).to_sde()
    h = dt if dt is not None else default_dt(sde, method)
    if int(round(duration / (h * save_every))) < 1:
        raise InputError(
            f"duration {duration:g} s is shorter than one saved step ({h * save_every:g} s)"
        )
    return simulate(
        sde,
        method,
        0.0,
        duration,
        h,
        seed,
        chains=chains,
        x0=_check_x0(x0, sde, chains, netlist),
        save=SaveAt(every=save_every, t_start=burn_in),
        dtype=np.float32 if float32 else np.float64,
        progress=progress,
    )


def _check_x0(x0: np.ndarray | None, sde, chains: int, netlist: Netlist):
    if x0 is None:
        return "stationary" if netlist.is_linear else "zeros"
    x0 = np.asarray(x0, dtype=float)
    n = sde.dim
    if x0.shape not in ((n,), (chains, n)):
        raise InputError(
            f"--x0: expected shape ({n},) or ({chains}, {n}) for {n} states "
            f"({', '.join(sde.state_names[:4])}{', ...' if n > 4 else ''}), got {x0.shape}"
        )
    if not np.all(np.isfinite(x0)):
        raise InputError("--x0: contains non-finite values")
    return x0


def trajectory_summary(traj: Trajectory, netlist: Netlist) -> dict[str, Any]:
    """Sample voltage covariance with standard errors and N_eff, beside the exact
    (Lyapunov) value and the z-scores of the difference."""
    est = covariance_with_errors(traj.voltages)
    theory = z = None
    if netlist.is_linear:
        sde = assemble(netlist).to_sde()
        n = sde.n_voltage
        theory = sde.stationary_covariance()[:n, :n]
        z = est.z_scores(theory)
    key = "voltage" if netlist.is_linear else "charge"
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
