"""Exact discretization of linear SDEs (Van Loan), batched, with parallel segments.

Over a step h, x_{k+1} = F x_k + c + w_k, w_k ~ N(0, Q), with (F, Q) from
:meth:`LinearSDE.transition`: exact in distribution for any h. Q = Lq Lqᵀ is factored
once by a symmetric eigendecomposition (robust when Q is singular: the noise need
not reach every state), keeping only the r significant directions, so each step
costs r normals per chain. We integrate the deviation from the exact stationary
mean μ, so DC sources cost nothing per step.

Speed (row vectors; no Python loop over chains, and none over steps for small states):

- small batches of small states (B < 128, n ≤ 96: bound by normal generation): the
  run is cut into one stretch per noise stream, simulated on its own thread; within
  a stretch, every block of m steps is one row of a Toeplitz GEMM (Lq folded in),
  the block starts follow from a blocked scan of the block ends, and later stretches
  are fixed up with the response to their true start (:meth:`Exact._run_scan`).
  Per chain-step: r normals and about (m r + 2n) n multiply-adds;
- large batches (B ≥ 128 chains): x ← x Fᵀ + z Lqᵀ, with all noise terms of a
  block of steps formed by one big GEMM first; from n = 64 states on, the chains
  are split into one group per noise stream, each stepped on its own thread with
  its own normals drawn in cache-sized blocks (one-thread BLAS);
- small batches of big states: a long trajectory is cut into P segments that run
  side by side as P·B chains from zero; the true segment starts follow sequentially,
  s_{p+1} = s_p (F^K)ᵀ + y_p(K), and each segment is corrected by one GEMM,
  x_p(j) = y_p(j) + s_p (F^j)ᵀ (the response to the noise is linear, so this is
  exact). Per chain-step: r normals and about (r + 2n) n multiply-adds.

float32 runs draw their normals by vectorized Box–Muller (:func:`.base.box_muller_f32`).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

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
#: Small batches of states up to this size take the blocked scan (:meth:`Exact._run_scan`):
#: measured 1.3–2.2× the segmented layout from n = 8 to 96, 0.5× at n = 128.
SCAN_STATES = RNG_BOUND_STATES
#: Wide batches of up to this many states always take the scan (spu8, 256 chains:
#: 9.1–9.4 M chain-steps/s against 6.7–7.1 M stepped plainly in float32, 4.2–4.6 M against
#: 3.5–3.9 M in float64; even at 24 states, plain stepping ahead from 32).
SCAN_WIDE_STATES = 16
#: Wider batches of small states take the scan when stepping with the rounded F would
#: shift a decay rate by more than this (float32 with very many steps per relaxation time).
SCAN_FOR_DRIFT = 1e-4
#: Numbers (normals or states) per chunk of the blocked scan: in cache, yet long
#: enough that the per-chunk Python work is negligible.
SCAN_CHUNK = 1 << 19
#: Plans of states up to this size know their negligible horizon (the segment and scan
#: layouts, which build tables of powers; above it, plain stepping builds none).
HORIZON_STATES = 256
#: Scan levels above the first group this many items per Toeplitz block.
SCAN_BLOCK = 4
#: Below this many items a scan level loops step by step.
SCAN_DIRECT = 16


_TABLES_LOCK = threading.Lock()


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


def _add_product(C: Array, A: Array, Bm: Array) -> None:
    """C += A @ Bm in place for C-contiguous 2-D float arrays (one BLAS gemm with
    beta = 1 on the transposes, no temporary), else through a temporary."""
    if C.flags.c_contiguous and C.dtype in (np.float32, np.float64) and C.size:
        from scipy.linalg.blas import get_blas_funcs

        gemm = get_blas_funcs("gemm", dtype=C.dtype)
        # Cᵀ (Fortran order) += Bmᵀ Aᵀ; asfortranarray copies only if it must
        res = gemm(1.0, np.asfortranarray(Bm.T), np.asfortranarray(A.T), 1.0, C.T, overwrite_c=1)
        if not np.shares_memory(res, C):  # f2py copied after all (not expected)
            C[...] = res.T
        return
    C += A @ Bm


def _locked(progress: Progress | None) -> Progress:
    """A thread-safe wrapper of a progress callback (a no-op for None)."""
    if progress is None:
        return lambda k: None
    lock = threading.Lock()

    def report(k: int) -> None:
        with lock:
            progress(k)

    return report


def flush_tol(dtype) -> float:
    """Relative size below which a propagated response is dropped: 2⁻⁴⁰ of the working
    precision's resolution (1e−19 in float32, 2e−28 in float64), far below rounding."""
    return float(np.finfo(dtype).eps) * 2.0**-40


