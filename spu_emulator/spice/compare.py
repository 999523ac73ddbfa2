"""The three cross-checks of ``spu validate``: the emulator against ngspice.

Each check has three stages, kept apart so that tests can feed stored ngspice
outputs (``calibration/``) or a deliberately modified deck:

1. *decks* — pure text from :mod:`spu_emulator.spice.export`;
2. *run* — ngspice in batch mode (:func:`spu_emulator.spice.run.run_deck`), reduced
   to a small data object (:class:`SpectrumData`, :class:`WaveformData`,
   :class:`StatisticsData`) that can be saved and loaded;
3. *compare* — the data against the emulator's exact results, giving a
   :class:`CheckResult` with per-node rows, the worst node, a tolerance and a verdict.

Checks
------
spectrum
    ngspice ``.noise`` output spectrum S(f) (one-sided, V²/Hz) of every state node,
    on a log grid of ``points_per_decade`` points from min|λ|/(2π·10³) to
    max|λ|/(2π)·10³ (λ the drift eigenvalues), against the emulator's analytic
    :meth:`~spu_emulator.sde.linear.LinearSDE.node_psd`: worst pointwise relative
    error where S is above 10⁻⁹ of its peak. The variance ∫₀^∞ S df is integrated
    here (ngspice's own total is NaN for high-Q circuits): composite Simpson in
    ln f (∫ S f d ln f) over the grid, plus power-law tails beyond both ends
    (S ∝ f^a with a from the two end points: ∫₀^{f₀} = S₀f₀/(a+1),
    ∫_{f₁}^∞ = S₁f₁/(−a−1)); it is compared with the Lyapunov variance. A resonance
    narrower than ~10 log-grid steps (quality factor ≳ 40 at 1000 points per decade)
    would be stepped over, so each such mode (f₀ = |Im λ|/2π, half-width γ = |Re λ|/2π)
    also gets nested linear sweeps f₀ ± γ·4ʲ (j = 0, 1, …, until the log grid resolves
    the wings), merged into one grid: the quadrature error stays ≲ 1e-5 at any Q.
waveform
    A seeded standard-normal sequence z (T, p), one column per noise source,
    becomes input waveforms u_j = z_j sqrt(q_j / h) on a grid of step h; each side
    converts z with its own intensities q_j (the deck from its resistor values and
    temperatures), so amplitudes are checked too. ngspice runs the deck with ``pwl``
    sources (tight tolerances, max step h); the emulator runs its exact
    piecewise-linear mode (:mod:`spu_emulator.integrate.driven`). Both start from
    the zero state. Metric: relative RMS difference of each node's voltage.
statistics
    ngspice transient noise (``trnoise``, interval NT) after a burn-in, resampled
    on the NT grid; sample covariance of the state-node voltages with batch-means
    standard errors (20 batches) vs the emulator's stationary covariance Σ. An entry
    passes when |Ŝ_ij − Σ_ij| ≤ bias·sqrt(Σ_ii Σ_jj) + k·SE_ij: ``bias`` (default
    3%) covers trnoise's known bias (interpolation and extra damping at every
    breakpoint: +0.56% to +2.8% for NT = 1–5 ns on a 5 MHz tank), k = 4. That extra
    damping rate ∝ ω²·NT is absolute, so for a mode of quality Q it biases the variance
    by ε ≈ 5.6e-3·Q·ω·NT (:func:`trnoise_damping_bias`): the allowance becomes 1.5 ε
    where that exceeds 3%, and above ε = 10% (very high Q) the check is not run and
    says why. The run is capped at ``max_trnoise_points`` (2e6 quick, 2e7) time points;
    if that covers fewer than 40 relaxation times of the slowest mode, it is not run
    either (batch means would mean nothing). Spectrum and waveform hold at any Q.

Nonlinear netlists (NC, EC, time-dependent RB) are dispatched to
:mod:`spu_emulator.spice.nonlinear`: the spectrum check is "not applicable", the
waveform and statistics checks compare node charges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..circuit.assemble import Circuit, assemble
from ..errors import CrossCheckError, InputError
from ..integrate.driven import input_matrix, simulate_driven, source_intensities
from ..netlist.schema import Netlist
from .export import (
    NoiseAnalysis,
    PWLInputs,
    TransientAnalysis,
    TrNoise,
    noise_source_table,
    spice_names,
    to_spice,
)

Array = np.ndarray
DeckFilter = Callable[[str], str]
Runner = Callable[[str], Any]

CHECKS = ("spectrum", "waveform", "statistics")

#: Tight ngspice tolerances for the waveform check (node voltages are µV-scale, far
#: below the default vntol of 1 µV).
WAVEFORM_OPTIONS = ".options reltol=1e-6 trtol=0.1 vntol=1e-15 abstol=1e-20 chgtol=1e-25"


@dataclass(frozen=True, slots=True)
class ValidateOptions:
    """Settings of the three checks (defaults are what ``spu validate`` uses).

    ``quick`` shortens the statistics run (100 instead of 1000 relaxation times);
    the spectrum and waveform checks are cheap and identical in both modes.
    ``None`` means "derived from the circuit" (see each field's comment)."""

    quick: bool = False
    seed: int = 0
    # spectrum
    points_per_decade: int = 1000
    band_decades: float = 3.0  # grid from min|λ|/2π / 10^3 to max|λ|/2π · 10^3
    variance_tol: float = 1e-3
    psd_tol: float = 1e-3
    # waveform
    waveform_samples: int = 2000
    waveform_step: float | None = None  # default: fastest time 1/max|λ| / 8
    waveform_tol: float = 1e-3
    # statistics
    trnoise_interval: float | None = None  # default: fastest time / 20
    relaxation_times: float | None = None  # run length; default 100 (quick) / 1000
    burn_in_relaxation_times: float = 10.0
    trnoise_bias: float = 0.03
    stats_k: float = 4.0
    batches: int = 20
    # trnoise time points at most (ngspice: ~5–9 µs each); None: 2e6 (quick) / 2e7.
    # A longer plan is shortened to fit; below ``min_relaxation_times`` of the slowest
    # mode the check is not run (batch means would be meaningless) and says why.
    max_trnoise_points: float | None = None
    min_relaxation_times: float = 40.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(eq=False)
class CheckResult:
    """One check's verdict. ``rows`` has one dict per state node (or covariance
    entry); ``worst`` names the row that decides the verdict; ``metric`` is the
    worst value compared with ``tolerance`` (for statistics: |error| / allowance)."""

    name: str
    passed: bool
    metric: float
    tolerance: float
    worst: str
    summary: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, Array] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "passed": self.passed,
            "metric": self.metric,
            "tolerance": self.tolerance,
            "worst": self.worst,
            "summary": self.summary,
            "rows": self.rows,
            "info": self.info,
        }


