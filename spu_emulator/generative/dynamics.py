"""Batched integrators for additive-noise Langevin dynamics dx = f(x, t) dt + σ dW.

Every chain of a batch x (B, N) advances together: one step is a few array
operations over the batch (for the coupled model, one (B, N)·(N, N) product), never
a Python loop over chains or units.

Schemes (h = step, ξ ~ N(0, I) per step):

- ``euler`` (Euler–Maruyama): x' = x + f(x, t) h + σ sqrt(h) ξ. Weak order 1 (and,
  for additive noise, strong order 1). One drift evaluation per step.
- ``heun`` (stochastic Heun, additive noise): x̃ = x + f(x, t) h + σ sqrt(h) ξ,
  x' = x + ½ (f(x, t) + f(x̃, t + h)) h + σ sqrt(h) ξ. Weak order 2 for additive noise,
  two drift evaluations per step. The measured orders are checked in
  tests/generative/test_gen_dynamics.py (regression of log error on log step).

The training loss (physics.md §6) is the Euler transition density, so training and
the default generation use ``euler``; ``heun`` is offered where accuracy per unit
of work matters (e.g. emulating the continuous-time circuit with a coarse step).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InputError

Array = np.ndarray
Drift = Callable[[Array, float], Array]

METHODS = ("euler", "heun")


def langevin(
    drift: Drift,
    x0: Array,
    dt: float,
    n_steps: int,
    sigma: float,
    rng: np.random.Generator,
    method: str = "euler",
    t0: float = 0.0,
    record: bool = False,
) -> Array:
    """Integrate dx = drift(x, t) dt + σ dW for ``n_steps`` steps of length ``dt``.

    Parameters
    ----------
    drift : f(x, t) → array like x (x is (B, N)).
    x0 : (B, N) start states (not modified).
    sigma : additive noise amplitude, the same for every unit (sqrt(2 μ kT)).
    rng : the only source of randomness; one (B, N) standard-normal draw per step.
    record : return the whole path (n_steps + 1, B, N) instead of the end state (B, N).

    Cost: n_steps drift evaluations (2× for ``heun``) and n_steps·B·N normals.
    """
    if method not in METHODS:
        raise InputError(f"integration method must be one of {', '.join(METHODS)}, got {method!r}")
    x = np.array(x0, dtype=float, copy=True)
    path = np.empty((n_steps + 1, *x.shape)) if record else None
    if path is not None:
        path[0] = x
    amp = sigma * np.sqrt(dt)
    for k in range(n_steps):
        t = t0 + k * dt
        noise = amp * rng.standard_normal(x.shape)
        f = drift(x, t)
        if method == "euler":
            x = x + f * dt + noise
        else:
            x_pred = x + f * dt + noise
            x = x + 0.5 * (f + drift(x_pred, t + dt)) * dt + noise
        if path is not None:
            path[k + 1] = x
    return path if path is not None else x
