"""Integrators share one small interface; :func:`simulate` runs any of them.

An integrator prepares a *plan* for an SDE and a step (``init``), advances a batch of
chains one step (``step``) and, for speed, many steps at once (``run``, which by
default loops over ``step``). ``order`` is the (weak) order of accuracy; exact
integrators report ``inf``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray
Progress = Callable[[int], None]  # called with the number of steps just completed


class Integrator(ABC):
    name: str = "?"
    order: float = 1.0
    exact: bool = False

    @abstractmethod
    def init(self, sde: Any, dt: float, dtype: np.dtype) -> Any:
        """Precompute what stepping needs (matrices, factors)."""

    @abstractmethod
    def noise_dim(self, plan: Any) -> int:
        """Standard normals consumed per chain per step."""

    @abstractmethod
    def step(self, plan: Any, x: Array, z: Array, t: float) -> Array:
        """Advance x (B, n) by one step with standard normals z (B, noise_dim)."""

    def run(
        self,
        plan: Any,
        x0: Array,
        n_steps: int,
        noise: NoiseSource,
        t0: float,
        dt: float,
        out: Array,
        progress: Progress | None = None,
        save_every: int = 1,
    ) -> None:
        """Advance n_steps × save_every steps; write every save_every-th state into
        out (B, n_steps, n). Generic loop over :meth:`step`; exact integrators
        override it with a fused version (they jump straight over saved intervals)."""
        x = x0
        total = n_steps * save_every
        chunk = max(1, min(total, 4096 // save_every * save_every or save_every))
        k = 0
        while k < total:
            m = min(chunk, total - k)
            Z = noise.draw(m)  # (m, B, r)
            for j in range(m):
                x = self.step(plan, x, Z[j], t0 + (k + j) * dt)
                if (k + j + 1) % save_every == 0:
                    out[:, (k + j + 1) // save_every - 1] = x
            k += m
            if progress:
                progress(m // save_every)


class NoiseSource:
    """Standard normals for (steps, chains, dim), drawn in blocks from a fixed set of
    independent streams so that the same seed gives the same numbers whether or
    not the blocks are generated on worker threads.

    Block k of a run comes from stream k mod n_streams. Streams are children of
    the user's generator (``Generator.spawn``), so one seed defines everything.
    """

    N_STREAMS = 2

    def __init__(
        self,
        rng: np.random.Generator,
        chains: int,
        dim: int,
        dtype: np.dtype = np.float64,
        threads: bool = True,
    ):
        seeds = rng.bit_generator.seed_seq.spawn(self.N_STREAMS) if hasattr(
            rng.bit_generator, "seed_seq"
        ) else None
        if seeds is None:  # pragma: no cover - all numpy bit generators have seed_seq
            raise ValueError("generator has no seed sequence")
        # SFC64 is the fastest of numpy's bit generators for normals (~1.6x PCG64).
        self.streams = [np.random.Generator(np.random.SFC64(s)) for s in seeds]
        self.chains, self.dim, self.dtype = chains, dim, np.dtype(dtype)
        self.block = 0
        self._pool = None
        self._pending: dict[int, Any] = {}
        self.threads = threads

    def _make(self, k: int, m: int) -> Array:
        z = np.empty((m, self.chains, self.dim), dtype=self.dtype)
        if z.size:
            self.streams[k % self.N_STREAMS].standard_normal(out=z, dtype=self.dtype)
        return z

    def draw(self, m: int, prefetch: int | None = None) -> Array:
        """Normals for the next m steps, shape (m, chains, dim). If ``prefetch`` is
        given, the next block (of that many steps) starts on a worker thread."""
        k = self.block
        self.block += 1
        fut = self._pending.pop(k, None)
        if fut is not None and fut[1] == m:
            z = fut[0].result()
        else:
            z = self._make(k, m)
        if prefetch and self.threads:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=1)
            self._pending[k + 1] = (self._pool.submit(self._make, k + 1, prefetch), prefetch)
        return z

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
