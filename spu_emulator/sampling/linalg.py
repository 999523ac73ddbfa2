"""Thermodynamic linear algebra on the emulated SPU, shaped like scipy.linalg.

* :func:`inv` (Aifer et al.): program C_N ∝ A (see :mod:`spu_emulator.hardware.compiler`),
  time-average the user-variable second moment ⟨x xᵀ⟩ → A⁻¹. The statistical error
  shrinks like 1/sqrt(N_eff) (N_eff ≈ emulated time / correlation time) until the
  component quantization floor.
* :func:`solve`: ``method="dc"`` programs the conductance matrix G ∝ A of an RC
  network and injects DC currents ∝ b; the node voltages relax to mean G⁻¹ b, read as
  a time average (thermal noise kT/C is the error). ``method="inverse"`` uses
  x = ⟨x xᵀ⟩ b from an inversion run. ``"auto"``: dc when A is an M- or H-matrix
  (a resistor network can realize it), else inverse.
* :func:`logdet`: from the covariance: log det A = −log det Ŝ, with the Wishart bias
  E[log det Ŝ] = log det S + Σ_{k=1..d} ψ((N−k+1)/2) + d log(2/N) removed and
  Var = Σ_k ψ'((N−k+1)/2) ≈ 2d/N (N = N_eff). Justification: with equilibrium
  samples this costs nothing beyond the inversion run, while free-energy (Jarzynski)
  estimates from switching work have exponentially growing variance in d.

Calls: ``inv(a, budget=RunBudget(), *, seed=0, quantization=Quantization(),
board=BoardOptions(), options=RC_CELLS)``; ``logdet`` takes the same, ``solve(a, b,
...)`` the same plus ``method`` and ``drive``. The options are the value objects of
:mod:`.options` (unknown keywords are a TypeError). Each returns one
:class:`LinalgResult` (``value``, ``info``; it unpacks as ``value, info = inv(A)``).

Error bars (``info``): the chains are split into G independent groups; the spread of
the group estimates gives the mean-square error mse of the estimate with no
autocorrelation model. For a Gaussian second moment the squared Frobenius error is a
weighted χ² with ν = (Σs² + (Σs)²)² / (2Σs⁴ + 2(Σs²)²) effective degrees of freedom
(s: eigenvalues of Ŝ), so ``relative_error_estimate`` is the 95% upper bound
sqrt(F₀.₉₅(ν, (G−1)ν) · mse) / ‖Ŝ‖_F (the F quantile also covers the uncertainty of
mse itself). ``effective_samples`` = (‖Ŝ‖²_F + tr(Ŝ)²) / mse, the number of
independent samples with the same error. The DC solve's mean x̂ has error covariance
C_eff / (B n) for B chains of n readings, C_eff = T (Σ + W Σ + Σ Wᵀ) Tᵀ with
W = Σ_{m=1}^{n−1} (1 − m/n) Fᵐ = F R − F (I − Fⁿ) R² / n, R = (I − F)⁻¹ (F the exact
transition over the interval, Σ the stationary covariance, T the readout): its
ν = tr(C_eff)² / ‖C_eff‖²_F counts the slow modes' autocorrelation, which the
one-reading covariance would not (measured: that one covered 93.6% instead of 95%).
The converter the board is read through (the netlist's ``readout:`` block or
``BoardOptions.readout``, see :mod:`.readout`) enters twice. Its random parts (input
noise, quantization) vary from reading to reading, so they are in the spread between
groups like the thermal noise (the DC solve's ν counts them as white). Its systematic
parts bias the estimate however long the run: gain error (second moments × (1 + g)²,
means × (1 + g)), offset (means + o; the raw second moment + o² on single-ended
variables), the anti-alias filter (variances × ≈ ω_c/(ω_c + mode rate); means
unchanged), and the variance the noise and quantization add (σ_n² + Δ²/12 on the
diagonal). Each estimator is applied to the readings' exact stationary moments as
read and as an ideal readout would give them (:meth:`Board.reading_moments`); the
difference is the systematic error (relative Frobenius for A⁻¹, ‖ΔS b‖/‖S b‖ and
‖Δx‖/‖x‖ for the solves, |Δ log det| for logdet), and ``relative_error_estimate`` is
the statistical 95% bound *plus* it (triangle inequality: "error ≤ 5%" holds at 95%
whatever the converter). A ``tol`` the systematic error alone reaches is refused up
front. ``info.readout`` reports the converter, each bias term, the clipped fraction
(clipping itself is not in the bar: a :class:`~.readout.ClippingWarning` says so) and
the two parts of the bound. Coupler quantization is not in the bar; the compile report
gives it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

import numpy as np

from ..errors import InputError
from ..hardware.bank import stratified_roundings
from ..hardware.compiler import CompileOptions, check_spd, finish, plan_program, quantized_values
from ..hardware.design import Design
from ..integrate.progress import Progress
from .energy import EnergyModel, energy_report
from .engine import Board
from .options import (
    DEFAULT_BOARD,
    DEFAULT_BUDGET,
    NO_QUANTIZATION,
    BoardOptions,
    Quantization,
    RunBudget,
    check_positive,
)
from .readout import ReadingMoments, relative_norm, warn_clipping

Array = np.ndarray
V = TypeVar("V")

CONFIDENCE = 0.95

#: Compile options of the linear-algebra calls unless given: RC cells (state size d
#: for M-matrices), no covariance report (it costs an O(d³) inverse).
RC_CELLS = CompileOptions(inductance=None, covariance_report=False)

#: ``solve`` methods.
SOLVE_METHODS = ("auto", "dc", "inverse")


@dataclass(frozen=True)
class LinalgInfo:
    """What a thermodynamic linear-algebra run reports beside its value."""

    relative_error_estimate: float  # 95% upper bound on the relative (Frobenius) error
    relative_error_rms: float
    emulated_time: float  # s of hardware time (all roundings together)
    wall_time: float  # s
    effective_samples: float
    samples: int
    sample_interval: float
    relaxation_time: float
    chains: int
    roundings: int
    compile_reports: list[dict] = field(default_factory=list)
    method: str = "inverse"
    history: list[dict] = field(default_factory=list)
    #: the converter, its biases and the clipped fraction (None: the board read ideally)
    readout: dict | None = None
    #: the energy report (:func:`~.energy.energy_report`), when asked for
    energy: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field; ``readout`` and ``energy`` only when present."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__
                if not (k in ("readout", "energy") and getattr(self, k) is None)}


@dataclass(frozen=True, eq=False)
class LinalgResult(Generic[V]):
    """The one result of :func:`inv`, :func:`logdet` and :func:`solve`: ``value`` (A⁻¹,
    log det A or x) and ``info`` (:class:`LinalgInfo`: error bound, emulated time,
    samples, ...). Iterating yields the two, so ``value, info = inv(A)`` works."""

    value: V
    info: LinalgInfo

    def __iter__(self) -> Iterator[Any]:
        return iter((self.value, self.info))


@dataclass(frozen=True)
class _Check:
    """One look at a run: the estimate, its 95% bound and rms (relative), N_eff."""

    value: Any
    bound: float
    rms: float
    effective_samples: float


def _f_quantile(nu: float, nu2: float) -> float:
    from scipy import stats  # lazy: scipy's import pulls in argparse

    return float(stats.f.ppf(CONFIDENCE, max(nu, 0.5), max(nu2, 0.5)))


def _dof(C: Array) -> float:
    """Effective degrees of freedom tr(C)² / ‖C‖²_F of a squared norm whose terms have
    covariance C (Satterthwaite)."""
    return float(np.trace(C) ** 2 / max(np.sum(C * C), 1e-300))


def second_moment_error(S: Array, mse: float, groups: int, roundings: int = 1) -> tuple[float, float, float]:
    """(95% bound, rms) of the relative Frobenius error, and N_eff, of a second-moment
    estimate S with batch-means mean-square error mse (see module docstring). O(d³)."""
    fro2 = float(np.sum(S * S))
    tr = float(np.trace(S))
    S2 = S @ S
    s4 = float(np.sum(S2 * S2))
    nu = (fro2 + tr * tr) ** 2 / max(2 * s4 + 2 * fro2 * fro2, 1e-300)
    q = _f_quantile(nu, roundings * (groups - 1) * nu)
    rms = np.sqrt(mse / fro2)
    neff = (fro2 + tr * tr) / max(mse, 1e-300)
    return float(np.sqrt(q) * rms), float(rms), float(neff)


def _vector_error(x: Array, mse: float, C: Array, batches: int) -> tuple[float, float]:
    """(95% bound, rms) of the relative error ‖x̂ − x‖ / ‖x̂‖ of a vector estimate whose
    error has covariance ∝ C and whose batch-means mse has ``batches`` (K (G − 1))
    degrees of freedom per term: sqrt(F₀.₉₅(ν, batches · ν) · mse) / ‖x̂‖. O(d²)."""
    nu = _dof(C)
    rms = float(np.sqrt(mse) / max(np.linalg.norm(x), 1e-300))
    return float(np.sqrt(_f_quantile(nu, batches * nu)) * rms), rms


class _Run:
    """Boards estimating one quantity together, advanced in step: the K roundings of an
    inversion (their estimates averaged) or the one board of a DC solve."""

    def __init__(self, boards: list[Board]):
        self.boards = boards
        self.groups = boards[0].groups

    @classmethod
    def of(cls, designs: list[Design], seed: int, board: BoardOptions) -> _Run:
        """One board per design, each with a stream spawned from ``seed``."""
        ss = np.random.SeedSequence(seed)
        return cls([Board(des, seed=np.random.default_rng(s), options=board)
                    for des, s in zip(designs, ss.spawn(len(designs)), strict=True)])

    def advance(self, steps: int) -> None:
        for b in self.boards:
            b.advance(steps)

    def batch_mse(self, per_board: list[Array]) -> float:
        """Batch-means mean-square error of the average over the boards of an estimate
        given, per board, by its group values (G, ...): Σ_k Σ var_g / (G K²)."""
        K = len(self.boards)
        mse = 0.0
        for per in per_board:
            mse += float(np.sum(per.var(axis=0, ddof=1))) / self.groups / K**2
        return mse

    def second_moment(self) -> tuple[Array, float]:
        """Average of the boards' second moments (symmetrized) and its mse."""
        K = len(self.boards)
        est = 0.0
        pers = []
        for b in self.boards:
            S, per = b.moments.second_moment()
            est = est + S / K
            pers.append(per)
        return 0.5 * (est + est.T), self.batch_mse(pers)

    def reading_moments(self) -> tuple[ReadingMoments, ReadingMoments] | None:
        """(as read, ideal) stationary moments of the readings, averaged over the boards
        (means and second moments averaged); None when every board reads ideally."""
        if all(b.converter is None for b in self.boards):
            return None
        K = len(self.boards)
        pairs = [b.reading_moments() for b in self.boards]

        def avg(j: int) -> ReadingMoments:
            m = sum(p[j].mean for p in pairs) / K
            return ReadingMoments(m, sum(p[j].second for p in pairs) / K - np.outer(m, m))

        return avg(0), avg(1)

    @property
    def samples(self) -> int:
        return sum(b.moments.total for b in self.boards)

    @property
    def emulated_time(self) -> float:
        return sum(b.emulated_time for b in self.boards)

    @property
    def wall_time(self) -> float:
        return sum(b.wall_time for b in self.boards)

    def close(self) -> None:
        for b in self.boards:
            b.close()


