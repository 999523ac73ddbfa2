"""Training objective: closed-form gradient vs finite differences, statistics vs direct
residuals, exact least squares vs an explicit design-matrix solve and vs the limit of
gradient descent."""

import numpy as np
import pytest

from spu_emulator.generative.model import bias_mask, coupling_mask
from spu_emulator.generative.noising import Protocol, Stats, noising_trajectories, time_feature
from spu_emulator.generative.objective import Problem, loss_from_path, solve

NV, NH = 4, 3
KT, MU = 0.1, 1.0
PROT = Protocol(dt=0.01, t_f=0.3, a0=2.0, t_settle=0.1)


@pytest.fixture(scope="module")
def problem_and_path():
    rng = np.random.default_rng(11)
    targets = rng.uniform(-1, 1, size=(5, NV + NH))
    stats, path = noising_trajectories(targets, PROT, 1.0, 1.0, KT, MU, rng, record=True, chunk=7)
    cm, bm = coupling_mask(NV, NH), bias_mask(NV, NH)
    return Problem(stats, cm, bm, MU, KT, PROT.dt, ridge=0.05), path


def _random_params(pb, rng):
    n = pb.n_units
    A = rng.normal(size=(n, n))
    J = np.where(pb.coupling_mask, A + A.T, 0.0)
    b = np.where(pb.bias_mask, rng.normal(size=n), 0.0)
    return J, b


def test_stats_loss_equals_direct_residual_loss(problem_and_path):
    pb, path = problem_and_path
    J, b = _random_params(pb, np.random.default_rng(1))
    direct = loss_from_path(path, J, b, 1.0, 1.0, MU, KT, PROT.dt)
    assert pb.loss(J, b) == pytest.approx(direct, rel=1e-10)