def negligible_horizon(F: Array, cov: Array, tol: float) -> tuple[Array | None, int | None]:
    """(σ, H): the states' stationary standard deviations and the first k with
    ‖W⁻¹ F^k W‖₂ < tol (Σ = W Wᵀ), after which F^k is negligible for good.

    With the exact stationary covariance, F is a contraction in the whitened norm
    (Σ − F Σ Fᵀ = Q ⪰ 0), so ‖F^j‖ ≤ ‖F^H‖ < tol for every j ≥ H. The search doubles
    (powers F^(2^i)), then adds powers of two greedily. (None, None) when Σ is not
    positive definite or the contraction check fails (no truncation then)."""
    cov = np.asarray(cov, float)
    cov = 0.5 * (cov + cov.T)
    d = np.diag(cov)
    if not np.all(d > 0):
        return None, None
    sig = np.sqrt(d)
    try:
        W = np.linalg.cholesky(cov / np.outer(sig, sig)) * sig[:, None]
    except np.linalg.LinAlgError:
        return None, None
    Fw = np.linalg.solve(W, F @ W)
    if not np.all(np.isfinite(Fw)) or np.linalg.norm(Fw, 2) > 1.0 + 1e-6:
        return sig, None
    pows = [Fw]
    while np.linalg.norm(pows[-1], 2) >= tol:
        if len(pows) > 62:
            return sig, None
        pows.append(pows[-1] @ pows[-1])
    k, P = 0, np.eye(F.shape[0])
    for i in range(len(pows) - 1, -1, -1):
        Pn = P @ pows[i]
        if np.linalg.norm(Pn, 2) >= tol:
            P, k = Pn, k + (1 << i)
    return sig, k + 1


