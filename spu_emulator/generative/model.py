"""The quartic-unit network of Whitelam's generative thermodynamic computer.

N real units x = (visible, hidden) follow overdamped Langevin dynamics

    dx_i = −μ ∂_i V_θ(x) dt + sqrt(2 μ k_B T) dW_i,
    V_θ(x) = Σ_i (J₂ x_i² + J₄ x_i⁴) + Σ_i b_i x_i + Σ_{i<j} J_ij x_i x_j,

with θ = (J, b). J is stored as a full symmetric (N, N) matrix with a zero diagonal
(so ``Σ_{i<j} J_ij x_i x_j = ½ xᵀ J x``) and ``coupling_mask`` says which pairs are
trainable (visible–hidden and hidden–hidden; never visible–visible). ``bias_mask``
says which units have a trainable bias. Energies are in the model's units, where the
bath has ``kT`` (0.1 in the paper).

:func:`quartic_drift` and :func:`quartic_energy` build the drift and energy from plain
arrays, so a generic nonlinear SDE (the circuit layer) can reuse them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


def quartic_energy(x: Array, J2: float, J4: float, J: Array, b: Array) -> Array:
    """V(x) = Σ (J₂ x² + J₄ x⁴) + bᵀx + ½ xᵀ J x for a batch x (B, N) → (B,).

    ``J`` is symmetric with zero diagonal. Cost O(B N²)."""
    x2 = x * x
    return (
        (J2 * x2 + J4 * x2 * x2).sum(axis=-1)
        + x @ b
        + 0.5 * np.einsum("bi,bi->b", x @ J, x)
    )


def quartic_gradient(x: Array, J2: float, J4: float, J: Array, b: Array) -> Array:
    """∂V/∂x = 2J₂ x + 4J₄ x³ + b + J x for a batch x (B, N) → (B, N). Cost O(B N²)."""
    return 2.0 * J2 * x + 4.0 * J4 * x * x * x + b + x @ J


def quartic_drift(
    J2: float, J4: float, J: Array, b: Array, mu: float = 1.0
) -> Callable[[Array], Array]:
    """Return f(x) = −μ ∂V_θ/∂x, the drift of dx = f(x) dt + sqrt(2 μ kT) dW.

    The arrays are copied, so the returned function is immutable. ``x`` is (B, N)
    (or (N,)); cost O(B N²) per call (one matrix product over the batch)."""
    J = np.array(J, dtype=float, copy=True)
    b = np.array(b, dtype=float, copy=True)
    if J.ndim != 2 or J.shape[0] != J.shape[1] or b.shape != (J.shape[0],):
        raise ValueError(f"J must be (N, N) and b (N,), got {J.shape} and {b.shape}")
    if not np.allclose(J, J.T) or np.any(np.diag(J) != 0):
        raise ValueError("J must be symmetric with a zero diagonal")

    def drift(x: Array) -> Array:
        return -mu * quartic_gradient(x, J2, J4, J, b)

    return drift


def coupling_mask(n_visible: int, n_hidden: int, hidden_hidden: bool = True) -> Array:
    """Boolean (N, N) symmetric mask of trainable couplings: visible–hidden, and
    hidden–hidden if asked; no visible–visible pairs and no self-couplings."""
    n = n_visible + n_hidden
    m = np.zeros((n, n), dtype=bool)
    m[:n_visible, n_visible:] = True
    m[n_visible:, :n_visible] = True
    if hidden_hidden:
        m[n_visible:, n_visible:] = True
    np.fill_diagonal(m, False)
    return m


def bias_mask(n_visible: int, n_hidden: int, visible_bias: bool = True) -> Array:
    """Boolean (N,) mask of trainable biases: hidden always, visible if asked."""
    m = np.ones(n_visible + n_hidden, dtype=bool)
    if not visible_bias:
        m[:n_visible] = False
    return m


@dataclass(frozen=True)
class QuarticModel:
    """A trained (or untrained) generative computer in model units.

    ``J`` (N, N) symmetric, zero diagonal, zero outside ``coupling_mask``;
    ``b`` (N,) zero outside ``bias_mask``. Units 0..n_visible−1 are the pixels.
    """

    n_visible: int
    n_hidden: int
    J2: float = 1.0
    J4: float = 1.0
    kT: float = 0.1
    mu: float = 1.0
    J: Array = field(default=None, repr=False)  # type: ignore[assignment]
    b: Array = field(default=None, repr=False)  # type: ignore[assignment]
    coupling_mask: Array = field(default=None, repr=False)  # type: ignore[assignment]
    bias_mask: Array = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = self.n_units
        if self.coupling_mask is None:
            object.__setattr__(self, "coupling_mask", coupling_mask(self.n_visible, self.n_hidden))
        if self.bias_mask is None:
            object.__setattr__(self, "bias_mask", bias_mask(self.n_visible, self.n_hidden))
        if self.J is None:
            object.__setattr__(self, "J", np.zeros((n, n)))
        if self.b is None:
            object.__setattr__(self, "b", np.zeros(n))
        if self.J.shape != (n, n) or self.b.shape != (n,):
            raise ValueError(f"J must be ({n}, {n}) and b ({n},)")
        if np.any(self.J[~self.coupling_mask] != 0) or np.any(self.b[~self.bias_mask] != 0):
            raise ValueError("parameters outside the trainable masks must be zero")

    @property
    def n_units(self) -> int:
        return self.n_visible + self.n_hidden

    @property
    def n_params(self) -> int:
        """Number of free parameters: coupling pairs (i<j) plus biases."""
        return int(np.triu(self.coupling_mask, 1).sum() + self.bias_mask.sum())

    def with_params(self, J: Array, b: Array) -> QuarticModel:
        """A copy with new parameters (masked to the trainable entries)."""
        return QuarticModel(
            self.n_visible, self.n_hidden, self.J2, self.J4, self.kT, self.mu,
            np.where(self.coupling_mask, J, 0.0), np.where(self.bias_mask, b, 0.0),
            self.coupling_mask, self.bias_mask,
        )

    def energy(self, x: Array) -> Array:
        """V_θ(x) for x (B, N) → (B,), model units (divide by kT for k_B T)."""
        return quartic_energy(x, self.J2, self.J4, self.J, self.b)

    def gradient(self, x: Array) -> Array:
        """∂V_θ/∂x for x (B, N) → (B, N)."""
        return quartic_gradient(x, self.J2, self.J4, self.J, self.b)

    def drift(self) -> Callable[[Array], Array]:
        """f(x) = −μ ∂V_θ/∂x (see :func:`quartic_drift`)."""
        return quartic_drift(self.J2, self.J4, self.J, self.b, self.mu)

    @property
    def diffusion(self) -> float:
        """Noise amplitude σ = sqrt(2 μ kT) of every unit."""
        return float(np.sqrt(2.0 * self.mu * self.kT))
