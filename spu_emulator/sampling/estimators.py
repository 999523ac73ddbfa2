"""Estimators with error bars from correlated samples.

The integrated autocorrelation time τ_int = 1 + 2 Σ_{k≥1} ρ(k) is estimated with
Sokal's automatic window (smallest W with W ≥ c τ_int(W), c = 5) from the
FFT autocovariance, averaged over chains. The effective sample size of a mean over
N samples per chain and B chains is N_eff = B N / τ_int.

The covariance estimate Ĉ_ij is a mean of the product series y_ij(t) = δx_i δx_j,
so its standard error is sqrt(Var(y_ij) τ_int(y_ij) / (B N)); every entry gets its
own τ. Cost O(B N n² log N) with the FFT, done in chunks of entries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


#: Bytes of FFT work space the estimators use at a time (chains and columns are taken
#: in blocks that fit): memory stays bounded whatever the trajectory's length.
FFT_BYTES = 1 << 26


def _nfft(N: int) -> int:
    return 1 << int(np.ceil(np.log2(2 * N)))


def _autocorr(y: Array) -> Array:
    """Normalised autocorrelation of y (B, N, k) along axis 1, averaged over chains.
    Returns (N, k). Chains are transformed in blocks of at most :data:`FFT_BYTES`."""
    B, N, k = y.shape
    nfft = _nfft(N)
    per_chain = nfft * k * 16
    step = max(1, FFT_BYTES // max(per_chain, 1))
    acov = np.zeros((N, k))
    for b in range(0, B, step):
        yb = y[b : b + step] - y[b : b + step].mean(axis=1, keepdims=True)
        f = np.fft.rfft(yb, n=nfft, axis=1)
        acov += np.fft.irfft(f * np.conj(f), n=nfft, axis=1)[:, :N].real.sum(axis=0)
    acov /= B * N
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = acov / acov[0]
    return np.nan_to_num(rho, nan=0.0)


def integrated_autocorr_time(x: Array, c: float = 5.0) -> Array:
    """τ_int of each column of x, shape (B, N, k) or (N, k) or (N,). Returns (k,) or
    a scalar. τ ≥ 1 by convention (independent samples give τ ≈ 1)."""
    x = np.asarray(x, float)
    squeeze = x.ndim == 1
    if x.ndim == 1:
        x = x[None, :, None]
    elif x.ndim == 2:
        x = x[None]
    B, N, k = x.shape
    if N < 4:
        tau = np.ones(k)
    else:
        rho = _autocorr(x)
        taus = 2.0 * np.cumsum(rho, axis=0) - 1.0  # τ(W) = 1 + 2 Σ_{1..W} ρ
        W = np.arange(N)[:, None]
        ok = W >= c * taus
        first = np.where(ok.any(axis=0), ok.argmax(axis=0), N - 1)
        tau = np.maximum(taus[first, np.arange(k)], 1.0)
    return float(tau[0]) if squeeze else tau


@dataclass(frozen=True)
class CovarianceEstimate:
    """Sample covariance with per-entry standard errors and effective sample sizes."""

    mean: Array  # (n,)
    mean_stderr: Array  # (n,)
    covariance: Array  # (n, n)
    stderr: Array  # (n, n)
    tau: Array  # (n, n) integrated autocorrelation time of each product series
    effective_samples: Array  # (n, n) B N / τ
    samples: int  # B N

    @property
    def min_effective_samples(self) -> float:
        return float(np.min(self.effective_samples))

    def z_scores(self, reference: Array) -> Array:
        """(Ĉ − reference) / stderr, entry by entry."""
        return (self.covariance - reference) / self.stderr


def covariance_with_errors(x: Array, chunk: int | None = None) -> CovarianceEstimate:
    """Covariance of samples x (B, N, n) (B chains of N correlated samples) with
    the standard error of every entry from its own autocorrelation time. Entries are
    taken ``chunk`` at a time (default: as many as fit :data:`FFT_BYTES` of FFT work)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        x = x[None]
    B, N, n = x.shape
    if chunk is None:
        chunk = int(np.clip(FFT_BYTES // max(B * _nfft(N) * 16, 1), 1, 64))
    total = B * N
    mean = x.mean(axis=(0, 1))
    d = x - mean
    cov = np.einsum("bti,btj->ij", d, d, optimize=True) / (total - 1)
    tau_m = integrated_autocorr_time(d) if N >= 4 else np.ones(n)
    mean_se = np.sqrt(np.diag(cov) * tau_m / total)
    iu = np.triu_indices(n)
    pairs = list(zip(*iu, strict=True))
    tau = np.ones((n, n))
    var = np.zeros((n, n))
    for s in range(0, len(pairs), chunk):
        ii = np.array([p[0] for p in pairs[s : s + chunk]])
        jj = np.array([p[1] for p in pairs[s : s + chunk]])
        y = d[:, :, ii] * d[:, :, jj]  # (B, N, c)
        v = y.reshape(-1, len(ii)).var(axis=0)
        t = integrated_autocorr_time(y) if N >= 4 else np.ones(len(ii))
        tau[ii, jj] = tau[jj, ii] = t
        var[ii, jj] = var[jj, ii] = v
    se = np.sqrt(var * tau / total)
    return CovarianceEstimate(
        mean=mean,
        mean_stderr=mean_se,
        covariance=cov,
        stderr=se,
        tau=tau,
        effective_samples=total / tau,
        samples=total,
    )
