"""Sources of standard normals for the stepping loop.

- :class:`NoiseSource`: blocks drawn from a fixed set of independent SFC64 streams
  (children of the caller's generator), optionally on worker threads; the default.
- :class:`SequentialNoise`: every number straight from the caller's generator, step
  after step, exactly as ``rng.standard_normal((chains, dim))`` per step would draw
  them (for models whose results are defined by that sequence).

Both give the same numbers with or without threads, for the same sequence of draws.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import wait
from typing import Any

import numpy as np

Array = np.ndarray


class Cancelled(Exception):
    """A worker's block of work abandoned because the run was interrupted."""


#: Pairs of normals per pass of :func:`box_muller_f32` (temporaries stay in L1/L2).
_BM_PAIRS = 1 << 15
_BM_RADIUS_SCALE = np.float32(2.0**-31)
_BM_RADIUS_SHIFT = np.float32(2.0**-32)
_BM_ANGLE_SCALE = np.float32(2.0 * np.pi / 2.0**32)


def box_muller_f32(bitgen: np.random.BitGenerator, out: Array) -> Array:
    """Fill a C-contiguous float32 array with standard normals: Box–Muller on raw
    64-bit words, vectorized (about 1.6× numpy's float32 ziggurat on this kind of
    machine, whose per-number cost bounds small circuits).

    Each pair uses one 64-bit word: 31 bits give the radius u ∈ [2⁻³², 1] (uniform
    on a 2⁻³¹ grid, then rounded to float32), r = √(−2 ln u); 32 bits give the angle
    θ ∈ [−π, π); the pair is (r cos θ, r sin θ). Exact in law up to float32 rounding,
    except that |z| ≤ √(64 ln 2) ≈ 6.66 (P(|z| > 6.66) = 2.7e-11 for a true normal).
    """
    flat = out.reshape(-1)
    if flat.dtype != np.float32 or not flat.flags.c_contiguous:
        raise ValueError("box_muller_f32 needs a C-contiguous float32 array")
    total = flat.size
    rad = np.empty(_BM_PAIRS, np.float32)
    ang = np.empty(_BM_PAIRS, np.float32)
    i = 0
    while i < total:
        h = min(_BM_PAIRS, (total - i + 1) // 2)  # pairs in this pass
        k = min(h, total - i - h)  # second halves used (h − 1 for an odd tail)
        words = bitgen.random_raw(h).view(np.uint32).reshape(h, 2)
        r, a = rad[:h], ang[:h]
        u = np.right_shift(words[:, 0], 1)  # 31 bits: fits int32, which converts fast
        np.copyto(r, u.view(np.int32), casting="unsafe")
        r *= _BM_RADIUS_SCALE
        r += _BM_RADIUS_SHIFT
        np.log(r, out=r)
        r *= np.float32(-2.0)
        np.sqrt(r, out=r)
        np.copyto(a, words[:, 1].view(np.int32), casting="unsafe")
        a *= _BM_ANGLE_SCALE
        first, second = flat[i : i + h], flat[i + h : i + h + k]
        np.sin(a[:k], out=second)
        second *= r[:k]
        np.cos(a, out=first)
        first *= r
        i += h + k
    return out


class NoiseSource:
    """Standard normals for (steps, chains, dim), drawn in blocks from a fixed set of
    independent streams, so that the same seed gives the same numbers whether or
    not they are generated on worker threads.

    Every block is split along the step axis into ``N_STREAMS`` contiguous parts;
    part s always comes from stream s. With ``threads=True`` the parts are filled
    concurrently (numpy releases the GIL while filling), and the next block is
    generated in the background while the caller works on the current one.
    Streams are children of the caller's generator (``SeedSequence.spawn``) using
    SFC64, the fastest of numpy's bit generators for normals. float64 normals come from
    numpy's ziggurat; float32 ones from :func:`box_muller_f32` (faster, see there).
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
        seeds = rng.bit_generator.seed_seq.spawn(self.N_STREAMS)
        self.streams = [np.random.Generator(np.random.SFC64(s)) for s in seeds]
        self.chains, self.dim, self.dtype = chains, dim, np.dtype(dtype)
        from ..resources import cores

        self.threads = threads and cores() > 1  # same numbers either way
        self._pool = None
        self._pending: tuple[tuple[int, int], list[Any], Array] | None = None
        self._cancel = threading.Event()

    def _fill(self, s: int, part: Array) -> None:
        if not part.size:
            return
        if self.dtype == np.float32:
            box_muller_f32(self.streams[s].bit_generator, part)
        else:
            self.streams[s].standard_normal(out=part, dtype=self.dtype)

    def _parts(self, z: Array) -> list[Array]:
        m = z.shape[0]
        edges = [m * s // self.N_STREAMS for s in range(self.N_STREAMS + 1)]
        return [z[edges[s] : edges[s + 1]] for s in range(self.N_STREAMS)]

    def _start(self, m: int, chains: int) -> tuple[tuple[int, int], list[Any], Array]:
        z = np.empty((m, chains, self.dim), dtype=self.dtype)
        parts = self._parts(z)
        if self.threads and z.size >= 1 << 15:
            pool = self._ensure_pool()
            futs = [pool.submit(self._fill, s, p) for s, p in enumerate(parts)]
        else:
            for s, p in enumerate(parts):
                self._fill(s, p)
            futs = []
        return (m, chains), futs, z

    def _ensure_pool(self):
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self.N_STREAMS)
        return self._pool

    def check(self) -> None:
        """Raise :class:`Cancelled` in a worker once the run was interrupted (workers
        call it, through :meth:`part`, before every block of work)."""
        if self._cancel.is_set():
            raise Cancelled

    def part(self, s: int, m: int, rows: int) -> Array:
        """Normals (m, rows, dim) from stream s alone, filled on the calling thread:
        for integrators whose workers each own one stream (worker s, stream s)."""
        self.check()
        z = np.empty((m, rows, self.dim), dtype=self.dtype)
        self._fill(s, z)
        return z

    def map(self, fn: Callable[[int], Any], n: int, size: int = 1 << 20) -> list[Any]:
        """fn(0), …, fn(n−1): on the worker threads with ``threads`` (and ``size``,
        the amount of work in numbers, large enough), else in order here."""
        if self.threads and n > 1 and size >= 1 << 15:
            pool = self._ensure_pool()
            futs = [pool.submit(fn, s) for s in range(n)]
            try:
                return [f.result() for f in futs]
            except BaseException:  # interrupted (SIGINT/SIGTERM) or a worker failed:
                self._cancel.set()  # the others stop at their next block
                for f in futs:
                    f.cancel()
                wait(futs)
                raise
        return [fn(s) for s in range(n)]

    def _finish_pending(self) -> None:
        """Let a prefetched block finish (it stays pending for a matching draw)."""
        if self._pending is not None:
            for f in self._pending[1]:
                f.result()

    def draw(self, m: int, prefetch: int | None = None, chains: int | None = None) -> Array:
        """Normals for the next m steps, shape (m, chains, dim) (``chains`` defaults to
        the source's; an integrator may ask for more rows, e.g. trajectory segments).
        With ``prefetch``, the following block (that many steps, same rows) starts at
        once in the background. Draws must be requested in the same sizes to
        reproduce a run."""
        rows = self.chains if chains is None else chains
        if self._pending is not None and self._pending[0] == (m, rows):
            _, futs, z = self._pending
        else:
            if self._pending is not None:  # a different size than prefetched: finish it first
                for f in self._pending[1]:
                    f.result()
            _, futs, z = self._start(m, rows)
        self._pending = None
        for f in futs:
            f.result()
        if prefetch:
            self._pending = self._start(prefetch, rows)
        return z

    def close(self) -> None:
        if self._pending is not None:
            for f in self._pending[1]:
                f.result()
            self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class SequentialNoise(NoiseSource):
    """Normals drawn in order from one generator (no streams, no threads): a draw of
    m steps is ``rng.standard_normal((m, chains, dim))``, the same numbers as m draws
    of one step each. Integrators whose layouts split a run across streams see one
    stream (``N_STREAMS = 1``)."""

    N_STREAMS = 1

    def __init__(self, rng: np.random.Generator, chains: int, dim: int,
                 dtype: np.dtype = np.float64):
        self.rng = rng
        self.chains, self.dim, self.dtype = chains, dim, np.dtype(dtype)
        self.threads = False
        self._pool = None
        self._pending = None
        self._cancel = threading.Event()

    def _fill(self, s: int, part: Array) -> None:
        if part.size:
            self.rng.standard_normal(out=part, dtype=self.dtype)

    def draw(self, m: int, prefetch: int | None = None, chains: int | None = None) -> Array:
        rows = self.chains if chains is None else chains
        z = np.empty((m, rows, self.dim), dtype=self.dtype)
        self._fill(0, z)
        return z

    def close(self) -> None:
        pass
