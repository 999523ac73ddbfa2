"""Compiled stepping kernels for the exact integrator (optional: numba).

At batch 1 a 16-state SPU costs ~16 normals and ~500 multiply-adds per step. In numpy
the multiply-adds must be batched into GEMMs (the blocked scan), which costs ~4× the
arithmetic and many passes over memory; compiled, one step is a few dozen vector
instructions, and the run is bound by normal generation alone. The kernels here take
the normals numpy drew (the same stream as the numpy path) and do only the
recurrence, with the state carried in float64 whatever the output precision (exact
F, no compounded rounding).

Install with ``pip install 'spu-emulator[fast]'``; without numba, :func:`available`
is False and the integrator keeps its numpy layouts. Compiled code is cached on disk
(``cache=True``), so only the first run on a machine pays the ~1 s compile.
"""

from __future__ import annotations

import functools

import numpy as np

Array = np.ndarray


@functools.cache
def available() -> bool:
    """Whether numba imports (checked once)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _compiled():
    import numba

    jit = numba.njit(cache=True, nogil=True, boundscheck=False)

    @jit
    def step_chunk(FT, LT, x, Z, out):  # pragma: no cover - compiled
        """For each chain b: x ← x Fᵀ + z_j Lᵀ over the steps j of Z (B, w, r),
        writing every state to out (B, w, n). x (B, n) float64 is updated in place.
        Row-vector products as axpys over rows of Fᵀ and Lᵀ (vectorizable, no
        reassociation: the same bits with or without SIMD)."""
        B, w, r = Z.shape
        n = FT.shape[0]
        y = np.empty(n)
        for b in range(B):
            xb = x[b]
            for j in range(w):
                for i in range(n):
                    y[i] = 0.0
                for k in range(n):
                    xk = xb[k]
                    for i in range(n):
                        y[i] += xk * FT[k, i]
                for k in range(r):
                    zk = np.float64(Z[b, j, k])
                    for i in range(n):
                        y[i] += zk * LT[k, i]
                for i in range(n):
                    xb[i] = y[i]
                    out[b, j, i] = y[i]

    @jit
    def add_free(FT, c, out):  # pragma: no cover - compiled
        """out[b, j] += c_b (F^{j+1})ᵀ for the steps j of out (B, w, n): the response
        to a start deviation c (B, n) with no noise. c (float64) is updated in place
        to the last step's response."""
        B, w, n = out.shape
        y = np.empty(n)
        for b in range(B):
            cb = c[b]
            for j in range(w):
                for i in range(n):
                    y[i] = 0.0
                for k in range(n):
                    ck = cb[k]
                    for i in range(n):
                        y[i] += ck * FT[k, i]
                for i in range(n):
                    cb[i] = y[i]
                    out[b, j, i] += y[i]

    return step_chunk, add_free


def step_chunk(FT: Array, LT: Array, x: Array, Z: Array, out: Array) -> None:
    """Compiled x ← x Fᵀ + z Lᵀ over Z's steps (see :func:`_compiled`); x float64 in place."""
    _compiled()[0](FT, LT, x, Z, out)


def add_free(FT: Array, c: Array, out: Array) -> None:
    """Compiled out[:, j] += c (F^{j+1})ᵀ; c float64, updated in place."""
    _compiled()[1](FT, c, out)
