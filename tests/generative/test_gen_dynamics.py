"""Integrators: measured weak order (regression of log error on log step) of
Euler–Maruyama (≈1) and stochastic Heun (≈2) on a quartic well, and the model drift."""

import numpy as np
import pytest

from spu_emulator.errors import InputError
from spu_emulator.generative.dynamics import langevin
from spu_emulator.generative.model import QuarticModel, quartic_drift

KT = 0.1
SIGMA = np.sqrt(2 * KT)


def _drift(x, t):
    return -(2 * x + 4 * x**3)


def _weak_errors(method, steps, n_paths=20000, T=0.5, seed=3):
    """E[x(T)^2] error vs a fine Heun reference, all on the same Brownian paths
    (coarse increments are sums of fine ones), so Monte Carlo noise cancels."""
    fine = 512
    rng = np.random.default_rng(seed)
    dW = rng.standard_normal((fine, n_paths, 1)) * np.sqrt(T / fine)
    x0 = np.full((n_paths, 1), 1.0)

    class Replay:
        def __init__(self, inc, h):
            self.inc, self.k, self.h = inc, 0, h

        def standard_normal(self, shape):
            z = self.inc[self.k] / np.sqrt(self.h)
            self.k += 1
            return z

    def run(m, meth):
        h = T / m
        inc = dW.reshape(m, fine // m, n_paths, 1).sum(axis=1)
        return langevin(_drift, x0, h, m, SIGMA, Replay(inc, h), meth)

    ref = np.mean(run(fine, "heun") ** 2)
    return np.array([abs(np.mean(run(m, method) ** 2) - ref) for m in steps])


@pytest.mark.parametrize("method,order", [("euler", 1.0), ("heun", 2.0)])
def test_measured_weak_order(method, order):
    steps = np.array([8, 16, 32, 64])
    err = _weak_errors(method, steps)
    slope = np.polyfit(np.log(1.0 / steps), np.log(err), 1)[0]
    assert abs(slope - order) < 0.35, (method, slope, err)


def test_unknown_method_is_input_error():
    with pytest.raises(InputError):
        langevin(_drift, np.zeros((2, 1)), 0.1, 1, SIGMA, np.random.default_rng(0), "rk4")


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
