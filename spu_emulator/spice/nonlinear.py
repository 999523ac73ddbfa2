"""``spu validate`` for nonlinear netlists (NC, EC, time-dependent RB).

The deck (:mod:`spu_emulator.spice.export`) realizes every nonlinear capacitor as a
charge node q_n (a capacitor C_aux integrating the capacitor's current) and a
behavioural voltage source imposing v = 2 J2 q + 4 J4 q³ + Σ J q_b; the state compared
is the charge q = C_aux · v(q_n) of every node, i.e. the emulator's
:class:`~spu_emulator.sde.nonlinear.NonlinearSDE` state.

Checks
------
spectrum
    Not applicable: ``.noise`` linearizes the circuit at its operating point, so it
    says nothing about a nonlinear circuit's fluctuations. Reported as "n/a", never
    failed.
waveform
    As for linear netlists, a seeded standard-normal sequence z (T, p) becomes
    piecewise-linear noise currents u_j = z_j sqrt(q_j / h) (each side with its own
    intensities q_j); the bias sources follow their own waveforms. ngspice runs the
    ``pwl`` deck with tight tolerances and maximum step h; the emulator integrates
    dq/dt = drift(q, t) + B_u u(t) with
    :func:`~spu_emulator.integrate.driven.simulate_driven_nonlinear` (DOP853,
    rtol 1e-8: 2e-9 relative RMS from a rtol 1e-12 solution on nonlinear_pair). Metric: relative RMS difference of each node's charge.
statistics
    ngspice ``trnoise`` run after a burn-in (which also outlasts the bias protocol),
    sampled on the NT grid: covariance of the charges with batch-means standard
    errors, against the emulator's stationary covariance from Euler–Maruyama chains
    (the project's integrator step) at step h and, with the same noise, at 2h; the
    reference is the Richardson extrapolation 2 C(h) − C(2h), which removes Euler's
    O(h) bias (the measured C(h) − C(2h) is reported). An entry passes when
    |Ĉ_ij − C_ij| ≤ bias · sqrt(C_ii C_jj) + k · sqrt(SE_ng² + SE_emu²). Where the
    law is known in closed form (≤ 3 nodes, one temperature, constant bias at the
    end), the Boltzmann covariance ∝ exp(−(E(q) − c·q) / k_B T) is computed by
    quadrature and reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..circuit.assemble import assemble
from ..errors import CrossCheckError, InputError
from ..integrate.driven import simulate_driven_nonlinear
from ..netlist.schema import BiasedResistor, Netlist, Resistor
from ..sde.nonlinear import NonlinearSDE
from ..units import K_B
from .export import (
    PWLInputs,
    TransientAnalysis,
    TrNoise,
    charge_capacitances,
    noise_source_table,
    spice_names,
    thermal_charges,
    to_spice,
)

if TYPE_CHECKING:
    from .compare import CheckResult, StatisticsData, ValidateOptions, WaveformData

Array = np.ndarray

#: ngspice tolerances of the nonlinear waveform deck: relative 1e-6, and node, current
#: and charge tolerances far below the µV node voltages and 1e-17 C charges.
NONLINEAR_WAVEFORM_OPTIONS = ".options reltol=1e-6 trtol=0.1 vntol=1e-15 abstol=1e-20 chgtol=1e-30"
#: ngspice tolerances of the trnoise deck: the step is pinned by the trnoise
#: breakpoints (every NT), so only Newton's convergence on the µV nodes matters.
NONLINEAR_STATISTICS_OPTIONS = ".options vntol=1e-12 abstol=1e-18 chgtol=1e-30"

#: Relative tolerance of the emulator's waveform ODE solve (its error, ~2e-9, is far
#: below ngspice's ~1e-5).
EMULATOR_RTOL = 1e-8

#: Euler–Maruyama step of the emulator's statistics, as a fraction of the fastest
#: effective time (its O(h) bias, ~h·rate/2 ≈ 1–5%, is removed by Richardson).
EULER_STEP_FRACTION = 0.1


def nonlinear_sde(netlist: Netlist) -> NonlinearSDE:
    return assemble(netlist).to_sde()


def timescales(netlist: Netlist, sde: NonlinearSDE | None = None) -> tuple[float, float]:
    """(fastest, slowest) time (s) of a nonlinear netlist: 1/|λ| of the drift's
    Jacobian −G H with H the energy's Hessian at the thermal charge q_s of every node
    (H = diag(2 J2 + 12 J4 q_s²) + J_c: the quartic stiffens the well several-fold
    where the charge actually is) for the fastest, and the slower of that and of the
    Hessian at q = 0 (when it is positive definite) for the slowest."""
    sde = sde or nonlinear_sde(netlist)
    qs = thermal_charges(netlist)
    q = np.array([qs[n] for n in sde.nodes])
    h_eff = np.diag(2.0 * sde.J2 + 12.0 * sde.J4 * q**2) + sde.Jc
    lam = np.abs(np.linalg.eigvals(-sde.G @ h_eff))
    fastest = float(1.0 / lam.max())
    slowest = float(1.0 / lam.min())
    h0 = np.diag(2.0 * sde.J2) + sde.Jc
    if np.all(np.linalg.eigvalsh(0.5 * (h0 + h0.T)) > 0):
        slowest = max(slowest, float(1.0 / np.abs(np.linalg.eigvals(-sde.G @ h0)).min()))
    return fastest, slowest


def emulator_intensities(sde: NonlinearSDE) -> Array:
    """q_j (A²·s) of every noise column of the emulator's B: the column's largest
    |entry| squared (a resistor's column is ±sqrt(q) at its two nodes)."""
    return np.abs(sde.B).max(axis=0) ** 2 if sde.B.size else np.zeros(0)


def emulator_input_matrix(sde: NonlinearSDE) -> Array:
    """B_u (n, p): dq/dt per ampere of each noise source, B / sqrt(q)."""
    s = np.sqrt(emulator_intensities(sde))
    return np.divide(sde.B, s[None, :], out=np.zeros_like(sde.B), where=s[None, :] > 0)


def bias_end(netlist: Netlist) -> float:
    """Time (s) of the last breakpoint of any time-dependent bias (0 if none)."""
    ends = [
        max(e.bias.times)
        for e in netlist.elements
        if isinstance(e, BiasedResistor) and not e.bias.constant
    ]
    return max(ends, default=0.0)


# ---- waveform ---------------------------------------------------------------------


def waveform_grid(netlist: Netlist, opts: ValidateOptions) -> tuple[Array, Array]:
    """(t (T,), z (T, p)): step h = fastest / 8 (or ``opts.waveform_step``), the
    seeded standard-normal sequence of the linear check (same seed scheme)."""
    fastest, _ = timescales(netlist)
    h = opts.waveform_step if opts.waveform_step is not None else fastest / 8.0
    h = float(f"{h:.4g}")
    T = int(opts.waveform_samples)
    if T < 10:
        raise InputError(f"waveform samples must be ≥ 10, got {T}")
    t = np.arange(T) * h
    rng = np.random.default_rng(np.random.SeedSequence([int(opts.seed), 0x5F1CE]))
    z = rng.standard_normal((T, len(noise_source_table(netlist))))
    z[0] = 0.0
    return t, z


def waveform_deck(netlist: Netlist, t: Array, z: Array, nodes: Sequence[str]) -> str:
    """The ``pwl`` transient deck (noise currents u_j = z_j sqrt(q_j / h) with this
    netlist's q_j), saving node voltages and charge nodes."""
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
    return deck.replace("\n.tran ", f"\n{NONLINEAR_WAVEFORM_OPTIONS}\n.tran ", 1)


def read_charges(netlist: Netlist, plot: Any, nodes: Sequence[str]) -> tuple[Array, Array]:
    """(time (T,), charges (T, k)) of ``nodes`` from a transient plot: C_aux · v(q_n)."""
    names = spice_names(netlist)
    caux = charge_capacitances(netlist)
    tt = plot["time"].real
    q = np.stack([caux[n] * plot[names.charge(n)].real for n in nodes], axis=1)
    return tt, q


def run_waveform(
    netlist: Netlist, deck: str, t: Array, z: Array, nodes: Sequence[str], runner: Any
) -> WaveformData:
    from .compare import WaveformData

    res = runner(deck)
    tt, q = read_charges(netlist, res.plot("transient"), nodes)
    v = np.stack([np.interp(t, tt, q[:, k]) for k in range(q.shape[1])], axis=1)
    return WaveformData(
        t=t, z=z, v=v, nodes=tuple(nodes), commands=("ngspice -b deck.cir -r out.raw",)
    )


def emulator_waveform(netlist: Netlist, t: Array, z: Array) -> Array:
    """The emulator's charges (T, n) driven by u = z sqrt(q / h) (its own q)."""
    sde = nonlinear_sde(netlist)
    if z.shape[1] != sde.B.shape[1]:
        raise CrossCheckError(
            f"the input sequence has {z.shape[1]} columns, the emulator {sde.B.shape[1]} "
            "noise sources"
        )
    h = float(t[1] - t[0])
    u = z * np.sqrt(emulator_intensities(sde) / h)[None, :]
    qs = thermal_charges(netlist)
    tr = simulate_driven_nonlinear(
        sde,
        t,
        u,
        input_matrix=emulator_input_matrix(sde),
        rtol=EMULATOR_RTOL,
        scale=np.array([qs[n] for n in sde.nodes]),
    )
    return tr.states


def compare_waveform(netlist: Netlist, data: WaveformData, opts: ValidateOptions) -> CheckResult:
    """Sample-by-sample relative RMS error of every node's charge."""
    from .compare import CheckResult, waveform_errors

    sde = nonlinear_sde(netlist)
    ref_all = emulator_waveform(netlist, data.t, data.z)
    idx = [sde.nodes.index(n) for n in data.nodes]
    ref = ref_all[:, idx]
    rel, rows, k, passed = waveform_errors(data.v, ref, data.nodes, opts.waveform_tol)
    h = float(data.t[1] - data.t[0])
    summary = (
        f"{'all ' + str(len(rows)) + ' nodes agree' if passed else 'FAIL at node ' + data.nodes[k]}: "
        f"worst relative RMS error of the charge {rel[k]:.2e} (tol {opts.waveform_tol:g}) at "
        f"node {data.nodes[k]}; {len(data.t)} samples, step {h:.4g} s, {data.z.shape[1]} pwl "
        f"sources, emulator ODE by DOP853 (rtol {EMULATOR_RTOL:g})"
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
            "quantity": "charge (C)",
            "ngspice_options": NONLINEAR_WAVEFORM_OPTIONS,
        },
        arrays={"t": data.t, "v_ngspice": data.v, "v_emulator": ref},
    )


