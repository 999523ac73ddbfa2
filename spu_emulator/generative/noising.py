"""The noising protocol and the sufficient statistics of the training loss.

Noising (physics.md §6): couplings off, every unit sits in its single-unit well
J₂x² + J₄x⁴ plus a field a(t) s̃_i pinning it to the target s̃ (a visible unit's
target is its pixel in [−1, 1]; a hidden unit's target is a fixed projection of the
image). The forward dynamics are

    dx_i = −μ (2J₂ x_i + 4J₄ x_i³ − a(t) s̃_i) dt + sqrt(2 μ kT) dW_i.

From x = 0 the field is held at a₀ for ``t_settle`` (not recorded), then the recorded
trajectory ramps a(t) = a₀ (1 − t / (ρ t_f)) to zero at ρ t_f (ρ = ``ramp_fraction``,
0.75 in the paper) and holds zero until t_f.

Training loss: for every recorded Euler step x → x′ the time-reversed step x′ → x of
the coupled, field-free computer has −ln P = Σ_i r_i² / (4 μ kT Δt) + const with

    r = d + μ Δt (J y + b),   y = x′,   d = x − x′ + μ Δt (2J₂ y + 4J₄ y³).

With W = [J | b] (N, N+1) and ỹ = (y, 1), Σ_steps ‖r‖² = S + 2μΔt ⟨W, D⟩ + μ²Δt² tr(W C Wᵀ)
where S = Σ ‖d‖², D = Σ d ỹᵀ and C = Σ ỹ ỹᵀ. With time-dependent biases b + b′φ(t)
(``time_bias``; φ a fixed piecewise-linear ramp, :func:`ramp_points`) the feature φ at
the step's y joins the constant: ỹ = (y, 1, φ), W = [J | b | b′], and the loss stays
quadratic in W. These three sums (:class:`Stats`) are all
the loss, its gradient and its exact minimizer need: they are accumulated over
batches of images and noise trajectories with matrix products, O(B T N²) per batch of
B trajectories of T steps, and O(N²) memory whatever the number of trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..integrate.euler import EulerMaruyama
from ..integrate.noise import SequentialNoise
from ..integrate.simulate import Stepper
from ..sde.base import LangevinSDE
from .dynamics import advance_blocks, run_steps, step_index, step_sigma

Array = np.ndarray


@dataclass(frozen=True)
class Protocol:
    """Time grid and field schedule of noising (and the duration of generation).

    ``dt``: Euler step; ``t_f``: recorded noising time (= coupled generation time);
    ``a0``: field strength; ``ramp_fraction``: the field reaches zero at
    ramp_fraction·t_f; ``t_settle``: unrecorded settling time at a0 (default t_f)."""

    dt: float = 1e-3
    t_f: float = 2.5
    a0: float = 2.0
    ramp_fraction: float = 0.75
    t_settle: float | None = None

    @property
    def n_steps(self) -> int:
        return int(round(self.t_f / self.dt))

    @property
    def n_settle(self) -> int:
        return int(round((self.t_f if self.t_settle is None else self.t_settle) / self.dt))

    def field(self, t: float) -> float:
        """a(t) = a0 max(0, 1 − t / (ρ t_f)) on the recorded segment (t from 0)."""
        return self.a0 * max(0.0, 1.0 - t / (self.ramp_fraction * self.t_f))


TIME_BIAS = ("none", "linear", "field")


def ramp_points(kind: str, protocol: Protocol) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Breakpoints (forward noising time, φ) of the piecewise-linear time feature φ(t)
    of the time-dependent biases b + b′φ (held constant outside the points):

    - "linear": φ = clip(t / t_f, 0, 1);
    - "field": φ = 1 − a(t)/a₀ = clip(t / (ρ t_f), 0, 1) (the noising field's own ramp).

    φ is 0 at the clean end (t = 0) and 1 at the noisy end (t = t_f)."""
    if kind == "linear":
        return (0.0, protocol.t_f), (0.0, 1.0)
    if kind == "field":
        return (0.0, protocol.ramp_fraction * protocol.t_f), (0.0, 1.0)
    raise ValueError(f"no time feature for time_bias {kind!r}")


def time_feature(kind: str, protocol: Protocol, t: float) -> float:
    """φ(t) at forward noising time t (see :func:`ramp_points`)."""
    ts, vs = ramp_points(kind, protocol)
    return float(np.interp(t, ts, vs))


