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

Error bars (``return_info=True``): the chains are split into G independent groups;
the spread of the group estimates gives the mean-square error mse of the estimate
with no autocorrelation model. For a Gaussian second moment the squared Frobenius
error is a weighted χ² with ν = (Σs² + (Σs)²)² / (2Σs⁴ + 2(Σs²)²) effective degrees
of freedom (s: eigenvalues of Ŝ), so ``relative_error_estimate`` is the 95% upper
bound sqrt(F₀.₉₅(ν, (G−1)ν) · mse) / ‖Ŝ‖_F (the F quantile also covers the
uncertainty of mse itself). ``effective_samples`` = (‖Ŝ‖²_F + tr(Ŝ)²) / mse, the
number of independent samples with the same error. Quantization and other
systematic errors are not in the bar; the compile report gives them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from ..errors import InputError
from ..hardware.bank import Bank, stratified_roundings
from ..hardware.compiler import CompileOptions, finish, plan_program, quantized_values
from ..hardware.design import Design
from .engine import Board

Array = np.ndarray

CONFIDENCE = 0.95


@dataclass
class LinalgInfo:
    """What a thermodynamic linear-algebra run returns beside its result."""

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

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _f_quantile(nu: float, nu2: float) -> float:
    return float(stats.f.ppf(CONFIDENCE, max(nu, 0.5), max(nu2, 0.5)))


def second_moment_error(S: Array, mse: float, groups: int, roundings: int = 1) -> tuple[float, float, float]:
    """(95% bound, rms) of the relative Frobenius error, and N_eff, of a second-moment
    estimate S with batch-means mean-square error mse (see module docstring)."""
    fro2 = float(np.sum(S * S))
    tr = float(np.trace(S))
    S2 = S @ S
    s4 = float(np.sum(S2 * S2))
    nu = (fro2 + tr * tr) ** 2 / max(2 * s4 + 2 * fro2 * fro2, 1e-300)
    q = _f_quantile(nu, roundings * (groups - 1) * nu)
    rms = np.sqrt(mse / fro2)
    neff = (fro2 + tr * tr) / max(mse, 1e-300)
    return float(np.sqrt(q) * rms), float(rms), float(neff)


class _InverseRun:
    """K boards (one per rounding of the couplers) estimating A⁻¹ together."""

    def __init__(self, designs: list[Design], seed, chains, groups, interval, dtype):
        ss = np.random.SeedSequence(seed)
        self.boards = [
            Board(des, seed=np.random.default_rng(s), interval=interval, chains=chains, groups=groups, dtype=dtype)
            for des, s in zip(designs, ss.spawn(len(designs)), strict=True)
        ]
        self.groups = groups
        self.mean = designs[0].program.mean

    def advance(self, steps: int) -> None:
        for b in self.boards:
            b.advance(steps)

    def estimate(self) -> tuple[Array, float]:
        """Average of the boards' second moments and its batch-means mse."""
        K = len(self.boards)
        est, mse = 0.0, 0.0
        for b in self.boards:
            S, per = b.moments.second_moment()
            est = est + S / K
            mse += float(np.sum(per.var(axis=0, ddof=1))) / self.groups / K**2
        return 0.5 * (est + est.T), mse

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


def program_inverse(
    a: Array,
    *,
    options: CompileOptions,
    bank: Bank | None,
    rounding: str,
    roundings: int,
    seed: int,
) -> list[Design]:
    """The design(s) for inverting ``a``: one, or ``roundings`` stratified stochastic
    roundings of the couplers to ``bank`` (error mitigation)."""
    plan = plan_program(a, "matrix", options=options)
    rng = np.random.default_rng([seed, 7919])
    if roundings <= 1 or bank is None:
        values, qinfo = quantized_values(plan, bank, rounding, rng)
        return [finish(plan, values, qinfo, options.covariance_report)]
    top = float(np.max(plan.values)) if len(plan.values) else 1.0
    levels = bank.scaled(top)
    allv = stratified_roundings(plan.values, levels, roundings, rng)
    return [
        finish(plan, v, {"bank": bank.label, "rounding": f"stratified {k + 1}/{roundings}"},
               options.covariance_report)
        for k, v in enumerate(allv)
    ]