# ---- statistics -------------------------------------------------------------------


def statistics_plan(netlist: Netlist, opts: ValidateOptions) -> tuple[float, float, float]:
    """(NT, duration, burn-in) in seconds: NT = fastest / 20; duration 1000 (quick:
    300) slowest times; burn-in ``opts.burn_in_relaxation_times`` slowest times after
    the last bias breakpoint."""
    fastest, slowest = timescales(netlist)
    nt = opts.trnoise_interval if opts.trnoise_interval is not None else fastest / 20.0
    nt = float(f"{nt:.3g}")
    n_relax = (
        opts.relaxation_times
        if opts.relaxation_times is not None
        else (300.0 if opts.quick else 1000.0)
    )
    burn = bias_end(netlist) + opts.burn_in_relaxation_times * slowest
    return nt, float(f"{n_relax * slowest:.3g}"), float(f"{burn:.3g}")


def statistics_deck(
    netlist: Netlist, nodes: Sequence[str], nt: float, duration: float, burn: float
) -> str:
    an = TransientAnalysis(nt, burn + duration, nt, start=burn, save=tuple(nodes), linearize=True)
    deck = to_spice(netlist, an, TrNoise(nt))
    return deck.replace("\n.tran ", f"\n{NONLINEAR_STATISTICS_OPTIONS}\n.tran ", 1)