@dataclass(frozen=True, eq=False)
class ExactPlan:
    F: Array
    Lq: Array  # (n, r)
    mu: Array  # stationary mean: we integrate the deviation x − μ
    dt: float
    tables: dict = field(default_factory=dict, repr=False)  # scan tables, built on demand
    # F and Lq before rounding to the working precision: tables of powers are built
    # from these, so that a float32 run's long-range propagation is F^k rounded once
    # (not the rounded F multiplied k times, whose decay rate is off by ~ε/(γh))
    F64: Array | None = field(default=None, repr=False)
    Lq64: Array | None = field(default=None, repr=False)
    rho: float | None = None  # spectral radius of F, exp(−h/τ), when known
    # Natural scale of each state (stationary standard deviation) and the number of
    # steps after which F^k is negligible at the working precision (None: unknown):
    # tables of powers drop what is below it, so that decayed responses never reach
    # subnormal numbers (100× slower GEMMs on some CPUs). See :meth:`flush`.
    scale: Array | None = field(default=None, repr=False)
    horizon: int | None = None

    @classmethod
    def build(
        cls, F: Array, Lq: Array, mu: Array, dt: float, dtype, rho: float | None = None,
        cov: Array | None = None,
    ) -> ExactPlan:
        """Plan of F, Lq (float64 kept, working copies in ``dtype``); ``cov``, the
        stationary covariance if known, gives :attr:`scale` and :attr:`horizon`."""
        d = np.dtype(dtype)
        F64, Lq64 = np.asarray(F, np.float64), np.asarray(Lq, np.float64)
        scale = horizon = None
        if cov is not None:
            scale, horizon = negligible_horizon(F64, cov, flush_tol(d))
        return cls(F=F64.astype(d), Lq=Lq64.astype(d), mu=np.asarray(mu).astype(d), dt=dt,
                   F64=F64, Lq64=Lq64, rho=rho, scale=scale, horizon=horizon)

    def flush(self, M: Array, k: int) -> Array:
        """F^k (float64, or a matrix acting like it) with its negligible part zeroed:
        all of it from the horizon on, else the entries whose effect, in units of
        each state's natural scale, is below :func:`flush_tol` (|M_ij| σ_j < tol σ_i).
        Without a known scale, M unchanged."""
        if self.horizon is not None and k >= self.horizon:
            return np.zeros_like(M)
        if self.scale is None:
            return M
        tol = flush_tol(self.F.dtype)
        return np.where(np.abs(M) * self.scale[None, :] < tol * self.scale[:, None], 0.0, M)

    @property
    def spectral_radius(self) -> float:
        if self.rho is None and "rho" not in self.tables:  # once per plan: run() asks every call
            self.tables["rho"] = float(np.max(np.abs(np.linalg.eigvals(self.F_exact))))
        return self.rho if self.rho is not None else self.tables["rho"]

    @property
    def F_exact(self) -> Array:
        return self.F.astype(np.float64) if self.F64 is None else self.F64

    @property
    def Lq_exact(self) -> Array:
        return self.Lq.astype(np.float64) if self.Lq64 is None else self.Lq64


