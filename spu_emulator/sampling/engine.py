"""Reading out a programmed SPU: chunked exact sampling with running moments.

A :class:`Board` holds a compiled design, advances B independent chains of its
circuit SDE with the exact (Van Loan) transition over the sample interval h,
x_{k+1} = μ + F (x_k − μ) + w_k, w_k ~ N(0, Q), and maps each state to the user
variables y = T x. Exact integration means one step per sample whatever h, so the
interval can be comparable to the relaxation time: nearly independent samples for
O(n²) work each. Chains start at zero (the board powered on) and burn in for
``burn_in`` seconds (default 15 relaxation times: the initial transient and the
covariance deficit decay as e^{−t/τ} and e^{−2t/τ}). Chains are split into G groups
whose moments (count, Σ y, Σ y yᵀ) are kept separately: the spread between groups
gives error bars that need no model of the autocorrelation (batch means over
independent chains). ``advance`` continues from the last state, so a run can be
extended until an error bar reaches a tolerance.

Emulated hardware time: one board producing the same N samples at interval h,
t = burn_in + N h (chains are an emulation device: a board's samples at spacing h
have the same statistics as interleaved chains). Cost per sample: O(n²) for the
transition plus O(d²) for the moments; float32 by default (the moments are summed
in float64 across chunks).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..circuit.assemble import assemble
from ..errors import InputError
from ..hardware.design import Design
from ..integrate.base import NoiseSource
from ..integrate.exact import Exact

Array = np.ndarray


@dataclass
class Moments:
    """Per-group running sums of the user-variable readings y (without the mean)."""

    n: Array  # (G,)
    s1: Array  # (G, d)
    s2: Array  # (G, d, d)

    @classmethod
    def zeros(cls, groups: int, d: int) -> Moments:
        return cls(np.zeros(groups), np.zeros((groups, d)), np.zeros((groups, d, d)))

    @property
    def total(self) -> int:
        return int(self.n.sum())

    def second_moment(self) -> tuple[Array, Array]:
        """(E[y yᵀ] estimate, per-group estimates (G, d, d))."""
        per = self.s2 / self.n[:, None, None]
        return self.s2.sum(0) / self.n.sum(), per

    def first_moment(self) -> tuple[Array, Array]:
        per = self.s1 / self.n[:, None]
        return self.s1.sum(0) / self.n.sum(), per


class Board:
    """An emulated SPU running a :class:`Design` (see module docstring)."""

    def __init__(
        self,
        design: Design,
        *,
        seed: int | np.random.Generator,
        interval: float | None = None,
        chains: int = 128,
        groups: int = 16,
        burn_in: float | None = None,
        dtype=np.float32,
    ):
        if chains < groups or chains % groups:
            raise InputError(f"chains ({chains}) must be a positive multiple of groups ({groups})")
        self.design = design
        self.sde = assemble(design.netlist).to_sde()
        self.tau = self.sde.relaxation_time()
        self.h = float(interval) if interval is not None else self.tau
        if not (np.isfinite(self.h) and self.h > 0):
            raise InputError(f"sample interval must be positive, got {interval!r}")
        self.T = design.program.readout_matrix(self.sde.state_names)
        self.d = self.T.shape[0]
        self.chains, self.groups = chains, groups
        self.dtype = np.dtype(dtype)
        gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.integ = Exact()
        self.plan = self.integ.init(self.sde, self.h, self.dtype)
        self.noise = NoiseSource(gen, chains, self.integ.noise_dim(self.plan), self.dtype, threads=False)
        self.TT = self.T.T.astype(self.dtype)
        self.moments = Moments.zeros(groups, self.d)
        self.x = np.zeros((chains, self.sde.dim), self.dtype)
        self.burn_in = 15.0 * self.tau if burn_in is None else float(burn_in)
        self.wall_time = 0.0
        self.samples_per_chain = 0
        burn_steps = int(np.ceil(self.burn_in / self.h - 1e-9))
        if burn_steps:
            self._steps(burn_steps, accumulate=False)

    @property
    def emulated_time(self) -> float:
        """One board producing the same samples: burn-in + N h (s)."""
        return self.burn_in + self.moments.total * self.h

    def _steps(self, n_steps: int, accumulate: bool, keep: bool = False) -> Array | None:
        t0 = time.perf_counter()
        n = self.sde.dim
        per_chunk = max(1, (1 << 22) // max(self.chains * max(n, self.d), 1))
        kept = []
        k = 0
        cpg = self.chains // self.groups
        while k < n_steps:
            m = min(per_chunk, n_steps - k)
            out = np.empty((self.chains, m, n), self.dtype)
            self.integ.run(self.plan, self.x, m, self.noise, 0.0, self.h, out)
            self.x = out[:, -1].copy()
            if accumulate or keep:
                y = out @ self.TT  # (B, m, d)
                if keep:
                    kept.append(y)
                if accumulate:
                    yg = y.reshape(self.groups, cpg * m, self.d)
                    self.moments.n += cpg * m
                    self.moments.s1 += yg.sum(axis=1, dtype=np.float64)
                    self.moments.s2 += np.matmul(yg.transpose(0, 2, 1), yg).astype(np.float64)
            k += m
        self.wall_time += time.perf_counter() - t0
        if accumulate:
            self.samples_per_chain += n_steps
        return np.concatenate(kept, axis=1) if keep else None

    def advance(self, steps: int, keep: bool = False) -> Array | None:
        """Run ``steps`` more samples per chain, adding them to the moments; with
        ``keep`` also return them (B, steps, d), user variables without the mean."""
        return self._steps(int(steps), accumulate=True, keep=keep)

    def close(self) -> None:
        self.noise.close()
