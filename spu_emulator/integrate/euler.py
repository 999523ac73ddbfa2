"""Explicit schemes for SDEs with additive noise, dx = f(x, t) dt + B dW.

- Euler–Maruyama: x' = x + f(x, t) h + B √h z. Weak order 1, strong order 1 for
  additive noise. One drift evaluation per step.
- Heun (stochastic Heun, additive noise): x̃ = x + f(x, t) h + B √h z,
  x' = x + ½ (f(x, t) + f(x̃, t + h)) h + B √h z. Weak order 2 for additive noise,
  two drift evaluations per step.

Both work for any :class:`~spu_emulator.sde.base.SDE` (linear or not); its noise is a
matrix B (n, p) — one (B, p) × (p, n) product per step — or a scalar σ for σ·I (one
elementwise product). The measured orders are checked in the tests (regression of
log error on log step). Batched: one step is one drift evaluation over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Array, Integrator


@dataclass(frozen=True, eq=False)
class EulerPlan:
    sde: Any
    sqrt_h_BT: Array | None  # (p, n), or None for isotropic noise
    amp: float  # σ √h for isotropic noise
    h: float


def _plan(sde, dt: float, dtype) -> EulerPlan:
    d = sde.diffusion
    if np.ndim(d) == 0:
        return EulerPlan(sde=sde, sqrt_h_BT=None, amp=float(d) * np.sqrt(dt), h=dt)
    B = np.asarray(d, dtype=dtype)
    return EulerPlan(sde=sde, sqrt_h_BT=(np.sqrt(dt) * B.T).astype(dtype), amp=0.0, h=dt)


def _noise(plan: EulerPlan, z: Array) -> Array:
    return plan.amp * z if plan.sqrt_h_BT is None else z @ plan.sqrt_h_BT


class _Explicit(Integrator):
    """What Euler–Maruyama and Heun share: the plan (√h B or σ√h) and its normals."""

    exact = False

    def init(self, sde, dt: float, dtype=np.float64) -> EulerPlan:
        return _plan(sde, dt, dtype)

    def noise_dim(self, plan: EulerPlan) -> int:
        return plan.sde.noise_dim


class EulerMaruyama(_Explicit):
    name = "euler"
    order = 1.0

    def step(self, plan: EulerPlan, x: Array, z: Array, t: float) -> Array:
        f = plan.sde.drift(x, t)
        return x + plan.h * f + _noise(plan, z)


class Heun(_Explicit):
    """Stochastic Heun for additive noise (weak order 2); see the module docstring."""

    name = "heun"
    order = 2.0

    def step(self, plan: EulerPlan, x: Array, z: Array, t: float) -> Array:
        noise = _noise(plan, z)
        f = plan.sde.drift(x, t)
        x_pred = x + f * plan.h + noise
        return x + 0.5 * (f + plan.sde.drift(x_pred, t + plan.h)) * plan.h + noise