def run_statistics(
    netlist: Netlist,
    emulator_netlist: Netlist,
    opts: ValidateOptions,
    runner: Any,
    deck_filter: Any = None,
) -> StatisticsData:
    from .compare import StatisticsData, _apply, batch_covariance

    nodes = nonlinear_sde(emulator_netlist).nodes
    nt, duration, burn = statistics_plan(emulator_netlist, opts)
    deck = _apply(statistics_deck(netlist, nodes, nt, duration, burn), deck_filter)
    res = runner(deck)
    tt, q = read_charges(netlist, res.plot("transient"), nodes)
    x = q[tt >= burn - 0.5 * nt]
    cov, se, mean = batch_covariance(x, opts.batches)
    return StatisticsData(
        cov=cov,
        se=se,
        mean=mean,
        nodes=tuple(nodes),
        samples=int(x.shape[0]),
        interval=nt,
        duration=duration,
        burn_in=burn,
        commands=("ngspice -b deck.cir (control block writes out.raw)",),
    )


@dataclass(frozen=True, eq=False)
class EulerCovariance:
    """The emulator's stationary charge covariance from Euler–Maruyama chains:
    ``cov`` the Richardson value 2 C(h) − C(2h), ``se`` its standard error (chain
    scatter), ``bias`` C(h) − C(2h) (≈ Euler's bias at step h), ``step`` h."""

    cov: Array
    se: Array
    bias: Array
    step: float
    chains: int
    samples_per_chain: int