# ---------------------------------------------------------------------------
# What one look at a run estimates, for each call.
# ---------------------------------------------------------------------------


def _inverse_check(run: _Run) -> _Check:
    """A⁻¹ ≈ Ŝ with the Wishart bound."""
    S, mse = run.second_moment()
    bound, rms, neff = second_moment_error(S, mse, run.groups, len(run.boards))
    return _Check(S, bound, rms, neff)


def _logdet_check(run: _Run) -> _Check:
    """log det A ≈ −(log det Ŝ − bias), bound 1.96 sqrt(Σ ψ′((N−k+1)/2)) (absolute)."""
    from scipy import special, stats  # lazy: scipy's import pulls in argparse

    S, mse = run.second_moment()
    d = S.shape[0]
    _, _, neff = second_moment_error(S, mse, run.groups, len(run.boards))
    neff = max(neff, d + 2.0)
    k = np.arange(1, d + 1)
    rms = np.sqrt(float(np.sum(special.polygamma(1, (neff - k + 1) / 2))))
    bound = float(stats.norm.ppf(0.5 + CONFIDENCE / 2) * rms)
    _, ld = np.linalg.slogdet(S)
    bias = float(np.sum(special.digamma((neff - k + 1) / 2)) + d * np.log(2 / neff))
    return _Check(float(-(ld - bias)), bound, float(rms), float(neff))


