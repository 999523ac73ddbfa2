"""Generation: the trained computer's own Langevin dynamics turn thermal noise into images.

Protocol (physics.md §6): from x = 0 run the uncoupled, field-free units for t_f (this
is the thermal noise the computer starts from), switch on the trained couplings and
biases (fixed θ) and run dx = −μ ∇V_θ dt + sqrt(2 μ kT) dW for the generation time; read
the visible units (a snapshot, or their time average over the last ``readout_window``,
as an integrating ADC would) and map them to pixels.

With time-dependent biases (``time_bias``) the biases are b + b′φ(s) during the coupled
phase, φ the noising ramp run backwards (stretched by ``ramp_stretch``) and 0 after it.

Heat: with fixed θ, V_θ does not change during the coupled phase, so the heat released
to the bath by one sample is Q = V_θ(x(start of coupled phase)) − V_θ(x(end)) (first
law with no work done); with time-dependent biases, V(x, s) = V_θ(x) + φ(s) b′·x and
the bias sources do the work W = Σ_k (φ(s_{k+1}) − φ(s_k)) b′·x_{k+1} (s_k = kΔt, the
step's ∫ ∂_s V ds), so Q = −ΔV + W. Reported in kT and in joules at the bath
temperature.

Both phases step through :func:`~.dynamics.stepper` (a LangevinSDE on the project's
Stepper) with normals drawn from the caller's generator in step order; the bias ramp is
read on the step grid, φ(s_k) with k the step index.

Cost: count·(t_f + t_gen)/Δt steps, each one (count, N)·(N, N) product for the coupled
phase (2 for ``heun``); memory count·window·n_visible for the readout window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..integrate.noise import SequentialNoise
from ..integrate.progress import Progress
from ..resources import Budget
from .dynamics import advance_blocks, check_method, run_steps, step_index, stepper
from .noising import generation_feature, single_unit_force
from .trained import TrainedModel

Array = np.ndarray


@dataclass(frozen=True)
class Generation:
    """``images`` (count, h, w) in the data's pixel scale, ``x`` (count, N) final states,
    ``heat_kT`` (count,) heat released per sample in units of kT, ``x_start`` (count, N)
    the states at coupling switch-on (the end of the noise phase: the start states of
    the circuit-level run, :mod:`~spu_emulator.generative.circuit`); with ``record``,
    ``path`` (count, n_gen + 1, N) the coupled phase's states x₀ = x_start, …, x_n = x
    at generation times s_k = k Δt (else None)."""

    images: Array
    x: Array
    heat_kT: Array
    x_start: Array
    path: Array | None = None


def generate(
    tm: TrainedModel,
    count: int,
    rng: np.random.Generator,
    method: str = "euler",
    chunk: int = 1024,
    record: bool = False,
    progress: Progress | None = None,
    budget: Budget | None = None,
) -> Generation:
    """Draw ``count`` samples from the trained computer (see module docstring), ``chunk``
    chains at a time, each chunk's normals drawn from ``rng`` in step order (free phase,
    then coupled phase). ``record`` keeps the coupled phase's path (memory
    count·n_gen·N); ``progress`` hears of every block of steps; ``budget`` bounds the
    memory and steps (a request beyond it is refused before it starts)."""
    if count < 1:
        raise InputError(f"must be >= 1, got {count}", "count")
    check_method(method)
    c = tm.config
    m = tm.model
    dt = c.dt
    sigma = m.diffusion
    n_noise = c.protocol.n_steps
    if not (np.isfinite(c.generation_time) and c.generation_time > 0):
        raise InputError(f"must be positive and finite, got {c.generation_time}", "gen_time")
    limits = budget or Budget()
    limits.check_steps(float(count) * (n_noise + c.generation_time / dt),
                       "this generation", "draw fewer `count` or shorten `gen_time`")
    n_gen = int(round(c.generation_time / dt))
    n_win = min(int(round(c.readout_window / dt)), n_gen)
    per = (m.n_visible + 2 * m.n_units + 2) * 8 + (n_gen * m.n_units * 8 if record else 0)
    limits.check_memory(float(count) * per + min(count, chunk) * m.n_units * 8 * (n_win + 4) + 1.5e8,
                        "the samples", "draw fewer `count`")
    first = n_gen - n_win  # coupled steps before the readout window
    nv = m.n_visible
    f = m.drift()
    timedep = c.n_time_features > 0
    bp = tm.ramp_bias
    # the bias ramp φ(s_k) at each generation step s_k = k Δt (k = 0 … n_gen)
    phis = np.array([generation_feature(c.time_bias, c.protocol, k * dt, c.ramp_stretch)
                     for k in range(n_gen + 1)]) if timedep else np.zeros(n_gen + 1)
    dphi = np.diff(phis)

    def free(x: Array, t: float) -> Array:
        return -c.mu * single_unit_force(x, c.J2, c.J4)

    def coupled(x: Array, t: float) -> Array:
        if timedep:  # b(s) = b + b′φ(s): the extra force −μ b′φ(s)
            p = phis[min(step_index(t, dt), n_gen)]
            if p != 0.0:
                return f(x) - (c.mu * p) * bp
        return f(x)

    def energy(x: Array, k: int) -> Array:  # V(x, s_k) = V_θ(x) + φ(s_k) b′·x
        e = m.energy(x)
        if timedep:
            e = e + phis[k] * (x @ bp)
        return e

    if progress is not None:
        progress.start(count * (n_noise + n_gen), "chain-step")
    imgs, xs, heats, starts, paths = [], [], [], [], []
    for start in range(0, count, chunk):
        B = min(chunk, count - start)
        noise = SequentialNoise(rng, B, m.n_units)
        st = stepper(free, np.zeros((B, m.n_units)), dt, sigma, noise, method)
        x0 = run_steps(st, n_noise)
        _report(progress, B * n_noise)
        starts.append(x0)
        # coupled phase, generation time s from 0 at switch-on
        st = stepper(coupled, x0, dt, sigma, noise, method)
        w = np.zeros(B)  # work of the bias sources, Σ_k (φ(s_{k+1}) − φ(s_k)) b′·x_{k+1}
        win = np.empty((n_win, B, nv))  # the readout window's visible states
        path = np.empty((B, n_gen + 1, m.n_units)) if record else None
        if path is not None:
            path[:, 0] = x0
        for k, block in advance_blocks(st, n_gen):
            mk = block.shape[1]
            if timedep:
                w += (block @ bp) @ dphi[k: k + mk]
            lo = max(k, first)  # the first of this block's steps inside the window
            if lo < k + mk:
                win[lo - first: k + mk - first] = block[:, lo - k:, :nv].transpose(1, 0, 2)
            if path is not None:
                path[:, k + 1: k + 1 + mk] = block
            _report(progress, B * mk)
        x = st.x
        xv = win.mean(axis=0) if n_win > 0 else x[:, :nv]
        heats.append((energy(x0, 0) - energy(x, n_gen) + w) / c.kT)
        imgs.append(tm.to_pixels(xv))
        xs.append(x)
        paths.append(path)
    if progress is not None:
        progress.close()
    return Generation(np.concatenate(imgs), np.concatenate(xs), np.concatenate(heats),
                      np.concatenate(starts), np.concatenate(paths) if record else None)


def _report(progress: Progress | None, k: int) -> None:
    if progress is not None:
        progress.update(k)
