"""Generation: the trained computer's own Langevin dynamics turn thermal noise into images.

Protocol (physics.md §6): from x = 0 run the uncoupled, field-free units for t_f (this
is the thermal noise the computer starts from), switch on the trained couplings and
biases (fixed θ) and run dx = −μ ∇V_θ dt + sqrt(2 μ kT) dW for the generation time; read
the visible units (a snapshot, or their time average over the last ``readout_window``,
as an integrating ADC would) and map them to pixels.

Heat: V_θ does not change during the coupled phase, so the heat released to the bath
by one sample is Q = V_θ(x(start of coupled phase)) − V_θ(x(end)) (first law with no
work done), reported in kT and in joules at the bath temperature.

Cost: count·(t_f + t_gen)/Δt steps, each one (count, N)·(N, N) product for the coupled
phase (2 for ``heun``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dynamics import langevin
from .noising import single_unit_force
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

    def free(x: Array, t: float) -> Array:
        return -c.mu * single_unit_force(x, c.J2, c.J4)

    def coupled(x: Array, t: float) -> Array:
        return f(x)

    imgs, xs, heats, starts = [], [], [], []
    for start in range(0, count, chunk):
        B = min(chunk, count - start)
        x = langevin(free, np.zeros((B, m.n_units)), dt, n_noise, sigma, rng, method)
        starts.append(x)
        e0 = m.energy(x)
        x = langevin(coupled, x, dt, n_gen - n_win, sigma, rng, method)
        if n_win > 0:
            path = langevin(coupled, x, dt, n_win, sigma, rng, method, record=True)
            x = path[-1]
            xv = path[1:, :, : m.n_visible].mean(axis=0)
        else:
            xv = x[:, : m.n_visible]
        heats.append((e0 - m.energy(x)) / c.kT)
        imgs.append(tm.to_pixels(xv))
        xs.append(x)
    return Generation(np.concatenate(imgs), np.concatenate(xs), np.concatenate(heats),
                      np.concatenate(starts))
