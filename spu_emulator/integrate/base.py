"""Integrators share one small interface; :class:`~.simulate.Stepper` (and
:func:`~.simulate.simulate` over it) runs any of them.

An integrator says which SDEs it can integrate (``supports``), prepares a *plan* for
an SDE and a step (``init``), advances a batch of chains one step (``step``) and, for
speed, many steps at once (``run``, which by default loops over ``step``). ``order``
is the (weak) order of accuracy; exact integrators report ``inf``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

from .noise import NoiseSource, box_muller_f32

Array = np.ndarray
Progress = Callable[[int], None]  # called with the number of steps just completed


#: Numbers (normals) per block of steps the generic loop draws at once (memory bound).
LOOP_NUMBERS = 1 << 22
#: Steps per block of the generic loop (when the numbers allow).
LOOP_STEPS = 4096


class Integrator(ABC):
    name: str = "?"
    order: float = 1.0
    exact: bool = False

    def supports(self, sde: Any) -> str | None:
        """None if this integrator can integrate ``sde``, else the reason (one line)."""
        return None

    def check_step(self, sde: Any, dt: float, steps: float | None = None) -> str | None:
        """None if a step dt is usable for ``sde`` over ``steps`` steps (None: any
        number), else the reason (one line): explicit methods refuse steps at which
        they are unstable (the run would diverge)."""
        return None

    @abstractmethod
    def init(self, sde: Any, dt: float, dtype: np.dtype) -> Any:
        """Precompute what stepping needs (matrices, factors)."""

    @abstractmethod
    def noise_dim(self, plan: Any) -> int:
        """Standard normals consumed per chain per step."""

    @abstractmethod
    def step(self, plan: Any, x: Array, z: Array, t: float) -> Array:
        """Advance x (B, n) by one step with standard normals z (B, noise_dim)."""

    def run(
        self,
        plan: Any,
        x0: Array,
        n_steps: int,
        noise: NoiseSource,
        t0: float,
        dt: float,
        out: Array,
        progress: Progress | None = None,
        save_every: int = 1,
    ) -> None:
        """Advance n_steps × save_every steps; write every save_every-th state into
        out (B, n_steps, n). Generic loop over :meth:`step`; exact integrators
        override it with a fused version (they jump straight over saved intervals)."""
        x = x0
        total = n_steps * save_every
        per_step = max(1, x0.shape[0] * self.noise_dim(plan))
        steps = max(1, min(LOOP_STEPS, LOOP_NUMBERS // per_step))
        chunk = max(1, min(total, steps // save_every * save_every or save_every))
        k = 0
        while k < total:
            m = min(chunk, total - k)
            Z = noise.draw(m)  # (m, B, r)
            for j in range(m):
                x = self.step(plan, x, Z[j], t0 + (k + j) * dt)
                if (k + j + 1) % save_every == 0:
                    out[:, (k + j + 1) // save_every - 1] = x
            k += m
            if progress:
                progress(m // save_every)


__all__ = ["Integrator", "NoiseSource", "box_muller_f32"]
