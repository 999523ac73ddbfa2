"""Integrators: measured weak order (regression of log error on log step) of the
project's Euler–Maruyama (≈1) and stochastic Heun (≈2), stepped by ``Stepper`` on a
quartic well as a ``LangevinSDE`` (the generative computer's dynamics), and the
model drift."""

import numpy as np
import pytest

from spu_emulator.errors import InputError
from spu_emulator.generative.dynamics import advance_blocks, check_method, step_sigma, stepper
from spu_emulator.generative.model import QuarticModel, quartic_drift
from spu_emulator.integrate.noise import SequentialNoise
from spu_emulator.integrate.simulate import Stepper
from spu_emulator.sde.base import LangevinSDE

KT = 0.1
SIGMA = np.sqrt(2 * KT)


def _drift(x, t):
    return -(2 * x + 4 * x**3)


class Replay:
    """A noise source that hands out given Brownian increments as standard normals."""

    def __init__(self, inc, h):
        self.z, self.k = inc / np.sqrt(h), 0

    def draw(self, m, prefetch=None, chains=None):
        z = self.z[self.k: self.k + m]
        self.k += m
        return z


def _weak_errors(method, steps, n_paths=20000, T=0.5, seed=3):
    """E[x(T)^2] error vs a fine Heun reference, all on the same Brownian paths
    (coarse increments are sums of fine ones), so Monte Carlo noise cancels."""
    fine = 512
    rng = np.random.default_rng(seed)
    dW = rng.standard_normal((fine, n_paths, 1)) * np.sqrt(T / fine)
    x0 = np.full((n_paths, 1), 1.0)
    sde = LangevinSDE(_drift, 1, SIGMA)

    def run(m, meth):
        h = T / m
        inc = dW.reshape(m, fine // m, n_paths, 1).sum(axis=1)
        st = Stepper(sde, meth, h, x0, Replay(inc, h))
        st.advance(m)
        assert st.t == pytest.approx(T)
        return st.x

    ref = np.mean(run(fine, "heun") ** 2)
    return np.array([abs(np.mean(run(m, method) ** 2) - ref) for m in steps])


@pytest.mark.parametrize("method,order", [("euler", 1.0), ("heun", 2.0)])
def test_measured_weak_order(method, order):
    steps = np.array([8, 16, 32, 64])
    err = _weak_errors(method, steps)
    slope = np.polyfit(np.log(1.0 / steps), np.log(err), 1)[0]
    assert abs(slope - order) < 0.35, (method, slope, err)


def test_unknown_method_is_input_error():
    with pytest.raises(InputError, match="method"):
        check_method("rk4")
    with pytest.raises(InputError) as exc:
        stepper(_drift, np.zeros((2, 1)), 0.1, SIGMA, SequentialNoise(np.random.default_rng(0), 2, 1),
                "rk4")
    assert exc.value.param == "method"


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_blocks_are_one_run_with_per_step_normals(method):
    """Advancing in blocks (any sizes) is the same run as one advance, and the normals are
    one rng.standard_normal((B, N)) per step: the integrator's step written out by hand
    with those draws gives the same bytes."""
    B, N, n, dt = 3, 4, 23, 0.05
    x0 = np.random.default_rng(1).normal(size=(B, N))
    ends = []
    for block in (1, 5, 23):
        st = stepper(_drift, x0, dt, SIGMA, SequentialNoise(np.random.default_rng(2), B, N), method)
        states = np.concatenate([b.copy() for _, b in advance_blocks(st, n, block)], axis=1)
        assert states.shape == (B, n, N) and np.array_equal(states[:, -1], st.x)
        ends.append(states)
    assert all(np.array_equal(e, ends[0]) for e in ends)
    rng, x, amp = np.random.default_rng(2), x0, SIGMA * np.sqrt(dt)
    for k in range(n):
        z = amp * rng.standard_normal((B, N))
        f = _drift(x, k * dt)
        xp = x + dt * f + z
        x = xp if method == "euler" else x + 0.5 * (f + _drift(xp, (k + 1) * dt)) * dt + z
    assert np.array_equal(x, ends[0][:, -1])


def test_step_sigma_gives_the_per_step_amplitude():
    """σ·√Δt (what the integrators form) is √(2μkTΔt) itself for the presets' and the
    tests' settings, and within one rounding of it always."""
    for mu, kT, dt in [(1.0, 0.05, 0.05), (1.0, 0.05, 0.01), (1.0, 0.1, 1e-3), (1.0, 0.1, 0.05)]:
        assert step_sigma(2.0 * mu * kT, dt) * np.sqrt(dt) == np.sqrt(2.0 * mu * kT * dt)
    rng = np.random.default_rng(0)
    for D, dt in zip(10 ** rng.uniform(-3, 1, 500), 10 ** rng.uniform(-4, -1, 500), strict=True):
        amp = np.sqrt(D * dt)
        assert abs(step_sigma(D, dt) * np.sqrt(dt) - amp) <= np.spacing(amp)


def test_quartic_drift_is_minus_mu_gradient_of_energy():
    rng = np.random.default_rng(4)
    m = QuarticModel(3, 2, J2=1.0, J4=0.5, kT=0.1, mu=2.0)
    A = rng.normal(size=(5, 5))
    m = m.with_params(A + A.T, rng.normal(size=5))
    x = rng.normal(size=(4, 5))
    f = quartic_drift(m.J2, m.J4, m.J, m.b, m.mu)(x)
    h = 1e-6
    for i in range(5):
        e = np.zeros(5)
        e[i] = h
        fd = (m.energy(x + e) - m.energy(x - e)) / (2 * h)
        np.testing.assert_allclose(f[:, i], -m.mu * fd, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError):
        quartic_drift(1, 1, np.ones((2, 2)), np.zeros(2))  # nonzero diagonal
