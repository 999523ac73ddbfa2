"""Loss, closed-form gradient and exact minimizer of the time-reversal training loss.

With the statistics S, D, C of :mod:`~spu_emulator.generative.noising` and W = [J | b],
the loss per trajectory is

    L(θ) = (S + 2μΔt ⟨W, D⟩ + μ²Δt² tr(W C Wᵀ)) / (4 μ kT Δt n_traj),

and the objective adds a ridge term λ (Σ_{i<j} J_ij² + Σ_i b_i²) over the trainable
entries. Its gradient with respect to W is G = (D + μΔt W C) / (2 kT n_traj); a coupling
J_ij (i<j) appears in W_ij and W_ji, so ∂L/∂J_ij = G_ij + G_ji, and ∂L/∂b_i = G_{i,N}.

Parameters travel as a pair (J, b): J a symmetric (N, N) matrix with zero diagonal,
b (N,), both zero outside the masks; with time-dependent biases (statistics with a time
feature column, C of size N+2) b is (N, 2) = [b | b′] and every formula holds with
W = [J | b | b′]. The natural inner product on that space counts
each pair once: ⟨(J, b), (J′, b′)⟩ = ½ Σ_ij J_ij J′_ij + Σ_i b_i b′_i.

The minimizer solves the normal equations H θ = −g₀ (H the constant Hessian, g₀ the
gradient at θ = 0). H is applied matrix-free in O(N³) (one product with C), so the
exact least-squares solve costs O(k N³) for k conjugate-gradient iterations and O(N²)
memory, instead of O(P³) and O(P²) for the P ≈ N²/2 parameters of a dense solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .noising import Stats

Array = np.ndarray


@dataclass(frozen=True)
class Problem:
    """A quadratic training problem: statistics, masks and physical constants."""

    stats: Stats
    coupling_mask: Array
    bias_mask: Array
    mu: float
    kT: float
    dt: float
    ridge: float = 0.0

    @property
    def n_units(self) -> int:
        return self.coupling_mask.shape[0]

    @property
    def n_bias_columns(self) -> int:
        """K = 1 + the number of time features: b is (N,) for K = 1, else (N, K)."""
        return self.stats.C.shape[0] - self.n_units

    def _W(self, J: Array, b: Array) -> Array:
        return np.concatenate([J, b.reshape(len(b), -1)], axis=1)

    def loss(self, J: Array, b: Array) -> float:
        """Mean −ln P̃ per trajectory (additive constant dropped), without ridge."""
        s = self.stats
        W = self._W(J, b)
        md = self.mu * self.dt
        quad = float(np.einsum("ij,ij->", W @ s.C, W))
        total = s.S + 2.0 * md * float(np.einsum("ij,ij->", W, s.D)) + md * md * quad
        return total / (4.0 * self.mu * self.kT * self.dt * max(s.n_traj, 1))

    def penalty(self, J: Array, b: Array) -> float:
        return self.ridge * (0.5 * float(np.sum(J * J)) + float(np.sum(b * b)))

    def objective(self, J: Array, b: Array) -> float:
        """loss + ridge penalty: the function :func:`solve` minimizes."""
        return self.loss(J, b) + self.penalty(J, b)

    def _project(self, G: Array, b: Array) -> tuple[Array, Array]:
        n = self.n_units
        gJ = np.where(self.coupling_mask, G[:, :n] + G[:, :n].T, 0.0)
        gb = np.where(self.bias_mask[:, None], G[:, n:], 0.0).reshape(b.shape)
        return gJ, gb

    def gradient(self, J: Array, b: Array) -> tuple[Array, Array]:
        """Closed-form gradient of :meth:`objective` in pair coordinates: (gJ, gb),
        gJ symmetric with gJ_ij = ∂/∂J_ij (i<j). Cost O(N³)."""
        s = self.stats
        n = max(s.n_traj, 1)
        G = (s.D + self.mu * self.dt * self._W(J, b) @ s.C) / (2.0 * self.kT * n)
        gJ, gb = self._project(G, b)
        return gJ + 2.0 * self.ridge * J, gb + 2.0 * self.ridge * b

    def hessian_apply(self, J: Array, b: Array) -> tuple[Array, Array]:
        """H θ: the linear part of the gradient. Cost O(N³)."""
        s = self.stats
        n = max(s.n_traj, 1)
        G = self.mu * self.dt * (self._W(J, b) @ s.C) / (2.0 * self.kT * n)
        gJ, gb = self._project(G, b)
        return gJ + 2.0 * self.ridge * J, gb + 2.0 * self.ridge * b

    def hessian_diagonal(self) -> tuple[Array, Array]:
        """Diagonal of H (for the Jacobi preconditioner)."""
        s = self.stats
        n = max(s.n_traj, 1)
        c = np.diag(s.C)
        N = self.n_units
        scale = self.mu * self.dt / (2.0 * self.kT * n)
        dJ = np.where(self.coupling_mask, scale * (c[:N, None] + c[None, :N]), 1.0)
        db = np.where(self.bias_mask[:, None], scale * c[None, N:], 1.0)
        if s.C.shape[0] == N + 1:
            db = db[:, 0]
        return dJ + 2.0 * self.ridge, db + 2.0 * self.ridge


def _dot(a: tuple[Array, Array], b: tuple[Array, Array]) -> float:
    return 0.5 * float(np.sum(a[0] * b[0])) + float(np.sum(a[1] * b[1]))


@dataclass(frozen=True)
class SolveInfo:
    iterations: int
    gradient_norm: float
    converged: bool


def solve(
    problem: Problem,
    J0: Array | None = None,
    b0: Array | None = None,
    rtol: float = 1e-10,
    max_iter: int = 5000,
) -> tuple[Array, Array, SolveInfo]:
    """Exact minimizer of the quadratic objective by preconditioned conjugate gradients
    on the normal equations H θ = −g(0), warm-started at (J0, b0).

    Stops when ‖g(θ)‖ ≤ rtol·‖g(0)‖ (norms in pair coordinates). In exact arithmetic CG
    terminates in at most P iterations; in practice the Jacobi-preconditioned system
    converges in tens to hundreds. Cost O(N³) per iteration, memory O(N²).
    """
    n = problem.n_units
    bshape = (n,) if problem.n_bias_columns == 1 else (n, problem.n_bias_columns)
    bm = problem.bias_mask if len(bshape) == 1 else problem.bias_mask[:, None]
    J = np.zeros((n, n)) if J0 is None else np.where(problem.coupling_mask, J0, 0.0)
    b = np.zeros(bshape) if b0 is None else np.where(bm, np.reshape(b0, bshape), 0.0)
    g0 = problem.gradient(np.zeros((n, n)), np.zeros(bshape))
    g0n = np.sqrt(_dot(g0, g0))
    if g0n == 0.0:
        return J, b, SolveInfo(0, 0.0, True)
    dJ, db = problem.hessian_diagonal()
    g = problem.gradient(J, b)
    r = (-g[0], -g[1])
    z = (r[0] / dJ, r[1] / db)
    p = z
    rz = _dot(r, z)
    it = 0
    rn = np.sqrt(_dot(r, r))
    while rn > rtol * g0n and it < max_iter:
        Hp = problem.hessian_apply(*p)
        alpha = rz / _dot(p, Hp)
        J = J + alpha * p[0]
        b = b + alpha * p[1]
        r = (r[0] - alpha * Hp[0], r[1] - alpha * Hp[1])
        z = (r[0] / dJ, r[1] / db)
        rz_new = _dot(r, z)
        p = (z[0] + (rz_new / rz) * p[0], z[1] + (rz_new / rz) * p[1])
        rz = rz_new
        rn = np.sqrt(_dot(r, r))
        it += 1
    return J, b, SolveInfo(it, float(rn), bool(rn <= rtol * g0n))


def loss_from_path(path: Array, J: Array, b: Array, J2: float, J4: float, mu: float,
                   kT: float, dt: float, phi: Array | None = None) -> float:
    """Mean −ln P̃ per trajectory computed directly from residuals of a recorded path
    (T+1, B, N), independently of :class:`Stats` (a reference for tests). With a time
    feature ``phi`` (T,) (its value at each step's y) b is [b | b′] (N, 2) and the bias
    of step k is b + b′ φ_k. Cost O(T B N²)."""
    x, xp = path[:-1], path[1:]
    bias = b if phi is None else b[:, 0] + np.asarray(phi)[:, None, None] * b[:, 1]
    grad = 2 * J2 * xp + 4 * J4 * xp**3 + bias + xp @ J
    r = x - xp + mu * grad * dt
    return float(np.sum(r * r)) / (4 * mu * kT * dt * path.shape[1])
