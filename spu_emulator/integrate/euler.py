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

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PrecisionWarning
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
    """What Euler–Maruyama and Heun share: the plan (√h B or σ√h) and its normals, and
    the stability check of the step (the deterministic part x' = R(hλ) x per mode of
    the drift's Jacobian must not grow: |R(hλ)| ≤ 1)."""

    exact = False

    @staticmethod
    def amplification(z: Array) -> Array:
        raise NotImplementedError

    def init(self, sde, dt: float, dtype=np.float64) -> EulerPlan:
        return _plan(sde, dt, dtype)

    def noise_dim(self, plan: EulerPlan) -> int:
        return plan.sde.noise_dim

    def check_step(self, sde, dt: float, steps: float | None = None) -> str | None:
        """The reason the step is unusable: some mode's deterministic part grows,
        |R(hλ)| > 1, by more than a factor 100 over ``steps`` steps (over any run when
        ``steps`` is None); a slower growth over a short run is only warned about."""
        lam = sde.stiffness()
        if lam is None or not np.size(lam):
            return None
        lam = np.asarray(lam, complex)

        def growth(h: float) -> float:
            return float(np.max(np.abs(self.amplification(h * lam))))

        g = growth(dt)
        if g <= 1.0 + 1e-9:
            return None
        lo, hi = 0.0, dt  # the largest stable step, by bisection
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if growth(mid) <= 1.0 + 1e-9 else (lo, mid)
        worst = lam[np.argmax(np.abs(self.amplification(dt * lam)))]
        text = (f"{self.name} is unstable at this step ({dt:.3g} s): the drift's fastest mode "
                f"(rate {abs(worst):.3g} 1/s) grows {g - 1:.2g} per step")
        if steps is not None and steps * np.log(g) < np.log(100.0):
            warnings.warn(f"{text}; this run is short enough not to diverge, a longer one "
                          f"would (stable below {lo:.3g} s)", PrecisionWarning, stacklevel=3)
            return None
        return f"{text} and the run would diverge; use a step below {lo:.3g} s"

class EulerMaruyama(_Explicit):
    name = "euler"
    order = 1.0

    @staticmethod
    def amplification(z: Array) -> Array:
        return 1.0 + z

    def step(self, plan: EulerPlan, x: Array, z: Array, t: float) -> Array:
        f = plan.sde.drift(x, t)
        return x + plan.h * f + _noise(plan, z)


class Heun(_Explicit):
    """Stochastic Heun for additive noise (weak order 2); see the module docstring."""

    name = "heun"
    order = 2.0

    @staticmethod
    def amplification(z: Array) -> Array:
        return 1.0 + z + 0.5 * z * z

    def step(self, plan: EulerPlan, x: Array, z: Array, t: float) -> Array:
        noise = _noise(plan, z)
        f = plan.sde.drift(x, t)
        x_pred = x + f * plan.h + noise
        return x + 0.5 * (f + plan.sde.drift(x_pred, t + plan.h)) * plan.h + noise
