"""Exact discretization of linear SDEs (Van Loan), batched and block-fused.

Over a step h, x_{k+1} = F x_k + c + w_k, w_k ~ N(0, Q), with (F, Q) from
:meth:`LinearSDE.transition`: exact in distribution for any h. Q = Lq Lqᵀ is factored
once by a symmetric eigendecomposition (robust when Q is singular: the noise need
not reach every state), keeping only the r significant directions, so each step
costs r normals per chain.

Speed: with row vectors, m consecutive steps from x₀ are

    [x₁ … x_m] = x₀ P + [z₁ … z_m] T,   P = [Fᵀ, (F²)ᵀ, …, (Fᵐ)ᵀ],
    T[i, j] = Lqᵀ (F^{j−i})ᵀ for j ≥ i (block upper triangular),

so a whole block of m steps for many blocks is one large matrix product; only the
block boundaries x₀ ← x_m are sequential. m is chosen from the batch size: large
batches step one at a time (the GEMM is already big), small batches fuse up to 32
steps per product. Per chain-step: r normals and about (m r + n) n multiply-adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Array, Integrator, NoiseSource, Progress


@dataclass(frozen=True, eq=False)
class ExactPlan:
    F: Array
    Lq: Array  # (n, r)
    mu: Array  # stationary mean: we integrate the deviation x − μ
    dt: float


class Exact(Integrator):
    """Exact (Van Loan) integrator for :class:`~spu_emulator.sde.linear.LinearSDE`."""

    name = "exact"
    order = float("inf")
    exact = True

    def __init__(self, fuse: int | None = None, rank_tol: float = 1e-13):
        self.fuse = fuse
        self.rank_tol = rank_tol

    def init(self, sde, dt: float, dtype=np.float64) -> ExactPlan:
        F, Q = sde.transition(dt)
        w, V = np.linalg.eigh(Q)
        keep = w > self.rank_tol * max(w.max(initial=0.0), 1e-300)
        Lq = V[:, keep] * np.sqrt(w[keep])
        mu = sde.stationary_mean() if np.any(sde.b) else np.zeros(sde.dim)
        dt_ = np.dtype(dtype)
        return ExactPlan(F=F.astype(dt_), Lq=Lq.astype(dt_), mu=mu.astype(dt_), dt=dt)

    def noise_dim(self, plan: ExactPlan) -> int:
        return plan.Lq.shape[1]

    def step(self, plan: ExactPlan, x: Array, z: Array, t: float) -> Array:
        return plan.mu + (x - plan.mu) @ plan.F.T + z @ plan.Lq.T

    def _fused_matrices(self, plan: ExactPlan, m: int) -> tuple[Array, Array, Array]:
        n, r = plan.Lq.shape
        Fp = [np.eye(n, dtype=plan.F.dtype)]
        for _ in range(m):
            Fp.append(Fp[-1] @ plan.F)
        P = np.concatenate([Fp[j + 1].T for j in range(m)], axis=1)  # (n, m n)
        T = np.zeros((m * r, m * n), dtype=plan.F.dtype)
        for i in range(m):
            for j in range(i, m):
                T[i * r : (i + 1) * r, j * n : (j + 1) * n] = plan.Lq.T @ Fp[j - i].T
        return P, T, Fp[m].T

    def choose_fuse(self, chains: int, n: int) -> int:
        if self.fuse is not None:
            return max(1, int(self.fuse))
        if chains >= 128:
            return 1
        return int(np.clip(256 // max(chains, 1), 2, 32)) if n <= 64 else (4 if chains < 16 else 1)

    def run(
        self,
        plan: ExactPlan,
        x0: Array,
        n_steps: int,
        noise: NoiseSource,
        t0: float,
        dt: float,
        out: Array,
        progress: Progress | None = None,
    ) -> None:
        B, n = x0.shape
        r = plan.Lq.shape[1]
        m = min(self.choose_fuse(B, n), max(n_steps, 1))
        dev = (x0 - plan.mu).astype(plan.F.dtype)
        # Block sizes: about 4M numbers of noise per block keeps memory modest.
        blocks_per_chunk = max(1, min(-(-n_steps // m), (1 << 22) // max(B * m * max(r, n), 1)))
        steps_per_chunk = blocks_per_chunk * m
        if m == 1:
            FT, LT = plan.F.T, plan.Lq.T
        else:
            P, T, FmT = self._fused_matrices(plan, m)
        k = 0
        while k < n_steps:
            steps = min(steps_per_chunk, n_steps - k)
            nb = -(-steps // m)
            nxt = min(steps_per_chunk, n_steps - k - steps)
            Z = noise.draw(nb * m, prefetch=-(-nxt // m) * m if nxt > 0 else None)  # (nb m, B, r)
            if m == 1:
                X = np.empty((steps, B, n), dtype=dev.dtype)
                np.matmul(Z.reshape(-1, r), LT, out=X.reshape(-1, n))  # noise terms
                for j in range(steps):
                    X[j] += dev @ FT
                    dev = X[j]
                out[:, k : k + steps] = X.transpose(1, 0, 2)
                dev = dev.copy()
            else:
                # (nb, B, m r) noise per block -> (nb, B, m n) noise contribution.
                Zb = Z.reshape(nb, m, B, r).transpose(0, 2, 1, 3).reshape(nb * B, m * r)
                W = (Zb @ T).reshape(nb, B, m * n)
                starts = np.empty((nb, B, n), dtype=dev.dtype)
                for b in range(nb):
                    starts[b] = dev
                    dev = dev @ FmT + W[b, :, (m - 1) * n :]
                X = (starts.reshape(nb * B, n) @ P).reshape(nb, B, m * n) + W
                X = X.reshape(nb, B, m, n).transpose(1, 0, 2, 3).reshape(B, nb * m, n)
                out[:, k : k + steps] = X[:, :steps]
                if steps < nb * m:  # last partial block: continue from the last kept state
                    dev = X[:, steps - 1].copy()
            k += steps
            if progress:
                progress(steps)
        if np.any(plan.mu):
            out += plan.mu