def _run_until(run: _InverseRun, steps0: int, tol: float | None, time_budget: float | None,
               samples: int | None, max_samples: int, measure) -> list[dict]:
    """Advance the run in chunks until the stopping rule holds. ``measure()`` returns
    the current error bound. Chunk sizes follow the 1/sqrt(N) law toward the target."""
    history = []
    b0 = run.boards[0]
    per_step = b0.chains * len(run.boards)
    if time_budget is not None:
        steps_total = int((time_budget / len(run.boards) - b0.burn_in) / b0.h) // b0.chains
        if steps_total < 2:
            raise InputError(
                f"--time {time_budget:g} s is too short: burn-in alone takes {b0.burn_in * len(run.boards):.3g} s "
                f"and one sample per chain {b0.h * b0.chains:.3g} s"
            )
        run.advance(steps_total)
        history.append({"samples": run.samples, "error": measure()})
        return history
    if samples is not None:
        run.advance(max(2, -(-samples // per_step)))
        history.append({"samples": run.samples, "error": measure()})
        return history
    steps = steps0
    while True:
        run.advance(steps)
        err = measure()
        history.append({"samples": run.samples, "error": err, "emulated_time": run.emulated_time})
        if err <= tol or run.samples >= max_samples:
            return history
        done = run.samples // per_step
        need = done * (err / tol) ** 2 * 1.1 - done
        steps = int(np.clip(need, max(2, done // 4), 4 * done))


def _inverse_core(a, time, tol, samples, seed, bank, rounding, roundings, options, chains,
                  groups, interval, dtype, max_samples, measure_kind, b=None):
    a = np.asarray(a, dtype=float)
    if tol is None and time is None and samples is None:
        tol = 0.05
    if sum(x is not None for x in (tol, time, samples)) != 1:
        raise InputError("give one of time, tol or samples")
    if tol is not None and not tol > 0:
        raise InputError(f"tol must be positive, got {tol!r}")
    options = options or CompileOptions(inductance=None, covariance_report=False)
    t_wall = __import__("time").perf_counter()
    designs = program_inverse(a, options=options, bank=bank, rounding=rounding,
                              roundings=roundings, seed=seed)
    run = _InverseRun(designs, seed, chains, groups, interval, dtype)
    d = a.shape[0]
    state: dict[str, Any] = {}

    def measure() -> float:
        S, mse = run.estimate()
        state["S"], state["mse"] = S, mse
        if measure_kind == "inverse":
            bound, rms, neff = second_moment_error(S, mse, groups, roundings)
        elif measure_kind == "logdet":
            _, _, neff = second_moment_error(S, mse, groups, roundings)
            neff = max(neff, d + 2.0)
            k = np.arange(1, d + 1)
            var = float(np.sum(special.polygamma(1, (neff - k + 1) / 2)))
            rms = np.sqrt(var)
            bound = float(stats.norm.ppf(0.5 + CONFIDENCE / 2) * rms)
        else:  # solve via the inverse: x = S b
            x = S @ b
            per = [bd.moments.second_moment()[1] @ b for bd in run.boards]
            mse = sum(float(np.sum(p.var(axis=0, ddof=1))) for p in per) / groups / len(run.boards) ** 2
            C = float(b @ S @ b) * S + np.outer(x, x)
            nu = float(np.trace(C) ** 2 / max(np.sum(C * C), 1e-300))
            q = _f_quantile(nu, len(run.boards) * (groups - 1) * nu)
            rms = float(np.sqrt(mse) / max(np.linalg.norm(x), 1e-300))
            bound = float(np.sqrt(q) * rms)
            _, _, neff = second_moment_error(S, state["mse"], groups, roundings)
        state.update(bound=bound, rms=float(rms), neff=float(neff))
        return bound

    steps0 = max(2, int(np.ceil(max(64, 4 * d) / (chains * len(designs)))))
    hist = _run_until(run, steps0, tol, time, samples, max_samples, measure)
    run.close()
    b0 = run.boards[0]
    info = LinalgInfo(
        relative_error_estimate=state["bound"], relative_error_rms=state["rms"],
        emulated_time=run.emulated_time, wall_time=__import__("time").perf_counter() - t_wall,
        effective_samples=state["neff"], samples=run.samples, sample_interval=b0.h,
        relaxation_time=b0.tau, chains=chains, roundings=len(designs),
        compile_reports=[dict(des.program.report) for des in designs[:4]], history=hist,
    )
    return state, info


_DEFAULTS = dict(chains=128, groups=16, interval=None, dtype=np.float32, max_samples=10**8)


def inverse_path(
    a: Array,
    times: Array,
    *,
    seed: int = 0,
    bank: Bank | None = None,
    rounding: str = "nearest",
    roundings: int = 1,
    options: CompileOptions | None = None,
    **kw: Any,
) -> list[dict[str, Any]]:
    """Error of one inversion run as it goes: the run is extended to each emulated
    time in ``times`` (s, increasing; all roundings together) and the estimate is
    checked there. Returns per checkpoint ``emulated_time``, ``samples``, ``error``
    (actual relative Frobenius error against numpy's inverse), ``bound`` (the 95%
    bar the run reports) and ``floor`` (the exact infinite-time error of the compiled
    couplings, from the Lyapunov covariance). Reproduces the paper's error-vs-time
    curve; the cost is that of a single run to the last time."""
    cfg = _DEFAULTS | kw
    a = _check_spd_input(a)
    options = options or CompileOptions(inductance=None, covariance_report=False)
    designs = program_inverse(a, options=options, bank=bank, rounding=rounding, roundings=roundings, seed=seed)
    ai = np.linalg.inv(a)
    floor_est = sum(d.exact_covariance() for d in designs) / len(designs)
    floor = float(np.linalg.norm(floor_est - ai) / np.linalg.norm(ai))
    run = _InverseRun(designs, seed, cfg["chains"], cfg["groups"], cfg["interval"], cfg["dtype"])
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
        S, mse = run.estimate()
        bound, _, neff = second_moment_error(S, mse, cfg["groups"], K)
        out.append({
            "emulated_time": run.emulated_time, "samples": run.samples,
            "error": float(np.linalg.norm(S - ai) / np.linalg.norm(ai)), "bound": bound,
            "effective_samples": neff, "floor": floor, "wall_time": run.wall_time,
        })
    run.close()
    return out


def _check_spd_input(a: Array) -> Array:
    from ..hardware.compiler import check_spd

    return check_spd(np.asarray(a, float), "matrix")


def inv(
    a: Array,
    *,
    time: float | None = None,
    tol: float | None = None,
    samples: int | None = None,
    seed: int = 0,
    bank: Bank | None = None,
    rounding: str = "nearest",
    roundings: int = 1,
    options: CompileOptions | None = None,
    return_info: bool = False,
    **kw: Any,
) -> Array | tuple[Array, LinalgInfo]:
    """A⁻¹ of a symmetric positive definite ``a`` from the equilibrium fluctuations of
    an SPU programmed with it. Stop after emulated ``time`` (s), total ``samples``, or
    when the 95% error bound reaches ``tol`` (default 0.05). ``bank`` quantizes the
    couplers (``rounding="nearest"``), and ``roundings=K`` averages K stratified
    stochastic roundings (error mitigation). Cost per sample O(n²), n = state size
    (d for RC cells); compile O(d²); the error bars O(G d² + d³) per check.
    """
    cfg = _DEFAULTS | kw
    state, info = _inverse_core(a, time, tol, samples, seed, bank, rounding, roundings, options,
                                cfg["chains"], cfg["groups"], cfg["interval"], cfg["dtype"],
                                cfg["max_samples"], "inverse")
    return (state["S"], info) if return_info else state["S"]


def logdet(
    a: Array,
    *,
    time: float | None = None,
    tol: float | None = None,
    samples: int | None = None,
    seed: int = 0,
    bank: Bank | None = None,
    rounding: str = "nearest",
    roundings: int = 1,
    options: CompileOptions | None = None,
    return_info: bool = False,
    **kw: Any,
) -> float | tuple[float, LinalgInfo]:
    """log det A from the SPU covariance (bias-corrected, see module docstring).
    ``tol`` bounds the absolute error of log det A, i.e. the relative error of det A;
    ``relative_error_estimate`` is that 95% bound."""
    cfg = _DEFAULTS | kw
    state, info = _inverse_core(a, time, tol, samples, seed, bank, rounding, roundings, options,
                                cfg["chains"], cfg["groups"], cfg["interval"], cfg["dtype"],
                                cfg["max_samples"], "logdet")
    S, neff = state["S"], max(state["neff"], a.shape[0] + 2.0)
    d = S.shape[0]
    sign, ld = np.linalg.slogdet(S)
    k = np.arange(1, d + 1)
    bias = float(np.sum(special.digamma((neff - k + 1) / 2)) + d * np.log(2 / neff))
    val = -(ld - bias)
    info.method = "covariance (Wishart bias-corrected)"
    return (float(val), info) if return_info else float(val)


def solve(
    a: Array,
    b: Array,
    *,
    method: str = "auto",
    time: float | None = None,
    tol: float | None = None,
    samples: int | None = None,
    seed: int = 0,
    bank: Bank | None = None,
    rounding: str = "nearest",
    options: CompileOptions | None = None,
    drive: float = 10.0,
    return_info: bool = False,
    **kw: Any,
) -> Array | tuple[Array, LinalgInfo]:
    """x with A x = b. ``method``: ``"dc"`` (RC network, mean = G⁻¹ b; ``drive`` sets
    the signal to that many thermal rms), ``"inverse"`` (x = Ŝ b from an inversion
    run) or ``"auto"``. ``relative_error_estimate`` bounds ‖x̂ − x‖/‖x‖ (95%)."""
    a = np.asarray(a, float)
    b = np.asarray(b, float).ravel()
    if b.shape != (a.shape[0],):
        raise InputError(f"b: expected {a.shape[0]} values, got {b.size}")
    if not np.any(b):
        raise InputError("b is zero: the solution is x = 0")
    if method not in ("auto", "dc", "inverse"):
        raise InputError(f"unknown method {method!r} (auto, dc or inverse)")
    cfg = _DEFAULTS | kw
    if method in ("auto", "dc"):
        from ..hardware.dc import compile_dc

        opts = options or CompileOptions(inductance=None, covariance_report=False)
        try:
            design = compile_dc(a, b, options=opts, drive=drive, bank=bank, rounding=rounding, seed=seed)
        except InputError:
            if method == "dc":
                raise
            design = None
        if design is not None:
            return _solve_dc(design, b, time, tol, samples, seed, cfg, return_info)
    state, info = _inverse_core(a, time, tol, samples, seed, bank, rounding, 1, options,
                                cfg["chains"], cfg["groups"], cfg["interval"], cfg["dtype"],
                                cfg["max_samples"], "solve", b=b)
    x = state["S"] @ b
    info.method = "inverse"
    return (x, info) if return_info else x


def _solve_dc(design: Design, b, time_budget, tol, samples, seed, cfg, return_info):
    if tol is None and time_budget is None and samples is None:
        tol = 0.05
    t_wall = time.perf_counter()
    groups = cfg["groups"]
    board = Board(design, seed=seed, chains=cfg["chains"], groups=groups, interval=cfg["interval"],
                  dtype=np.float64)
    run = _InverseRun.__new__(_InverseRun)
    run.boards, run.groups, run.mean = [board], groups, design.program.mean
    state: dict[str, Any] = {}

    def measure() -> float:
        x, per = board.moments.first_moment()
        mse = float(np.sum(per.var(axis=0, ddof=1))) / groups
        m2, _ = board.moments.second_moment()
        C = m2 - np.outer(x, x)
        nu = float(np.trace(C) ** 2 / max(np.sum(C * C), 1e-300))
        q = _f_quantile(nu, (groups - 1) * nu)
        rms = float(np.sqrt(mse) / max(np.linalg.norm(x), 1e-300))
        state.update(x=x, rms=rms, bound=float(np.sqrt(q) * rms),
                     neff=float(np.trace(C) / max(mse, 1e-300)))
        return state["bound"]

    hist = _run_until(run, 2, tol, time_budget, samples, cfg["max_samples"], measure)
    board.close()
    info = LinalgInfo(
        relative_error_estimate=state["bound"], relative_error_rms=state["rms"],
        emulated_time=board.emulated_time, wall_time=time.perf_counter() - t_wall,
        effective_samples=state["neff"], samples=board.moments.total, sample_interval=board.h,
        relaxation_time=board.tau, chains=board.chains, roundings=1,
        compile_reports=[dict(design.program.report)], method="dc", history=hist,
    )
    return (state["x"], info) if return_info else state["x"]
