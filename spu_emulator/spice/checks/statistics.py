"""The statistics check: ngspice's own transient noise against the stationary law.

ngspice transient noise (``trnoise``, interval NT = fastest time / 20) after a
burn-in (10 slowest times, after the end of any bias protocol), resampled on the NT
grid; the sample covariance of the state (node voltages, or charges of a nonlinear
circuit) with batch-means standard errors (20 batches) is compared with the
emulator's stationary covariance Σ: exact (Lyapunov) for a linear circuit,
Euler–Maruyama with Richardson extrapolation for a nonlinear one
(:mod:`.euler`, whose standard error adds in quadrature). An entry passes when

    |Ŝ_ij − Σ_ij| ≤ bias · sqrt(Σ_ii Σ_jj) + k · sqrt(SE_ng,ij² + SE_emu,ij²),

``bias`` (default 3%) covering trnoise's known bias (interpolation and extra damping
at every breakpoint: +0.56% to +2.8% for NT = 1–5 ns on a 5 MHz tank), k = 4. That
extra damping rate ∝ ω²·NT is absolute, so for a mode of quality Q it biases the
variance by ε ≈ 5.6e-3·Q·ω·NT (:func:`trnoise_damping_bias`): the allowance becomes
1.5 ε where that exceeds 3%, and above ε = 10% (very high Q) the check is not run and
says why. The run (100 slowest times with ``quick``, 300 for a nonlinear circuit,
else 1000) is capped at ``max_trnoise_points`` (2e6 quick, 2e7) time points; if that
covers fewer than 40 relaxation times of the slowest mode it is not run either (batch
means would mean nothing). Where a nonlinear circuit's law is known in closed form
(≤ 3 nodes, noise at the bath temperature) the Boltzmann covariance by quadrature is
reported beside each entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...netlist.schema import Netlist
from ..export import TransientAnalysis, TrNoise, to_spice
from .base import Array, Check, CheckData, CheckResult, Runner, node_states
from .euler import euler_covariance
from .options import ValidateOptions

#: ngspice tolerances of a nonlinear trnoise deck: the step is pinned by the trnoise
#: breakpoints (every NT), so only Newton's convergence on the µV nodes matters.
NONLINEAR_STATISTICS_OPTIONS = ".options vntol=1e-12 abstol=1e-18 chgtol=1e-30"

#: ngspice's extra damping of a tank in transient noise, relative to the tank's own
#: damping, per unit of Q·ω·NT: +0.56% at NT = 1 ns for a 5 MHz, Q ≈ 32 tank (+1.1% at
#: 2 ns, +2.8% at 5 ns; measured with ngspice 39). The extra damping rate ∝ ω² NT does
#: not depend on the mode's own damping, so the relative bias grows with Q.
TRNOISE_DAMPING = 5.6e-3

#: Run length in slowest times with ``quick``: linear, nonlinear circuits (the latter
#: also carry the emulator reference's own standard error).
QUICK_RELAXATION_TIMES = {True: 100.0, False: 300.0}
FULL_RELAXATION_TIMES = 1000.0


@dataclass(frozen=True, eq=False)
class StatisticsData(CheckData):
    """Sample covariance ``cov`` (k, k) and its batch-means standard error ``se`` of
    the state ``nodes`` from an ngspice trnoise run of ``samples`` points every
    ``interval`` after ``burn_in`` seconds."""

    cov: Array
    se: Array
    mean: Array
    nodes: tuple[str, ...]
    samples: int
    interval: float
    duration: float
    burn_in: float
    commands: tuple[str, ...] = ()

    def to_npz(self) -> tuple[dict[str, Array], dict[str, Any]]:
        arrays = {"statistics_cov": self.cov, "statistics_se": self.se,
                  "statistics_mean": self.mean}
        meta = {"nodes": list(self.nodes), "samples": self.samples, "interval": self.interval,
                "duration": self.duration, "burn_in": self.burn_in}
        return arrays, {"statistics": meta}

    @classmethod
    def from_npz(cls, arrays: dict[str, Array], meta: dict[str, Any]) -> StatisticsData | None:
        if "statistics_cov" not in arrays:
            return None
        s = meta["statistics"]
        return cls(arrays["statistics_cov"], arrays["statistics_se"], arrays["statistics_mean"],
                   tuple(s["nodes"]), s["samples"], s["interval"], s["duration"], s["burn_in"])


@dataclass(frozen=True, slots=True)
class StatisticsPlan:
    """The trnoise run: NT ``interval``, ``duration`` kept after ``burn_in`` (s); the
    standard errors from ``batches`` batch means."""

    interval: float
    duration: float
    burn_in: float
    nodes: tuple[str, ...]
    batches: int = 20


def max_points(options: ValidateOptions) -> float:
    """The trnoise run's time-point budget."""
    cap = options.statistics.max_trnoise_points
    if cap is not None:
        return float(cap)
    return 2e6 if options.quick else 2e7