def _solve_inverse_check(run: _Run, b: Array) -> _Check:
    """x ≈ Ŝ b; one reading's term y yᵀ b has covariance (bᵀSb) S + x xᵀ (Isserlis)."""
    S, mse_S = run.second_moment()
    x = S @ b
    mse = run.batch_mse([bd.moments.second_moment()[1] @ b for bd in run.boards])
    C = float(b @ S @ b) * S + np.outer(x, x)
    bound, rms = _vector_error(x, mse, C, len(run.boards) * (run.groups - 1))
    _, _, neff = second_moment_error(S, mse_S, run.groups, len(run.boards))
    return _Check(x, bound, rms, neff)


class _MeanShape:
    """n ↦ C_eff(n) = T (Σ + W Σ + Σ Wᵀ) Tᵀ + (w / (1 + g)²) E Eᵀ, ∝ n × the covariance
    of one chain's mean of n consecutive readings (module docstring), from the board's
    exact transition (filter states included); the converter's white variance w per
    reading (noise, quantization) is uncorrelated between readings.
    O(n_s³) once (n_s states), O(d²) per call (O(n_s³) while Fⁿ is not negligible)."""

    def __init__(self, board: Board):
        plan = board.plan
        F = np.asarray(plan.F64 if getattr(plan, "F64", None) is not None else plan.F, float)
        T = board.readout_matrix()
        Sigma = board.sde.equilibrium_covariance()
        n = F.shape[0]
        P1 = F @ np.linalg.inv(np.eye(n) - F)  # F R
        P2S = P1 @ np.linalg.solve(np.eye(n) - F, Sigma)  # F R² Σ
        self.F, self.T, self.P2S = F, T, P2S
        self.A0 = T @ Sigma @ T.T
        self.A1 = T @ (P1 @ Sigma) @ T.T
        self.A2 = T @ P2S @ T.T
        self.rho = float(np.exp(-board.h / board.tau))  # spectral radius of F
        conv = board.converter
        self.white = None
        if conv is not None and conv.white_variance > 0:
            E = board.readout.channel_map()
            self.white = conv.white_variance / (1.0 + conv.gain_error) ** 2 * (E @ E.T)

    def __call__(self, steps: int) -> Array:
        A2 = self.A2
        if self.rho ** steps > 1e-16:
            A2 = A2 - self.T @ np.linalg.matrix_power(self.F, steps) @ self.P2S @ self.T.T
        B = self.A1 - A2 / steps
        C = self.A0 + B + B.T
        return C if self.white is None else C + self.white


