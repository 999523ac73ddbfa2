"""One stepping loop for every integrator: :class:`Stepper`, and
``simulate(sde, integrator, ...) -> Trajectory`` over it.

Everything that advances chains in time — ``spu simulate``, the sampling layer's
boards, the generative computer's noising and generation, the SPICE statistics
reference — goes through :class:`Stepper`: it checks that the integrator supports the
SDE, builds the integrator's plan once, and advances the batch block by block from
its current state, drawing normals from one noise source.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, InstabilityError, PrecisionWarning
from ..resources import Budget
from .base import Integrator
from .euler import EulerMaruyama, Heun
from .exact import Exact
from .noise import NoiseSource, SequentialNoise
from .progress import Progress

#: Warn when rounding F to the working precision may shift a decay rate by more than this.
ROUNDING_DRIFT_WARN = 1e-3
#: Numbers of burn-in states held at once (a long burn-in runs in blocks of this size).
BURN_IN_NUMBERS = 1 << 22


def trajectory_bytes(chains: int, kept: int, n: int, dtype: Any = np.float64) -> float:
    """Memory (bytes) a run holds: the kept states, plus the integrator's working blocks
    (normals, chunk buffers, power tables: bounded, ~0.1 GB at most)."""
    return float(chains) * kept * n * np.dtype(dtype).itemsize + 1.5e8


def check_finite(states: Array, t: Array, method: str, dt: float) -> None:
    """Fail with one line, naming when, if a run produced non-finite states (it diverged):
    a trajectory of NaNs is never written as a result."""
    bad = ~np.isfinite(states)
    if bad.any():
        k = int(np.argmax(bad.any(axis=(0, 2))))
        raise InstabilityError(
            f"the {method} run diverged (non-finite states from t = {t[k]:.3g} s on): the step "
            f"dt = {dt:.3g} s is too large for the circuit's stiffness, or its values overflow"
        )

Array = np.ndarray

INTEGRATORS: dict[str, type[Integrator]] = {"exact": Exact, "euler": EulerMaruyama, "heun": Heun}
#: How a run draws its normals: from independent streams spawned from the seed (the
#: default; threads allowed), or in order from the caller's generator itself.
NOISE_MODES = ("streams", "sequential")


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
    node_names: tuple[str, ...] = ()

    @property
    def chains(self) -> int:
        return self.states.shape[0]

    @property
    def voltages(self) -> Array:
        """The node states (B, T, n_voltage): voltages, or charges of a nonlinear circuit."""
        return self.states[:, :, : self.n_voltage]

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.node_names

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


def as_generator(rng: np.random.Generator | int | None) -> tuple[np.random.Generator, int | None]:
    """(generator, seed or None): an explicit seed or Generator is required (no global
    randomness)."""
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        raise InputError(
            "simulate needs an explicit seed or numpy Generator (no global randomness)"
        )
    seed = int(rng)
    return np.random.default_rng(seed), seed


def get_integrator(integrator: Integrator | str) -> Integrator:
    """An integrator instance from itself or its name (one of :data:`INTEGRATORS`)."""
    if isinstance(integrator, str):
        if integrator not in INTEGRATORS:
            raise InputError(
                f"unknown method {integrator!r} (choose from {', '.join(INTEGRATORS)})"
            )
        return INTEGRATORS[integrator]()
    return integrator


class Stepper:
    """Advance B chains of ``sde`` with ``integrator`` from ``x0`` (B, n): the loop
    every run goes through.

    ``dt`` is the integration step; states are kept every ``save_every`` steps (exact
    integrators jump straight over the steps in between: their plan is built for
    h = save_every·dt). ``noise`` supplies the standard normals (a
    :class:`~.noise.NoiseSource` or :class:`~.noise.SequentialNoise`); ``plan``, if
    given, replaces ``integrator.init(sde, h, dtype)``; ``steps``, the planned number
    of integration steps if known, lets the step check judge a short run (see
    :meth:`~.base.Integrator.check_step`). Each :meth:`advance` continues from where the
    last one ended (state and time).
    """

    def __init__(
        self,
        sde: Any,
        integrator: Integrator | str,
        dt: float,
        x0: Array,
        noise: NoiseSource,
        *,
        t0: float = 0.0,
        save_every: int = 1,
        dtype: Any = np.float64,
        plan: Any = None,
        steps: float | None = None,
    ):
        self.integrator = get_integrator(integrator)
        reason = self.integrator.supports(sde)
        if reason:
            raise InputError(reason)
        if not (np.isfinite(dt) and dt > 0):
            raise InputError(f"must be positive, got {dt!r}", "dt")
        if int(save_every) < 1:
            raise InputError(f"must be ≥ 1, got {save_every}", "save_every")
        unstable = self.integrator.check_step(sde, float(dt), steps)
        if unstable:
            raise InputError(unstable, "dt")
        self.sde, self.dt, self.t0 = sde, float(dt), float(t0)
        self.every = int(save_every)
        self.dtype = np.dtype(dtype)
        self.h = self.dt * self.every if self.integrator.exact else self.dt
        self.plan = plan if plan is not None else self.integrator.init(sde, self.h, self.dtype)
        self.noise = noise
        self.x = np.asarray(x0).astype(self.dtype)
        self.steps = 0  # integration steps done

    @property
    def t(self) -> float:
        """Time of the current state."""
        return self.t0 + self.steps * self.dt

    @property
    def chains(self) -> int:
        return self.x.shape[0]

    def advance(self, n_saved: int, out: Array | None = None, progress=None) -> Array:
        """Run ``n_saved`` × save_every steps; return (and write into ``out``, if given)
        the kept states (B, n_saved, n). ``progress(k)`` is called with kept-state
        counts as they complete."""
        B, n = self.x.shape
        if out is None:
            out = np.empty((B, n_saved, n), self.dtype)
        if n_saved <= 0:
            return out
        kw = {} if self.integrator.exact else {"save_every": self.every}
        self.integrator.run(self.plan, self.x, n_saved, self.noise, self.t, self.dt, out,
                            progress, **kw)
        self.x = out[:, -1].copy()
        self.steps += n_saved * self.every
        return out


def simulate(
    sde: Any,
    integrator: Integrator | str = "exact",
    t0: float = 0.0,
    t1: float = 1e-6,
    dt: float = 1e-9,
    rng: np.random.Generator | int | None = None,
    *,
    chains: int = 1,
    x0: Array | str | None = "auto",
    save: SaveAt = SaveAt(),
    dtype: Any = np.float64,
    threads: bool = True,
    noise: str = "streams",
    progress: Progress | None = None,
    budget: Budget | None = None,
) -> Trajectory:
    """Integrate ``sde`` from t0 to t1 with step dt for ``chains`` independent chains.

    ``x0``: an array (n,) or (chains, n), ``"zeros"``, ``"stationary"`` (draw from
    the exact stationary law: SDEs that have one, i.e. linear ones), or ``"auto"``
    (stationary where known, else zeros). Exact integrators jump straight over
    unsaved steps (F and Q of save.every·dt). ``noise``: ``"streams"`` (independent
    streams spawned from ``rng``; ``threads`` may fill them concurrently: same bytes)
    or ``"sequential"`` (every normal straight from ``rng``, in step order).
    ``progress`` (see :mod:`.progress`) hears of every saved state. ``budget``
    (:class:`~spu_emulator.resources.Budget`) bounds the run's memory and work: a run
    beyond it is refused before it starts, with its estimate. A run whose states
    become non-finite (an explicit method diverging) raises InstabilityError.
    Returns a :class:`Trajectory` with states at t0 + k·save.every·dt for k ≥ 1 and
    t ≥ save.t_start. Cost: O(steps · chains · n · r) for the exact method.
    """
    integrator = get_integrator(integrator)
    reason = integrator.supports(sde)
    if reason:
        raise InputError(reason, "method")
    if not (np.isfinite(dt) and dt > 0):
        raise InputError(f"must be positive, got {dt!r}", "dt")
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise InputError(f"the end time must exceed the start time (t0={t0}, t1={t1})")
    if chains < 1:
        raise InputError(f"must be ≥ 1, got {chains}", "chains")
    every = int(save.every)
    if every < 1:
        raise InputError(f"must be ≥ 1, got {every}", "save_every")
    if noise not in NOISE_MODES:
        raise InputError(f"must be one of {', '.join(NOISE_MODES)}, got {noise!r}", "noise")
    dtype = np.dtype(dtype)
    n = sde.dim
    steps_float = (t1 - t0) / dt
    if not np.isfinite(steps_float):
        raise InputError(f"the run has no finite number of steps ((t1 - t0) / dt = {steps_float})",
                         "dt")
    budget = budget or Budget()
    raw = chains * (steps_float / every if integrator.exact else steps_float)
    budget.check_steps(raw, "this run", "shorten `duration`, lengthen `dt` or use fewer `chains`")
    total_steps = int(round(steps_float))
    n_saved = total_steps // every
    skip = int(np.ceil(max(save.t_start - t0, 0.0) / (every * dt) - 1e-9))
    skip = min(skip, n_saved)
    if n_saved - skip < 1:
        raise InputError(
            "no state would be kept: the run is no longer than the burn-in"
            if skip else "no state would be kept: the run is shorter than one saved step",
            "burn_in" if skip else "duration",
        )
    kept = trajectory_bytes(chains, n_saved - skip, n, dtype)
    budget.check_memory(kept, "the trajectory",
                        "shorten `duration`, use fewer `chains` or raise `save_every`")
    budget.check_output(kept - 1.5e8, "the trajectory")
    gen, seed = as_generator(rng)

    # Initial state.
    init_rng = np.random.Generator(np.random.SFC64(gen.bit_generator.seed_seq.spawn(1)[0]))
    if isinstance(x0, str):
        if x0 not in ("auto", "stationary", "zeros"):
            raise InputError(f"x0 must be 'auto', 'stationary', 'zeros' or an array, got {x0!r}")
        start = None if x0 == "zeros" else sde.stationary_sample(chains, init_rng)
        if start is None:
            if x0 == "stationary":
                raise InputError(
                    "x0='stationary' needs an SDE with a closed-form stationary law (a linear "
                    "circuit); start from 'zeros' or a given state"
                )
            start = np.zeros((chains, n))
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
    if noise == "streams":
        source = NoiseSource(gen, chains, integrator.noise_dim(plan), dtype, threads=threads)
    else:
        source = SequentialNoise(gen, chains, integrator.noise_dim(plan), dtype)
    stepper = Stepper(sde, integrator, dt, start, source, t0=t0, save_every=every, dtype=dtype,
                      plan=plan, steps=total_steps)
    report = None
    if progress is not None:
        progress.start(n_saved, "step")
        report = progress.update
    t_start = time.perf_counter()
    try:
        # burn-in: simulated, not kept (in blocks: only its last state is needed)
        block = max(1, BURN_IN_NUMBERS // max(chains * n, 1))
        done = 0
        while done < skip:
            m = skip if skip <= block else min(block, skip - done)
            stepper.advance(m, progress=report)
            done += m
        out = stepper.advance(n_saved - skip, progress=report)
    finally:
        source.close()
        if progress is not None:
            progress.close()
    wall = time.perf_counter() - t_start
    check_finite(out, t0 + (np.arange(skip, n_saved) + 1) * every * dt, integrator.name, dt)
    t = t0 + (np.arange(skip, n_saved) + 1) * every * dt
    return Trajectory(
        t=t,
        states=out,
        state_names=tuple(sde.state_names),
        n_voltage=sde.n_voltage,
        seed=seed,
        method=integrator.name,
        dt=dt,
        netlist_digest=sde.netlist_digest,
        netlist_name=sde.netlist_name,
        wall_time=wall,
        meta={"save_every": every, "chains": chains, "dtype": dtype.name, "rounding_drift": drift},
        node_names=tuple(sde.node_names),
    )


__all__ = ["INTEGRATORS", "NOISE_MODES", "SaveAt", "Stepper", "Trajectory", "as_generator",
           "get_integrator", "simulate"]