def statistics_plan(circuit: Any, options: ValidateOptions) -> StatisticsPlan:
    """NT = fastest time / 20 (3 digits); ``relaxation_times`` slowest times after
    the end of the bias protocol plus ``burn_in_relaxation_times``; the run and the
    relaxation part of the burn-in scaled down together to at most
    ``max_trnoise_points`` time points."""
    opts = options.statistics
    sde = circuit.to_sde()
    nt = opts.trnoise_interval if opts.trnoise_interval is not None else sde.fastest_time() / 20.0
    nt = float(f"{nt:.3g}")
    if opts.relaxation_times is not None:
        n_relax = opts.relaxation_times
    else:
        n_relax = QUICK_RELAXATION_TIMES[sde.linear] if options.quick else FULL_RELAXATION_TIMES
    tau = sde.relaxation_time()
    protocol = 0.0 if sde.linear else sde.bias_end()
    duration, burn = n_relax * tau, opts.burn_in_relaxation_times * tau
    cap = max(max_points(options) * nt - protocol, 0.0)
    if duration + burn > cap:
        duration, burn = duration * cap / (duration + burn), burn * cap / (duration + burn)
    return StatisticsPlan(nt, float(f"{duration:.3g}"), float(f"{protocol + burn:.3g}"),
                          tuple(circuit.nodes), int(opts.batches))


def trnoise_damping_bias(circuit: Any, nt: float) -> float:
    """Largest predicted relative extra damping ε = TRNOISE_DAMPING · Q ω NT over the
    circuit's oscillatory modes (0 without any, e.g. every overdamped nonlinear
    circuit): the variance of a mode falls by about ε/(1 + ε) in an ngspice trnoise run."""
    lam = circuit.to_sde().eigenvalues()
    osc = lam[lam.imag > 0]
    if len(osc) == 0:
        return 0.0
    w = np.abs(osc)
    q = w / (2 * np.abs(osc.real))
    return float(np.max(TRNOISE_DAMPING * q * w * nt))


def statistics_bias(circuit: Any, options: ValidateOptions) -> float:
    """The bias allowance: ``trnoise_bias``, or 1.5× the predicted damping bias where
    that is larger."""
    nt = statistics_plan(circuit, options).interval
    return max(options.statistics.trnoise_bias, 1.5 * trnoise_damping_bias(circuit, nt))


def statistics_skip_reason(circuit: Any, options: ValidateOptions) -> str | None:
    """Why the statistics check cannot say anything: the slowest mode would be covered
    fewer than ``min_relaxation_times`` times within the point budget, or ngspice's
    numerical damping would bias a high-Q mode's variance by more than 10%; or None."""
    opts = options.statistics
    plan = statistics_plan(circuit, options)
    nt = plan.interval
    eps = trnoise_damping_bias(circuit, nt)
    others = ("the spectrum and waveform checks cover" if circuit.linear
              else "the waveform check covers")
    if eps > 0.1:
        return (
            f"not run: ngspice's transient-noise integration adds damping of about {eps:.0%} "
            f"of a mode's own (high Q; NT = {nt:.3g} s), so its variances would be biased "
            f"beyond any fixed allowance; {others} the equations"
        )
    tau = circuit.to_sde().relaxation_time()
    if plan.duration >= opts.min_relaxation_times * tau:
        return None
    need = (opts.min_relaxation_times + opts.burn_in_relaxation_times) * tau / nt
    return (
        f"not run: the slowest mode relaxes in {tau:.3g} s and the fastest needs NT = {nt:.3g} s, "
        f"so {opts.min_relaxation_times:g} relaxation times take {need:.3g} trnoise points "
        f"(budget {max_points(options):.3g}, ~5-9 µs each in ngspice); {others} the "
        "equations (raise max_trnoise_points to force it)"
    )