def _solve_dc_check(run: _Run, shape: _MeanShape) -> _Check:
    """x ≈ the readings' mean, ν from its error covariance C_eff (module docstring)."""
    board = run.boards[0]
    x, per = board.moments.first_moment()
    mse = run.batch_mse([per])
    bound, rms = _vector_error(x, mse, shape(board.samples_per_chain), run.groups - 1)
    m2, _ = board.moments.second_moment()
    C = m2 - np.outer(x, x)
    return _Check(x, bound, rms, float(np.trace(C) / max(mse, 1e-300)))


# The readout's systematic error of each estimate: the estimator applied to the
# readings' exact stationary moments as read, against an ideal readout's.
def _inverse_bias(read: ReadingMoments, ideal: ReadingMoments) -> float:
    """‖E Ŝ − S‖_F / ‖S‖_F of the second moment."""
    return relative_norm(read.second - ideal.second, ideal.second)


def _logdet_bias(read: ReadingMoments, ideal: ReadingMoments) -> float:
    """|log det E Ŝ − log det S| (absolute, as the logdet bound)."""
    return abs(float(np.linalg.slogdet(read.second)[1] - np.linalg.slogdet(ideal.second)[1]))


def _solve_inverse_bias(read: ReadingMoments, ideal: ReadingMoments, b: Array) -> float:
    """‖(E Ŝ − S) b‖ / ‖S b‖."""
    return relative_norm((read.second - ideal.second) @ b, ideal.second @ b)


def _dc_bias(read: ReadingMoments, ideal: ReadingMoments) -> float:
    """‖E x̂ − x‖ / ‖x‖ of the mean (gain and offset; the filter passes DC)."""
    return relative_norm(read.mean - ideal.mean, ideal.mean)


Bias = Callable[[ReadingMoments, ReadingMoments], float]


# ---------------------------------------------------------------------------
# The run: program, advance until the budget is spent, report.
# ---------------------------------------------------------------------------


