"""Random symmetric positive definite test matrices (tests, benchmarks, docs).

* ``m_matrix``: sparse positive couplings, a Laplacian plus a positive diagonal
  (an M-matrix: realizable with positive capacitors).
* ``h_matrix``: signed couplings, strictly diagonally dominant (an H-matrix:
  differential cells).
* ``spd``: Q diag(λ) Qᵀ with Haar-random Q and log-spaced λ of condition number
  ``cond`` (generally not an H-matrix: the inductive realization).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def m_matrix(d: int, rng: np.random.Generator, density: float = 0.5, cond: float | None = None) -> Array:
    W = rng.random((d, d)) * (rng.random((d, d)) < density)
    W = np.triu(W, 1)
    W = W + W.T
    L = np.diag(W.sum(1)) - W
    if cond is None:
        return L + np.diag(0.05 + 0.5 * rng.random(d))
    lmax = np.linalg.eigvalsh(L)[-1]
    shift = max(lmax / (cond - 1), 1e-12)  # λ ∈ [s, λmax + s]: κ ≈ cond
    return L + shift * np.eye(d)


def h_matrix(d: int, rng: np.random.Generator) -> Array:
    W = rng.standard_normal((d, d)) * (rng.random((d, d)) < 0.7)
    W = np.triu(W, 1)
    W = W + W.T
    return np.diag(np.abs(W).sum(1) * (1.05 + rng.random(d)) + 0.1) - W


def spd(d: int, rng: np.random.Generator, cond: float = 100.0) -> Array:
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q = Q * np.sign(np.diag(R))
    lam = np.logspace(0, np.log10(cond), d)
    A = (Q * lam) @ Q.T
    return 0.5 * (A + A.T)
