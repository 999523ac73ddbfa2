"""Teacher-student: the teacher's loss gradient against finite differences, the exact
solve against perturbations of the quadratic path loss, and the response table."""

import numpy as np

from spu_emulator.nn.model import NetConfig
from spu_emulator.nn.teacher import (
    Response,
    response_table,
    solve_student,
    student_objective,
    teacher_loss_grad,
)


def _resp():
    g = np.linspace(-10, 10, 2001)
    return Response(g, np.tanh(0.4 * g) * (1 + 0.05 * g * g) ** 0.25)


def test_teacher_gradient_matches_finite_differences():
    r = np.random.default_rng(0)
    resp = _resp()
    params = [r.normal(0, 1, (5, 4)), r.normal(0, 1, (4, 3)), r.normal(0, 0.3, 4), r.normal(0, 0.3, 3)]
    u = r.uniform(0, 1, (6, 5))
    y = np.array([0, 1, 2, 2, 1, 0])
    _, _, grads = teacher_loss_grad(resp, params, u, y, 2.0)
    eps = 1e-6
    for p, g in zip(params, grads, strict=True):
        for ix in list(np.ndindex(p.shape))[::3]:
            old = p[ix]
            p[ix] = old + eps
            lp = teacher_loss_grad(resp, params, u, y, 2.0)[0]
            p[ix] = old - eps
            lm = teacher_loss_grad(resp, params, u, y, 2.0)[0]
            p[ix] = old
            fd = (lp - lm) / (2 * eps)
            # linear interpolation: φ′ is piecewise constant, exact up to grid crossings
            assert abs(fd - g[ix]) <= 1e-5 + 1e-3 * abs(fd), (ix, fd, g[ix])


def test_exact_solve_minimizes_the_quadratic_loss():
    cfg = NetConfig(n_in=4, n_hidden=3, n_out=2)
    r = np.random.default_rng(1)
    nz = cfg.n_free + cfg.n_in + 1
    Z = r.normal(size=(400, nz))
    Z[:, -1] = 1.0
    A = r.normal(size=(400, cfg.n_free))
    C, D = Z.T @ Z, Z.T @ A
    W, K, b, it = solve_student(cfg, C, D, 1e-3, 400)
    assert np.allclose(K, K.T) and np.all(np.diag(K) == 0)
    f0 = student_objective(cfg, C, D, W, K, b, 1e-3, 400)
    from spu_emulator.nn.model import masks

    Wm, Km = masks(cfg)
    for _ in range(20):
        dK = np.triu(r.normal(size=K.shape), 1) * 1e-3
        dK = np.where(Km, dK + dK.T, 0.0)
        dW = np.where(Wm, r.normal(size=W.shape), 0.0) * 1e-3
        db = r.normal(size=b.shape) * 1e-3
        assert student_objective(cfg, C, D, W + dW, K + dK, b + db, 1e-3, 400) > f0
    # the residual of the normal equations is zero: no direction lowers the loss
    assert it >= 1


def test_response_table_is_monotone_and_odd():
    cfg = NetConfig(n_in=1, n_hidden=0, n_out=1, kT=0.1, dt=0.01, t_final=0.5)
    g, phi = response_table(cfg, 0, 20.0)
    assert np.all(np.diff(phi) > 0)
    # odd symmetry up to the sampling error of 512 paths (common noise is not symmetric)
    se = np.sqrt(2 * cfg.kT * cfg.t_final / 512)
    assert np.max(np.abs(phi + phi[::-1])) < 5 * se
