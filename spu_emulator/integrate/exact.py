"""Exact discretization of linear SDEs (Van Loan), batched, with parallel segments.

Over a step h, x_{k+1} = F x_k + c + w_k, w_k ~ N(0, Q), with (F, Q) from
:meth:`LinearSDE.transition`: exact in distribution for any h. Q = Lq Lqᵀ is factored
once by a symmetric eigendecomposition (robust when Q is singular: the noise need
not reach every state), keeping only the r significant directions, so each step
costs r normals per chain. We integrate the deviation from the exact stationary
mean μ, so DC sources cost nothing per step.

Speed (row vectors, one matrix product per step over the whole batch):

- large batches (B ≥ 128 chains): x ← x Fᵀ + z Lqᵀ, with all noise terms of a
  block of steps formed by one big GEMM first; from n = 64 states on, the chains
  are split into one group per noise stream, each stepped on its own thread with
  its own normals drawn in cache-sized blocks (one-thread BLAS);
- small batches: a long trajectory is cut into P segments that run side by side as
  P·B chains from zero; the true segment starts follow sequentially,
  s_{p+1} = s_p (F^K)ᵀ + y_p(K), and each segment is corrected by one GEMM,
  x_p(j) = y_p(j) + s_p (F^j)ᵀ (the response to the noise is linear, so this is
  exact). Per chain-step: r normals and about (r + 2n) n multiply-adds.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from .base import Array, Integrator, NoiseSource, Progress

#: Numbers (normals or states) per chunk of work: bounds memory, keeps blocks in cache.
CHUNK_NUMBERS = 1 << 22
#: From this state size on, wide batches are split into row groups that run on
#: separate threads, each drawing its own normals and doing its own products (below
#: it, the per-step Python overhead would contend for the GIL).
SPLIT_STATES = 64
#: Numbers per sub-block of a split worker (normals + states stay in cache).
SPLIT_BLOCK = 1 << 16
#: Batch size from which plain stepping keeps the matrix products large enough.
WIDE_BATCH = 128
#: Up to this state size a step costs more in normals (~9 ns each) than in GEMM
#: (~3n² multiply-adds at ~25 G/s per core): the crossover is near n ≈ 75.
RNG_BOUND_STATES = 96


@contextlib.contextmanager
def _blas_single_thread(active: bool):
    """Limit BLAS to one thread inside the block (threadpoolctl), if asked and available."""
    if not active:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed matter
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True, eq=False)
class ExactPlan:
    F: Array
    Lq: Array  # (n, r)
    mu: Array  # stationary mean: we integrate the deviation x − μ
    dt: float


class Exact(Integrator):
    """Exact (Van Loan) integrator for :class:`~spu_emulator.sde.linear.LinearSDE`.

    ``segments``: number of parallel segments per chain for small batches (None:
    enough to make about 256 rows; 1 disables segmenting).
    """

    name = "exact"
    order = float("inf")
    exact = True

    def __init__(self, segments: int | None = None, rank_tol: float = 1e-13):
        self.segments = segments
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

    def layout(self, chains: int, n: int, n_steps: int, per_chunk: int) -> tuple[int, int]:
        """(P, K): segments side by side and their length, per chunk of ≤ per_chunk steps.

        P = 1 (plain stepping) for wide batches or big states. Otherwise K is capped
        so that the table of powers F¹…F^K (K n³ work, once) stays small against the
        stepping (≈ 3 n² per step), and P makes at least ~256 rows per product.
        """
        if self.segments is not None:
            P = max(1, min(int(self.segments), n_steps))
            return P, max(1, min(-(-n_steps // P), max(1, per_chunk // P)))
        if chains >= WIDE_BATCH or n > 256:
            return 1, max(1, min(n_steps, per_chunk))
        k_max = max(8, 8192 // n)
        rows = -(-256 // chains)
        K = max(1, min(k_max, -(-n_steps // rows)))
        P = max(1, min(-(-min(n_steps, per_chunk) // K), max(rows, per_chunk // K)))
        return P, K

    @staticmethod
    def _powers_T(F: Array, K: int) -> Array:
        """[(F¹)ᵀ, …, (F^K)ᵀ] side by side: (n, K n)."""
        n = F.shape[0]
        out = np.empty((K, n, n), dtype=F.dtype)
        cur = F.T.copy()
        out[0] = cur
        for j in range(1, K):
            cur = cur @ F.T
            out[j] = cur
        return out.transpose(1, 0, 2).reshape(n, K * n)

    def _stepwise(self, plan: ExactPlan, dev: Array, Z: Array, X: Array) -> Array:
        """X[j] = X[j−1] Fᵀ + Z[j] Lqᵀ (X[−1] = dev) for Z (K, rows, r); returns X[K−1]."""
        K, rows, r = Z.shape
        n = X.shape[-1]
        np.matmul(Z.reshape(-1, r), plan.Lq.T, out=X.reshape(-1, n))
        FT = plan.F.T
        for j in range(K):
            X[j] += dev @ FT
            dev = X[j]
        return dev

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
        # Small states are bound by normal generation, which runs on our own worker
        # threads: keep BLAS on one thread then, so the two do not oversubscribe the
        # cores (OpenBLAS threads spin while waiting). Big states are GEMM-bound.
        # (Independent of whether the normals use threads, so results do not change.)
        B, n = x0.shape
        if B >= 2 and n >= SPLIT_STATES and self.layout(B, n, n_steps, n_steps)[0] == 1:
            with _blas_single_thread(True):
                self._run_split(plan, x0, n_steps, noise, out, progress)
            return
        limit = n <= RNG_BOUND_STATES
        with _blas_single_thread(limit):
            self._run(plan, x0, n_steps, noise, out, progress)

    def _run_split(self, plan, x0, n_steps, noise, out, progress) -> None:
        """Chains in N_STREAMS groups, one per worker thread (one-thread BLAS each):
        worker s draws its normals from stream s in cache-sized blocks of steps and
        steps its chains through them. Same numbers with or without threads."""
        B, n = x0.shape
        r = plan.Lq.shape[1]
        S = noise.N_STREAMS
        edges = [B * s // S for s in range(S + 1)]
        noise._finish_pending()  # a prefetch from an earlier draw must not race the workers
        dev0 = (x0 - plan.mu).astype(plan.F.dtype)
        per_chunk = max(1, CHUNK_NUMBERS // max(B * max(r, n), 1))

        def worker(s: int, k: int, steps: int) -> None:
            lo, hi = edges[s], edges[s + 1]
            if hi == lo:
                return
            m_max = max(1, SPLIT_BLOCK // ((hi - lo) * max(r, n)))
            dev = dev0[lo:hi] if k == 0 else out[lo:hi, k - 1].copy()  # deviations until the end
            j = 0
            while j < steps:
                m = min(m_max, steps - j)
                X = np.empty((m, hi - lo, n), dtype=dev.dtype)
                dev = self._stepwise(plan, dev, noise.part(s, m, hi - lo), X)
                out[lo:hi, k + j : k + j + m] = X.transpose(1, 0, 2)
                j += m

        k = 0
        while k < n_steps:
            steps = min(per_chunk, n_steps - k)
            noise.map(lambda s, k=k, steps=steps: worker(s, k, steps), S, steps * B * n)
            k += steps
            if progress:
                progress(steps)
        if np.any(plan.mu):
            out += plan.mu

    def _run(self, plan, x0, n_steps, noise, out, progress) -> None:
        B, n = x0.shape
        r = plan.Lq.shape[1]
        dev = (x0 - plan.mu).astype(plan.F.dtype)
        # Chunks of ~4M numbers; each chunk is P segments of K steps for every chain.
        per_chunk = max(1, CHUNK_NUMBERS // max(B * max(r, n), 1))
        P, K_full = self.layout(B, n, n_steps, per_chunk)
        powers: dict[int, tuple[Array, Array]] = {}
        k = 0
        while k < n_steps:
            steps = min(P * K_full, n_steps - k)
            Pc = -(-steps // K_full) if P > 1 else 1
            K = -(-steps // Pc)
            nxt = n_steps - k - steps
            nxt_steps = min(P * K_full, nxt)
            nxt_P = (-(-nxt_steps // K_full) if P > 1 else 1) if nxt > 0 else 1
            nxt_K = -(-nxt_steps // nxt_P) if nxt > 0 else None
            if nxt_K is not None and nxt_P != Pc:
                nxt_K = None  # different row count: no prefetch
            Z = noise.draw(K, prefetch=nxt_K, chains=Pc * B)  # (K, Pc·B, r)
            X = np.empty((K, Pc * B, n), dtype=dev.dtype)
            if Pc == 1:
                dev = self._stepwise(plan, dev, Z, X).copy()
                out[:, k : k + steps] = X[:steps].transpose(1, 0, 2)
            else:
                self._stepwise(plan, np.zeros((Pc * B, n), dtype=dev.dtype), Z, X)
                if K not in powers:
                    PT = self._powers_T(plan.F, K)
                    powers[K] = (PT, PT[:, (K - 1) * n :].copy())
                PT, FKT = powers[K]
                Y = X.reshape(K, Pc, B, n)
                starts = np.empty((Pc, B, n), dtype=dev.dtype)
                s = dev
                for p in range(Pc):
                    starts[p] = s
                    s = s @ FKT + Y[K - 1, p]
                corr = (starts.reshape(Pc * B, n) @ PT).reshape(Pc, B, K, n)
                full = Y.transpose(2, 1, 0, 3).reshape(B, Pc, K, n).copy()  # (B, P, K, n)
                full += corr.transpose(1, 0, 2, 3)
                full = full.reshape(B, Pc * K, n)
                out[:, k : k + steps] = full[:, :steps]
                dev = full[:, steps - 1].copy()
            k += steps
            if progress:
                progress(steps)
        if np.any(plan.mu):
            out += plan.mu