class Exact(Integrator):
    """Exact (Van Loan) integrator for :class:`~spu_emulator.sde.linear.LinearSDE`.

    ``segments``: number of parallel segments per chain for small batches (None:
    enough to make about 256 rows; 1 disables segmenting).
    """

    name = "exact"
    order = float("inf")
    exact = True

    def __init__(self, segments: int | None = None, rank_tol: float = 1e-13,
                 equilibrium: bool = False):
        self.segments = segments
        self.rank_tol = rank_tol
        #: at one temperature, build the transition from the Boltzmann law (one n × n
        #: exponential, :meth:`LinearSDE.equilibrium_transition`) instead of Van Loan
        self.equilibrium = equilibrium

    def supports(self, sde) -> str | None:
        if getattr(sde, "linear", False):
            return None
        return ("the exact method needs a linear circuit (this SDE is nonlinear): use the "
                "euler or heun method")

    def init(self, sde, dt: float, dtype=np.float64) -> ExactPlan:
        mu = sde.stationary_mean() if np.any(sde.b) else np.zeros(sde.dim)
        dt_ = np.dtype(dtype)
        if self.equilibrium:
            eq = sde.equilibrium_transition(dt)
            if eq is not None:
                return ExactPlan.build(eq[0], eq[1], mu, dt, dt_)
        F, Q = sde.transition(dt)
        w, V = np.linalg.eigh(Q)
        keep = w > self.rank_tol * max(w.max(initial=0.0), 1e-300)
        Lq = V[:, keep] * np.sqrt(w[keep])
        # the transition has the eigenvalues of A already: |λ(F)| = exp(h Re λ(A))
        rho = float(np.exp(dt * np.max(sde.eigenvalues().real)))
        cov = None
        if sde.dim <= HORIZON_STATES:
            cov = sde.equilibrium_covariance()  # layouts with tables of powers; O(n³), cached
        return ExactPlan.build(F, Lq, mu, dt, dt_, rho, cov=cov)

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
    def _powers_T(F: Array, K: int, plan: ExactPlan | None = None, step: int = 1) -> Array:
        """[(F¹)ᵀ, …, (F^K)ᵀ] side by side: (n, K n). With ``plan``, each power F^j is
        flushed as the power F_plan^(j·step) it stands for (:meth:`ExactPlan.flush`)."""
        n = F.shape[0]
        out = np.empty((K, n, n), dtype=F.dtype)
        cur = F.copy()
        for j in range(K):
            out[j] = (cur if plan is None else plan.flush(cur, (j + 1) * step)).T
            if j + 1 < K:
                cur = cur @ F
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
        # BLAS runs on one thread in every layout: the normals are drawn on our own
        # worker threads meanwhile, and OpenBLAS threads spin while they wait, so the two
        # oversubscribe the cores. Measured on 2 cores with multi-threaded BLAS in the
        # segment layout: d = 64 batch 1 3.2e4 vs 1.2e5 chain-steps/s single-threaded
        # (float64; 7e4 vs 2.6e5 in float32), d = 256 5.8e3 vs 1.4e4, d = 1024 (2048
        # states) 160–270 vs 505–716. (Thread counts never change the results.)
        B, n = x0.shape
        with _blas_single_thread(True):
            if self.uses_scan(B, n, plan):
                self._run_scan(plan, x0, n_steps, noise, out, progress)
            elif B >= 2 and n >= SPLIT_STATES and self.layout(B, n, n_steps, n_steps)[0] == 1:
                self._run_split(plan, x0, n_steps, noise, out, progress)
            else:
                self._run(plan, x0, n_steps, noise, out, progress)

    def uses_scan(self, chains: int, n: int, plan: ExactPlan | None = None) -> bool:
        """Whether a run of ``chains`` chains of n states takes the blocked scan: small
        batches and states up to SCAN_WIDE_STATES always; wider ones (faster stepped
        plainly from n ≈ 32 on, but with the rounded F every step) when that rounding
        would shift a decay rate by more than SCAN_FOR_DRIFT (float32 with very many
        steps per relaxation time)."""
        if self.segments is not None or n > SCAN_STATES:
            return False
        if chains < WIDE_BATCH or n <= SCAN_WIDE_STATES:
            return True
        return plan is not None and self._stepping_drift(plan) > SCAN_FOR_DRIFT

    @staticmethod
    def _stepping_drift(plan: ExactPlan) -> float:
        """ε ρ / (1 − ρ): relative decay-rate error of stepping with the rounded F."""
        rho = plan.spectral_radius
        eps = float(np.finfo(plan.F.dtype).eps) / 2
        return np.inf if rho >= 1.0 else eps * rho / (1.0 - rho)

    def rounding_drift(self, plan: ExactPlan, chains: int) -> float:
        """Estimated relative error of the slowest decay rate caused by rounding the
        propagators to the working precision (ρ: F's spectral radius, 1 − ρ ≈ h/τ).

        Plain stepping (wide batches of more than SCAN_STATES states, or segments=1)
        multiplies by the rounded F every step: ε ρ / (1 − ρ). The blocked scan and the
        segment layout chain their block starts in float64 with exact powers of F and
        only add responses through powers rounded once: no compounding (0)."""
        if self.uses_scan(chains, plan.F.shape[0], plan):
            return 0.0
        P, _ = self.layout(chains, plan.F.shape[0], 1 << 30, 1 << 30)
        return 0.0 if P > 1 else self._stepping_drift(plan)

    @staticmethod
    def _scan_block(n: int) -> int:
        """Steps per Toeplitz block of the scan's first level (m)."""
        return 4 if n <= 16 else 2

    @staticmethod
    def _scan_chunk(chains: int, r: int, n: int, m: int) -> int:
        """Steps per chunk of the scan (a multiple of m, ~SCAN_CHUNK numbers)."""
        return max(m, SCAN_CHUNK // (chains * max(r, n)) // m * m)

    # -- blocked scan (small batches of small states) ---------------------------------

    @staticmethod
    def _toeplitz(F: Array, Lin: Array, m: int, plan: ExactPlan | None = None, step: int = 1) -> Array:
        """Block lower-triangular Toeplitz map of m inputs to m states, for row vectors:
        block (i, j) = (F^{j−i} Lin)ᵀ for j ≥ i, so that [u_0 … u_{m−1}] @ T gives
        y_j = Σ_{i≤j} u_i (F^{j−i} Lin)ᵀ (the response from a zero start). (m c, m n).
        With ``plan`` (and Lin = I), F^d is flushed as the power F_plan^(d·step)."""
        n, c = Lin.shape
        T = np.zeros((m, c, m, n))
        Fd = np.eye(n)
        for d in range(m):  # M = F^d Lin
            M = (Fd if plan is None else plan.flush(Fd, d * step)) @ Lin
            for i in range(m - d):
                T[i, :, i + d, :] = M.T
            Fd = F @ Fd
        return T.reshape(m * c, m * n)

    def _scan_level(self, plan: ExactPlan, m: int, level: int) -> dict:
        """Tables of scan level ``level`` (built once per plan, in float64 then cast).

        Level 0 maps m normals-vectors to m states (Lq folded in); level l ≥ 1 runs the
        recurrence T_p = T_{p−1} G_lᵀ + E_p of block ends, G_1 = F^m, G_{l+1} = G_l^q
        (q = SCAN_BLOCK), grouping q items per Toeplitz block."""
        levels = plan.tables.setdefault(("scan", m), [])
        if len(levels) > level:
            return levels[level]
        with _TABLES_LOCK:  # the workers of one run may ask at the same time
            self._build_levels(plan, m, level, levels)
        return levels[level]

    def _build_levels(self, plan: ExactPlan, m: int, level: int, levels: list) -> None:
        dt = plan.F.dtype
        F64 = plan.F_exact
        while len(levels) <= level:
            lv = len(levels)
            if lv == 0:
                L64 = plan.Lq_exact
                levels.append({
                    "TL": self._toeplitz(F64, L64, m, plan).astype(dt),
                    "PT": self._powers_T(F64, m, plan).astype(dt),
                    "G": np.linalg.matrix_power(F64, m),
                    "k": m,  # G = F^k
                })
                continue
            q = SCAN_BLOCK
            G = levels[-1]["G"] if lv == 1 else np.linalg.matrix_power(levels[-1]["G"], q)
            k = m if lv == 1 else levels[-1]["k"] * q
            levels.append({
                "G": G,
                "k": k,
                "GT": plan.flush(G, k).T.astype(dt),
                "TG": self._toeplitz(G, np.eye(G.shape[0]), q, plan, k).astype(dt),
                "PG": self._powers_T(G, q, plan, k).astype(dt),
            })

    def _scan(self, plan: ExactPlan, m: int, E: Array, x0: Array, level: int) -> Array:
        """T (B, P, n) with T[:, p] = T[:, p−1] G_levelᵀ + E[:, p] and T[:, −1] = x0:
        blocks of q items by one Toeplitz GEMM from zero, the blocks' true ends by the
        next level, then every item corrected by one GEMM with the powers of G."""
        B, P, n = E.shape
        lv = self._scan_level(plan, m, level)
        if P <= SCAN_DIRECT:
            T = np.empty_like(E)
            x = x0
            for p in range(P):
                x = x @ lv["GT"] + E[:, p]
                T[:, p] = x
            return T
        q = SCAN_BLOCK
        Q = -(-P // q)
        if Q * q != P:
            Ep = np.zeros((B, Q * q, n), dtype=E.dtype)
            Ep[:, :P] = E
        else:
            Ep = E
        Y = (Ep.reshape(B * Q, q * n) @ lv["TG"]).reshape(B, Q, q, n)
        ends = self._scan(plan, m, Y[:, :, -1], x0, level + 1)
        starts = np.concatenate([x0[:, None], ends[:, :-1]], axis=1)
        _add_product(Y.reshape(B * Q, q * n), starts.reshape(B * Q, n), lv["PG"])
        return Y.reshape(B, Q * q, n)[:, :P]

    @staticmethod
    def scan_edges(n_steps: int, streams: int, m: int) -> list[int]:
        """Step ranges of the blocked scan: stream s simulates steps edges[s]:edges[s+1]
        (all but the last a multiple of m long)."""
        share = n_steps // streams // m * m
        return [s * share for s in range(streams)] + [n_steps]

    def _run_scan(self, plan, x0, n_steps, noise, out, progress) -> None:
        """Small batches of small states (bound by normal generation, ~r normals per
        step against ~3n² multiply-adds). The run is cut into one stretch of steps
        per noise stream; worker s simulates stretch s from its own stream (stretch 0
        from x0, the others from zero) in cache-sized chunks, then the later stretches
        are fixed up with the response to their true start. Both phases run on the
        worker threads, with no synchronisation per chunk. The state before each chunk
        is carried in float64 (x ← x (F^w)ᵀ + chunk's zero-start end), so a float32 run
        never compounds rounded propagators (its decay rates stay exact).

        Within a chunk (all one worker's): the normals (B, w, r) of every block of m
        steps map to the block's zero-start response with one Toeplitz GEMM (Lq
        folded in); the zero-start block starts follow from the block ends by a blocked
        scan of s_{p+1} = s_p (F^m)ᵀ + e_p (small GEMMs, ~1/m of the work), plus the
        chunk start's free response x (F^{pm})ᵀ; each block then gets s_p (F^{j+1})ᵀ
        added. Exact, since the response to noise and start is linear. Per step: r
        normals and about (m r + 2n + 7n/m) n multiply-adds (the block GEMM, the start
        correction, the fix-up, the scan)."""
        B, n = x0.shape
        r = plan.Lq.shape[1]
        dtype = plan.F.dtype
        m = self._scan_block(n)
        lv0 = self._scan_level(plan, m, 0)
        TL, PT = lv0["TL"], lv0["PT"]
        S = noise.N_STREAMS
        edges = self.scan_edges(n_steps, S, m)
        chunk = self._scan_chunk(B, r, n, m)
        dev0 = (x0 - plan.mu).astype(dtype)
        report = _locked(progress)

        def simulate(s: int) -> None:
            lo, hi = edges[s], edges[s + 1]
            # the state before the chunk, carried in float64 with exact powers of F: in
            # float32 a carry through rounded propagators would drift the decay rates
            x = dev0.astype(np.float64) if lo == 0 else np.zeros((B, n))
            zero = np.zeros((B, n), dtype=dtype)
            k = lo
            while k < hi:
                w = min(chunk, hi - k)
                P0 = -(-w // m)
                Z = noise.part(s, B, w)  # (B, w, r)
                if P0 * m != w:  # the stretch's last, short block: zero noise after it
                    Zp = np.zeros((B, P0 * m, r), dtype=dtype)
                    Zp[:, :w] = Z
                    Z = Zp
                slab = out[:, k : k + w]
                direct = P0 * m == w and slab.flags.c_contiguous
                Y = slab if direct else np.empty((B, P0 * m, n), dtype=dtype)
                np.matmul(Z.reshape(B, P0, m * r), TL, out=Y.reshape(B, P0, m * n))
                ends = self._scan(plan, m, Y[:, m - 1 :: m], zero, 1)  # from a zero start
                starts = np.concatenate([zero[:, None], ends[:, :-1]], axis=1)
                Pf = P0 if plan.horizon is None else min(P0, -(-plan.horizon // m))
                starts[:, :Pf] += self._free_response(plan, m, x.astype(dtype), Pf)  # + x (F^{pm})ᵀ
                _add_product(Y.reshape(B * P0, m * n), starts.reshape(B * P0, n), PT)
                if not direct:
                    slab[...] = Y[:, :w]
                if k + w < hi:  # then w = P0·m and the last block end is step k + w − 1
                    x = x @ self._power(plan, w).T + ends[:, -1]
                k += w
                report(w)

        cancelled = getattr(noise, "check", lambda: None)  # interrupted runs stop here

        def fix_up(lo: int, hi: int, c: Array) -> None:
            """Add the zero-noise response to the start deviation c (the state before
            step lo) over steps lo:hi: c (F^{j−lo+1})ᵀ at step j."""
            k = lo
            while k < hi:
                cancelled()
                w = min(chunk, hi - k)
                P0 = -(-w // m)
                st = self._free_response(plan, m, c.astype(dtype), P0).reshape(B * P0, n)
                slab = out[:, k : k + w]
                if P0 * m == w and slab.flags.c_contiguous:
                    _add_product(slab.reshape(B * P0, m * n), st, PT)
                else:
                    slab += (st @ PT).reshape(B, P0 * m, n)[:, :w]
                if k + w < hi:  # float64 carry, as in the simulation (w = P0·m there)
                    c = c @ self._power(plan, w).T
                k += w

        noise._finish_pending()  # a prefetch from an earlier draw must not race the workers
        noise.map(simulate, S, n_steps * B * r)
        # Stretches 1…S−1 started from zero: add the response to their true starts, in
        # order (each needs the corrected end of the one before), every stretch split
        # between the workers (a part's start is the stretch's start propagated by F^j).
        for s in range(1, S):
            lo, hi = edges[s], edges[s + 1]
            if hi == lo or lo == 0:
                continue
            if plan.horizon is not None:  # the start's response is negligible after it
                hi = min(hi, lo + plan.horizon)
            c0 = out[:, lo - 1].astype(np.float64)
            cut = [lo + (hi - lo) * t // S // m * m for t in range(S)] + [hi]
            starts = [c0 @ self._power(plan, cut[t] - lo).T for t in range(S)]
            noise.map(
                lambda t, cut=cut, starts=starts: fix_up(cut[t], cut[t + 1], starts[t]),
                S,
                (hi - lo) * B * n,
            )
        if np.any(plan.mu):
            out += plan.mu

    @staticmethod
    def _power(plan: ExactPlan, k: int) -> Array:
        """F^k in float64 (cached per k)."""
        key = ("power", k)
        if key not in plan.tables:  # two workers may both build it: same value
            plan.tables[key] = plan.flush(np.linalg.matrix_power(plan.F_exact, k), k)
        return plan.tables[key]

    def _free_response(self, plan: ExactPlan, m: int, c: Array, P: int) -> Array:
        """c (G^p)ᵀ for p = 0…P−1 (G = F^m), (B, P, n): the starts of P blocks of m steps
        after a start deviation c with no noise, from two small tables of powers."""
        B, n = c.shape
        V = max(1, int(np.ceil(np.sqrt(P))))
        U = -(-P // V)
        key = ("free", m, U, V)
        if key not in plan.tables:  # two workers may both build it: same value
            G = self._scan_level(plan, m, 1)["G"]
            dt = plan.F.dtype
            near = self._powers_T(G, V, plan, m)  # (G¹)ᵀ … (G^V)ᵀ
            far = self._powers_T(np.linalg.matrix_power(G, V), U, plan, m * V)
            eye = np.eye(n)
            near = np.concatenate([eye, near[:, : (V - 1) * n]], axis=1)  # G⁰ … G^{V−1}
            far = np.concatenate([eye, far[:, : (U - 1) * n]], axis=1)
            plan.tables[key] = (near.astype(dt), far.astype(dt))
        near, far = plan.tables[key]
        coarse = (c @ far).reshape(B * U, n)  # c (G^{uV})ᵀ
        fine = (coarse @ near).reshape(B, U * V, n)  # c (G^{uV + v})ᵀ
        return fine[:, :P]

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
                key = ("segment", K)
                if key not in plan.tables:  # once per plan (boards call run per chunk)
                    PT = self._powers_T(plan.F_exact, K, plan)
                    plan.tables[key] = (PT.astype(plan.F.dtype), PT[:, (K - 1) * n :].copy())
                PT, FKT = plan.tables[key]
                Y = X.reshape(K, Pc, B, n)
                starts = np.empty((Pc, B, n), dtype=dev.dtype)
                s = dev.astype(np.float64)  # float64 chain of starts: no compounded rounding
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