def program_inverse(a: Array, *, options: CompileOptions, quantization: Quantization, seed: int,
                    calibration: Any = None) -> list[Design]:
    """The design(s) for inverting ``a``: one, or ``quantization.roundings`` stratified
    stochastic roundings of the couplers to its bank (error mitigation). O(d²) each
    (plus the O(d³) covariance report if ``options`` asks for it). With a board
    ``calibration`` (:class:`~spu_emulator.calibration.report.BoardCalibration`): one
    design compensated for it (:func:`~spu_emulator.calibration.compensate.
    compile_compensated`) whose netlist is the as-built board (the calibrated deviations
    applied per position), so the emulated run is that board's."""
    rng = np.random.default_rng([seed, 7919])
    if calibration is not None:
        from ..calibration.compensate import as_built, compile_compensated

        if quantization.roundings > 1:
            raise InputError("averaging stratified roundings is not available on a calibrated "
                             "board (one compensated program)", "roundings")
        des = compile_compensated(a, "matrix", calibration=calibration, options=options,
                                  bank=quantization.bank, rounding=quantization.rounding, rng=rng)
        return [Design(as_built(des.netlist, calibration), des.program)]
    plan = plan_program(a, "matrix", options=options)
    bank, roundings = quantization.bank, quantization.roundings
    if roundings <= 1 or bank is None:
        values, qinfo = quantized_values(plan, bank, quantization.rounding, rng)
        return [finish(plan, values, qinfo, options.covariance_report)]
    top = float(np.max(plan.values)) if len(plan.values) else 1.0
    levels = bank.scaled(top)
    allv = stratified_roundings(plan.values, levels, roundings, rng)
    return [
        finish(plan, v, {"bank": bank.label, "rounding": f"stratified {k + 1}/{roundings}"},
               options.covariance_report)
        for k, v in enumerate(allv)
    ]