def batch_covariance(x: Array, batches: int) -> tuple[Array, Array, Array]:
    """(cov, se, mean) of samples x (T, k): the full-sample covariance and the
    standard error of each entry from the scatter of ``batches`` batch covariances.
    O(T k²)."""
    T = x.shape[0]
    mean = x.mean(axis=0)
    d = x - mean
    cov = d.T @ d / T
    nb = int(batches)
    m = T // nb
    per = np.stack(
        [
            np.cov(x[i * m : (i + 1) * m].T, bias=True).reshape(x.shape[1], x.shape[1])
            for i in range(nb)
        ]
    )
    se = per.std(axis=0, ddof=1) / np.sqrt(nb)
    return cov, se, mean


@dataclass(frozen=True, eq=False)
class EmulatorCovariance:
    """The emulator's side of the statistics check: the stationary covariance ``cov``
    (n, n); for a statistical reference its standard error ``se``, Euler's bias at h
    ``bias`` and, where known, the ``boltzmann`` covariance; ``method`` (for the
    summary, empty for the exact one) and ``info``."""

    cov: Array
    se: Array | None = None
    bias: Array | None = None
    boltzmann: Array | None = None
    method: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def emulator_covariance(circuit: Any, options: ValidateOptions) -> EmulatorCovariance:
    """Σ of a linear circuit (Lyapunov, exact); of a nonlinear one Euler–Maruyama with
    Richardson (:func:`~.euler.euler_covariance`, seeded by ``options.seed``) and the
    Boltzmann covariance where it applies."""
    sde = circuit.to_sde()
    if sde.linear:
        return EmulatorCovariance(sde.stationary_covariance(),
                                  info={"method": "exact stationary covariance (Lyapunov)"})
    emu = euler_covariance(sde, seed=options.seed)
    return EmulatorCovariance(
        emu.cov, se=emu.se, bias=emu.bias, boltzmann=sde.boltzmann_covariance(),
        method=f"Euler–Maruyama h={emu.step:.3g} s and 2h, {emu.chains} chains, Richardson",
        info={"method": "Euler–Maruyama, Richardson 2C(h) − C(2h)", "step": emu.step,
              "chains": emu.chains, "samples_per_chain": emu.samples_per_chain},
    )


