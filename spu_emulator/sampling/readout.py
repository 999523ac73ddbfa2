"""The readout chain of a board: what stands between a node voltage and a number.

Each node voltage the design reads is one *channel* with its own converter (a
differential variable is the difference of two channels). A channel c reads, at every
sample,

    u_c = y_c (the anti-alias filter's state, dy_c = ω_c (v_c − y_c) dt, ω_c = 2π·bandwidth)
          or v_c (no filter)
    r_c = Q((1 + g) u_c + o + σ_n z_c),   z_c ~ N(0, 1) from the converter's own stream,

with gain error g, offset o, input-referred noise σ_n (V rms per reading) and Q the
mid-tread quantizer of :class:`Adc` (step Δ, clipping at the end codes). The user
variable is y_i = s_i (r_{plus_i} − r_{minus_i}). The filter is modelled exactly: one
state per channel joins the board's linear SDE (:func:`with_filters`), so the exact
transition covers it.

Moments of the readings (what an infinitely long run converges to): with the channels'
stationary mean μ_u and covariance Σ_u (the filter states' from the augmented SDE's
Lyapunov solution), E[r] = (1 + g) μ_u + o and Cov[r] = (1 + g)² Σ_u + w I, where
w = σ_n² + Δ²/12 is the white variance a reading adds (quantization as uniform error:
Sheppard, exact up to e^{−2π²σ²/Δ²} for a Gaussian reading of rms σ; its mean bias and
clipping are not modelled). :func:`reading_moments` maps these to the user variables;
:func:`bias_report` compares them with the ideal readout (unfiltered voltages, no
converter). Cost O(m) per reading (m channels), O(m²) for the moments.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InputError, SPUWarning
from ..sde.linear import LinearSDE

Array = np.ndarray


class ClippingWarning(SPUWarning):
    """Readings beyond the converter's full scale saturated at its end codes: the
    spread is biased low and the error bar does not include it."""


@dataclass(frozen=True)
class Adc:
    """Ideal ADC of the netlist's ``readout:`` block: a mid-tread uniform quantizer on
    ±``full_scale`` volts with ``bits`` bits. Step Δ = 2 full_scale / 2^bits; a reading
    v becomes Δ · clip(round(v / Δ), −2^(bits−1), 2^(bits−1) − 1), so readings beyond
    the range saturate at the end codes. For readings well inside the range and
    Δ small against their spread the error is uniform, variance Δ²/12 (reported)."""

    bits: int
    full_scale: float

    @classmethod
    def from_netlist(cls, netlist) -> Adc | None:
        ro = netlist.readout
        if ro is None or ro.bits is None:
            return None
        return cls.from_readout(ro, netlist.source or netlist.name)

    @classmethod
    def from_readout(cls, ro, where: str) -> Adc:
        """The quantizer of a ``readout:`` block that gives ``bits``."""
        if ro.full_scale is None or not ro.full_scale > 0:
            raise InputError(
                f"{where}: readout.bits = {ro.bits} needs a positive "
                "readout.full_scale (V) to quantize the readings"
            )
        if int(ro.bits) < 1:
            raise InputError(f"readout.bits must be ≥ 1, got {ro.bits}")
        return cls(int(ro.bits), float(ro.full_scale))

    @property
    def lsb(self) -> float:
        return 2.0 * self.full_scale / 2**self.bits

    def quantize(self, v: Array) -> tuple[Array, int]:
        """(quantized readings, number clipped at the end codes)."""
        lo, hi = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        code = np.rint(v / v.dtype.type(self.lsb))
        clipped = int(np.count_nonzero((code < lo) | (code > hi)))
        np.clip(code, lo, hi, out=code)
        code *= v.dtype.type(self.lsb)
        return code, clipped


@dataclass(frozen=True)
class Converter:
    """One channel's converter, from a ``readout:`` block (see module docstring):
    anti-alias ``bandwidth`` (Hz, None: no filter), ``gain_error`` g, ``offset`` o (V),
    input-referred ``noise`` σ_n (V rms per reading), quantizer ``adc`` (None: exact)."""

    gain_error: float = 0.0
    offset: float = 0.0
    noise: float = 0.0
    bandwidth: float | None = None
    adc: Adc | None = None

    @classmethod
    def from_readout(cls, ro, where: str) -> Converter | None:
        """The converter of a ``readout:`` block; None when it reads ideally."""
        if ro is None or ro.ideal:
            return None
        adc = Adc.from_readout(ro, where) if ro.bits is not None else None
        return cls(float(ro.gain_error), float(ro.offset), float(ro.noise),
                   None if ro.bandwidth is None else float(ro.bandwidth), adc)

    @property
    def white_variance(self) -> float:
        """w = σ_n² + Δ²/12: the variance a reading adds (V²)."""
        q = self.adc.lsb**2 / 12.0 if self.adc is not None else 0.0
        return self.noise**2 + q

    @property
    def corner(self) -> float | None:
        """ω_c = 2π·bandwidth (rad/s), or None."""
        return None if self.bandwidth is None else 2.0 * np.pi * self.bandwidth

    def convert(self, u: Array, z: Array | None) -> tuple[Array, int]:
        """(readings r = Q((1 + g) u + o + σ_n z), number clipped) for channel values u
        (..., m) and standard normals z of the same shape (None when σ_n = 0). Each
        term is skipped when zero, so a bare quantizer gives its bytes unchanged."""
        t = u.dtype.type
        r = u
        if self.gain_error:
            r = r * t(1.0 + self.gain_error)
        if self.offset:
            r = r + t(self.offset)
        if self.noise:
            r = r + t(self.noise) * z
        if self.adc is None:
            return (r if r is not u else u.copy()), 0
        return self.adc.quantize(r)

    def describe(self) -> dict[str, Any]:
        """The converter's parameters as plain data."""
        out: dict[str, Any] = {"gain_error": self.gain_error, "offset": self.offset,
                               "noise": self.noise, "bandwidth": self.bandwidth}
        if self.adc is not None:
            out.update(bits=self.adc.bits, full_scale=self.adc.full_scale, lsb=self.adc.lsb)
        return out


