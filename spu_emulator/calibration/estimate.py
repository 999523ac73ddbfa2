"""Identify the as-built board from its samples: Whittle maximum likelihood with the
exact sampled spectrum, Fisher-information standard errors, identifiability checks and
a goodness-of-fit test.

Estimator. The readings y_k (o nodes, N per chain, C chains) are a stationary
Gaussian process whose spectral density S_θ(ω) is known exactly for every θ
(:mod:`.model`: the exact discretization, inductor currents hidden, readout noise
added). With the DFT d_k = Σ_t y_t e^{−iω_k t} at ω_k = 2πk/N, 0 < k < N/2, the d_k are
asymptotically independent complex Gaussians of covariance N S(ω_k), and

    −ln L(θ) = Σ_k [ln det S_θ(ω_k) + tr(S_θ(ω_k)⁻¹ I_k)],   I_k = d_k d_kᴴ / N,

the Whittle likelihood: asymptotically equivalent to the exact likelihood of the
sampled linear SDE (the same estimator a Kalman filter would compute, to O(1/N)), but
its cost is one FFT of the data, once. The Fourier frequencies are grouped into bands
narrow against the narrowest resonance (≤ 1/4 of its half-power width), within which
S is taken at the band's centre: Ī_b (the band and chain average of I_k, m_b terms) is
then sufficient. The score and the expected Fisher information are exact in the model,

    ∂_j(−ln L) = Σ_b m_b tr(S⁻¹ ∂_j S (I − S⁻¹ Ī_b)),   𝓘_ij = Σ_b m_b Re tr(S⁻¹ ∂_i S S⁻¹ ∂_j S),

and Fisher scoring with a backtracking line search climbs from the design's values. Standard errors: √diag 𝓘⁻¹ at the estimate. The temperature
is the design's (known, not estimated); readout noise and ADC quantization enter as
white noise of variance σ_n² + Δ²/12 per reading.

Identifiability (checked on the design before the data are used, with the Fisher
information the given number of samples would carry): the sample rate must exceed
twice every resonance (else the mode aliases onto another), the record must resolve
the narrowest line, the scaled information matrix must have full rank (a null
direction names the parameters that only enter in a combination, e.g. a product or
two capacitors in parallel) and every expected relative standard error must stay
below :data:`MAX_REL_SE` (else: too few samples, with the number needed).

Goodness of fit. The samples' autocovariances Γ̂(τ), τ = 0 … lags − 1 (the covariance
and lagged ones) against the identified model's, with the covariance of the residual
under the model (V − J 𝓘⁻¹ Jᵀ: the fitted parameters absorb part of it), give
χ² = rᵀ (V − J𝓘⁻¹Jᵀ)⁺ r on its rank and a p-value.

Cost: one FFT, O(C N o²) for the band averages; per iteration O(P s³) for the model
and O(B P o s²) for the spectra of B bands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..netlist.schema import Netlist
from .model import BoardModel
from .samples import Samples

Array = np.ndarray

#: Largest expected relative standard error accepted (beyond: too few samples).
MAX_REL_SE = 0.25
#: Band width against the narrowest resonance's half-power width.
BAND_FRACTION = 1.0 / 4.0
#: At most this many bands (keeps an iteration's cost bounded).
MAX_BANDS = 2048
#: Relative eigenvalue of the scaled information below which a direction is lost.
RANK_TOL = 1e-9
#: Bands of the goodness-of-fit covariance.
GOF_BANDS = 64


@dataclass(frozen=True, eq=False)
class Bands:
    """Band-averaged periodogram Ī_b (B, o, o) of the scaled readings, band centres
    ω_b (rad/sample), terms m_b (frequencies × chains), samples per chain N and chains."""

    omega: Array
    I: Array  # noqa: E741
    m: Array
    N: int
    chains: int


def readout_variance(netlist: Netlist) -> float:
    """White variance (V²) one reading adds: converter noise² + LSB²/12."""
    ro = netlist.readout
    if ro is None:
        return 0.0
    var = float(ro.noise or 0.0) ** 2
    if ro.bits is not None and ro.full_scale:
        lsb = 2.0 * float(ro.full_scale) / 2 ** int(ro.bits)
        var += lsb * lsb / 12.0
    return var


def band_size(model: BoardModel, N: int) -> int:
    """Frequencies per band: the band ≤ BAND_FRACTION of the narrowest half-power width
    2γ h (rad/sample), at most MAX_BANDS bands."""
    lam = model.eigenvalues()
    width = 2.0 * float(np.min(-lam.real)) * model.h
    K = (N - 1) // 2
    m = int(max(1, np.floor(BAND_FRACTION * width * N / (2 * np.pi))))
    return max(m, int(np.ceil(K / MAX_BANDS)))


def band_frequencies(N: int, m: int) -> tuple[Array, Array]:
    """(centres ω_b, frequencies per band) for 0 < k < N/2 in bands of m."""
    K = (N - 1) // 2
    k = np.arange(1, K + 1)
    nb = int(np.ceil(K / m))
    edges = np.minimum(np.arange(nb + 1) * m, K)
    cnt = np.diff(edges)
    om = 2 * np.pi * k / N
    centre = np.add.reduceat(om, edges[:-1]) / cnt
    return centre, cnt


def periodogram_bands(y: Array, m: int) -> Bands:
    """Bands of ``y`` (chains, N, o) (scaled readings). O(C N o² + C N log N)."""
    C, N, o = y.shape
    K = (N - 1) // 2
    omega, cnt = band_frequencies(N, m)
    acc = np.zeros((len(cnt), o, o), complex)
    edges = np.concatenate([[0], np.cumsum(cnt)])
    for c in range(C):  # one chain at a time bounds the memory (C is small)
        d = np.fft.rfft(y[c], axis=0)[1:K + 1]  # (K, o)
        P = d[:, :, None] * np.conj(d[:, None, :]) / N
        acc += np.add.reduceat(P, edges[:-1], axis=0)
    m_b = cnt * C
    return Bands(omega=omega, I=acc / m_b[:, None, None], m=m_b.astype(float), N=N, chains=C)


def _nll(model: BoardModel, theta: Array, bands: Bands) -> float:
    d = model.discrete(theta, derivatives=False)
    S, _ = model.spectra(d, bands.omega, derivatives=False)
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return np.inf
    logdet = 2.0 * np.sum(np.log(np.abs(np.diagonal(L, axis1=-2, axis2=-1))), axis=-1)
    tr = np.real(np.trace(np.linalg.solve(S, bands.I), axis1=-2, axis2=-1))
    return float(np.sum(bands.m * (logdet + tr)))


def _score_fisher(model: BoardModel, theta: Array, omega: Array, m: Array,
                  I_bar: Array | None) -> tuple[Array | None, Array]:
    """(score of −ln L or None, Fisher 𝓘) at θ, from the whitened derivatives Ã_j
    (:meth:`.BoardModel.whitened`): 𝓘 = Re(X Xᴴ) with X_j = vec(√m_b Ã_j,b), and
    ∂_j(−ln L) = Σ_b m_b Re tr(Ã_j (I − L⁻¹ Ī_b L⁻ᴴ)). Bands in chunks (memory)."""
    d = model.discrete(theta)
    P, o = model.P, model.o
    fisher = np.zeros((P, P))
    grad = None if I_bar is None else np.zeros(P)
    chunk = max(1, int(4e6 // (P * o * o)))
    for lo in range(0, len(omega), chunk):
        sl = slice(lo, lo + chunk)
        _, L, At = model.whitened(d, omega[sl])
        w = np.sqrt(m[sl])[:, None, None, None]
        X = (At * w).transpose(1, 0, 2, 3).reshape(P, -1)
        Xr = np.concatenate([X.real, X.imag], axis=1)
        fisher += Xr @ Xr.T
        if grad is not None:
            Li = np.linalg.inv(L)
            It = Li @ I_bar[sl] @ np.conj(Li.swapaxes(-1, -2))
            R = (np.eye(o) - It) * w[:, 0]
            Rf = R.reshape(1, -1)
            Rr = np.concatenate([Rf.real, Rf.imag], axis=1)[0]
            grad += Xr @ Rr
    return grad, 0.5 * (fisher + fisher.T)


def _whiten(fisher: Array) -> tuple[Array, Array]:
    dg = np.sqrt(np.maximum(np.diag(fisher), 1e-300))
    return fisher / np.outer(dg, dg), dg


def check_identifiable(model: BoardModel, N: int, chains: int, m: int,
                       where: str = "the samples") -> Array:
    """Raise a one-line InputError when the design cannot be identified from ``chains``
    × ``N`` samples at the model's interval; else return the expected Fisher matrix at
    the nominal values (per the whole data)."""
    lam = model.eigenvalues()
    h = model.h
    nyq = 0.5 / h
    freq = np.abs(lam.imag) / (2 * np.pi)
    k = int(np.argmax(freq))
    if freq[k] >= nyq:
        raise InputError(f"{where}: the sample rate {1 / h:.4g} Hz is too low for the design's "
                         f"mode at {freq[k]:.4g} Hz (Nyquist {nyq:.4g} Hz: it aliases onto another "
                         f"frequency); sample at more than {2 * freq[k]:.4g} Hz")
    gamma = float(np.min(-lam.real))
    if N * h * gamma < 4.0:
        raise InputError(f"{where}: too few samples: {N} per chain span {N * h:.3g} s, under 4 "
                         f"decay times of the slowest mode ({1 / gamma:.3g} s): the spectrum's "
                         f"narrowest line is not resolved; record at least "
                         f"{int(np.ceil(4.0 / (gamma * h)))} samples per chain")
    omega, cnt = band_frequencies(N, m)
    _, fisher = _score_fisher(model, np.zeros(model.P), omega, cnt * float(chains), None)
    W, dg = _whiten(fisher)
    w, V = np.linalg.eigh(W)
    if w[0] < RANK_TOL * w[-1]:
        v = V[:, 0]
        top = np.argsort(-np.abs(v))[: max(2, int(np.sum(np.abs(v) > 0.2)))]
        names = ", ".join(model.names[j] for j in top)
        raise InputError(f"{where}: parameters {names} only enter the node voltages in a "
                         "combination (e.g. a product, or in parallel): they cannot be told "
                         "apart from these data; fix all but one in the design")
    cov = np.linalg.inv(W) / np.outer(dg, dg)
    se = np.sqrt(np.diag(cov))
    j = int(np.argmax(se))
    if se[j] > MAX_REL_SE:
        need = int(np.ceil(N * chains * (se[j] / 0.05) ** 2))
        raise InputError(f"{where}: too few samples: {chains * N} readings per node give an "
                         f"expected standard error of {100 * se[j]:.3g}% on {model.names[j]}; "
                         f"about {need} are needed for 5%")
    return fisher


@dataclass(frozen=True, eq=False)
class Calibration:
    """The identified board. ``names`` (P,) as error messages name the elements,
    ``elements`` the netlist element names, ``classes``, ``nominal``, ``estimate``,
    ``stderr`` (absolute, the values' units), ``theta`` / ``theta_cov`` the relative
    deviations (ln p/p₀) and their covariance, ``fit`` (goodness of fit, iterations),
    ``data`` (the samples' description), ``design`` (name, file, digest)."""

    names: tuple[str, ...]
    elements: tuple[str, ...]
    classes: tuple[str, ...]
    units: tuple[str, ...]
    nominal: Array
    estimate: Array
    stderr: Array
    theta: Array
    theta_cov: Array
    fit: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    design: dict[str, Any] = field(default_factory=dict)

    @property
    def theta_se(self) -> Array:
        return np.sqrt(np.diag(self.theta_cov))

    def ratios(self) -> dict[str, float]:
        """As-built / nominal value of every element, by element name."""
        return {e: float(v / n) for e, v, n in zip(self.elements, self.estimate, self.nominal,
                                                    strict=True)}

    def parameters(self) -> dict[str, dict[str, float]]:
        out = {}
        for j, nm in enumerate(self.names):
            out[nm] = {
                "element": self.elements[j], "class": self.classes[j], "unit": self.units[j],
                "nominal": float(self.nominal[j]), "estimate": float(self.estimate[j]),
                "stderr": float(self.stderr[j]),
                "relative_deviation": float(self.estimate[j] / self.nominal[j] - 1.0),
                "relative_stderr": float(self.theta_se[j]),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"format": "spu-calibration/1", "design": dict(self.design), "data": dict(self.data),
                "fit": dict(self.fit), "parameters": self.parameters(),
                "relative_covariance": self.theta_cov.tolist()}


def _gof(model: BoardModel, theta: Array, y: Array, bands: Bands, fisher: Array, lags: int
         ) -> dict[str, Any]:
    """χ² of the samples' autocovariances against the model (see the module docstring)."""
    from scipy.special import gammaincc  # lazy: scipy's import pulls in argparse

    C, N, o = y.shape
    lags = max(1, min(lags, N // 4))
    yc = y - y.mean(axis=1, keepdims=True)
    emp = np.stack([np.einsum("cti,ctj->ij", yc[:, t:], yc[:, :N - t]) / (C * N)
                    for t in range(lags)])  # Γ̂(τ)_ij = ⟨y_i(t+τ) y_j(t)⟩
    d = model.discrete(theta)
    mod = model.autocovariances(d, lags)
    # the residual's covariance needs only the model: coarser bands (S is smooth there)
    omega, cnt = band_frequencies(N, max(1, int(np.ceil(((N - 1) // 2) / GOF_BANDS))))
    S, dS = model.spectra(d, omega)
    m_b = cnt * float(C)
    # statistics: τ = 0, i ≤ j; τ ≥ 1, all (i, j)
    iu = np.triu_indices(o)
    idx = [(0, a, b) for a, b in zip(*iu, strict=True)]
    idx += [(t, a, b) for t in range(1, lags) for a in range(o) for b in range(o)]
    tau = np.array([t for t, _, _ in idx])
    ia = np.array([a for _, a, _ in idx])
    ib = np.array([b for _, _, b in idx])
    r = emp[tau, ia, ib] - mod[tau, ia, ib]
    z = np.exp(1j * np.outer(omega, tau))  # (B, K)
    w = m_b / (C * C)  # n_b / C: band terms over chains, averaged over chains
    # Cov(s, s') = 4/(N² C) Σ_k tr(X S Y S) with X = (z E_ba + z̄ E_ab)/2 for s = (a, b, τ):
    #   tr(X S Y S) = ¼[z z' S_ad S_cb + z z̄' S_ac S_db + z̄ z' S_bd S_ca + z̄ z̄' S_bc S_da]
    a, b = ia[:, None], ib[:, None]
    c, dd = ia[None, :], ib[None, :]
    V = np.zeros((len(idx), len(idx)))
    for lo in range(0, len(w), 16):  # bands in chunks: bounded memory
        sl = slice(lo, lo + 16)
        Sc, zc = S[sl], z[sl]
        zz = zc[:, :, None] * zc[:, None, :]
        zzc = zc[:, :, None] * np.conj(zc[:, None, :])
        tot = (zz * Sc[:, a, dd] * Sc[:, c, b] + zzc * Sc[:, a, c] * Sc[:, dd, b]
               + np.conj(zzc) * Sc[:, b, dd] * Sc[:, c, a] + np.conj(zz) * Sc[:, b, c] * Sc[:, dd, a])
        V += np.real(np.einsum("b,bkl->kl", w[sl], tot, optimize=True))
    V /= N**2
    # J = ∂Γ/∂θ from the band sums: Γ(τ) ≈ (2/N) Re Σ_b n_b S_b e^{iω_b τ}
    n_b = m_b / C
    J = (2.0 / N) * np.real(np.einsum("b,bpk,bk->kp", n_b, dS[:, :, ia, ib], z, optimize=True))
    # T = rᵀ V⁻¹ r is Σ λ_i χ²₁ with λ the eigenvalues of V^{-½}(V − J𝓘⁻¹Jᵀ)V^{-½} (in
    # [0, 1]: the fitted parameters absorb part of the residual); p-value by matching
    # the mean and variance of c χ²_ν (Satterthwaite), stable when some λ ≈ 0.
    Lv = np.linalg.cholesky(V + 1e-14 * np.trace(V) / len(V) * np.eye(len(V)))
    u = np.linalg.solve(Lv, r)
    stat = float(u @ u)
    Jw = np.linalg.solve(Lv, J)
    lam = np.clip(np.linalg.eigvalsh(np.eye(len(V)) - Jw @ np.linalg.solve(fisher, Jw.T)), 0, 1)
    c = float(np.sum(lam**2) / np.sum(lam))
    dof = float(np.sum(lam) ** 2 / np.sum(lam**2))
    p = float(gammaincc(0.5 * dof, 0.5 * stat / c))  # χ²_ν survival at T / c
    sd = np.sqrt(np.maximum(np.diag(V), 1e-300))
    sg = model.sigma[model.obs]
    cov_emp = emp[0] * np.outer(sg, sg)
    cov_mod = mod[0] * np.outer(sg, sg)
    return {"statistic": f"autocovariances, lags 0 … {lags - 1}", "chi2": stat, "dof": dof, "scale": c,
            "p_value": p, "lags": lags, "statistics": len(idx),
            "max_abs_z": float(np.max(np.abs(r) / sd)),
            "covariance_relative_difference": float(np.linalg.norm(cov_emp - cov_mod)
                                                    / np.linalg.norm(cov_mod))}


def calibrate(samples: Samples, netlist: Netlist, *, design_file: str | None = None,
              progress: Any = None, max_iter: int = 50, lags: int = 3,
              band: int | None = None, goodness_of_fit: bool = True) -> Calibration:
    """Identify every component value of ``netlist`` from ``samples`` (see the module
    docstring). ``band``: frequencies per band (default: :func:`band_size`);
    ``goodness_of_fit=False`` skips the χ² test (``fit["goodness_of_fit"]`` is None)."""
    from .samples import check_against

    t0 = time.perf_counter()
    where = design_file or netlist.source or netlist.name
    check_against(samples, netlist, where)
    model = BoardModel(netlist, samples.h, samples.nodes, readout_variance(netlist))
    N, C = samples.n, samples.chains
    m = band or band_size(model, N)
    check_identifiable(model, N, C, m, samples.source)
    y = samples.v / model.sigma[model.obs]
    bands = periodogram_bands(y, m)
    theta = np.zeros(model.P)  # the design: within a few % (a moment start did worse)
    nll = _nll(model, theta, bands)
    if progress is not None:
        progress.start(max_iter, "iteration")
    converged = False
    iterations = 0
    decrement = np.inf
    for it in range(1, max_iter + 1):
        iterations = it
        grad, fisher = _score_fisher(model, theta, bands.omega, bands.m, bands.I)
        W, dg = _whiten(fisher)
        step = -np.linalg.solve(W, grad / dg) / dg
        decrement = float(-grad @ step)
        big = np.max(np.abs(step))
        if big > 0.5:  # no more than 50% per iteration
            step *= 0.5 / big
        alpha = 1.0
        for _ in range(30):
            new = theta + alpha * step
            val = _nll(model, new, bands)
            if np.isfinite(val) and val <= nll + 1e-12 * abs(nll):
                break
            alpha *= 0.5
        else:
            new, val = theta, nll
        theta, nll = new, val
        if progress is not None:
            progress.update(1)
        if decrement < 1e-3 and big <= 0.5:
            converged = True
            break
    if progress is not None:
        progress.close()
    grad, fisher = _score_fisher(model, theta, bands.omega, bands.m, bands.I)
    W, dg = _whiten(fisher)
    cov = np.linalg.inv(W) / np.outer(dg, dg)
    cov = 0.5 * (cov + cov.T)
    est = model.values(theta)
    se_theta = np.sqrt(np.diag(cov))
    stderr = np.where(model.additive, model.nominal * se_theta, est * se_theta)
    gof = _gof(model, theta, y, bands, fisher, lags) if goodness_of_fit else None
    fit = {"method": "Whittle maximum likelihood, exact sampled spectrum (inductor currents "
                     "hidden), Fisher-information standard errors",
           "iterations": iterations, "converged": bool(converged), "newton_decrement": decrement,
           "bands": int(len(bands.m)), "frequencies_per_band": int(m),
           "temperature": float(netlist.temperature),
           "readout_variance": model.readout_variance, "goodness_of_fit": gof,
           "condition": float(np.linalg.cond(W)), "wall_time": time.perf_counter() - t0}
    units = tuple(p.unit for p in model.parameters)
    return Calibration(
        names=model.names, elements=model.element_names, classes=model.classes, units=units,
        nominal=model.nominal.copy(), estimate=est, stderr=stderr, theta=theta,
        theta_cov=cov, fit=fit, data=samples.describe(),
        design={"name": netlist.name, "file": where, "digest": netlist.digest},
    )


__all__ = ["Bands", "Calibration", "band_size", "calibrate", "check_identifiable",
           "periodogram_bands", "readout_variance"]