@dataclass(eq=False)
class ValidationReport:
    netlist: str
    digest: str
    ngspice: str
    source: str  # "ngspice (live)" or the calibration file
    checks: list[CheckResult]
    options: ValidateOptions

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "netlist": self.netlist,
            "digest": self.digest,
            "ngspice": self.ngspice,
            "source": self.source,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "options": self.options.to_dict(),
        }

    def table(self) -> str:
        """A human-readable summary: one line per check, then per-node details."""
        lines = [f"{self.netlist}: validation against {self.ngspice} ({self.source})"]
        lines.append(f"  {'check':<11} {'verdict':<7} {'worst':>11} {'tolerance':>10}  where")
        for c in self.checks:
            if not c.info.get("applicable", True):
                lines.append(f"  {c.name:<11} {'n/a':<7} {'':>11} {'':>10}  {c.worst}")
                continue
            lines.append(
                f"  {c.name:<11} {'PASS' if c.passed else 'FAIL':<7} {c.metric:>11.3g} "
                f"{c.tolerance:>10.3g}  {c.worst}"
            )
        for c in self.checks:
            lines.append(f"  {c.name}: {c.summary}")
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


# ---- shared helpers ---------------------------------------------------------------


def _apply(deck: str, deck_filter: DeckFilter | None) -> str:
    return deck_filter(deck) if deck_filter is not None else deck


def _default_runner(deck: str):
    from .run import run_deck

    return run_deck(deck)


def _frequency_band(circuit: Circuit, opts: ValidateOptions) -> tuple[float, float]:
    lam = np.abs(circuit.to_sde().eigenvalues()) / (2 * np.pi)
    span = 10.0**opts.band_decades
    return float(f"{lam.min() / span:.3g}"), float(f"{lam.max() * span:.3g}")


