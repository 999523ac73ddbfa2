"""One entry point for every integrator: ``simulate(sde, integrator, ...) -> Trajectory``."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, PrecisionWarning
from .base import Integrator, NoiseSource
from .euler import EulerMaruyama
from .exact import Exact

#: Warn when rounding F to the working precision may shift a decay rate by more than this.
ROUNDING_DRIFT_WARN = 1e-3

Array = np.ndarray

INTEGRATORS: dict[str, type[Integrator]] = {"exact": Exact, "euler": EulerMaruyama}


@dataclass(frozen=True, slots=True)
class SaveAt:
    """Which states to keep: every ``every``-th step, from time ``t_start`` on
    (states before it are simulated, not stored: a burn-in)."""

    every: int = 1
    t_start: float = 0.0


@dataclass(frozen=True, eq=False)
class Trajectory:
    """States of B chains at saved times.

    ``states`` (B, T, n) in SI units, ``t`` (T,) seconds, ``state_names`` (n,).
    Provenance: ``seed``, ``method``, ``dt`` (integration step), ``netlist_digest``.
    """

    t: Array
    states: Array
    state_names: tuple[str, ...]
    n_voltage: int
    seed: int | None
    method: str
    dt: float
    netlist_digest: str = ""
    netlist_name: str = ""
    wall_time: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def chains(self) -> int:
        return self.states.shape[0]

    @property
    def voltages(self) -> Array:
        return self.states[:, :, : self.n_voltage]

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(s[2:-1] for s in self.state_names[: self.n_voltage])

    def to_npz_dict(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "states": self.states,
            "state_names": np.array(self.state_names),
            "nodes": np.array(self.nodes),
            "n_voltage": np.int64(self.n_voltage),
            "seed": np.int64(-1 if self.seed is None else self.seed),
            "method": np.array(self.method),
            "dt": np.float64(self.dt),
            "netlist_digest": np.array(self.netlist_digest),
            "netlist_name": np.array(self.netlist_name),
        }


def _as_rng(rng: np.random.Generator | int | None) -> tuple[np.random.Generator, int | None]:
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        raise InputError(
            "simulate needs an explicit seed or numpy Generator (no global randomness)"
        )
    seed = int(rng)
    return np.random.default_rng(seed), seed


def simulate(
    sde: Any,
    integrator: Integrator | str = "exact",
    t0: float = 0.0,
    t1: float = 1e-6,
    dt: float = 1e-9,
    rng: np.random.Generator | int | None = None,
    *,
    chains: int = 1,
    x0: Array | str | None = "stationary",
    save: SaveAt = SaveAt(),
    dtype: Any = np.float64,
    threads: bool = True,
    progress: bool | Any = False,
) -> Trajectory:
    """Integrate ``sde`` from t0 to t1 with step dt for ``chains`` independent chains.

    ``x0``: an array (n,) or (chains, n), ``"zeros"``, or ``"stationary"`` (draw from
    the exact stationary distribution, linear SDEs only; nonlinear ones start at 0).
    Exact integrators jump straight over unsaved steps (F and Q of save.every·dt).
    Returns a :class:`Trajectory` with states at t0 + k·save.every·dt for k ≥ 1 and
    t ≥ save.t_start. Cost: O(steps · chains · n · r) for the exact method.
    """
    if isinstance(integrator, str):
        if integrator not in INTEGRATORS:
            raise InputError(
                f"unknown method {integrator!r} (choose from {', '.join(INTEGRATORS)})"
            )
        integrator = INTEGRATORS[integrator]()
    if not (np.isfinite(dt) and dt > 0):
        raise InputError(f"step dt must be positive, got {dt!r}")
    if not t1 > t0:
        raise InputError(f"end time must exceed start time (t0={t0}, t1={t1})")
    if chains < 1:
        raise InputError(f"chains must be ≥ 1, got {chains}")
    every = int(save.every)
    if every < 1:
        raise InputError(f"save every must be ≥ 1, got {every}")
    gen, seed = _as_rng(rng)
    n = sde.dim if hasattr(sde, "dim") else len(sde.state_names)
    total_steps = int(round((t1 - t0) / dt))
    n_saved = total_steps // every
    skip = int(np.ceil(max(save.t_start - t0, 0.0) / (every * dt) - 1e-9))
    skip = min(skip, n_saved)
    dtype = np.dtype(dtype)

    # Initial state.
    init_rng = np.random.Generator(np.random.SFC64(gen.bit_generator.seed_seq.spawn(1)[0]))
    if isinstance(x0, str):
        if x0 == "stationary" and hasattr(sde, "equilibrium_covariance"):
            # Boltzmann k_B T M⁻¹ at one temperature, else Lyapunov (shared with the plan)
            w, V = np.linalg.eigh(sde.equilibrium_covariance())
            Lw = V * np.sqrt(np.clip(w, 0, None))
            start = sde.stationary_mean() + init_rng.standard_normal((chains, n)) @ Lw.T
        elif x0 in ("stationary", "zeros"):
            start = np.zeros((chains, n))
        else:
            raise InputError(f"x0 must be 'stationary', 'zeros' or an array, got {x0!r}")
    else:
        start = np.broadcast_to(np.asarray(x0, float), (chains, n)).copy()
    start = start.astype(dtype)

    h = dt * every if integrator.exact else dt
    plan = integrator.init(sde, h, dtype)
    drift = 0.0  # float64: ε = 1e-16 never matters
    if dtype != np.float64 and hasattr(integrator, "rounding_drift"):
        drift = integrator.rounding_drift(plan, chains)
    if drift > ROUNDING_DRIFT_WARN:
        # small batches anchor in float64 (except for very big states): say so if it helps
        fewer = integrator.rounding_drift(plan, 1) <= ROUNDING_DRIFT_WARN
        warnings.warn(
            f"{dtype.name} run: rounding the step's propagator to {dtype.name} may shift the "
            f"slowest decay rate by ~{drift:.1%} (many steps per relaxation time); use "
            "float64, a longer step" + (", or fewer than 128 chains" if fewer else ""),
            PrecisionWarning,
            stacklevel=2,
        )
    noise = NoiseSource(gen, chains, integrator.noise_dim(plan), dtype, threads=threads)
    bar = _progress_bar(progress, n_saved)
    t_start = time.perf_counter()
    try:
        x = start
        kw = {} if integrator.exact else {"save_every": every}
        if skip:
            burn = np.empty((chains, skip, n), dtype)
            integrator.run(plan, x, skip, noise, t0, dt, burn, bar, **kw)
            x = burn[:, -1].copy()
            del burn
        out = np.empty((chains, n_saved - skip, n), dtype)
        if n_saved - skip:
            integrator.run(
                plan, x, n_saved - skip, noise, t0 + skip * every * dt, dt, out, bar, **kw
            )
    finally:
        noise.close()
        if hasattr(bar, "close"):
            bar.close()
    wall = time.perf_counter() - t_start
    t = t0 + (np.arange(skip, n_saved) + 1) * every * dt
    return Trajectory(
        t=t,
        states=out,
        state_names=tuple(sde.state_names),
        n_voltage=getattr(sde, "n_voltage", n),
        seed=seed,
        method=integrator.name,
        dt=dt,
        netlist_digest=getattr(sde, "netlist_digest", ""),
        netlist_name=getattr(sde, "netlist_name", ""),
        wall_time=wall,
        meta={"save_every": every, "chains": chains, "dtype": dtype.name, "rounding_drift": drift},
    )


def _progress_bar(progress: bool | Any, total: int):
    """A callable taking step counts: tqdm on a terminal when available, else None."""
    if not progress:
        return None
    if callable(progress):
        return progress
    import sys

    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainProgress(total)
    bar = tqdm(total=total, unit="step", unit_scale=True, dynamic_ncols=True, leave=False)

    class _Bar:
        def __call__(self, k: int) -> None:
            bar.update(k)

        def close(self) -> None:
            bar.close()

    return _Bar()


class _PlainProgress:
    def __init__(self, total: int):
        self.total, self.done, self.last = total, 0, 0.0

    def __call__(self, k: int) -> None:
        import sys

        self.done += k
        now = time.perf_counter()
        if now - self.last > 0.5 or self.done >= self.total:
            self.last = now
            sys.stderr.write(f"\r  simulating: {100 * self.done / max(self.total, 1):5.1f}%")
            sys.stderr.flush()

    def close(self) -> None:
        import sys

        sys.stderr.write("\n")