class StatisticsCheck(Check):
    """Covariance of ngspice's trnoise run against the stationary law (module docstring)."""

    name = "statistics"
    data_type = StatisticsData

    def applies(self, circuit: Any, options: ValidateOptions) -> str | None:
        return statistics_skip_reason(circuit, options)

    def plan(self, circuit: Any, options: ValidateOptions) -> StatisticsPlan:
        return statistics_plan(circuit, options)

    def decks(self, plan: StatisticsPlan, netlist: Netlist) -> dict[str, str]:
        """The trnoise deck, resampled (``linearize``) on the NT grid after the burn-in."""
        nt = plan.interval
        an = TransientAnalysis(nt, plan.burn_in + plan.duration, nt, start=plan.burn_in,
                               save=plan.nodes, linearize=True)
        deck = to_spice(netlist, an, TrNoise(nt))
        if not netlist.is_linear:
            deck = deck.replace("\n.tran ", f"\n{NONLINEAR_STATISTICS_OPTIONS}\n.tran ", 1)
        return {"statistics": deck}

    def run(self, plan: StatisticsPlan, decks: dict[str, str], netlist: Netlist,
            runner: Runner) -> StatisticsData:
        res = runner(decks["statistics"])
        tt, x = node_states(netlist, res.plot("transient"), plan.nodes)
        x = x[tt >= plan.burn_in - 0.5 * plan.interval]
        cov, se, mean = batch_covariance(x, plan.batches)
        return StatisticsData(cov=cov, se=se, mean=mean, nodes=plan.nodes,
                              samples=int(x.shape[0]), interval=plan.interval,
                              duration=plan.duration, burn_in=plan.burn_in,
                              commands=("ngspice -b deck.cir (control block writes out.raw)",))

    def compare(self, circuit: Any, data: StatisticsData, options: ValidateOptions) -> CheckResult:
        opts = options.statistics
        ref = emulator_covariance(circuit, options)
        idx = [circuit.nodes.index(n) for n in data.nodes]
        sub = np.ix_(idx, idx)
        sigma = ref.cov[sub]
        scale = np.sqrt(np.outer(np.diag(sigma), np.diag(sigma)))
        bias = statistics_bias(circuit, options)
        se = data.se if ref.se is None else np.sqrt(data.se**2 + ref.se[sub] ** 2)
        allow = bias * scale + opts.stats_k * se
        err = data.cov - sigma
        score = np.abs(err) / allow
        extra = {key: arr[sub] for key, arr in (("emulator_se_rel", ref.se),
                                                ("euler_bias_rel", ref.bias)) if arr is not None}
        boltz = None if ref.boltzmann is None else ref.boltzmann[sub]
        rows = []
        k = len(idx)
        for i in range(k):
            for j in range(i, k):
                row = {
                    "entry": f"({data.nodes[i]}, {data.nodes[j]})",
                    "ngspice": float(data.cov[i, j]),
                    "emulator": float(sigma[i, j]),
                    "rel_error": float(err[i, j] / scale[i, j]),
                    "se_rel": float(data.se[i, j] / scale[i, j]),
                }
                row |= {key: float(arr[i, j] / scale[i, j]) for key, arr in extra.items()}
                row |= {"score": float(score[i, j]), "passed": bool(score[i, j] <= 1.0)}
                if boltz is not None:
                    row["boltzmann"] = float(boltz[i, j])
                    row["emulator_vs_boltzmann_rel"] = float((sigma[i, j] - boltz[i, j]) / scale[i, j])
                rows.append(row)
        iu = np.triu_indices(k)
        w = int(np.argmax(score[iu]))
        wi, wj = iu[0][w], iu[1][w]
        passed = bool(np.all(score[iu] <= 1.0))
        diag_rel = np.diag(err) / np.diag(sigma)
        where = f"({data.nodes[wi]}, {data.nodes[wj]})"
        median_se = f"median SE {np.median(data.se[iu] / scale[iu]):.1%}"
        if ref.se is not None:
            median_se += f" ngspice, {np.median(ref.se[sub][iu] / scale[iu]):.1%} emulator"
        emulator = ""
        if ref.method:
            emulator = f"; emulator: {ref.method}"
            if ref.bias is not None:
                emulator += f" (Euler bias at h up to {np.max(np.abs(ref.bias[sub]) / scale):.1%})"
        quantity = "" if circuit.linear else "charge "
        errors = ", ".join(f"{n} {r:+.1%}" for n, r in zip(data.nodes, diag_rel, strict=True))
        summary = (
            f"{'all entries agree' if passed else 'FAIL at ' + where}: {quantity}variance errors "
            f"{errors}; allowance = {bias:.1%} trnoise bias + {opts.stats_k:g} standard errors "
            f"({median_se}){emulator}; trnoise NT {data.interval:.3g} s, {data.duration:.3g} s "
            f"after {data.burn_in:.3g} s burn-in, {data.samples} samples"
        )
        info = {
            "trnoise_interval": data.interval,
            "duration": data.duration,
            "burn_in": data.burn_in,
            "samples": data.samples,
            "bias_allowance": bias,
            "k": opts.stats_k,
            "quantity": "voltage (V)" if circuit.linear else "charge (C)",
            "nodes": list(data.nodes),
            "variance_rel_errors": {n: float(r) for n, r in zip(data.nodes, diag_rel, strict=True)},
            "emulator": ref.info,
        }
        arrays = {"cov_ngspice": data.cov, "cov_emulator": sigma, "se": data.se, "allowance": allow}
        return self.result(passed, float(score[wi, wj]), 1.0, where, summary, rows, info, arrays)