def integrate_spectrum(freqs: Array, psd: Array) -> Array:
    """∫₀^∞ S(f) df for a one-sided spectrum sampled on a log grid ``freqs`` (F,)
    (``psd`` (F,) or (F, k)): composite Simpson in ln f plus power-law tails fitted
    to the two end points of each side (see the module docstring)."""
    from scipy.integrate import simpson

    f = np.asarray(freqs, float)
    S = np.asarray(psd, float)
    squeeze = S.ndim == 1
    S = S[:, None] if squeeze else S
    u = np.log(f)
    mid = simpson(S * f[:, None], x=u, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a0 = np.log(S[1] / S[0]) / (u[1] - u[0])
        a1 = np.log(S[-1] / S[-2]) / (u[-1] - u[-2])
        lo = np.where(a0 > -1, S[0] * f[0] / (a0 + 1), np.inf)
        hi = np.where(a1 < -1, S[-1] * f[-1] / (-a1 - 1), np.inf)
    lo = np.where(S[0] == 0, 0.0, lo)
    hi = np.where(S[-1] == 0, 0.0, hi)
    out = mid + lo + hi
    return out[0] if squeeze else out


# ---- spectrum ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SpectrumData:
    """ngspice ``.noise`` spectra: ``freqs`` (F,), ``psd`` (F, k) one-sided V²/Hz at
    the state ``nodes`` (k,)."""

    freqs: Array
    psd: Array
    nodes: tuple[str, ...]
    commands: tuple[str, ...] = ()


#: Points of each linear refinement sweep around a sharp resonance.
REFINE_POINTS = 81


def resonance_sweeps(circuit: Circuit, opts: ValidateOptions) -> tuple[tuple[int, float, float], ...]:
    """Linear sweeps (points, fstart, fstop) that resolve every mode the log grid would
    step over: modes with full width 2γ < 10 log-grid steps get windows f₀ ± γ·4ʲ of
    ``REFINE_POINTS`` points each (spacing w/40), widening until the log grid's
    spacing at f₀ is a tenth of the window's half-width w (module docstring)."""
    lam = circuit.to_sde().eigenvalues()
    step = np.log(10.0) / opts.points_per_decade  # relative spacing of the log grid
    sweeps = []
    for ev in lam[lam.imag > 0]:
        f0, g = ev.imag / (2 * np.pi), abs(ev.real) / (2 * np.pi)
        if 2 * g >= 10 * step * f0:
            continue
        w = g
        while True:
            a, b = max(f0 - w, f0 * 1e-3), f0 + w
            sweeps.append((REFINE_POINTS, float(f"{a:.12g}"), float(f"{b:.12g}")))
            if w >= 10 * step * f0:  # beyond w the log grid has ≥ 10 points per w
                break
            w *= 4.0
    return tuple(sweeps)


def spectrum_decks(netlist: Netlist, circuit: Circuit, opts: ValidateOptions) -> dict[str, str]:
    """One ``.noise`` deck per state node (Kron-reduced nodes are not compared): the
    log grid plus the resonance refinement sweeps."""
    flo, fhi = _frequency_band(circuit, opts)
    extra = resonance_sweeps(circuit, opts)
    return {
        node: to_spice(netlist, NoiseAnalysis(node, opts.points_per_decade, flo, fhi, extra))
        for node in circuit.nodes
    }


def merge_sweeps(parts: Sequence[tuple[Array, Array]]) -> tuple[Array, Array]:
    """Several (freqs, psd) sweeps of one node as one increasing grid (points closer
    than 1e-12 relative to a kept one are dropped)."""
    f = np.concatenate([np.asarray(p[0], float) for p in parts])
    s = np.concatenate([np.asarray(p[1], float) for p in parts])
    order = np.argsort(f, kind="stable")
    f, s = f[order], s[order]
    keep = np.ones(len(f), bool)
    keep[1:] = np.diff(f) > 1e-12 * f[1:]
    return f[keep], s[keep]


def run_spectrum(decks: dict[str, str], runner: Runner | None = None) -> SpectrumData:
    runner = runner or _default_runner
    freqs, cols = None, []
    for _node, deck in decks.items():
        res = runner(deck)
        plots = [p for p in getattr(res, "plots", ()) if "noise spectral density" in p.name.lower()]
        plots = plots or [res.plot("noise spectral density")]  # (raises, naming what ngspice gave)
        f, s = merge_sweeps([(p["frequency"].real, p["onoise_spectrum"].real ** 2) for p in plots])
        if freqs is None:
            freqs = f
        elif f.shape != freqs.shape or not np.allclose(f, freqs, rtol=1e-12):
            raise CrossCheckError("ngspice returned different frequency grids for different nodes")
        cols.append(s)
    return SpectrumData(
        freqs=np.asarray(freqs),
        psd=np.stack(cols, axis=1),
        nodes=tuple(decks),
        commands=("ngspice -b deck.cir -r out.raw",),
    )


def compare_spectrum(circuit: Circuit, data: SpectrumData, opts: ValidateOptions) -> CheckResult:
    """Pointwise PSD and integrated variance of every state node vs the emulator."""
    sde = circuit.to_sde()
    idx = [circuit.nodes.index(n) for n in data.nodes]
    emu = sde.node_psd(data.freqs)[:, idx]
    var_emu = np.diag(sde.stationary_covariance())[idx]
    var_ng = integrate_spectrum(data.freqs, data.psd)
    var_emu_grid = integrate_spectrum(data.freqs, emu)
    rows = []
    for k, node in enumerate(data.nodes):
        peak = emu[:, k].max()
        mask = emu[:, k] > 1e-9 * peak
        rel = np.abs(data.psd[mask, k] / emu[mask, k] - 1.0)
        j = int(np.argmax(rel))
        psd_err = float(rel[j])
        var_err = float(abs(var_ng[k] / var_emu[k] - 1.0))
        ok = psd_err <= opts.psd_tol and var_err <= opts.variance_tol
        rows.append(
            {
                "node": node,
                "variance_ngspice": float(var_ng[k]),
                "variance_emulator": float(var_emu[k]),
                "variance_rel_error": var_err,
                "quadrature_rel_error": float(abs(var_emu_grid[k] / var_emu[k] - 1.0)),
                "psd_max_rel_error": psd_err,
                "psd_worst_frequency": float(data.freqs[mask][j]),
                "passed": bool(ok),
            }
        )
    # The node to name: the worst variance error if any variance fails (a local change,
    # e.g. one capacitor, shows there first; PSD errors near shared modes spread over
    # every coupled node), else the worst PSD error relative to its tolerance.
    var_ratio = [r["variance_rel_error"] / opts.variance_tol for r in rows]
    psd_ratio = [r["psd_max_rel_error"] / opts.psd_tol for r in rows]
    if max(var_ratio) > 1.0:
        worst = rows[int(np.argmax(var_ratio))]["node"]
    else:
        worst = rows[int(np.argmax(np.maximum(var_ratio, psd_ratio)))]["node"]
    w = next(r for r in rows if r["node"] == worst)
    passed = all(r["passed"] for r in rows)
    if w["variance_rel_error"] / opts.variance_tol >= w["psd_max_rel_error"] / opts.psd_tol:
        metric, tol = w["variance_rel_error"], opts.variance_tol
    else:
        metric, tol = w["psd_max_rel_error"], opts.psd_tol
    summary = (
        f"{'all ' + str(len(rows)) + ' nodes agree' if passed else 'FAIL at node ' + worst}"
        f"{'' if passed else ' (' + str(sum(not r['passed'] for r in rows)) + ' of ' + str(len(rows)) + ' nodes fail)'}: "
        f"worst variance error {max(r['variance_rel_error'] for r in rows):.2e} "
        f"(tol {opts.variance_tol:g}), worst PSD error {max(r['psd_max_rel_error'] for r in rows):.2e} "
        f"(tol {opts.psd_tol:g}); "
        f"{len(data.freqs)} frequencies, {data.freqs[0]:.3g}–{data.freqs[-1]:.3g} Hz, "
        "Simpson in ln f + power-law tails"
    )
    return CheckResult(
        name="spectrum",
        passed=passed,
        metric=metric,
        tolerance=tol,
        worst=f"node {worst}",
        summary=summary,
        rows=rows,
        info={
            "frequencies": len(data.freqs),
            "fmin": float(data.freqs[0]),
            "fmax": float(data.freqs[-1]),
            "points_per_decade": opts.points_per_decade,
            "integration": "composite Simpson in ln f over the ngspice grid + power-law tails",
        },
        arrays={"freqs": data.freqs, "psd_ngspice": data.psd, "psd_emulator": emu},
    )


# ---- waveform ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WaveformData:
    """ngspice node voltages ``v`` (T, k) at the input grid ``t`` (T,) for the state
    ``nodes``, driven by the normalized sequence ``z`` (T, p)."""

    t: Array
    z: Array
    v: Array
    nodes: tuple[str, ...]
    commands: tuple[str, ...] = ()


def waveform_grid(circuit: Circuit, opts: ValidateOptions) -> tuple[Array, Array]:
    """(t (T,), z (T, p)): the input grid and the seeded standard-normal sequence."""
    sde = circuit.to_sde()
    h = opts.waveform_step if opts.waveform_step is not None else sde.fastest_time() / 8.0
    h = float(f"{h:.4g}")
    T = int(opts.waveform_samples)
    if T < 10:
        raise InputError(f"waveform samples must be ≥ 10, got {T}")
    t = np.arange(T) * h
    rng = np.random.default_rng(np.random.SeedSequence([int(opts.seed), 0x5F1CE]))
    z = rng.standard_normal((T, len(circuit.noise_sources)))
    z[0] = 0.0  # both sides start from rest with zero input
    return t, z


def waveform_deck(netlist: Netlist, t: Array, z: Array, nodes: Sequence[str]) -> str:
    """The ``pwl`` transient deck: u_j = z_j sqrt(q_j / h) with this netlist's q_j."""
    table = noise_source_table(netlist)
    if len(table) != z.shape[1]:
        raise CrossCheckError(
            f"the deck's netlist has {len(table)} noise sources, the emulator {z.shape[1]}"
        )
    h = float(t[1] - t[0])
    q = np.array([s.intensity for s in table])
    u = z * np.sqrt(q / h)[None, :]
    deck = to_spice(
        netlist, TransientAnalysis(h, float(t[-1]), h, save=tuple(nodes)), PWLInputs(t, u)
    )
    return deck.replace("\n.tran ", f"\n{WAVEFORM_OPTIONS}\n.tran ", 1)


def run_waveform(
    netlist: Netlist,
    deck: str,
    t: Array,
    z: Array,
    nodes: Sequence[str],
    runner: Runner | None = None,
) -> WaveformData:
    runner = runner or _default_runner
    res = runner(deck)
    plot = res.plot("transient")
    tt = plot["time"].real
    names = spice_names(netlist)
    v = np.stack([np.interp(t, tt, plot[names.voltage(n)].real) for n in nodes], axis=1)
    return WaveformData(
        t=t, z=z, v=v, nodes=tuple(nodes), commands=("ngspice -b deck.cir -r out.raw",)
    )


def waveform_errors(
    v: Array, ref: Array, nodes: Sequence[str], tol: float
) -> tuple[Array, list[dict[str, Any]], int, bool]:
    """Relative RMS error of ngspice's ``v`` (T, k) against the emulator's ``ref``
    per node: (errors (k,), one row per node, index of the worst, all within tol)."""
    err = v - ref
    rel = np.sqrt(np.mean(err**2, axis=0) / np.mean(ref**2, axis=0))
    rows = [
        {
            "node": n,
            "rel_rms_error": float(rel[k]),
            "rms_emulator": float(np.sqrt(np.mean(ref[:, k] ** 2))),
            "max_abs_error": float(np.max(np.abs(err[:, k]))),
            "passed": bool(rel[k] <= tol),
        }
        for k, n in enumerate(nodes)
    ]
    return rel, rows, int(np.argmax(rel)), bool(np.all(rel <= tol))


def compare_waveform(circuit: Circuit, data: WaveformData, opts: ValidateOptions) -> CheckResult:
    """Sample-by-sample comparison with the emulator's exact PWL-driven solution."""
    sde = circuit.to_sde()
    q = source_intensities(circuit)
    h = float(data.t[1] - data.t[0])
    u = data.z * np.sqrt(q / h)[None, :]
    tr = simulate_driven(
        sde,
        data.t,
        u,
        input_matrix=input_matrix(circuit, sde),
        interpolation="linear",
        sources=circuit.noise_sources,
    )
    idx = [circuit.nodes.index(n) for n in data.nodes]
    ref = tr.states[:, idx]
    rel, rows, k, passed = waveform_errors(data.v, ref, data.nodes, opts.waveform_tol)
    summary = (
        f"{'all ' + str(len(rows)) + ' nodes agree' if passed else 'FAIL at node ' + data.nodes[k]}: "
        f"worst relative RMS error {rel[k]:.2e} (tol {opts.waveform_tol:g}) at node {data.nodes[k]}; "
        f"{len(data.t)} samples, step {h:.4g} s, {data.z.shape[1]} pwl sources, exact PWL emulator"
    )
    return CheckResult(
        name="waveform",
        passed=passed,
        metric=float(rel[k]),
        tolerance=opts.waveform_tol,
        worst=f"node {data.nodes[k]}",
        summary=summary,
        rows=rows,
        info={
            "samples": len(data.t),
            "step": h,
            "sources": list(circuit.noise_sources),
            "ngspice_options": WAVEFORM_OPTIONS,
        },
        arrays={"t": data.t, "v_ngspice": data.v, "v_emulator": ref},
    )


# ---- statistics -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StatisticsData:
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


def statistics_plan(circuit: Circuit, opts: ValidateOptions) -> tuple[float, float, float]:
    """(NT, duration, burn-in) in seconds: ``relaxation_times`` (100 quick / 1000) of
    the slowest mode after ``burn_in_relaxation_times``, at NT = fastest time / 20,
    scaled down together to at most ``max_trnoise_points`` time points."""
    sde = circuit.to_sde()
    nt = opts.trnoise_interval if opts.trnoise_interval is not None else sde.fastest_time() / 20.0
    nt = float(f"{nt:.3g}")
    n_relax = (
        opts.relaxation_times
        if opts.relaxation_times is not None
        else (100.0 if opts.quick else 1000.0)
    )
    tau = sde.relaxation_time()
    duration, burn = n_relax * tau, opts.burn_in_relaxation_times * tau
    cap = _max_points(opts) * nt
    if duration + burn > cap:
        duration, burn = duration * cap / (duration + burn), burn * cap / (duration + burn)
    return nt, float(f"{duration:.3g}"), float(f"{burn:.3g}")


def _max_points(opts: ValidateOptions) -> float:
    if opts.max_trnoise_points is not None:
        return float(opts.max_trnoise_points)
    return 2e6 if opts.quick else 2e7


#: ngspice's extra damping of a tank in transient noise, relative to the tank's own
#: damping, per unit of Q·ω·NT: +0.56% at NT = 1 ns for a 5 MHz, Q ≈ 32 tank (+1.1% at
#: 2 ns, +2.8% at 5 ns; the numbers measured with ngspice 39 in the issue). The extra
#: damping rate ∝ ω² NT does not depend on the mode's own damping, so the relative
#: bias grows with Q.
TRNOISE_DAMPING = 5.6e-3


def trnoise_damping_bias(circuit: Circuit, nt: float) -> float:
    """Largest predicted relative extra damping ε = TRNOISE_DAMPING · Q ω NT over the
    circuit's oscillatory modes (0 without any): the variance of a mode falls by about
    ε/(1 + ε) in an ngspice trnoise run."""
    lam = circuit.to_sde().eigenvalues()
    osc = lam[lam.imag > 0]
    if len(osc) == 0:
        return 0.0
    w = np.abs(osc)
    q = w / (2 * np.abs(osc.real))
    return float(np.max(TRNOISE_DAMPING * q * w * nt))


def statistics_bias(circuit: Circuit, opts: ValidateOptions) -> float:
    """The bias allowance: ``trnoise_bias``, or 1.5× the predicted damping bias where
    that is larger."""
    nt = statistics_plan(circuit, opts)[0]
    return max(opts.trnoise_bias, 1.5 * trnoise_damping_bias(circuit, nt))


def statistics_skip_reason(circuit: Circuit, opts: ValidateOptions) -> str | None:
    """Why the statistics check cannot say anything: the slowest mode would be covered
    fewer than ``min_relaxation_times`` times within the point budget, or ngspice's
    numerical damping would bias a high-Q mode's variance by more than 10%; or None."""
    nt, duration, _ = statistics_plan(circuit, opts)
    eps = trnoise_damping_bias(circuit, nt)
    if eps > 0.1:
        return (
            f"not run: ngspice's transient-noise integration adds damping of about {eps:.0%} "
            f"of a mode's own (high Q; NT = {nt:.3g} s), so its variances would be biased "
            "beyond any fixed allowance; the spectrum and waveform checks cover the equations"
        )
    tau = circuit.to_sde().relaxation_time()
    if duration >= opts.min_relaxation_times * tau:
        return None
    need = (opts.min_relaxation_times + opts.burn_in_relaxation_times) * tau / nt
    return (
        f"not run: the slowest mode relaxes in {tau:.3g} s and the fastest needs NT = {nt:.3g} s, "
        f"so {opts.min_relaxation_times:g} relaxation times take {need:.3g} trnoise points "
        f"(budget {_max_points(opts):.3g}, ~5-9 µs each in ngspice); the spectrum and "
        "waveform checks cover the equations (raise max_trnoise_points to force it)"
    )


def statistics_skipped(reason: str) -> CheckResult:
    """The statistics verdict when the run does not fit the budget: not applicable."""
    return CheckResult(name="statistics", passed=True, metric=float("nan"),
                       tolerance=float("nan"), worst="n/a", summary=reason,
                       info={"applicable": False})


def statistics_deck(
    netlist: Netlist, nodes: Sequence[str], nt: float, duration: float, burn: float
) -> str:
    """trnoise deck, resampled (``linearize``) on the NT grid after the burn-in."""
    an = TransientAnalysis(nt, burn + duration, nt, start=burn, save=tuple(nodes), linearize=True)
    return to_spice(netlist, an, TrNoise(nt))


def batch_covariance(x: Array, batches: int) -> tuple[Array, Array, Array]:
    """(cov, se, mean) of samples x (T, k): the full-sample covariance and the
    standard error of each entry from the scatter of ``batches`` batch covariances."""
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


def run_statistics(
    netlist: Netlist,
    circuit: Circuit,
    opts: ValidateOptions,
    runner: Runner | None = None,
    deck_filter: DeckFilter | None = None,
) -> StatisticsData:
    runner = runner or _default_runner
    nt, duration, burn = statistics_plan(circuit, opts)
    deck = _apply(statistics_deck(netlist, circuit.nodes, nt, duration, burn), deck_filter)
    res = runner(deck)
    plot = res.plot("transient")
    tt = plot["time"].real
    names = spice_names(netlist)
    keep = tt >= burn - 0.5 * nt
    x = np.stack([plot[names.voltage(n)].real[keep] for n in circuit.nodes], axis=1)
    cov, se, mean = batch_covariance(x, opts.batches)
    return StatisticsData(
        cov=cov,
        se=se,
        mean=mean,
        nodes=tuple(circuit.nodes),
        samples=int(x.shape[0]),
        interval=nt,
        duration=duration,
        burn_in=burn,
        commands=("ngspice -b deck.cir (control block writes out.raw)",),
    )


def compare_statistics(
    circuit: Circuit, data: StatisticsData, opts: ValidateOptions
) -> CheckResult:
    sde = circuit.to_sde()
    idx = [circuit.nodes.index(n) for n in data.nodes]
    sigma = sde.stationary_covariance()[np.ix_(idx, idx)]
    scale = np.sqrt(np.outer(np.diag(sigma), np.diag(sigma)))
    bias = statistics_bias(circuit, opts)
    allow = bias * scale + opts.stats_k * data.se
    err = data.cov - sigma
    score = np.abs(err) / allow
    rows = []
    k = len(idx)
    for i in range(k):
        for j in range(i, k):
            rows.append(
                {
                    "entry": f"({data.nodes[i]}, {data.nodes[j]})",
                    "ngspice": float(data.cov[i, j]),
                    "emulator": float(sigma[i, j]),
                    "rel_error": float(err[i, j] / scale[i, j]),
                    "se_rel": float(data.se[i, j] / scale[i, j]),
                    "score": float(score[i, j]),
                    "passed": bool(score[i, j] <= 1.0),
                }
            )
    iu = np.triu_indices(k)
    w = int(np.argmax(score[iu]))
    wi, wj = iu[0][w], iu[1][w]
    passed = bool(np.all(score[iu] <= 1.0))
    diag_rel = np.diag(err) / np.diag(sigma)
    where = f"({data.nodes[wi]}, {data.nodes[wj]})"
    summary = (
        f"{'all entries agree' if passed else 'FAIL at ' + where}: variance errors "
        f"{', '.join(f'{n} {r:+.1%}' for n, r in zip(data.nodes, diag_rel, strict=True))}; "
        f"allowance = {bias:.1%} trnoise bias + {opts.stats_k:g} standard errors "
        f"(median SE {np.median(data.se[iu] / scale[iu]):.1%}); trnoise NT {data.interval:.3g} s, "
        f"{data.duration:.3g} s after {data.burn_in:.3g} s burn-in, {data.samples} samples"
    )
    return CheckResult(
        name="statistics",
        passed=passed,
        metric=float(score[wi, wj]),
        tolerance=1.0,
        worst=where,
        summary=summary,
        rows=rows,
        info={
            "trnoise_interval": data.interval,
            "duration": data.duration,
            "burn_in": data.burn_in,
            "samples": data.samples,
            "bias_allowance": bias,
            "k": opts.stats_k,
            "variance_rel_errors": {n: float(r) for n, r in zip(data.nodes, diag_rel, strict=True)},
        },
        arrays={"cov_ngspice": data.cov, "cov_emulator": sigma, "se": data.se},
    )


# ---- driver -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SpiceOutputs:
    """The ngspice side of a validation (any subset), from a live run or calibration."""

    spectrum: SpectrumData | None = None
    waveform: WaveformData | None = None
    statistics: StatisticsData | None = None
    ngspice: str = ""
    source: str = ""


def run_ngspice(
    netlist: Netlist,
    opts: ValidateOptions = ValidateOptions(),
    checks: Sequence[str] = CHECKS,
    *,
    spice_netlist: Netlist | None = None,
    deck_filter: DeckFilter | None = None,
    runner: Runner | None = None,
) -> SpiceOutputs:
    """Run ngspice for the requested checks. Decks are made from ``spice_netlist``
    (default: ``netlist``) and passed through ``deck_filter`` (both exist to plant
    mismatches in tests); the grids come from the emulator's circuit."""
    from .run import ngspice_version

    _check_names(checks)
    snet = spice_netlist if spice_netlist is not None else netlist
    if not netlist.is_linear:
        return _run_ngspice_nonlinear(netlist, snet, opts, checks, deck_filter, runner)
    circuit = assemble(netlist)
    out: dict[str, Any] = {}
    if "spectrum" in checks:
        decks = {n: _apply(d, deck_filter) for n, d in spectrum_decks(snet, circuit, opts).items()}
        out["spectrum"] = run_spectrum(decks, runner)
    if "waveform" in checks:
        t, z = waveform_grid(circuit, opts)
        deck = _apply(waveform_deck(snet, t, z, circuit.nodes), deck_filter)
        out["waveform"] = run_waveform(snet, deck, t, z, circuit.nodes, runner)
    if "statistics" in checks and statistics_skip_reason(circuit, opts) is None:
        out["statistics"] = run_statistics(snet, circuit, opts, runner, deck_filter)
    return SpiceOutputs(
        **out,
        ngspice=ngspice_version() if runner is None else "custom runner",
        source="ngspice (live)",
    )


def _run_ngspice_nonlinear(
    netlist: Netlist,
    snet: Netlist,
    opts: ValidateOptions,
    checks: Sequence[str],
    deck_filter: DeckFilter | None,
    runner: Runner | None,
) -> SpiceOutputs:
    """ngspice side of a nonlinear validation: waveform and statistics (no spectrum)."""
    from . import nonlinear as nl
    from .run import ngspice_version

    run = runner or _default_runner
    nodes = nl.nonlinear_sde(netlist).nodes
    out: dict[str, Any] = {}
    if "waveform" in checks:
        t, z = nl.waveform_grid(netlist, opts)
        deck = _apply(nl.waveform_deck(snet, t, z, nodes), deck_filter)
        out["waveform"] = nl.run_waveform(snet, deck, t, z, nodes, run)
    if "statistics" in checks:
        out["statistics"] = nl.run_statistics(snet, netlist, opts, run, deck_filter)
    return SpiceOutputs(
        **out,
        ngspice=ngspice_version() if runner is None else "custom runner",
        source="ngspice (live)",
    )


def compare_all(
    netlist: Netlist,
    outputs: SpiceOutputs,
    opts: ValidateOptions = ValidateOptions(),
    checks: Sequence[str] = CHECKS,
) -> ValidationReport:
    """Compare stored or live ngspice outputs with the emulator."""
    _check_names(checks)
    if not netlist.is_linear:
        return _compare_all_nonlinear(netlist, outputs, opts, checks)
    circuit = assemble(netlist)
    results = []
    for name, fn in (
        ("spectrum", compare_spectrum),
        ("waveform", compare_waveform),
        ("statistics", compare_statistics),
    ):
        if name in checks:
            data = getattr(outputs, name)
            if data is None:
                reason = statistics_skip_reason(circuit, opts) if name == "statistics" else None
                if reason is None:
                    raise InputError(f"no ngspice {name} data to compare with")
                results.append(statistics_skipped(reason))
                continue
            results.append(fn(circuit, data, opts))
    return ValidationReport(
        netlist=netlist.name,
        digest=netlist.digest,
        ngspice=outputs.ngspice,
        source=outputs.source,
        checks=results,
        options=opts,
    )


def _compare_all_nonlinear(
    netlist: Netlist, outputs: SpiceOutputs, opts: ValidateOptions, checks: Sequence[str]
) -> ValidationReport:
    from . import nonlinear as nl

    results = []
    for name in CHECKS:
        if name not in checks:
            continue
        if name == "spectrum":
            results.append(nl.spectrum_not_applicable())
            continue
        data = getattr(outputs, name)
        if data is None:
            raise InputError(f"no ngspice {name} data to compare with")
        fn = nl.compare_waveform if name == "waveform" else nl.compare_statistics
        results.append(fn(netlist, data, opts))
    return ValidationReport(
        netlist=netlist.name,
        digest=netlist.digest,
        ngspice=outputs.ngspice,
        source=outputs.source,
        checks=results,
        options=opts,
    )


def validate(
    netlist: Netlist,
    opts: ValidateOptions = ValidateOptions(),
    checks: Sequence[str] = CHECKS,
    *,
    spice_netlist: Netlist | None = None,
    deck_filter: DeckFilter | None = None,
    runner: Runner | None = None,
) -> ValidationReport:
    """Run ngspice and compare: the library function behind ``spu validate``.
    Nonlinear netlists get the waveform and statistics checks on node charges and a
    "not applicable" spectrum check (see :mod:`spu_emulator.spice.nonlinear`)."""
    outputs = run_ngspice(
        netlist, opts, checks, spice_netlist=spice_netlist, deck_filter=deck_filter, runner=runner
    )
    return compare_all(netlist, outputs, opts, checks)


def _check_names(checks: Sequence[str]) -> None:
    bad = [c for c in checks if c not in CHECKS]
    if bad:
        raise InputError(f"unknown check(s) {', '.join(bad)} (choose from {', '.join(CHECKS)})")


# ---- calibration files ------------------------------------------------------------


def save_outputs(
    path: str, outputs: SpiceOutputs, netlist: Netlist, opts: ValidateOptions, meta: dict[str, Any]
) -> None:
    """Store ngspice outputs as .npz (arrays + a JSON ``meta`` string)."""
    from ..io import save_npz

    arrays: dict[str, Any] = {}
    info: dict[str, Any] = dict(meta)
    info |= {
        "netlist": netlist.name,
        "digest": netlist.digest,
        "ngspice": outputs.ngspice,
        "options": opts.to_dict(),
    }
    if outputs.spectrum is not None:
        s = outputs.spectrum
        arrays |= {"spectrum_freqs": s.freqs, "spectrum_psd": s.psd}
        info["spectrum_nodes"] = list(s.nodes)
    if outputs.waveform is not None:
        w = outputs.waveform
        arrays |= {"waveform_t": w.t, "waveform_z": w.z, "waveform_v": w.v}
        info["waveform_nodes"] = list(w.nodes)
    if outputs.statistics is not None:
        st = outputs.statistics
        arrays |= {"statistics_cov": st.cov, "statistics_se": st.se, "statistics_mean": st.mean}
        info["statistics"] = {
            "nodes": list(st.nodes),
            "samples": st.samples,
            "interval": st.interval,
            "duration": st.duration,
            "burn_in": st.burn_in,
        }
    arrays["meta"] = np.array(json.dumps(info, sort_keys=True))
    save_npz(path, **arrays)


def load_outputs(path: str) -> tuple[SpiceOutputs, dict[str, Any]]:
    """Read a file written by :func:`save_outputs`: (outputs, meta)."""
    with np.load(path, allow_pickle=False) as f:
        d = {k: f[k] for k in f.files}
    meta = json.loads(str(d["meta"]))
    spec = wave = stats = None
    if "spectrum_freqs" in d:
        spec = SpectrumData(d["spectrum_freqs"], d["spectrum_psd"], tuple(meta["spectrum_nodes"]))
    if "waveform_t" in d:
        wave = WaveformData(
            d["waveform_t"], d["waveform_z"], d["waveform_v"], tuple(meta["waveform_nodes"])
        )
    if "statistics_cov" in d:
        s = meta["statistics"]
        stats = StatisticsData(
            d["statistics_cov"],
            d["statistics_se"],
            d["statistics_mean"],
            tuple(s["nodes"]),
            s["samples"],
            s["interval"],
            s["duration"],
            s["burn_in"],
        )
    out = SpiceOutputs(
        spec, wave, stats, ngspice=meta.get("ngspice", ""), source=f"calibration {path}"
    )
    return out, meta


def options_from_dict(d: dict[str, Any]) -> ValidateOptions:
    known = {f for f in ValidateOptions.__dataclass_fields__}
    return ValidateOptions(**{k: v for k, v in d.items() if k in known})


def deck_digest(deck: str) -> str:
    return hashlib.sha256(deck.encode()).hexdigest()[:16]
