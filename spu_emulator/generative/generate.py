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
law with no work done); with time-dependent biases the work W = ∫ ∂_s V ds = Σ Δφ b′·x
done by the bias sources is added, Q = −ΔV + W. Reported in kT and in joules at the
bath temperature.

Cost: count·(t_f + t_gen)/Δt steps, each one (count, N)·(N, N) product for the coupled
phase (2 for ``heun``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dynamics import langevin
from .noising import generation_feature, single_unit_force
from .train import TrainedModel

Array = np.ndarray


@dataclass(frozen=True)
class Generation:
    """``images`` (count, h, w) in the data's pixel scale, ``x`` (count, N) final states,
    ``heat_kT`` (count,) heat released per sample in units of kT, ``x_start`` (count, N)
    the states at coupling switch-on (the end of the noise phase: the start states of
    the circuit-level run, :mod:`~spu_emulator.generative.circuit`)."""

    images: Array
    x: Array
    heat_kT: Array
    x_start: Array


def generate(
    tm: TrainedModel,
    count: int,
    rng: np.random.Generator,
    method: str = "euler",
    chunk: int = 1024,
) -> Generation:
    """Draw ``count`` samples from the trained computer (see module docstring)."""
    c = tm.config
    m = tm.model
    dt = c.dt
    sigma = m.diffusion
    n_noise = c.protocol.n_steps
    n_gen = int(round(c.generation_time / dt))
    n_win = min(int(round(c.readout_window / dt)), n_gen)
    f = m.drift()
    timedep = c.n_time_features > 0
    bp = tm.ramp_bias

    def phi(t: float) -> float:  # the bias ramp at generation time t
        return generation_feature(c.time_bias, c.protocol, t, c.ramp_stretch)

    def free(x: Array, t: float) -> Array:
        return -c.mu * single_unit_force(x, c.J2, c.J4)

    def coupled(x: Array, t: float) -> Array:
        if timedep:  # b(t) = b + b′φ(t): the extra force −μ b′φ(t)
            p = phi(t)
            if p != 0.0:
                return f(x) - (c.mu * p) * bp
        return f(x)

    def energy(x: Array, t: float) -> Array:
        e = m.energy(x)
        if timedep:
            e = e + phi(t) * (x @ bp)
        return e

    def work(x0: Array, t0: float, n: int) -> tuple[Array, Array]:
        """Run n coupled steps from (x0, t0); return the end state and the work done by
        the time-dependent biases, Σ_k (φ(t_{k+1}) − φ(t_k)) b′·x_{k+1} (Euler's
        ∫ ∂_t V dt)."""
        if not timedep:
            return langevin(coupled, x0, dt, n, sigma, rng, method, t0=t0), np.zeros(len(x0))
        w = np.zeros(len(x0))
        x = x0
        tb = (c.ramp_stretch * c.protocol.t_f // dt + 2) * dt  # φ is constant after t_f
        k, p0 = 0, phi(t0)
        while k < n and t0 + k * dt < tb:
            x = langevin(coupled, x, dt, 1, sigma, rng, method, t0=t0 + k * dt)
            p1 = phi(t0 + (k + 1) * dt)
            w += (p1 - p0) * (x @ bp)
            k, p0 = k + 1, p1
        if k < n:
            x = langevin(coupled, x, dt, n - k, sigma, rng, method, t0=t0 + k * dt)
        return x, w

    imgs, xs, heats, starts = [], [], [], []
    for start in range(0, count, chunk):
        B = min(chunk, count - start)
        x = langevin(free, np.zeros((B, m.n_units)), dt, n_noise, sigma, rng, method)
        starts.append(x)
        e0 = energy(x, 0.0)
        x, w = work(x, 0.0, n_gen - n_win)
        t_win = (n_gen - n_win) * dt
        if n_win > 0:
            path = langevin(coupled, x, dt, n_win, sigma, rng, method, t0=t_win, record=True)
            x = path[-1]
            xv = path[1:, :, : m.n_visible].mean(axis=0)
            if timedep:  # the same Σ Δφ b′·x_{k+1} over the recorded window
                dphi = np.diff([phi(t_win + k * dt) for k in range(n_win + 1)])
                w += dphi @ (path[1:] @ bp)
        else:
            xv = x[:, : m.n_visible]
        heats.append((e0 - energy(x, n_gen * dt) + w) / c.kT)
        imgs.append(tm.to_pixels(xv))
        xs.append(x)
    return Generation(np.concatenate(imgs), np.concatenate(xs), np.concatenate(heats),
                      np.concatenate(starts))
