"""Monte Carlo over as-built boards: N boards drawn from a netlist's ``tolerances:``,
each evaluated exactly (no sampling).

For every board (:class:`~spu_emulator.hardware.family.BoardFamily` draws it and builds
its matrices M, K, Q with all the others at once, in chunks):

1. screening: a value drawn ≤ 0 (a capacitance, inductance, resistance or noise level),
   C_N or L not positive definite (batched Cholesky), or a drift that is not Hurwitz
   (some Re λ ≥ −10⁻¹¹ max|λ|) make a *failed* board, with its reason;
2. energy coordinates y = Rᵀx (M = R Rᵀ): A_y = −R⁻¹ K R⁻ᵀ, Q_y = R⁻¹ Q R⁻ᵀ, and the
   eigenvalues λ of A_y (the modes: natural frequency |λ|/2π, quality factor
   |λ| / (2|Re λ|));
3. the stationary covariance: at one temperature T (every noise source a resistor at T)
   Cov(x) = k_B T M⁻¹ = k_B T R⁻ᵀ R⁻¹, a batched inverse (fluctuation–dissipation);
   otherwise the batched Lyapunov solve A_y Σ_y + Σ_y A_yᵀ + Q_y = 0
   (:func:`~spu_emulator.hardware.lyapunov.solve_batched`, checked board by board
   against its backward error, scipy where that is not met) and Cov(x) = R⁻ᵀ Σ_y R⁻¹;
4. the node-voltage covariance Σ_v (the voltage block) and, for a programmed design,
   the covariance of the user variables Σ_x = T Cov(x) Tᵀ (T the design's readout
   map), the matrix the board realizes Σ_x⁻¹, and the metrics of :mod:`.spec`.

Modes are matched to the nominal board's: each board's eigenvalues, folded into the
upper half plane, are sorted by |λ| and read at the places where the nominal board has
one eigenvalue of each conjugate pair (and its real ones).

Randomness: board i draws only from ``SeedSequence(seed).spawn(N)[i]``, so the result
(bytes included) does not depend on ``chunk``. Cost per board: O(P) to draw,
O(nnz + r³) to build, ~25 s³ for the eigenvalues and O(s³) for the covariance
(≈ 40 s³ more off equilibrium); memory O(chunk · s²) while running, O(N (n² + d² + P))
for the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..integrate.exact import _blas_single_thread
from ..netlist.schema import Netlist
from ..units import K_B
from .family import BoardFamily, Population
from .spec import METRICS, Spec, yield_report

Array = np.ndarray

#: Why a board failed, by code (0: it did not).
FAILURES = {
    1: "a component value drawn at or below zero",
    2: "the capacitance matrix C_N is not positive definite",
    3: "the inductance matrix L is not positive definite",
    4: "the drift is not Hurwitz (an undamped or unstable mode)",
}
#: Working memory a chunk may take (bytes).
CHUNK_BYTES = 48e6


def _cholesky(X: Array) -> tuple[Array, Array]:
    """Lower Cholesky factors of a stack (B, k, k) and which succeeded (B,): one batched
    call, board by board only when some board is not positive definite."""
    ok = np.ones(X.shape[0], bool)
    if X.shape[-1] == 0:
        return X.copy(), ok
    try:
        return np.linalg.cholesky(X), ok
    except np.linalg.LinAlgError:
        R = np.full_like(X, np.nan)
        for b in range(X.shape[0]):
            try:
                R[b] = np.linalg.cholesky(X[b])
            except np.linalg.LinAlgError:
                ok[b] = False
        return R, ok


@dataclass(frozen=True, eq=False)
class Boards:
    """Exact results for a batch of boards: ``failure`` (B,) codes (:data:`FAILURES`),
    ``covariance`` (B, s, s) stationary Cov(x) (NaN where failed), ``eigenvalues``
    (B, s) of the drift, ``fallbacks`` boards solved by scipy."""

    failure: Array
    covariance: Array
    eigenvalues: Array
    fallbacks: int = 0


def evaluate(family: BoardFamily, values: Array) -> Boards:
    """Screen and solve boards ``values`` (B, P) exactly (module docstring, steps 1–3)."""
    values = np.atleast_2d(np.asarray(values, float))
    B, s, n, m = values.shape[0], family.dim, family.n, family.m
    failure = np.zeros(B, np.int8)
    cov = np.full((B, s, s), np.nan)
    lam_all = np.full((B, s), np.nan + 0j)
    pos = np.array([p.positive for p in family.parameters], bool)
    bad = np.any(~(values[:, pos] > 0), axis=1) if pos.any() else np.zeros(B, bool)
    failure[bad] = 1
    idx = np.flatnonzero(~bad)
    if idx.size == 0:
        return Boards(failure, cov, lam_all)
    M, K, Q = family.matrices(values[idx])
    Rc, okc = _cholesky(M[:, :n, :n])
    Rl, okl = _cholesky(M[:, n:n + m, n:n + m])
    failure[idx[~okc]] = 2
    failure[idx[okc & ~okl]] = 3
    keep = okc & okl
    idx, M, K, Q, Rc, Rl = idx[keep], M[keep], K[keep], Q[keep], Rc[keep], Rl[keep]
    if idx.size == 0:
        return Boards(failure, cov, lam_all)
    Rinv = np.zeros_like(M)
    Rinv[:, :n, :n] = np.linalg.inv(Rc)
    if m:
        Rinv[:, n:n + m, n:n + m] = np.linalg.inv(Rl)
    d = np.arange(n + m, s)
    Rinv[:, d, d] = 1.0
    RinvT = Rinv.swapaxes(-1, -2)
    Ay = -(Rinv @ K @ RinvT)
    fallbacks = 0
    if family.temperature is not None:
        lam = np.linalg.eigvals(Ay)
        Sx = K_B * family.temperature * (RinvT @ Rinv)
    else:
        from .lyapunov import solve_batched

        lam, V = np.linalg.eig(Ay)
        st = _hurwitz(lam)
        Sx = np.full_like(M, np.nan)
        if st.any():
            Qy = Rinv[st] @ Q[st] @ RinvT[st]
            Sy, fallbacks = solve_batched(Ay[st], 0.5 * (Qy + Qy.swapaxes(-1, -2)),
                                          eig=(lam[st], V[st]))
            Sx[st] = RinvT[st] @ Sy @ Rinv[st]
    stable = _hurwitz(lam)
    failure[idx[~stable]] = 4
    Sx = 0.5 * (Sx + Sx.swapaxes(-1, -2))
    cov[idx[stable]] = Sx[stable]
    lam_all[idx] = lam
    return Boards(failure, cov, lam_all, fallbacks)


def check_nominal(netlist: Netlist, failure: int) -> None:
    """Raise :class:`~spu_emulator.errors.InstabilityError` if the nominal board fails."""
    if failure:
        from ..errors import InstabilityError

        raise InstabilityError(f"{netlist.source or netlist.name}: the nominal board fails: "
                               f"{FAILURES[int(failure)]}")


def _hurwitz(lam: Array) -> Array:
    """(B,) every Re λ < −10⁻¹¹ max|λ| (the nominal check of LinearSDE.check_stable)."""
    scale = np.max(np.abs(lam), axis=1, initial=0.0)
    return np.all(lam.real < -1e-11 * scale[:, None], axis=1)


def _sorted_modes(lam: Array) -> Array:
    """Eigenvalues folded into the upper half plane, sorted by |λ| (stable), (B, s)."""
    fold = lam.real + 1j * np.abs(lam.imag)
    order = np.argsort(np.abs(fold), axis=1, kind="stable")
    return np.take_along_axis(fold, order, axis=1)


def _frobenius(X: Array) -> Array:
    return np.sqrt(np.sum(X * X, axis=(-2, -1)))


@dataclass(frozen=True, eq=False)
class MonteCarloResult(Population):
    """N boards of one netlist: per-board arrays and their metrics (module docstring).

    ``element_values`` (N, P) drawn values of ``parameters``; ``voltage_covariance``
    (N, n, n) V²; ``mode_frequency``, ``mode_q`` (N, k); ``failure`` (N,) codes;
    ``metrics`` name → (N,); ``nominal`` the same quantities for the nominal board.
    For a programmed design ``variables`` (d,), ``realized_covariance`` and
    ``realized_matrix`` (N, d, d), and ``target_covariance`` (d, d)."""

    seed: int
    nodes: tuple[str, ...]
    element_values: Array
    voltage_covariance: Array
    mode_frequency: Array
    mode_q: Array
    failure: Array
    metrics: dict[str, Array]
    nominal: dict[str, Any]
    equilibrium: bool
    fallbacks: int = 0
    wall_time: float = 0.0
    variables: tuple[str, ...] | None = None
    realized_covariance: Array | None = None
    realized_matrix: Array | None = None
    target_covariance: Array | None = None

    @property
    def boards(self) -> int:
        return int(self.failure.size)

    @property
    def ok(self) -> Array:
        return self.failure == 0

    def failed(self) -> dict[str, Any]:
        codes, counts = np.unique(self.failure[self.failure > 0], return_counts=True)
        return {"count": int(np.sum(self.failure > 0)),
                "reasons": {FAILURES[int(c)]: int(k) for c, k in zip(codes, counts, strict=True)}}

    def yield_(self, spec: str | Spec) -> dict[str, Any]:
        """Fraction of boards meeting ``spec`` with its 95% Wilson interval (:mod:`.spec`)."""
        sp = spec if isinstance(spec, Spec) else Spec.parse(spec, tuple(self.metrics))
        return yield_report(sp, self.metrics)

    def summary(self) -> dict[str, Any]:
        """Plain data (the JSON report): counts, failures, the voltage covariance's nominal,
        mean, std, 5/50/95 percentiles (V², over the boards that did not fail), the modes
        and every metric the same way."""
        ok = self.ok
        out: dict[str, Any] = {
            "netlist": self.name, "digest": self.digest, "seed": self.seed,
            "boards": self.boards, "nodes": list(self.nodes),
            "parameters": len(self.parameters),
            "method": "k_B T M⁻¹ at one temperature" if self.equilibrium else "Lyapunov equation",
            "failed_boards": self.failed(),
            "voltage_covariance": {"nominal": self.nominal["voltage_covariance"],
                                   **_stats(self.voltage_covariance[ok])},
            "modes": {"nominal_frequency": self.nominal["mode_frequency"],
                      "nominal_q": self.nominal["mode_q"],
                      "frequency": _stats(self.mode_frequency[ok]),
                      "q": _stats(self.mode_q[ok])},
            "metrics": {k: {"unit": METRICS[k].unit, "nominal": self.nominal["metrics"][k],
                            **_stats(v[ok])} for k, v in self.metrics.items()},
            "wall_time": self.wall_time,
        }
        if self.variables is not None:
            out["program"] = {
                "variables": list(self.variables),
                "target_covariance": self.target_covariance,
                "realized_covariance": _stats(self.realized_covariance[ok]),
                "realized_matrix": _stats(self.realized_matrix[ok]),
                "inverse_error": out["metrics"]["inverse_error"],
            }
        return out

    def arrays(self) -> dict[str, Array]:
        """Per-board arrays, to be saved as .npz."""
        out: dict[str, Array] = {
            "element_names": np.array(self.parameters, dtype=str),
            "element_classes": np.array(self.classes, dtype=str),
            "element_values": self.element_values,
            "nominal_values": self.nominal["values"],
            "nodes": np.array(self.nodes, dtype=str),
            "voltage_covariance": self.voltage_covariance,
            "mode_frequency": self.mode_frequency,
            "mode_q": self.mode_q,
            "failure": self.failure,
            "failure_reasons": np.array([""] + [FAILURES[k] for k in sorted(FAILURES)], dtype=str),
            "seed": np.array(self.seed, dtype=np.uint64),
        }
        out.update({f"metric_{k}": v for k, v in self.metrics.items()})
        if self.variables is not None:
            out.update(variables=np.array(self.variables, dtype=str),
                       realized_covariance=self.realized_covariance,
                       realized_matrix=self.realized_matrix,
                       target_covariance=self.target_covariance)
        return out


def _stats(X: Array) -> dict[str, Any]:
    """mean, std (ddof 1), p05, p50, p95 over axis 0 (NaN where no board is left)."""
    if X.shape[0] == 0:
        nan = np.full(X.shape[1:], np.nan)
        return {"mean": nan, "std": nan, "p05": nan, "p50": nan, "p95": nan}
    with np.errstate(invalid="ignore"):
        p = np.percentile(X, [5, 50, 95], axis=0)
        std = np.std(X, axis=0, ddof=1) if X.shape[0] > 1 else np.zeros(X.shape[1:])
    return {"mean": np.mean(X, axis=0), "std": std, "p05": p[0], "p50": p[1], "p95": p[2]}


def target_covariance(program: Any, matrix: Array) -> Array:
    """The covariance a design is meant to realize, from the matrix given to
    ``spu program`` (its ``target`` kind): S itself for a covariance, A⁻¹ (P⁻¹) for a
    matrix (precision)."""
    A = np.asarray(matrix, float)
    d = program.dim
    if A.shape != (d, d):
        raise InputError(f"expected a {d} x {d} matrix for this {d}-variable design, got shape "
                         f"{A.shape}", "target")
    if not np.all(np.isfinite(A)) or np.max(np.abs(A - A.T)) > 1e-10 * np.max(np.abs(A)):
        raise InputError("must be a finite symmetric matrix", "target")
    try:
        np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise InputError("must be positive definite", "target") from None
    return A.copy() if program.target == "covariance" else np.linalg.inv(A)


def monte_carlo(
    source: Any,
    boards: int,
    seed: int = 0,
    *,
    chunk: int | None = None,
    target: Array | None = None,
    progress: Any = None,
    max_memory: float | None = None,
    workers: int | None = None,
) -> MonteCarloResult:
    """Draw ``boards`` boards of ``source`` (a :class:`~spu_emulator.netlist.schema.Netlist`
    with tolerances, or a programmed :class:`~spu_emulator.hardware.design.Design`) and
    evaluate each exactly (module docstring). ``target``: the matrix given to
    ``spu program`` (default: the nominal board's own realized covariance, which is the
    target exactly for designs compiled without a component bank). ``chunk``: boards
    built at once (default: as many as fit in ~48 MB, split over the workers).
    ``workers``: threads evaluating chunks side by side (default: one per core).
    ``progress``: an object with start/update/close. Neither ``chunk`` nor ``workers``
    changes the result: every board is written to its own row, and BLAS runs on one
    thread throughout (threadpoolctl), so every product is computed the same way."""
    # one-thread BLAS: faster for a board's small matrices (the chunks run side by side
    # instead), and it does not collapse when the machine is loaded
    with _blas_single_thread(True):
        return _monte_carlo(source, boards, seed, chunk, target, progress, max_memory, workers)


def _monte_carlo(
    source: Any,
    boards: int,
    seed: int,
    chunk: int | None,
    target: Array | None,
    progress: Any,
    max_memory: float | None,
    workers: int | None,
) -> MonteCarloResult:
    design = None if isinstance(source, Netlist) else source
    netlist = source if design is None else design.netlist
    if netlist.tolerances is None:
        raise InputError(f"{netlist.source or netlist.name}: the netlist has no 'tolerances:' "
                         "section, so every board is the nominal one; add one (see "
                         "docs/netlist-format.md, Tolerances)")
    if isinstance(boards, bool) or not isinstance(boards, (int, np.integer)) or boards < 1:
        raise InputError(f"must be a positive integer, got {boards!r}", "boards")
    for name, v in (("chunk", chunk), ("workers", workers)):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < 1):
            raise InputError(f"must be a positive integer, got {v!r}", name)
    t_start = time.perf_counter()
    fam = BoardFamily(netlist)
    s, n, P = fam.dim, fam.n, len(fam.parameters)
    T = None
    if design is not None:
        T = design.program.readout_matrix(fam.state_names)
    d = 0 if T is None else T.shape[0]
    per_board = 8.0 * (n * n + 2 * d * d + P + 4 * s + 8)
    from ..resources import Budget, cores

    Budget(max_memory=max_memory).check_memory(boards * per_board, f"{boards} boards",
                                               "use fewer `boards`")
    if chunk is None:
        chunk = int(max(1, min(1024, CHUNK_BYTES // (8.0 * 14 * s * s + 1),
                               -(-boards // cores()))))

    # the nominal board, through the same code
    nom = evaluate(fam, fam.nominal[None])
    check_nominal(netlist, nom.failure[0])
    lam0 = nom.eigenvalues[0]
    order0 = np.argsort(np.abs(lam0), kind="stable")
    keep = np.flatnonzero(lam0[order0].imag >= 0)
    modes0 = _sorted_modes(lam0[None])[:, keep]
    f0, q0 = np.abs(modes0[0]) / (2 * np.pi), np.abs(modes0[0]) / (2 * np.abs(modes0[0].real))
    V0 = nom.covariance[0, :n, :n]
    Sx0 = None if T is None else T @ nom.covariance[0] @ T.T
    if T is not None:
        Sstar = Sx0 if target is None else target_covariance(design.program, target)
        Pstar = np.linalg.inv(Sstar)

    vcov = np.full((boards, n, n), np.nan)
    values = np.empty((boards, P))
    freq = np.full((boards, keep.size), np.nan)
    qf = np.full((boards, keep.size), np.nan)
    failure = np.zeros(boards, np.int8)
    relax = np.full(boards, np.nan)
    ucov = None if T is None else np.full((boards, d, d), np.nan)
    umat = None if T is None else np.full((boards, d, d), np.nan)
    fallbacks = 0

    def run(i0: int) -> int:
        i1 = min(boards, i0 + chunk)
        vals = fam.draw(seed, i0, i1)
        res = evaluate(fam, vals)
        values[i0:i1] = vals
        failure[i0:i1] = res.failure
        good = res.failure == 0
        rows = np.arange(i0, i1)[good]
        vcov[rows] = res.covariance[good, :n, :n]
        modes = _sorted_modes(res.eigenvalues[good])[:, keep]
        freq[rows] = np.abs(modes) / (2 * np.pi)
        qf[rows] = np.abs(modes) / (2 * np.abs(modes.real))
        relax[rows] = 1.0 / np.min(-res.eigenvalues[good].real, axis=1, initial=np.inf)
        if T is not None and rows.size:
            Sx = T @ res.covariance[good] @ T.T
            Sx = 0.5 * (Sx + Sx.swapaxes(-1, -2))
            ucov[rows] = Sx
            umat[rows] = np.linalg.inv(Sx)
        return res.fallbacks

    starts = range(0, boards, chunk)
    workers = min(len(starts), cores()) if workers is None else int(workers)
    if progress is not None:
        progress.start(boards, "board")
    try:
        if workers <= 1:
            for i0 in starts:
                fallbacks += run(i0)
                if progress is not None:
                    progress.update(min(boards, i0 + chunk) - i0)
        else:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(workers) as pool:
                jobs = {pool.submit(run, i0): i0 for i0 in starts}
                for job in as_completed(jobs):
                    fallbacks += job.result()
                    if progress is not None:
                        i0 = jobs[job]
                        progress.update(min(boards, i0 + chunk) - i0)
    finally:
        if progress is not None:
            progress.close()

    def metrics_of(V: Array, fr: Array, q: Array, rt: Array, Sx: Array | None,
                   Px: Array | None) -> dict[str, Array]:
        dg, dg0 = np.diagonal(V, axis1=1, axis2=2), np.diag(V0)
        out = {}
        if Sx is not None:
            out["inverse_error"] = _frobenius(Sx - Sstar) / _frobenius(Sstar)
            out["matrix_error"] = _frobenius(Px - Pstar) / _frobenius(Pstar)
        out["covariance_error"] = _frobenius(V - V0) / _frobenius(V0)
        out["max_voltage_std"] = np.sqrt(np.max(dg, axis=1, initial=-np.inf))
        out["max_variance_shift"] = np.max(np.abs(dg / dg0 - 1), axis=1, initial=-np.inf)
        out["min_q"] = np.min(q, axis=1, initial=np.inf)
        out["max_frequency_shift"] = np.max(np.abs(fr / f0 - 1), axis=1, initial=-np.inf)
        out["relaxation_time"] = rt
        return out

    with np.errstate(invalid="ignore"):
        metrics = metrics_of(vcov, freq, qf, relax, ucov, umat)
        nominal_metrics = {k: float(v[0]) for k, v in metrics_of(
            V0[None], f0[None], q0[None],
            np.array([1.0 / np.min(-lam0.real)]),
            None if Sx0 is None else Sx0[None],
            None if Sx0 is None else np.linalg.inv(Sx0)[None]).items()}
    nominal = {"values": fam.nominal.copy(), "voltage_covariance": V0, "mode_frequency": f0,
               "mode_q": q0, "metrics": nominal_metrics}
    if Sx0 is not None:
        nominal["realized_covariance"] = Sx0
    return MonteCarloResult(
        name=netlist.name, digest=netlist.digest, seed=int(seed), parameters=fam.names,
        classes=fam.classes, nodes=fam.nodes, element_values=values, voltage_covariance=vcov,
        mode_frequency=freq, mode_q=qf, failure=failure, metrics=metrics, nominal=nominal,
        equilibrium=fam.temperature is not None, fallbacks=fallbacks,
        wall_time=time.perf_counter() - t_start,
        variables=None if design is None else tuple(v.name for v in design.program.variables),
        realized_covariance=ucov, realized_matrix=umat,
        target_covariance=None if T is None else Sstar,
    )


__all__ = ["FAILURES", "Boards", "MonteCarloResult", "check_nominal", "evaluate", "monte_carlo",
           "target_covariance"]
