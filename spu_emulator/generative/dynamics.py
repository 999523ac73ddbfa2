"""The generative computer's Langevin dynamics on the project's stepping loop.

Noising and generation advance a batch x (B, N) of chains of

    dx = f(x, t) dt + σ dW      (σ the same for every unit)

as a :class:`~spu_emulator.sde.base.LangevinSDE` through
:class:`~spu_emulator.integrate.simulate.Stepper` with the project's integrators
(h = step, ξ ~ N(0, I) per step):

- ``euler`` (Euler–Maruyama): x' = x + h f(x, t) + σ√h ξ. Weak order 1 (strong order
  1 for additive noise); one drift evaluation per step.
- ``heun`` (stochastic Heun, additive noise): x̃ = x + h f(x, t) + σ√h ξ,
  x' = x + ½ h (f(x, t) + f(x̃, t + h)) + σ√h ξ. Weak order 2; two drift evaluations.

The normals come from :class:`~spu_emulator.integrate.noise.SequentialNoise` on the
caller's generator: one (B, N) block per step, in step order, so a run is defined by
its generator alone. The training loss (physics.md §6) is the Euler transition density,
so noising and the default generation use ``euler``. The measured orders are checked
in tests/generative/test_gen_dynamics.py.

A drift that depends on time through a schedule defined on the step grid (the noising
field a(t), the generation bias ramp φ(s)) reads the step index k = round((t − t₀)/h)
(:func:`step_index`): the stepper's t is t₀ + k h up to rounding.

Cost per step: one drift evaluation over the batch (two for ``heun``) and B·N normals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ..errors import InputError
from ..integrate.noise import SequentialNoise
from ..integrate.simulate import Stepper
from ..sde.base import LangevinSDE

Array = np.ndarray
Drift = Callable[[Array, float], Array]

METHODS = ("euler", "heun")
#: Normals one call of :meth:`Stepper.advance` in :func:`advance_blocks` draws at most
#: (about 1 MB: they, and the states it writes, stay in cache).
STEP_NUMBERS = 1 << 17


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else an :class:`InputError`."""
    if method not in METHODS:
        raise InputError(f"must be one of {', '.join(METHODS)}, got {method!r}", "method")
    return method


def step_index(t: float, dt: float) -> int:
    """k with t = k·dt up to rounding (the stepper passes t₀ + k·dt as a float sum)."""
    return round(t / dt)


def step_sigma(variance_rate: float, dt: float) -> float:
    """σ ≈ √D for noise of D per unit time, chosen so that the integrators' per-step
    amplitude σ·√dt rounds to √(D·dt) itself whenever some float does (else the nearest):
    the noising amplitude is defined per step as √(2μkTΔt)."""
    amp = np.sqrt(variance_rate * dt)
    root = np.sqrt(dt)
    s = amp / root
    candidates = (s, np.nextafter(s, 0.0), np.nextafter(s, np.inf))
    return float(min(candidates, key=lambda c: abs(c * root - amp)))


def stepper(f: Drift, x0: Array, dt: float, sigma: float, noise: SequentialNoise,
            method: str = "euler", t0: float = 0.0) -> Stepper:
    """A :class:`Stepper` of dx = f(x, t) dt + σ dW from x0 (B, N) at time t0, with the
    ``method`` integrator and the normals of ``noise``."""
    sde = LangevinSDE(f, x0.shape[1], sigma, dt)
    return Stepper(sde, check_method(method), dt, x0, noise, t0=t0)


def advance_blocks(st: Stepper, n_steps: int, block: int | None = None,
                   out: Callable[[int, int], Array] | None = None) -> Iterator[tuple[int, Array]]:
    """Advance ``st`` by ``n_steps`` steps in pieces of at most :data:`STEP_NUMBERS`
    normals that never straddle a multiple of ``block`` steps; yield (k, states) per
    piece, k the steps done before it and states (B, m, N) the m states after each of
    its steps, straight after they are computed (still in cache). They are written into
    ``out(k, m)`` if given (any (B, m, N) view, e.g. rows of a transposed buffer), else
    into one buffer reused from piece to piece (valid until the next piece). The draws,
    one (B, N) block of normals per step in step order, do not depend on the pieces."""
    B, n = st.x.shape
    piece = max(1, min(STEP_NUMBERS // max(B * n, 1), n_steps))
    block = block or n_steps
    buf = np.empty((B, piece, n)) if out is None and n_steps > 0 else None
    k = 0
    while k < n_steps:
        m = min(piece, n_steps - k, block - k % block)
        yield k, st.advance(m, out=out(k, m) if out is not None else buf[:, :m])
        k += m


def run_steps(st: Stepper, n_steps: int) -> Array:
    """Advance ``st`` by ``n_steps`` steps, keeping only the end state (returned)."""
    for _ in advance_blocks(st, n_steps):
        pass
    return st.x


__all__ = ["METHODS", "STEP_NUMBERS", "advance_blocks", "check_method", "run_steps", "step_index",
           "step_sigma", "stepper"]
