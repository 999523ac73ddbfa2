"""Euler–Maruyama for SDEs with additive noise: x' = x + f(x, t) h + B √h z.

Weak order 1, strong order 1 for additive noise (measured in the tests by
regression of log error on log step). Works for any SDE object with
``drift(x, t)`` (or ``drift(x)``) and a constant noise matrix ``B`` (n, p).
Batched: one step is one drift evaluation and one (B, p) × (p, n) product.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Array, Integrator


@dataclass(frozen=True, eq=False)
class EulerPlan:
    sde: Any
    sqrt_h_BT: Array  # (p, n)
    h: float
    takes_t: bool


class EulerMaruyama(Integrator):
    name = "euler"
    order = 1.0
    exact = False

    def init(self, sde, dt: float, dtype=np.float64) -> EulerPlan:
        try:
            takes_t = len(inspect.signature(sde.drift).parameters) >= 2
        except (TypeError, ValueError):
            takes_t = False
        B = np.asarray(sde.B, dtype=dtype)
        return EulerPlan(
            sde=sde, sqrt_h_BT=(np.sqrt(dt) * B.T).astype(dtype), h=dt, takes_t=takes_t
        )

    def noise_dim(self, plan: EulerPlan) -> int:
        return plan.sqrt_h_BT.shape[0]

    def step(self, plan: EulerPlan, x: Array, z: Array, t: float) -> Array:
        f = plan.sde.drift(x, t) if plan.takes_t else plan.sde.drift(x)
        return x + plan.h * f + z @ plan.sqrt_h_BT