def warn_clipping(clipped: int, readings: int, converter: Converter | None) -> float:
    """The clipped fraction of ``readings``; warns (:class:`ClippingWarning`, one line)
    when any reading clipped."""
    frac = clipped / max(readings, 1)
    if clipped and converter is not None and converter.adc is not None:
        warnings.warn(ClippingWarning(
            f"readout: {clipped} of {readings} readings ({100 * frac:.3g}%) clipped at the ADC's "
            f"±{converter.adc.full_scale:.3g} V full scale; the statistics are biased low and the "
            "error bar does not include it: raise readout.full_scale"), stacklevel=3)
    return frac


def with_filters(sde: LinearSDE, states: Sequence[int], bandwidth: float) -> LinearSDE:
    """A new LinearSDE with one first-order low-pass state per entry of ``states``:
    dy_k = ω_c (x[states_k] − y_k) dt, ω_c = 2π·bandwidth, appended after the circuit's
    states (named ``lp(<state>)``). Drift [[A, 0], [ω_c P, −ω_c I]] (P selects the
    states), no noise into the filters, scale blockdiag(S, diag of each read state's
    row norm of S) (the filter states are O(its voltage)). Not at one temperature (the
    filter is a one-way coupling), so its stationary law is the Lyapunov solution.
    O(n²) to build."""
    states = [int(s) for s in states]
    n, f = sde.dim, len(states)
    wc = 2.0 * np.pi * float(bandwidth)
    A = np.zeros((n + f, n + f))
    A[:n, :n] = sde.A
    A[n + np.arange(f), states] = wc
    A[n:, n:] = -wc * np.eye(f)
    B = np.zeros((n + f, sde.B.shape[1]))
    B[:n] = sde.B
    S = np.zeros((n + f, n + f))
    S[:n, :n] = sde.scale
    S[n:, n:] = np.diag(np.linalg.norm(sde.scale[states], axis=1))
    out = replace(
        sde, A=A, b=np.concatenate([sde.b, np.zeros(f)]), B=B,
        state_names=sde.state_names + tuple(f"lp({sde.state_names[s]})" for s in states),
        scale=S, temperature=None, mass=None, meta={"filters": tuple(states), "bandwidth": bandwidth},
    )
    out.check_stable(sde.netlist_name or None)
    return out


