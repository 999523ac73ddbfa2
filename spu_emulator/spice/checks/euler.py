"""The emulator's stationary covariance of a nonlinear circuit, for the statistics check.

A nonlinear SDE has no closed-form stationary law in general, so the reference is
Euler–Maruyama (the project's integrator, stepped by the one stepping loop
:class:`~spu_emulator.integrate.simulate.Stepper`) at step h and, driven by the same
noise, at 2h: per block of m coarse steps one draw Z (2m, chains, p) drives the fine
chain (step h, normals Z) and the coarse chain (step 2h, normals
(Z[0::2] + Z[1::2]) / √2, the sum of two fine increments). The reference is the
Richardson extrapolation 2 C(h) − C(2h), which removes Euler's O(h) bias; the
difference C(h) − C(2h) (≈ the bias at h) is reported.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ...errors import CrossCheckError
from ...integrate.euler import EulerMaruyama
from ...integrate.noise import SequentialNoise
from ...integrate.simulate import Stepper
from ...sde.nonlinear import NonlinearSDE

Array = np.ndarray

#: Euler–Maruyama step as a fraction of the fastest time (its O(h) bias, ~h·rate/2
#: ≈ 1–5%, is removed by Richardson).
EULER_STEP_FRACTION = 0.1
#: Coarse steps per block of normals (memory: 2 × block × chains × p numbers).
BLOCK_STEPS = 256


class GivenNoise(SequentialNoise):
    """Normals served, in order, from arrays the caller feeds in (:meth:`feed`), for
    driving a :class:`~spu_emulator.integrate.simulate.Stepper` with a prescribed
    sequence: a draw of m steps returns the next m rows fed (whatever the sizes of the
    pieces fed and drawn)."""

    def __init__(self, chains: int, dim: int, dtype: np.dtype = np.float64):
        super().__init__(np.random.default_rng(0), chains, dim, dtype)  # its rng is unused
        self._queue: deque[Array] = deque()
        self._offset = 0  # rows of the queue's head already served

    def feed(self, z: Array) -> None:
        """Append normals (m, chains, dim) to serve next."""
        self._queue.append(np.asarray(z, self.dtype))

    def draw(self, m: int, prefetch: int | None = None, chains: int | None = None) -> Array:
        out = np.empty((m, self.chains if chains is None else chains, self.dim), self.dtype)
        k = 0
        while k < m:
            if not self._queue:
                raise RuntimeError("GivenNoise: more steps drawn than fed")
            head = self._queue[0]
            take = min(m - k, head.shape[0] - self._offset)
            out[k : k + take] = head[self._offset : self._offset + take]
            k += take
            self._offset += take
            if self._offset == head.shape[0]:
                self._queue.popleft()
                self._offset = 0
        return out

    def part(self, s: int, m: int, rows: int) -> Array:
        return self.draw(m, chains=rows)


@dataclass(frozen=True, eq=False)
class EulerCovariance:
    """The emulator's stationary covariance from Euler–Maruyama chains: ``cov`` the
    Richardson value 2 C(h) − C(2h), ``se`` its standard error (chain scatter),
    ``bias`` C(h) − C(2h) (≈ Euler's bias at step h), ``step`` h."""

    cov: Array
    se: Array
    bias: Array
    step: float
    chains: int
    samples_per_chain: int


class _Moments:
    """Running first and second moments of every chain's samples."""

    def __init__(self, chains: int, n: int):
        self.s1 = np.zeros((chains, n))
        self.s2 = np.zeros((chains, n, n))

    def add(self, x: Array) -> None:
        self.s1 += x
        self.s2 += x[:, :, None] * x[:, None, :]

    def per_chain(self, count: int) -> Array:
        """(chains, n, n): each chain's second moment about the pooled mean."""
        xbar = self.s1 / count
        m = xbar.mean(axis=0)
        return (
            self.s2 / count
            - m[None, :, None] * xbar[:, None, :]
            - xbar[:, :, None] * m[None, None, :]
            + np.outer(m, m)[None]
        )


def euler_covariance(
    sde: NonlinearSDE,
    *,
    seed: int = 0,
    chains: int = 2000,
    relaxation_times: float = 20.0,
    burn_in: float | None = None,
) -> EulerCovariance:
    """Stationary covariance of the charges by Euler–Maruyama at h = 0.1 · fastest time
    and at 2h driven by the same noise (module docstring), from q = 0 through the bias
    protocol and a burn-in (default: its end plus 10 slowest times); sampled every
    fastest time for ``relaxation_times`` slowest times per chain. Cost:
    O(steps · chains · n (n + p)); about a second for two nodes."""
    fastest, slowest = sde.timescales()
    h = EULER_STEP_FRACTION * fastest
    burn = burn_in if burn_in is not None else sde.bias_end() + 10.0 * slowest
    n_burn = int(np.ceil(burn / (2 * h)))
    n_run = int(np.ceil(relaxation_times * slowest / (2 * h)))
    every = max(1, int(round(fastest / (2 * h))))
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE01E4]))
    n, p = sde.dim, sde.noise_dim
    fine_noise, coarse_noise = GivenNoise(chains, p), GivenNoise(chains, p)
    x0 = np.zeros((chains, n))
    fine = Stepper(sde, EulerMaruyama(), h, x0, fine_noise, save_every=2)
    coarse = Stepper(sde, EulerMaruyama(), 2 * h, x0, coarse_noise)
    moments = {"h": _Moments(chains, n), "2h": _Moments(chains, n)}
    count = 0
    total = n_burn + n_run  # coarse steps; samples after steps n_burn + 1 + k·every
    done = 0
    while done < total:
        m = min(BLOCK_STEPS, total - done)
        z = rng.standard_normal((2 * m, chains, p))
        fine_noise.feed(z)
        coarse_noise.feed((z[0::2] + z[1::2]) / np.sqrt(2.0))
        states = {"h": fine.advance(m), "2h": coarse.advance(m)}  # (chains, m, n) each
        for j in range(m):
            step = done + j  # the coarse step just taken (0-based)
            if step >= n_burn and (step - n_burn) % every == 0:
                for key, acc in moments.items():
                    acc.add(states[key][:, j])
                count += 1
        done += m
    if not (np.all(np.isfinite(fine.x)) and np.all(np.isfinite(coarse.x))):
        raise CrossCheckError("Euler–Maruyama diverged for the statistics reference")
    c1, c2 = moments["h"].per_chain(count), moments["2h"].per_chain(count)
    rich = 2.0 * c1 - c2
    return EulerCovariance(
        cov=rich.mean(axis=0),
        se=rich.std(axis=0, ddof=1) / np.sqrt(chains),
        bias=(c1 - c2).mean(axis=0),
        step=h,
        chains=chains,
        samples_per_chain=count,
    )