def _check_gradient_fd(pb, J, b, n_couplings: int, h: float = 1e-5):
    """The analytic gradient against central differences of the objective, for the
    first ``n_couplings`` trainable couplings and every trainable bias entry (b may be
    (N,) or (N, K) with time-dependent columns). Returns the gradient."""
    gJ, gb = pb.gradient(J, b)
    iu, ju = np.nonzero(np.triu(pb.coupling_mask, 1))
    for i, j in list(zip(iu, ju, strict=True))[:n_couplings]:
        E = np.zeros_like(J)
        E[i, j] = E[j, i] = h
        fd = (pb.objective(J + E, b) - pb.objective(J - E, b)) / (2 * h)
        assert gJ[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    for idx in np.ndindex(b.shape):
        if not pb.bias_mask[idx[0]]:
            continue
        e = np.zeros_like(b)
        e[idx] = h
        fd = (pb.objective(J, b + e) - pb.objective(J, b - e)) / (2 * h)
        assert gb[idx] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    return gJ, gb


def test_gradient_matches_finite_differences(problem_and_path):
    pb, _ = problem_and_path
    rng = np.random.default_rng(2)
    J, b = _random_params(pb, rng)
    gJ, gb = _check_gradient_fd(pb, J, b, n_couplings=12)
    # entries outside the masks get no gradient
    assert np.all(gJ[~pb.coupling_mask] == 0)


def _design_solution(pb, path):
    """Independent reference: explicit design matrix of the residuals, ridge lstsq."""
    x, xp = path[:-1].reshape(-1, NV + NH), path[1:].reshape(-1, NV + NH)
    n = NV + NH
    dt = PROT.dt
    d = x - xp + MU * dt * (2 * xp + 4 * xp**3)
    pairs = list(zip(*np.nonzero(np.triu(pb.coupling_mask, 1)), strict=True))
    biases = list(np.nonzero(pb.bias_mask)[0])
    P = len(pairs) + len(biases)
    rows = []
    for i in range(n):  # residual of unit i over all steps: d_i + mu dt (sum_j J_ij y_j + b_i)
        A = np.zeros((len(x), P))
        for p, (a, c) in enumerate(pairs):
            if a == i:
                A[:, p] = xp[:, c]
            elif c == i:
                A[:, p] = xp[:, a]
        for q, k in enumerate(biases):
            if k == i:
                A[:, len(pairs) + q] = 1.0
        rows.append(A)
    A = MU * dt * np.concatenate(rows)
    y = -np.concatenate([d[:, i] for i in range(n)])
    w = 1.0 / (4 * MU * KT * dt * pb.stats.n_traj)
    # minimize w|A t - y|^2 + ridge |t|^2
    theta = np.linalg.solve(w * A.T @ A + pb.ridge * np.eye(P), w * A.T @ y)
    J = np.zeros((n, n))
    for p, (a, c) in enumerate(pairs):
        J[a, c] = J[c, a] = theta[p]
    b = np.zeros(n)
    b[biases] = theta[len(pairs):]
    return J, b


def test_least_squares_equals_design_matrix_solve(problem_and_path):
    pb, path = problem_and_path
    J, b, info = solve(pb, rtol=1e-12)
    assert info.converged
    Jr, br = _design_solution(pb, path)
    np.testing.assert_allclose(J, Jr, atol=1e-8 * max(1, np.abs(Jr).max()))
    np.testing.assert_allclose(b, br, atol=1e-8 * max(1, np.abs(br).max()))


def test_least_squares_is_gradient_descent_limit(problem_and_path):
    pb, _ = problem_and_path
    J, b, _ = solve(pb, rtol=1e-12)
    dJ, db = pb.hessian_diagonal()
    lr = 0.9 / (2 * max(dJ.max(), db.max()) * pb.n_units)  # below 2/lambda_max (Gershgorin-ish)
    Jg, bg = np.zeros_like(J), np.zeros_like(b)
    for _ in range(20000):
        gJ, gb = pb.gradient(Jg, bg)
        Jg, bg = Jg - lr * gJ, bg - lr * gb
    np.testing.assert_allclose(Jg, J, atol=1e-6)
    np.testing.assert_allclose(bg, b, atol=1e-6)
    assert pb.objective(J, b) <= pb.objective(Jg, bg) + 1e-12
    gJ, gb = pb.gradient(J, b)
    assert max(np.abs(gJ).max(), np.abs(gb).max()) < 1e-8


@pytest.fixture(scope="module", params=["linear", "field"])
def timedep_problem(request):
    """The same problem with a time-dependent bias b + b′φ(t): W = [J | b | b′]."""
    rng = np.random.default_rng(12)
    targets = rng.uniform(-1, 1, size=(5, NV + NH))
    stats, path = noising_trajectories(targets, PROT, 1.0, 1.0, KT, MU, rng, record=True, chunk=7,
                                       time_bias=request.param)
    assert stats.C.shape == (NV + NH + 2,) * 2 and stats.D.shape == (NV + NH, NV + NH + 2)
    phi = np.array([time_feature(request.param, PROT, (k + 1) * PROT.dt) for k in range(PROT.n_steps)])
    cm, bm = coupling_mask(NV, NH), bias_mask(NV, NH, visible_bias=False)
    return Problem(stats, cm, bm, MU, KT, PROT.dt, ridge=0.05), path, phi


def _random_timedep_params(pb, rng):
    J, _ = _random_params(pb, rng)
    b = np.where(pb.bias_mask[:, None], rng.normal(size=(pb.n_units, 2)), 0.0)
    return J, b


def test_timedep_stats_loss_equals_direct_residual_loss(timedep_problem):
    pb, path, phi = timedep_problem
    assert pb.n_bias_columns == 2 and 0 < phi.min() and phi.max() == 1.0
    J, b = _random_timedep_params(pb, np.random.default_rng(3))
    direct = loss_from_path(path, J, b, 1.0, 1.0, MU, KT, PROT.dt, phi=phi)
    assert pb.loss(J, b) == pytest.approx(direct, rel=1e-10)


def test_timedep_gradient_matches_finite_differences(timedep_problem):
    pb, _, _ = timedep_problem
    J, b = _random_timedep_params(pb, np.random.default_rng(4))
    gJ, gb = _check_gradient_fd(pb, J, b, n_couplings=6)  # b_i and the ramp's b′_i
    assert gb.shape == b.shape
    assert np.all(gb[~pb.bias_mask] == 0)


def test_timedep_solve_zeroes_the_gradient_and_beats_constant_bias(timedep_problem):
    pb, _, _ = timedep_problem
    J, b, info = solve(pb, rtol=1e-12)
    assert info.converged and b.shape == (pb.n_units, 2)
    gJ, gb = pb.gradient(J, b)
    assert max(np.abs(gJ).max(), np.abs(gb).max()) < 1e-8
    # the time-independent optimum is the special case b′ = 0: never better
    const = Problem(Stats(pb.stats.S, pb.stats.D[:, :-1], pb.stats.C[:-1, :-1], pb.stats.n_traj,
                          pb.stats.n_steps), pb.coupling_mask, pb.bias_mask, MU, KT, PROT.dt, pb.ridge)
    J0, b0, _ = solve(const, rtol=1e-12)
    assert pb.objective(J, b) <= const.objective(J0, b0) + 1e-12
    assert pb.objective(J, b) <= pb.objective(J0, np.stack([b0, 0 * b0], axis=1)) + 1e-12
