"""The direct pathwise gradient against central finite differences of the same loss
with the same normals, for clamped and field inputs, with a cubic term and
hidden-hidden couplings."""

import numpy as np
import pytest

from spu_emulator.nn.gradient import loss_and_grad, loss_only
from spu_emulator.nn.model import NetConfig, ThermoNet, init_params


def _net(**kw):
    cfg = NetConfig(n_in=6, n_hidden=5, n_out=3, kT=0.2, dt=0.01, t_final=0.3, **kw)
    W, K, b = init_params(cfg, np.random.default_rng(1), 1.5)
    b = np.random.default_rng(2).normal(0, 0.5, cfg.n_free)
    return ThermoNet(cfg, W, K, b)


@pytest.mark.parametrize("kw", [{}, {"J3": 0.3, "hidden_hidden": True},
                                {"input_mode": "field", "input_output": True}])
def test_pathwise_gradient_matches_finite_differences(kw):
    net = _net(**kw)
    u = np.random.default_rng(3).uniform(0, 1, (7, 6))
    y = np.array([0, 1, 2, 0, 1, 2, 1])
    seed = 11
    g = loss_and_grad(net, u, y, np.random.default_rng(seed), logit_scale=2.0, M=2)
    eps = 1e-6
    Wm, Km = net.masks
    checked = 0
    for name, grad, mask in (("W", g.gW, Wm), ("K", g.gK, np.triu(Km, 1)),
                             ("b", g.gb, np.ones(net.config.n_free, bool))):
        idx = np.argwhere(mask)
        assert len(idx) or name == "W"
        for ix in idx[:: max(1, len(idx) // 6)]:
            ix = tuple(ix)
            vals = []
            for s in (+1, -1):
                W, K, b = (a.copy() for a in net.params())
                p = {"W": W, "K": K, "b": b}[name]
                p[ix] += s * eps
                if name == "K":
                    K[ix[::-1]] += s * eps
                vals.append(loss_only(net.with_params(W, K, b), u, y,
                                      np.random.default_rng(seed), 2.0, 2))
            fd = (vals[0] - vals[1]) / (2 * eps)
            assert abs(fd - grad[ix]) <= 1e-6 + 1e-5 * abs(fd), (name, ix, fd, grad[ix])
            checked += 1
    assert checked >= 12


def test_loss_depends_on_noise_but_not_on_grouping():
    net = _net()
    u = np.random.default_rng(3).uniform(0, 1, (4, 6))
    y = np.array([0, 1, 2, 0])
    a = loss_only(net, u, y, np.random.default_rng(5))
    b = loss_only(net, u, y, np.random.default_rng(5))
    c = loss_only(net, u, y, np.random.default_rng(6))
    assert a == b and a != c
