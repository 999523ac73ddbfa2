"""The float32 noise generator (vectorized Box–Muller) against the normal law.

Tolerances are 4.5 standard errors of each statistic at the sample size used (fixed
seeds, so each assertion is deterministic; a biased generator fails them by many SE).
"""

import numpy as np
import pytest
from scipy import stats

from spu_emulator.integrate.base import NoiseSource, box_muller_f32

N = 4_000_001  # odd: the last pair is cut in half


@pytest.fixture(scope="module")
def z():
    out = np.full(N, np.nan, dtype=np.float32)
    box_muller_f32(np.random.SFC64(11), out)
    return out.astype(np.float64)


def test_fills_every_entry_and_bounds(z):
    assert np.all(np.isfinite(z))
    assert np.abs(z).max() <= np.sqrt(64 * np.log(2)) + 1e-6


def test_moments(z):
    se = 1 / np.sqrt(N)
    assert abs(z.mean()) < 4.5 * se
    assert abs(z.var() - 1) < 4.5 * np.sqrt(2) * se
    assert abs(stats.skew(z)) < 4.5 * np.sqrt(6) * se
    assert abs(stats.kurtosis(z)) < 4.5 * np.sqrt(24) * se


@pytest.mark.parametrize("a", [1.0, 2.0, 3.0, 4.0])
def test_tail_fractions(z, a):
    p = 2 * stats.norm.sf(a)
    frac = np.mean(np.abs(z) > a)
    assert abs(frac - p) < 4.5 * np.sqrt(p * (1 - p) / N)


def test_distribution_and_independence(z):
    assert stats.kstest(z[:1_000_000], "norm").pvalue > 1e-4
    # a pass writes its pairs (r cos θ, r sin θ) 2^15 apart; neighbours and partners
    # must be uncorrelated, and so must their squares (a shared radius would show there)
    h = 1 << 15
    for lag in (1, h):
        a, b = z[:-lag], z[lag:]
        for f in (lambda v: v, lambda v: v * v):
            c = np.corrcoef(f(a), f(b))[0, 1]
            assert abs(c) < 4.5 / np.sqrt(a.size), (lag, c)


def test_deterministic_and_independent_of_block_size():
    a = box_muller_f32(np.random.SFC64(3), np.empty(1001, np.float32))
    b = box_muller_f32(np.random.SFC64(3), np.empty(1001, np.float32))
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="C-contiguous float32"):
        box_muller_f32(np.random.SFC64(3), np.empty((4, 4), np.float32)[:, ::2])


def test_noise_source_float32_uses_it_and_float64_does_not():
    rng = np.random.default_rng(1)
    src = NoiseSource(rng, 3, 4, np.float32, threads=False)
    z32 = src.draw(10)
    assert z32.dtype == np.float32 and z32.shape == (10, 3, 4)
    src64 = NoiseSource(np.random.default_rng(1), 3, 4, np.float64, threads=False)
    z64 = src64.draw(10)
    # same streams, different generators: float64 is numpy's ziggurat, unchanged
    ref = np.random.Generator(np.random.SFC64(np.random.default_rng(1).bit_generator.seed_seq.spawn(2)[0]))
    assert np.array_equal(z64[:5], ref.standard_normal((5, 3, 4)))
    assert not np.allclose(z32[:5], z64[:5].astype(np.float32))