def _run_until(run: _Run, steps0: int, budget: RunBudget, look: Callable[[_Run], _Check],
               progress: Progress | None = None, systematic: float = 0.0
               ) -> tuple[_Check, list[dict]]:
    """Advance the run in chunks until the budget is spent; ``look(run)`` checks the
    estimate, whose error bound is its statistical bound plus the readout's
    ``systematic`` error. Under ``tol``, chunk sizes follow the 1/sqrt(N) law of the
    statistical part toward tol − systematic (refused when that is not positive).
    Returns the last check and the history of (samples, bound) per check."""
    b0 = run.boards[0]
    K = len(run.boards)
    per_step = b0.chains * K
    if budget.time is not None:
        steps_total = int((budget.time / K - b0.burn_in) / b0.h) // b0.chains
        if steps_total * per_step > budget.max_samples:
            raise InputError(
                f"{budget.time:g} s of hardware time is {steps_total * per_step:.3g} samples at "
                f"{b0.h:.3g} s each, more than `max_samples` ({budget.max_samples:.3g}): give a "
                "shorter time or a tolerance", "time")
        if steps_total < 2:
            need = K * (b0.burn_in + 2 * b0.h * b0.chains)
            raise InputError(
                f"{budget.time:g} s is too short: burn-in alone takes {b0.burn_in * K:.3g} s and one "
                f"sample per chain {b0.h * b0.chains:.3g} s (give at least {need:.3g} s)", "time"
            )
        run.advance(steps_total)
        check = look(run)
        return check, [{"samples": run.samples, "error": check.bound + systematic}]
    if budget.samples is not None:
        if budget.samples > budget.max_samples:
            raise InputError(f"more than `max_samples` ({budget.max_samples:.3g})", "samples")
        run.advance(max(2, -(-budget.samples // per_step)))
        check = look(run)
        return check, [{"samples": run.samples, "error": check.bound + systematic}]
    tol = float(budget.tol)
    if systematic >= tol:
        raise InputError(
            f"the readout's systematic error alone is {systematic:.3g} (gain error, offset, "
            f"anti-alias filter, noise and quantization; see info.readout), not below {tol:g}: "
            "no run length reaches it; give a larger tol, or a time or sample budget", "tol")
    history = []
    steps = steps0
    while True:
        run.advance(steps)
        if progress is not None:
            progress.update(steps * per_step)
        check = look(run)
        err = check.bound + systematic
        history.append({"samples": run.samples, "error": err, "emulated_time": run.emulated_time})
        if err <= tol or run.samples >= budget.max_samples:
            return check, history
        done = run.samples // per_step
        need = done * (check.bound / (tol - systematic)) ** 2 * 1.1 - done
        steps = int(np.clip(need, max(2, done // 4), 4 * done))


@dataclass(frozen=True)
class _Report:
    """What a run reports beyond its estimate: its ``operation`` (the energy report's
    digital counterpart), the readout ``bias`` of its estimator, the ``energy`` model
    (None: no energy report)."""

    operation: str
    bias: Bias
    energy: EnergyModel | None = None


def _readout_info(run: _Run, systematic: float, check: _Check) -> dict | None:
    """The readout report of a finished run (board 0's converter and biases, clipping
    over all boards, the error budget); warns when readings clipped."""
    rep = run.boards[0].readout_report()
    if rep is None:
        return None
    readings = sum(b.adc_readings for b in run.boards)
    clipped = sum(b.adc_clipped for b in run.boards)
    rep.update(readings=readings, clipped=clipped,
               clipped_fraction=warn_clipping(clipped, readings, run.boards[0].converter),
               statistical_error_bound=check.bound, systematic_error=systematic,
               error_bound="statistical 95% bound + systematic error of the readout "
                           "(clipping not included)")
    return rep


def _energy_info(run: _Run, model: EnergyModel | None, operation: str) -> dict | None:
    if model is None:
        return None
    b0 = run.boards[0]
    return energy_report(
        operation=operation, dimension=b0.d, cells=b0.cells, channels=len(b0.readout.channels),
        hardware_time=run.emulated_time, conversions=sum(b.conversions for b in run.boards),
        bits=None if b0.adc is None else b0.adc.bits, samples=run.samples, model=model)


def _measured(run: _Run, steps0: int, budget: RunBudget, look: Callable[[_Run], _Check],
              designs: list[Design], method: str, t_wall: float, report: _Report,
              progress: Progress | None = None) -> LinalgResult:
    """Run until the budget is spent and report (the run is closed in any case);
    ``progress`` hears of the samples as they come. The error bound adds the readout's
    systematic error (``report.bias`` of the readings' exact moments) to the
    statistical one."""
    if progress is not None:
        progress.start(budget.samples or 0, "sample")
    try:
        moments = run.reading_moments()
        systematic = 0.0 if moments is None else report.bias(*moments)
        check, history = _run_until(run, steps0, budget, look, progress, systematic)
    finally:
        run.close()
        if progress is not None:
            progress.close()
    b0 = run.boards[0]
    info = LinalgInfo(
        relative_error_estimate=check.bound + systematic, relative_error_rms=check.rms,
        emulated_time=run.emulated_time, wall_time=time.perf_counter() - t_wall,
        effective_samples=check.effective_samples, samples=run.samples, sample_interval=b0.h,
        relaxation_time=b0.tau, chains=b0.chains, roundings=len(run.boards),
        compile_reports=[dict(des.program.report) for des in designs[:4]], method=method,
        history=history, readout=_readout_info(run, systematic, check),
        energy=_energy_info(run, report.energy, report.operation),
    )
    return LinalgResult(check.value, info)


def normalized(a: Array) -> tuple[Array, float]:
    """(a / s, s) with s the power of two nearest the largest |entry| (exact) when that
    entry is outside 1e-30..1e30, else (a, 1): the board's arithmetic stays finite
    whatever the matrix's scale (and matrices of ordinary scale run unchanged)."""
    if np.iscomplexobj(a):
        raise InputError("has complex entries; the SPU works with real symmetric matrices",
                         "matrix")
    a = np.asarray(a, dtype=float)
    big = float(np.max(np.abs(a))) if a.size else 1.0
    if not (np.isfinite(big) and big > 0) or 1e-30 <= big <= 1e30:
        return a, 1.0
    s = float(2.0 ** np.round(np.log2(big)))
    return a / s, s


def _second_moment_run(a: Array, budget: RunBudget, seed: int, quantization: Quantization,
                       board: BoardOptions, options: CompileOptions,
                       look: Callable[[_Run], _Check], method: str, report: _Report,
                       progress: Progress | None = None, calibration: Any = None) -> LinalgResult:
    """The body of inv, logdet and solve(method="inverse"): program ``a`` (one design per
    rounding; ``a`` already normalized), run the boards until the budget is spent,
    ``look`` at the estimate, ``report`` as :class:`_Report` says."""
    t_wall = time.perf_counter()
    a = np.asarray(a, dtype=float)
    designs = program_inverse(a, options=options, quantization=quantization, seed=seed,
                              calibration=calibration)
    run = _Run.of(designs, seed, board.with_default_dtype(np.float32))
    steps0 = max(2, int(np.ceil(max(64, 4 * a.shape[0]) / (board.chains * len(designs)))))
    return _measured(run, steps0, budget, look, designs, method, t_wall, report, progress)


def inv(a: Array, budget: RunBudget = DEFAULT_BUDGET, *, seed: int = 0,
        quantization: Quantization = NO_QUANTIZATION, board: BoardOptions = DEFAULT_BOARD,
        options: CompileOptions = RC_CELLS, progress: Progress | None = None,
        energy: EnergyModel | None = None, calibration: Any = None) -> LinalgResult[Array]:
    """A⁻¹ of a symmetric positive definite ``a`` from the equilibrium fluctuations of an
    SPU programmed with it, as ``LinalgResult(value=A⁻¹ estimate, info)``. ``budget``:
    emulated time, total samples, or the 95% bound ``tol`` on the relative Frobenius
    error (default 0.05; with a converter the bound includes its systematic error, see
    module docstring). ``quantization``: coupler bank, rounding, and K averaged
    stratified roundings (error mitigation). ``energy``: the assumptions of an energy
    report in ``info.energy`` (:class:`~.energy.EnergyModel`; None: none). Cost per
    sample O(n²), n = state size (d for RC cells); compile O(d²); the error bars
    O(G d² + d³) per check. ``calibration``: run on that calibrated board, programmed
    to compensate it (:func:`program_inverse`; the compile report states the
    calibration's own uncertainty).
    """
    an, scale = normalized(a)
    res = _second_moment_run(an, budget, seed, quantization, board, options, _inverse_check,
                             "inverse", _Report("inverse", _inverse_bias, energy), progress,
                             calibration)
    return res if scale == 1.0 else LinalgResult(res.value / scale, res.info)


def logdet(a: Array, budget: RunBudget = DEFAULT_BUDGET, *, seed: int = 0,
           quantization: Quantization = NO_QUANTIZATION, board: BoardOptions = DEFAULT_BOARD,
           options: CompileOptions = RC_CELLS, progress: Progress | None = None,
           energy: EnergyModel | None = None, calibration: Any = None) -> LinalgResult[float]:
    """log det A from the SPU covariance (bias-corrected, see module docstring), as
    ``LinalgResult(value=log det A, info)``. ``budget.tol`` bounds the absolute error of
    log det A, i.e. the relative error of det A; ``info.relative_error_estimate`` is
    that 95% bound (plus the readout's systematic |Δ log det|). ``energy`` as
    :func:`inv`. Cost as :func:`inv`, plus O(d³) per check.
    """
    an, scale = normalized(a)
    res = _second_moment_run(an, budget, seed, quantization, board, options, _logdet_check,
                             "covariance (Wishart bias-corrected)",
                             _Report("logdet", _logdet_bias, energy), progress, calibration)
    if scale == 1.0:
        return res
    return LinalgResult(res.value + an.shape[0] * float(np.log(scale)), res.info)


def solve(a: Array, b: Array, budget: RunBudget = DEFAULT_BUDGET, *, method: str = "auto",
          drive: float = 10.0, seed: int = 0, quantization: Quantization = NO_QUANTIZATION,
          board: BoardOptions = DEFAULT_BOARD, options: CompileOptions = RC_CELLS,
          progress: Progress | None = None, energy: EnergyModel | None = None,
          calibration: Any = None) -> LinalgResult[Array]:
    """x with A x = b, as ``LinalgResult(value=x, info)``. ``method``: ``"dc"`` (RC network,
    mean = G⁻¹ b; ``drive`` sets the signal to that many thermal rms; float64 unless
    ``board.dtype`` says otherwise), ``"inverse"`` (x = Ŝ b from an inversion run; the
    only method that averages ``quantization.roundings``) or ``"auto"`` (dc where a
    resistor network realizes A, else inverse). ``info.relative_error_estimate`` bounds
    ‖x̂ − x‖/‖x‖ (95%; plus the readout's systematic error), ``energy`` as :func:`inv`.
    Cost: dc O(n²) per sample, inverse as :func:`inv`.
    """
    a, scale = normalized(a)  # A x = b  <=>  (A/s) x = b/s
    if np.iscomplexobj(b):
        raise InputError("has complex entries", "b")
    b = np.asarray(b, float).ravel() / scale
    if method not in SOLVE_METHODS:
        raise InputError(f"unknown method {method!r} ({', '.join(SOLVE_METHODS)})", "method")
    if b.shape != (a.shape[0],):
        raise InputError(f"expected {a.shape[0]} values, got {b.size}", "b")
    if not np.any(b):
        raise InputError("is zero: the solution is x = 0", "b")
    check_positive(drive, "drive")
    if calibration is not None:  # compensation programs capacitors: the inversion route
        if method == "dc":
            raise InputError("a calibrated board is compensated through its capacitors: use "
                             "'inverse' or 'auto'", "method")
        method = "inverse"
    if method != "inverse" and quantization.roundings > 1:
        raise InputError(f"method {method!r} runs one design: averaging roundings needs "
                         "method='inverse'", "roundings")
    if method != "inverse":
        design = _dc_design(a, b, method, drive, seed, quantization, options)
        if design is not None:
            t_wall = time.perf_counter()
            run = _Run([Board(design, seed=seed, options=board.with_default_dtype(np.float64))])
            look = partial(_solve_dc_check, shape=_MeanShape(run.boards[0]))
            return _measured(run, 2, budget, look, [design], "dc", t_wall,
                             _Report("solve", _dc_bias, energy), progress)
    return _second_moment_run(a, budget, seed, quantization, board, options,
                              partial(_solve_inverse_check, b=b), "inverse",
                              _Report("solve", partial(_solve_inverse_bias, b=b), energy), progress,
                              calibration)


def _dc_design(a: Array, b: Array, method: str, drive: float, seed: int, quantization: Quantization,
               options: CompileOptions) -> Design | None:
    """The DC network for ``solve``; None where ``"auto"`` falls back to the inverse."""
    from ..hardware.dc import NotResistive, compile_dc

    check_spd(a, "matrix")
    try:
        return compile_dc(a, b, options=options, drive=drive, bank=quantization.bank,
                          rounding=quantization.rounding, seed=seed)
    except NotResistive as exc:
        if method == "dc":
            raise InputError(f"dc: {exc.message}; use 'inverse' or 'auto'", "method") from None
    except InputError:
        if method == "dc":
            raise
    return None


def inverse_path(a: Array, times: Array, *, seed: int = 0, quantization: Quantization = NO_QUANTIZATION,
                 board: BoardOptions = DEFAULT_BOARD, options: CompileOptions = RC_CELLS
                 ) -> list[dict[str, Any]]:
    """Error of one inversion run as it goes: the run is extended to each emulated
    time in ``times`` (s, increasing; all roundings together) and the estimate is
    checked there. Returns per checkpoint ``emulated_time``, ``samples``, ``error``
    (actual relative Frobenius error against numpy's inverse), ``bound`` (the 95%
    bar the run reports, the readout's systematic error included) and ``floor`` (the exact infinite-time error of the compiled
    couplings, from the Lyapunov covariance). Reproduces the paper's error-vs-time
    curve; the cost is that of a single run to the last time."""
    a = check_spd(np.asarray(a, float), "matrix")
    designs = program_inverse(a, options=options, quantization=quantization, seed=seed)
    ai = np.linalg.inv(a)
    floor_est = sum(d.exact_covariance() for d in designs) / len(designs)
    floor = float(np.linalg.norm(floor_est - ai) / np.linalg.norm(ai))
    run = _Run.of(designs, seed, board.with_default_dtype(np.float32))
    moments = run.reading_moments()
    systematic = 0.0 if moments is None else _inverse_bias(*moments)
    b0 = run.boards[0]
    K = len(run.boards)
    out = []
    done = 0
    for t in np.asarray(times, float):
        steps = int((t / K - b0.burn_in) / b0.h) // b0.chains
        if steps < 2 or steps <= done:
            continue
        run.advance(steps - done)
        done = steps
        S, mse = run.second_moment()
        bound, _, neff = second_moment_error(S, mse, run.groups, K)
        out.append({
            "emulated_time": run.emulated_time, "samples": run.samples,
            "error": float(np.linalg.norm(S - ai) / np.linalg.norm(ai)), "bound": bound + systematic,
            "effective_samples": neff, "floor": floor, "wall_time": run.wall_time,
        })
    run.close()
    return out


__all__ = [
    "RC_CELLS", "SOLVE_METHODS", "LinalgInfo", "LinalgResult", "inv", "inverse_path", "logdet",
    "program_inverse", "second_moment_error", "solve",
]
