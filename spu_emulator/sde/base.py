"""The SDE interface every integrator steps: dx = f(x, t) dt + B dW (additive noise).

An SDE knows its dimensions and names (states, and the nodes behind the leading
``n_voltage`` states), its drift f(x, t) for a batch x (..., n), its noise — a
matrix B (n, p), or a scalar σ for σ·I (``diffusion``) — and a sensible step for a
method. Linear SDEs (``linear = True``) add the exact transition and the stationary
law (:class:`~spu_emulator.sde.linear.LinearSDE`); integrators declare which SDEs they
support (:meth:`~spu_emulator.integrate.base.Integrator.supports`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

Array = np.ndarray


class SDE(ABC):
    """dx = f(x, t) dt + B dW, x ∈ ℝⁿ, W a p-dimensional Wiener process.

    Subclasses provide the attributes ``state_names`` (n,), ``node_names`` (the nodes
    of the leading ``n_voltage`` states), ``netlist_digest`` and ``netlist_name``.
    """

    #: Does it have an exact transition and a closed-form stationary law?
    linear: ClassVar[bool] = False
    #: What the node states are ("voltage" for circuits in voltages, "charge" for
    #: nonlinear circuits in node charges, "state" for anything else).
    quantity: ClassVar[str] = "state"
    #: The method a run uses unless told otherwise.
    default_method: ClassVar[str] = "euler"

    state_names: tuple[str, ...]
    node_names: tuple[str, ...]
    n_voltage: int
    netlist_digest: str
    netlist_name: str

    @property
    def dim(self) -> int:
        return len(self.state_names)

    @abstractmethod
    def drift(self, x: Array, t: float = 0.0) -> Array:
        """f(x, t) for a batch x of shape (..., n)."""

    @property
    @abstractmethod
    def diffusion(self) -> Array | float:
        """B (n, p), or a scalar σ meaning σ·I (p = n)."""

    @property
    def noise_dim(self) -> int:
        d = self.diffusion
        return self.dim if np.ndim(d) == 0 else int(np.shape(d)[1])

    @abstractmethod
    def default_dt(self, method: str = "euler") -> float:
        """A step for ``method`` from the SDE's own time scales (s)."""

    def stationary_sample(self, chains: int, rng: np.random.Generator) -> Array | None:
        """Draws (chains, n) from the exact stationary law, or None if it has no
        closed form (then a run starts from zeros or a given state)."""
        return None

    def exact_covariance(self) -> Array | None:
        """The exact stationary covariance (n, n), or None if it has no closed form."""
        return None

    def stiffness(self) -> Array | None:
        """Eigenvalues of the drift's Jacobian over the states a run visits (1/s), for
        checking an explicit method's step; None if unknown."""
        return None


@dataclass(frozen=True, eq=False)
class LangevinSDE(SDE):
    """dx = f(x, t) dt + σ dW: a batched drift function with isotropic additive noise
    (σ the same for every unit), as in the overdamped Langevin models of the
    generative computer, dx = −μ ∇V(x, t) dt + √(2 μ k_B T) dW.

    ``f(x, t)`` maps a batch (B, n) to (B, n); ``n`` states; ``sigma`` σ; ``dt`` the
    step :meth:`default_dt` returns (the model's own)."""

    f: Callable[[Array, float], Array]
    n: int
    sigma: float
    dt: float = 1e-3
    state_names: tuple[str, ...] = ()
    netlist_digest: str = ""
    netlist_name: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.state_names:
            object.__setattr__(self, "state_names", tuple(f"x{i}" for i in range(self.n)))

    @property
    def node_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.state_names

    @property
    def n_voltage(self) -> int:  # type: ignore[override]
        return self.n

    def drift(self, x: Array, t: float = 0.0) -> Array:
        return self.f(x, t)

    @property
    def diffusion(self) -> float:
        return float(self.sigma)

    def default_dt(self, method: str = "euler") -> float:
        return float(self.dt)


__all__ = ["SDE", "LangevinSDE"]