def generation_ramp_points(kind: str, protocol: Protocol, stretch: float = 1.0
                           ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Breakpoints (generation time s, φ) of :func:`generation_feature` (constant
    outside them): the noising ramp reversed, s = λ (t_f − t), λ = ``stretch``."""
    ts, vs = ramp_points(kind, protocol)
    return tuple(stretch * (protocol.t_f - t) for t in reversed(ts)), tuple(reversed(vs))


def generation_feature(kind: str, protocol: Protocol, s: float, stretch: float = 1.0) -> float:
    """φ at generation time s (from coupling switch-on): the reverse of the noising
    schedule, φ(t_f − s/λ) (λ = ``stretch`` ≥ 1 runs it slower than noising); 0 (the
    clean end's value) once s ≥ λ t_f."""
    return time_feature(kind, protocol, protocol.t_f - s / stretch)


@dataclass
class Stats:
    """Sufficient statistics of the quadratic training loss (see module docstring).

    ``S`` = Σ‖d‖², ``D`` (N, N+1) = Σ d ỹᵀ, ``C`` (N+1, N+1) = Σ ỹ ỹᵀ, summed over
    all recorded steps of ``n_traj`` trajectories of ``n_steps`` steps each."""

    S: float
    D: Array
    C: Array
    n_traj: int
    n_steps: int

    @classmethod
    def zeros(cls, n_units: int, n_steps: int, n_features: int = 0) -> Stats:
        k = n_units + 1 + n_features
        return cls(0.0, np.zeros((n_units, k)), np.zeros((k, k)), 0, n_steps)

    def __add__(self, other: Stats) -> Stats:
        if self.n_steps != other.n_steps or self.D.shape != other.D.shape:
            raise ValueError("cannot add statistics of different shapes")
        return Stats(self.S + other.S, self.D + other.D, self.C + other.C,
                     self.n_traj + other.n_traj, self.n_steps)


def single_unit_force(x: Array, J2: float, J4: float) -> Array:
    """∂/∂x of J₂x² + J₄x⁴ (elementwise)."""
    return 2.0 * J2 * x + 4.0 * J4 * x * x * x


def noising_sde(targets: Array, protocol: Protocol, J2: float, J4: float, kT: float,
                mu: float) -> LangevinSDE:
    """The forward noising dynamics of a batch of targets s̃ (B, N) as an SDE,

        dx = −μ (2J₂x + 4J₄x³ − a(t) s̃) dt + sqrt(2 μ kT) dW,

    with t from the start of the recorded segment: a(t) = a₀ while settling (t < 0),
    then :meth:`Protocol.field`, read at the step index k (a(k Δt), see
    :func:`~.dynamics.step_index`). σ is :func:`~.dynamics.step_sigma` of 2μkT, so the
    per-step amplitude is √(2μkTΔt). Cost per drift evaluation: O(B N)."""
    dt = protocol.dt
    settle_field = protocol.a0 * targets

    def drift(x: Array, t: float) -> Array:
        k = step_index(t, dt)
        g = np.subtract(settle_field if k < 0 else protocol.field(k * dt) * targets,
                        single_unit_force(x, J2, J4))  # a s̃ − F(x) = −(F(x) − a s̃) exactly
        if mu != 1.0:
            g *= mu
        return g

    return LangevinSDE(drift, targets.shape[1], step_sigma(2.0 * mu * kT, dt), dt)


def noising_trajectories(
    targets: Array,
    protocol: Protocol,
    J2: float,
    J4: float,
    kT: float,
    mu: float,
    rng: np.random.Generator,
    stats: Stats | None = None,
    record: bool = False,
    chunk: int = 25,
    time_bias: str = "none",
) -> tuple[Stats, Array | None]:
    """Run the noising protocol on a batch of targets s̃ (B, N) and accumulate the loss
    statistics of the recorded steps into ``stats`` (a new :class:`Stats` is returned).

    From x = 0, :func:`noising_sde` is stepped with Euler–Maruyama (one
    :class:`~spu_emulator.integrate.simulate.Stepper`, normals straight from ``rng`` in
    step order): n_settle unrecorded steps, then the T recorded ones, whose states go
    straight into the rows (step, chain) of the statistics' design matrix, ``chunk``
    steps of rows at a time (d of each step is formed as soon as its state is, while it
    is in cache). ``record=True`` also returns the recorded path
    (T+1, B, N) (for tests and plots; memory T·B·N). Cost: (n_settle + T)·B·N normals
    and T·B·N² flops for the sums, done as one matrix product per ``chunk`` steps.
    """
    B, n = targets.shape
    dt = protocol.dt
    T = protocol.n_steps
    nf = 0 if time_bias == "none" else 1
    out = Stats.zeros(n, T, nf) if stats is None else Stats(stats.S, stats.D.copy(), stats.C.copy(),
                                                         stats.n_traj, stats.n_steps)
    if out.n_steps != T or out.D.shape != (n, n + 1 + nf):
        raise ValueError("stats do not match this protocol / model size")
    st = Stepper(noising_sde(targets, protocol, J2, J4, kT, mu), EulerMaruyama(), dt,
                 np.zeros((B, n)), SequentialNoise(rng, B, n), t0=-protocol.n_settle * dt)
    x = run_steps(st, protocol.n_settle)
    path = np.empty((T + 1, B, n)) if record else None
    if path is not None:
        path[0] = x
    ybuf = np.ones((chunk, B, n + 1 + nf))
    dbuf = np.empty((chunk, B, n))
    # each step's state lands in its row block of ybuf[:, :, :n]: rows in (step, chain) order
    for k, xs in advance_blocks(st, T, chunk,
                                out=lambda k, m: ybuf[k % chunk: k % chunk + m, :, :n].transpose(1, 0, 2)):
        m = xs.shape[1]
        for i in range(m):
            j = (k + i) % chunk
            x_new = ybuf[j, :, :n] if i < m - 1 else st.x  # (the last one: a contiguous copy)
            if nf:  # the feature at the forward time of y = x(t_{k+1})
                ybuf[j, :, n + 1] = time_feature(time_bias, protocol, (k + i + 1) * dt)
            dbuf[j] = x - x_new + mu * dt * single_unit_force(x_new, J2, J4)
            x = x_new
            if path is not None:
                path[k + i + 1] = x
        done = k + m
        if done % chunk and done < T:
            continue
        m = (done - 1) % chunk + 1  # steps in this chunk: its statistics
        Y = ybuf[:m].reshape(m * B, n + 1 + nf)
        Dm = dbuf[:m].reshape(m * B, n)
        out.C += Y.T @ Y
        out.D += Dm.T @ Y
        out.S += float(np.einsum("ij,ij->", Dm, Dm))
    out.n_traj += B
    return out, path