def euler_covariance(
    netlist: Netlist,
    *,
    seed: int = 0,
    chains: int = 2000,
    relaxation_times: float = 20.0,
    burn_in: float | None = None,
) -> EulerCovariance:
    """Stationary covariance of the charges by Euler–Maruyama (the emulator's
    :class:`~spu_emulator.integrate.euler.EulerMaruyama` step) at h = 0.1 · fastest
    time and at 2h driven by the same noise (the 2h chain takes the sum of two h
    increments), from q = 0 through the bias protocol and a burn-in; sampled every
    fastest time for ``relaxation_times`` slowest times per chain. Cost:
    O(steps · chains · n²); about a second for two nodes."""
    from ..integrate.euler import EulerMaruyama

    sde = nonlinear_sde(netlist)
    fastest, slowest = timescales(netlist, sde)
    h = EULER_STEP_FRACTION * fastest
    burn = burn_in if burn_in is not None else bias_end(netlist) + 10.0 * slowest
    n_burn = int(np.ceil(burn / (2 * h)))
    n_run = int(np.ceil(relaxation_times * slowest / (2 * h)))
    every = max(1, int(round(fastest / (2 * h))))
    em = EulerMaruyama()
    fine, coarse = em.init(sde, h), em.init(sde, 2 * h)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE01E4]))
    n, p = sde.dim, sde.B.shape[1]
    x1 = np.zeros((chains, n))
    x2 = np.zeros((chains, n))
    acc = {k: [np.zeros((chains, n)), np.zeros((chains, n, n))] for k in ("h", "2h")}
    count = 0
    t = 0.0
    for step in range(n_burn + n_run):
        z = rng.standard_normal((2, chains, p))
        x1 = em.step(fine, x1, z[0], t)
        x1 = em.step(fine, x1, z[1], t + h)
        x2 = em.step(coarse, x2, (z[0] + z[1]) / np.sqrt(2.0), t)
        t += 2 * h
        if step >= n_burn and (step - n_burn) % every == 0:
            for key, x in (("h", x1), ("2h", x2)):
                acc[key][0] += x
                acc[key][1] += x[:, :, None] * x[:, None, :]
            count += 1
    if not (np.all(np.isfinite(x1)) and np.all(np.isfinite(x2))):
        raise CrossCheckError("Euler–Maruyama diverged for the statistics reference")

    def per_chain(key: str) -> Array:
        """(chains, n, n): each chain's second moment about the pooled mean."""
        s1, s2 = acc[key]
        xbar = s1 / count
        m = xbar.mean(axis=0)
        return (
            s2 / count
            - m[None, :, None] * xbar[:, None, :]
            - xbar[:, :, None] * m[None, None, :]
            + np.outer(m, m)[None]
        )

    c1, c2 = per_chain("h"), per_chain("2h")
    rich = 2.0 * c1 - c2
    return EulerCovariance(
        cov=rich.mean(axis=0),
        se=rich.std(axis=0, ddof=1) / np.sqrt(chains),
        bias=(c1 - c2).mean(axis=0),
        step=h,
        chains=chains,
        samples_per_chain=count,
    )


def boltzmann_covariance(netlist: Netlist, points: int = 161) -> Array | None:
    """Covariance of exp(−(E(q) − c·q) / k_B T) by quadrature on a grid of ±8 thermal
    charges per node, c = G⁻¹ (G_b V_b(∞) + I): the exact stationary law when every
    resistor is at the bath temperature. None where it does not apply or n > 3."""
    sde = nonlinear_sde(netlist)
    n = sde.dim
    if n > 3:
        return None
    for e in netlist.elements:
        if isinstance(e, Resistor | BiasedResistor) and e.temperature not in (
            None,
            netlist.temperature,
        ):
            return None
        if e.TYPE == "I" and getattr(e, "noise_psd", 0.0) > 0:
            return None
    try:
        c = np.linalg.solve(sde.G, sde.bias_current(np.inf))
    except np.linalg.LinAlgError:
        return None
    qs = thermal_charges(netlist)
    axes = [np.linspace(-8 * qs[m], 8 * qs[m], points) for m in sde.nodes]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    energy = sde.energy(grid) - grid @ c
    w = np.exp(-(energy - energy.min()) / (K_B * netlist.temperature))
    w /= w.sum()
    flat_q = grid.reshape(-1, n)
    flat_w = w.reshape(-1)
    mean = flat_w @ flat_q
    d = flat_q - mean
    return (d * flat_w[:, None]).T @ d