@dataclass(frozen=True)
class ReadingMoments:
    """Stationary mean (d,) and covariance (d, d) of the user-variable readings."""

    mean: Array
    covariance: Array

    @property
    def second(self) -> Array:
        """E[y yᵀ] = Cov + mean meanᵀ."""
        return self.covariance + np.outer(self.mean, self.mean)


def reading_moments(E: Array, mean_u: Array, cov_u: Array, converter: Converter | None
                    ) -> ReadingMoments:
    """Moments of y = E r (E (d, m): the signed, scaled channel map) for channel values
    of mean ``mean_u`` and covariance ``cov_u`` read through ``converter`` (None: ideal):
    E[r] = (1 + g) μ_u + o, Cov[r] = (1 + g)² Σ_u + w I (module docstring). O(d m²)."""
    if converter is None:
        mr, cr = mean_u, cov_u
    else:
        g1 = 1.0 + converter.gain_error
        mr = g1 * mean_u + converter.offset
        cr = g1 * g1 * cov_u + converter.white_variance * np.eye(len(mean_u))
    cov = E @ cr @ E.T
    return ReadingMoments(E @ mr, 0.5 * (cov + cov.T))


def relative_norm(a: Array, ref: Array) -> float:
    """‖a‖ / ‖ref‖ (Frobenius; 2-norm for vectors)."""
    return float(np.linalg.norm(a) / max(float(np.linalg.norm(ref)), 1e-300))


def bias_report(E: Array, ideal: tuple[Array, Array], filtered: tuple[Array, Array],
                converter: Converter) -> dict[str, Any]:
    """How the converter biases the readings' covariance and mean, term by term, against
    the ideal readout: ``ideal`` = (μ_v, Σ_v) of the read node voltages, ``filtered`` =
    (μ_u, Σ_u) of what the converter sees (the filter states, or the voltages). Relative
    Frobenius biases of the covariance: gain (1 + g)² − 1; filter ‖E(Σ_u − Σ_v)Eᵀ‖/‖EΣ_vEᵀ‖
    (with each variable's variance ratio); noise and quantization ‖w E Eᵀ‖/‖EΣ_vEᵀ‖;
    ``total`` of all together. The mean shifts by E((1 + g) μ_u + o − μ_v) (offset: E o 1,
    zero for a differential variable). O(d m²)."""
    mv, cv = ideal
    mu, cu = filtered
    ref = reading_moments(E, mv, cv, None)
    got = reading_moments(E, mu, cu, converter)
    filt = reading_moments(E, mu, cu, None)
    EEt = E @ E.T
    q = converter.adc.lsb**2 / 12.0 if converter.adc is not None else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.diag(filt.covariance) / np.diag(ref.covariance)
    return {
        "gain": (1.0 + converter.gain_error) ** 2 - 1.0,
        "filter": relative_norm(filt.covariance - ref.covariance, ref.covariance),
        "filter_variance_ratio": ratio,
        "noise": relative_norm(converter.noise**2 * EEt, ref.covariance),
        "quantization": relative_norm(q * EEt, ref.covariance),
        "total": relative_norm(got.covariance - ref.covariance, ref.covariance),
        "mean_shift": got.mean - ref.mean,
        "offset_mean_shift": E @ np.full(E.shape[1], converter.offset),
    }


__all__ = [
    "Adc", "ClippingWarning", "Converter", "ReadingMoments", "bias_report", "reading_moments",
    "relative_norm", "warn_clipping", "with_filters",
]
