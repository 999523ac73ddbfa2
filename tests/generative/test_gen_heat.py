"""First law for the heat ``generate`` reports, recomputed independently of it.

With time-independent biases no work is done during the coupled phase, so the heat
released to the bath is Q = V(x_start) − V(x_end). With time-dependent biases
b + b′φ(s) the bias sources do work W = Σ_k (φ(s_{k+1}) − φ(s_k)) b′·x_{k+1} along the
path (the change of V(x, s) = V_θ(x) + φ(s) b′·x at fixed x, step by step), and
Q = −ΔV + W. Here V, ΔV and W are recomputed from the recorded path with their own
arithmetic (V term by term, couplings as Σ_{i<j} J_ij x_i x_j), so a sign error, a
missing term or a work sum evaluated on the wrong side of each step fails."""

import numpy as np
import pytest

from spu_emulator.generative.config import Config
from spu_emulator.generative.data import load_dataset
from spu_emulator.generative.generate import generate
from spu_emulator.generative.noising import generation_feature
from spu_emulator.generative.train import train

CFG = Config(n_hidden=8, dt=0.05, t_f=0.5, t_settle=0.25, max_images=40, batch_size=40,
             epochs=1, gen_time=1.0, readout_window=0.2, heat_samples=0, seed=11)


def _V(tm, x):
    """V_θ(x) = Σ_i (J₂x_i² + J₄x_i⁴) + Σ_i b_i x_i + Σ_{i<j} J_ij x_i x_j, for x (..., N)."""
    m = tm.model
    iu, ju = np.triu_indices(m.n_units, 1)
    pair = (x[..., iu] * x[..., ju] * m.J[iu, ju]).sum(axis=-1)
    return (m.J2 * x**2 + m.J4 * x**4).sum(axis=-1) + (x * m.b).sum(axis=-1) + pair


@pytest.fixture(scope="module", params=["none", "field"])
def trained(request):
    stretch = 1.0 if request.param == "none" else 1.5
    return train(CFG.replace(time_bias=request.param, ramp_stretch=stretch), load_dataset("digits"))


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_heat_is_minus_delta_V_plus_work(trained, method):
    tm = trained
    kT = tm.config.kT
    g = generate(tm, 25, np.random.default_rng(4), method=method, chunk=10, record=True)
    same = generate(tm, 25, np.random.default_rng(4), method=method, chunk=10)
    assert np.array_equal(same.images, g.images) and np.array_equal(same.heat_kT, g.heat_kT)
    n = round(tm.config.generation_time / tm.config.dt)
    assert g.path.shape == (25, n + 1, tm.model.n_units)
    assert np.array_equal(g.path[:, 0], g.x_start) and np.array_equal(g.path[:, -1], g.x)
    heat = g.heat_kT * kT
    dV_theta = _V(tm, g.x) - _V(tm, g.x_start)
    scale = np.abs(_V(tm, g.path)).max()
    tol = 1e-11 * scale
    assert np.abs(dV_theta).min() > 1e4 * tol  # a sign error could not pass
    if tm.config.time_bias == "none":
        np.testing.assert_allclose(heat, -dV_theta, rtol=0, atol=tol)
        return
    c = tm.config
    phi = np.array([generation_feature(c.time_bias, c.protocol, k * c.dt, c.ramp_stretch)
                    for k in range(n + 1)])
    bx = np.einsum("bkn,n->bk", g.path, tm.ramp_bias)  # b′·x_k
    dV = dV_theta + phi[-1] * bx[:, -1] - phi[0] * bx[:, 0]
    W = ((phi[1:] - phi[:-1]) * bx[:, 1:]).sum(axis=1)
    W_wrong_side = ((phi[1:] - phi[:-1]) * bx[:, :-1]).sum(axis=1)
    assert np.abs(W).min() > 1e4 * tol  # a missing work term could not pass
    assert np.abs(W - W_wrong_side).min() > 1e2 * tol  # nor work taken at x_k
    np.testing.assert_allclose(heat, -dV + W, rtol=0, atol=tol)