def compare_statistics(
    netlist: Netlist, data: StatisticsData, opts: ValidateOptions
) -> CheckResult:
    from .compare import CheckResult

    sde = nonlinear_sde(netlist)
    idx = [sde.nodes.index(n) for n in data.nodes]
    emu = euler_covariance(netlist, seed=opts.seed)
    sigma = emu.cov[np.ix_(idx, idx)]
    se_emu = emu.se[np.ix_(idx, idx)]
    scale = np.sqrt(np.outer(np.diag(sigma), np.diag(sigma)))
    allow = opts.trnoise_bias * scale + opts.stats_k * np.sqrt(data.se**2 + se_emu**2)
    err = data.cov - sigma
    score = np.abs(err) / allow
    boltz = boltzmann_covariance(netlist)
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
                "emulator_se_rel": float(se_emu[i, j] / scale[i, j]),
                "euler_bias_rel": float(emu.bias[idx[i], idx[j]] / scale[i, j]),
                "score": float(score[i, j]),
                "passed": bool(score[i, j] <= 1.0),
            }
            if boltz is not None:
                row["boltzmann"] = float(boltz[idx[i], idx[j]])
                row["emulator_vs_boltzmann_rel"] = float(
                    (sigma[i, j] - boltz[idx[i], idx[j]]) / scale[i, j]
                )
            rows.append(row)
    iu = np.triu_indices(k)
    w = int(np.argmax(score[iu]))
    wi, wj = iu[0][w], iu[1][w]
    passed = bool(np.all(score[iu] <= 1.0))
    diag_rel = np.diag(err) / np.diag(sigma)
    where = f"({data.nodes[wi]}, {data.nodes[wj]})"
    summary = (
        f"{'all entries agree' if passed else 'FAIL at ' + where}: charge variance errors "
        f"{', '.join(f'{n} {r:+.1%}' for n, r in zip(data.nodes, diag_rel, strict=True))}; "
        f"allowance = {opts.trnoise_bias:.0%} trnoise bias + {opts.stats_k:g} standard errors "
        f"(median SE {np.median(data.se[iu] / scale[iu]):.1%} ngspice, "
        f"{np.median(se_emu[iu] / scale[iu]):.1%} emulator); emulator: Euler–Maruyama "
        f"h={emu.step:.3g} s and 2h, Richardson (Euler bias at h up to "
        f"{np.max(np.abs(emu.bias[np.ix_(idx, idx)]) / scale):.1%}), {emu.chains} chains; "
        f"trnoise NT {data.interval:.3g} s, {data.duration:.3g} s after {data.burn_in:.3g} s "
        f"burn-in, {data.samples} samples"
    )
    info: dict[str, Any] = {
        "trnoise_interval": data.interval,
        "duration": data.duration,
        "burn_in": data.burn_in,
        "samples": data.samples,
        "bias_allowance": opts.trnoise_bias,
        "k": opts.stats_k,
        "variance_rel_errors": {n: float(r) for n, r in zip(data.nodes, diag_rel, strict=True)},
        "emulator": {
            "method": "Euler–Maruyama, Richardson 2C(h) − C(2h)",
            "step": emu.step,
            "chains": emu.chains,
            "samples_per_chain": emu.samples_per_chain,
        },
    }
    return CheckResult(
        name="statistics",
        passed=passed,
        metric=float(score[wi, wj]),
        tolerance=1.0,
        worst=where,
        summary=summary,
        rows=rows,
        info=info,
        arrays={"cov_ngspice": data.cov, "cov_emulator": sigma, "se": data.se},
    )


def spectrum_not_applicable() -> CheckResult:
    """The spectrum check's verdict for a nonlinear netlist: not applicable (passes)."""
    from .compare import CheckResult

    return CheckResult(
        name="spectrum",
        passed=True,
        metric=float("nan"),
        tolerance=float("nan"),
        worst="n/a",
        summary="not applicable (nonlinear): .noise linearizes the circuit at its operating "
        "point; the waveform and statistics checks cover nonlinear netlists",
        info={"applicable": False},
    )
