"""The spectrum check: ngspice ``.noise`` against the emulator's analytic spectra.

ngspice's ``.noise`` output spectrum S(f) (one-sided, V²/Hz) of every state node, on
a log grid of ``points_per_decade`` points from min|λ|/(2π·10³) to max|λ|/(2π)·10³
(λ the drift eigenvalues), is compared with the emulator's
:meth:`~spu_emulator.sde.linear.LinearSDE.node_psd`: worst pointwise relative error
where S is above 10⁻⁹ of its peak. The variance ∫₀^∞ S df is integrated here
(ngspice's own total is NaN for high-Q circuits): composite Simpson in ln f
(∫ S f d ln f) over the grid, plus power-law tails beyond both ends (S ∝ f^a with a
from the two end points: ∫₀^{f₀} = S₀f₀/(a+1), ∫_{f₁}^∞ = S₁f₁/(−a−1)); it is
compared with the Lyapunov variance. A resonance narrower than ~10 log-grid steps
(quality factor ≳ 40 at 1000 points per decade) would be stepped over, so each such
mode (f₀ = |Im λ|/2π, half-width γ = |Re λ|/2π) also gets nested linear sweeps
f₀ ± γ·4ʲ (j = 0, 1, …, until the log grid resolves the wings), merged into one
grid: the quadrature error stays ≲ 1e-5 at any Q.

Not run on nonlinear circuits: ``.noise`` linearizes the circuit at its operating
point, which says nothing about a nonlinear circuit's fluctuations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...circuit.assemble import Circuit
from ...errors import CrossCheckError
from ...netlist.schema import Netlist
from ..export import NoiseAnalysis, to_spice
from .base import Array, Check, CheckData, CheckResult, Runner
from .options import ValidateOptions

#: Points of each linear refinement sweep around a sharp resonance.
REFINE_POINTS = 81

NOT_APPLICABLE = (
    "not applicable (nonlinear): .noise linearizes the circuit at its operating point; "
    "the waveform and statistics checks cover nonlinear netlists"
)


@dataclass(frozen=True, eq=False)
class SpectrumData(CheckData):
    """ngspice ``.noise`` spectra: ``freqs`` (F,), ``psd`` (F, k) one-sided V²/Hz at
    the state ``nodes`` (k,)."""

    freqs: Array
    psd: Array
    nodes: tuple[str, ...]
    commands: tuple[str, ...] = ()

    def to_npz(self) -> tuple[dict[str, Array], dict[str, Any]]:
        return ({"spectrum_freqs": self.freqs, "spectrum_psd": self.psd},
                {"spectrum_nodes": list(self.nodes)})

    @classmethod
    def from_npz(cls, arrays: dict[str, Array], meta: dict[str, Any]) -> SpectrumData | None:
        if "spectrum_freqs" not in arrays:
            return None
        return cls(arrays["spectrum_freqs"], arrays["spectrum_psd"], tuple(meta["spectrum_nodes"]))


@dataclass(frozen=True, slots=True)
class SpectrumPlan:
    """One ``.noise`` run per state node: the log grid and the refinement sweeps."""

    nodes: tuple[str, ...]
    points_per_decade: int
    fmin: float
    fmax: float
    sweeps: tuple[tuple[int, float, float], ...]


def frequency_band(circuit: Circuit, options: ValidateOptions) -> tuple[float, float]:
    """(fmin, fmax) of the log grid: min|λ|/2π / 10^band_decades, max|λ|/2π · 10^band_decades."""
    lam = np.abs(circuit.to_sde().eigenvalues()) / (2 * np.pi)
    span = 10.0**options.spectrum.band_decades
    return float(f"{lam.min() / span:.3g}"), float(f"{lam.max() * span:.3g}")


def resonance_sweeps(
    circuit: Circuit, options: ValidateOptions
) -> tuple[tuple[int, float, float], ...]:
    """Linear sweeps (points, fstart, fstop) that resolve every mode the log grid would
    step over: modes with full width 2γ < 10 log-grid steps get windows f₀ ± γ·4ʲ of
    ``REFINE_POINTS`` points each (spacing w/40), widening until the log grid's
    spacing at f₀ is a tenth of the window's half-width w (module docstring)."""
    lam = circuit.to_sde().eigenvalues()
    step = np.log(10.0) / options.spectrum.points_per_decade  # relative log-grid spacing
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


def integrate_spectrum(freqs: Array, psd: Array) -> Array:
    """∫₀^∞ S(f) df for a one-sided spectrum sampled on a log grid ``freqs`` (F,)
    (``psd`` (F,) or (F, k)): composite Simpson in ln f plus power-law tails fitted
    to the two end points of each side (see the module docstring). O(F k)."""
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


class SpectrumCheck(Check):
    """Pointwise PSD and integrated variance of every state node (module docstring)."""

    name = "spectrum"
    data_type = SpectrumData

    def applies(self, circuit: Any, options: ValidateOptions) -> str | None:
        return None if circuit.linear else NOT_APPLICABLE

    def plan(self, circuit: Circuit, options: ValidateOptions) -> SpectrumPlan:
        flo, fhi = frequency_band(circuit, options)
        return SpectrumPlan(tuple(circuit.nodes), options.spectrum.points_per_decade, flo, fhi,
                            resonance_sweeps(circuit, options))

    def decks(self, plan: SpectrumPlan, netlist: Netlist) -> dict[str, str]:
        """One ``.noise`` deck per state node (Kron-reduced nodes are not compared)."""
        return {
            node: to_spice(netlist, NoiseAnalysis(node, plan.points_per_decade, plan.fmin,
                                                  plan.fmax, plan.sweeps))
            for node in plan.nodes
        }

    def run(self, plan: SpectrumPlan, decks: dict[str, str], netlist: Netlist,
            runner: Runner) -> SpectrumData:
        freqs, cols = None, []
        for deck in decks.values():
            res = runner(deck)
            plots = [p for p in getattr(res, "plots", ())
                     if "noise spectral density" in p.name.lower()]
            plots = plots or [res.plot("noise spectral density")]  # (raises, naming what it got)
            f, s = merge_sweeps([(p["frequency"].real, p["onoise_spectrum"].real ** 2)
                                 for p in plots])
            if freqs is None:
                freqs = f
            elif f.shape != freqs.shape or not np.allclose(f, freqs, rtol=1e-12):
                raise CrossCheckError("ngspice returned different frequency grids for different nodes")
            cols.append(s)
        return SpectrumData(freqs=np.asarray(freqs), psd=np.stack(cols, axis=1),
                            nodes=tuple(decks), commands=("ngspice -b deck.cir -r out.raw",))

    def compare(self, circuit: Circuit, data: SpectrumData, options: ValidateOptions) -> CheckResult:
        opts = options.spectrum
        sde = circuit.to_sde()
        idx = [circuit.nodes.index(n) for n in data.nodes]
        emu = sde.node_psd(data.freqs)[:, idx]
        var_emu = np.diag(sde.stationary_covariance())[idx]
        var_ng = integrate_spectrum(data.freqs, data.psd)
        var_emu_grid = integrate_spectrum(data.freqs, emu)
        rows = []
        for k, node in enumerate(data.nodes):
            mask = emu[:, k] > 1e-9 * emu[:, k].max()
            rel = np.abs(data.psd[mask, k] / emu[mask, k] - 1.0)
            j = int(np.argmax(rel))
            var_err = float(abs(var_ng[k] / var_emu[k] - 1.0))
            rows.append({
                "node": node,
                "variance_ngspice": float(var_ng[k]),
                "variance_emulator": float(var_emu[k]),
                "variance_rel_error": var_err,
                "quadrature_rel_error": float(abs(var_emu_grid[k] / var_emu[k] - 1.0)),
                "psd_max_rel_error": float(rel[j]),
                "psd_worst_frequency": float(data.freqs[mask][j]),
                "passed": bool(float(rel[j]) <= opts.psd_tol and var_err <= opts.variance_tol),
            })
        # The node to name: the worst variance error if any variance fails (a local change,
        # e.g. one capacitor, shows there first; PSD errors near shared modes spread over
        # every coupled node), else the worst PSD error relative to its tolerance.
        var_ratio = [r["variance_rel_error"] / opts.variance_tol for r in rows]
        psd_ratio = [r["psd_max_rel_error"] / opts.psd_tol for r in rows]
        ratio = var_ratio if max(var_ratio) > 1.0 else np.maximum(var_ratio, psd_ratio)
        w = rows[int(np.argmax(ratio))]
        worst = w["node"]
        passed = all(r["passed"] for r in rows)
        if w["variance_rel_error"] / opts.variance_tol >= w["psd_max_rel_error"] / opts.psd_tol:
            metric, tol = w["variance_rel_error"], opts.variance_tol
        else:
            metric, tol = w["psd_max_rel_error"], opts.psd_tol
        failing = sum(not r["passed"] for r in rows)
        head = (f"all {len(rows)} nodes agree" if passed
                else f"FAIL at node {worst} ({failing} of {len(rows)} nodes fail)")
        summary = (
            f"{head}: worst variance error {max(r['variance_rel_error'] for r in rows):.2e} "
            f"(tol {opts.variance_tol:g}), worst PSD error "
            f"{max(r['psd_max_rel_error'] for r in rows):.2e} (tol {opts.psd_tol:g}); "
            f"{len(data.freqs)} frequencies, {data.freqs[0]:.3g}–{data.freqs[-1]:.3g} Hz, "
            "Simpson in ln f + power-law tails"
        )
        info = {
            "frequencies": len(data.freqs),
            "fmin": float(data.freqs[0]),
            "fmax": float(data.freqs[-1]),
            "points_per_decade": opts.points_per_decade,
            "integration": "composite Simpson in ln f over the ngspice grid + power-law tails",
        }
        arrays = {"freqs": data.freqs, "psd_ngspice": data.psd, "psd_emulator": emu}
        return self.result(passed, metric, tol, f"node {worst}", summary, rows, info, arrays)
