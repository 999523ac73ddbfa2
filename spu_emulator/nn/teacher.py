"""Teacher–student training (after Whitelam, arXiv 2509.15324), by an exact solve.

1. **The neuron's response.** A lone unit in a constant drive I,
   dx = −μ (2J₂x + 3J₃x² + 4J₄x³ − I) dt + sqrt(2μkT) dW, x(0) = y₀, has the mean
   response φ(I) = E x(t_f). It is tabulated once on a grid of drives (common random
   numbers across the grid, so the table is smooth; normals from (seed, 4)) and
   interpolated, φ′ by differences.
2. **The teacher**: a digital network with that activation, h = φ(−(u W + b_h)),
   o = φ(−(h K_ho + b_o)), trained by Adam on the cross-entropy of β·o (epochs, as the
   gradient method; minibatch k of epoch e in the same order).
3. **Idealized trajectories**: every hidden unit runs as a lone neuron in its teacher
   drive −(uW + b_h); every output unit as a lone neuron driven by the idealized hidden
   units through the teacher's couplings, −(h(t)K + b_o) (a feed-forward cascade: no
   feedback from outputs to hidden units).
4. **The student** maximizes the probability of those trajectories under the coupled
   network. With a_k = −(Δy_k/(hμ) + φ′_unit(y_k)) and regressors z_k = [y_k, u, 1],
   −ln P is, up to constants, (hμ/4kT)·Σ_k ‖z_kᵀ Θ − a_k‖² with Θ = [K; W; b]: quadratic
   in the couplings, so it is solved exactly over the masked, symmetric parameters
   (ridge ``ridge``), as the generative objective is. Statistics C = Σ z zᵀ, D = Σ z aᵀ: O(T·n_traj·(n_free + n_in)²).
   The solve is one dense linear system in the P free parameters (:func:`solve_student`).
"""

from __future__ import annotations

import numpy as np

from ..generative.dynamics import advance_blocks, run_steps
from ..integrate.noise import SequentialNoise
from ..integrate.simulate import Stepper
from ..sde.base import LangevinSDE
from .gradient import softmax_xent
from .model import NetConfig, ThermoNet
from .schedule import adam_step, cosine_lr, n_batches

Array = np.ndarray
N_GRID = 801
N_CRN = 512

def response_table(cfg: NetConfig, seed: int, i_max: float | None = None) -> tuple[Array, Array]:
    """(drives I (N_GRID,), φ(I) = mean x(t_f)) of a lone unit from y₀."""
    if i_max is None:
        i_max = 40.0 * max(cfg.J2, cfg.J4, 1.0)
    grid = np.linspace(-i_max, i_max, N_GRID)
    proto = ThermoNet(NetConfig(n_in=1, n_hidden=0, n_out=1, J2=cfg.J2, J3=cfg.J3, J4=cfg.J4,
                                kT=cfg.kT, mu=cfg.mu, dt=cfg.dt, t_final=cfg.t_final))
    # one chain per (noise path, drive): the same N_CRN noise paths for every drive
    drive = np.tile(grid[:, None], (1, 1))  # (G, 1)
    mu = cfg.mu

    def f(x: Array, t: float = 0.0) -> Array:
        x3 = x.reshape(N_CRN, N_GRID)
        return (-mu * (proto.unit_force(x3) - drive[:, 0][None, :])).reshape(-1, 1)

    class _Shared(SequentialNoise):
        def draw(self, m, prefetch=None, chains=None):
            z = self.rng.standard_normal((m, N_CRN, 1))
            return np.repeat(z, N_GRID, axis=1)

    chains = N_CRN * N_GRID
    sde = LangevinSDE(f, 1, cfg.sigma, cfg.dt)
    st = Stepper(sde, "euler", cfg.dt, np.full((chains, 1), float(cfg.x0)),
                 _Shared(np.random.default_rng([seed, 4]), chains, 1), steps=cfg.n_steps)
    x = run_steps(st, cfg.n_steps).reshape(N_CRN, N_GRID)
    x = np.where(np.isfinite(x), x, np.nan)
    return grid, np.nanmean(x, axis=0)

class Response:
    """φ by linear interpolation of the table (constant beyond its ends) and φ′ its
    exact derivative (the slope of the segment: the teacher's gradient is exact)."""

    def __init__(self, grid: Array, phi: Array):
        self.grid, self.phi = grid, phi
        self.seg = np.diff(phi) / np.diff(grid)

    def __call__(self, drive: Array) -> Array:
        return np.interp(drive, self.grid, self.phi)

    def slope(self, drive: Array) -> Array:
        i = np.searchsorted(self.grid, drive, side="right") - 1
        inside = (i >= 0) & (i < len(self.seg))
        return np.where(inside, self.seg[np.clip(i, 0, len(self.seg) - 1)], 0.0)

def _response(state) -> Response:
    ex = state.extra
    if "phi_grid" not in ex:
        g, p = response_table(state.net.config, state.settings.seed)
        ex["phi_grid"], ex["phi"] = g, p
    return Response(ex["phi_grid"], ex["phi"])

def _teacher_params(state) -> list[Array]:
    cfg = state.net.config
    ex = state.extra
    if "t_W" not in ex:
        r = np.random.default_rng([state.settings.seed, 5])
        s = state.settings.init_scale
        ex["t_W"] = r.standard_normal((cfg.n_in, cfg.n_hidden)) * 4 * s / np.sqrt(cfg.n_in)
        ex["t_K"] = r.standard_normal((cfg.n_hidden, cfg.n_out)) * 4 * s / np.sqrt(cfg.n_hidden)
        ex["t_bh"] = np.zeros(cfg.n_hidden)
        ex["t_bo"] = np.zeros(cfg.n_out)
    return [ex["t_W"], ex["t_K"], ex["t_bh"], ex["t_bo"]]

def teacher_forward(resp: Response, params: list[Array], u: Array) -> tuple[Array, ...]:
    W, K, bh, bo = params
    Ih = -(u @ W + bh)
    h = resp(Ih)
    Io = -(h @ K + bo)
    return Ih, h, Io, resp(Io)

def teacher_loss_grad(resp: Response, params: list[Array], u: Array, labels: Array,
                      beta: float) -> tuple[float, float, list[Array]]:
    """Cross-entropy of β·o of the teacher, its accuracy, and the gradient."""
    Ih, h, Io, o = teacher_forward(resp, params, u)
    loss, go, _ = softmax_xent(beta * o, labels)
    go = beta * go
    gIo = go * resp.slope(Io)
    W, K, bh, bo = params
    gK = -(h.T @ gIo)
    gbo = -gIo.sum(axis=0)
    gh = -(gIo @ K.T)
    gIh = gh * resp.slope(Ih)
    gW = -(u.T @ gIh)
    gbh = -gIh.sum(axis=0)
    acc = float(np.mean(np.argmax(o, axis=1) == labels))
    return loss, acc, [gW, gK, gbh, gbo]

def teacher_batch(state, U: Array, y: Array, idx: Array, e: int, k: int, total: int
                  ) -> tuple[float, float]:
    s = state.settings
    resp = _response(state)
    params = _teacher_params(state)
    loss, acc, grads = teacher_loss_grad(resp, params, U[idx], y[idx], s.logit_scale)
    lr = cosine_lr(s, e * n_batches(s, len(U)) + k, total)
    new = adam_step(state, params, grads, lr)
    for name, v in zip(("t_W", "t_K", "t_bh", "t_bo"), new, strict=True):
        state.extra[name] = v
    return loss, acc

def idealized_statistics(state, U: Array) -> tuple[Array, Array]:
    """C = Σ z zᵀ and D = Σ z aᵀ over the idealized trajectories of every training
    image (``teacher_trajectories`` each; normals from (seed, 6, image block))."""
    cfg = state.net.config
    s = state.settings
    resp = _response(state)
    params = _teacher_params(state)
    M = s.teacher_trajectories
    nz = cfg.n_free + cfg.n_in + 1
    C = np.zeros((nz, nz))
    D = np.zeros((nz, cfg.n_free))
    proto = ThermoNet(cfg)
    hmu = cfg.dt * cfg.mu
    for blk, a in enumerate(range(0, len(U), 256)):
        u = U[a: a + 256]
        Ih, h, Io, o = teacher_forward(resp, params, u)
        drive = np.zeros((len(u), cfg.n_free))
        drive[:, cfg.hidden_slice] = Ih
        if cfg.input_mode == "field":
            drive[:, : cfg.n_in] = -cfg.field_gain * u  # inputs as lone units in their fields
        drive = np.repeat(drive, M, axis=0)
        uu = np.repeat(u, M, axis=0)
        mu = cfg.mu
        tK, tbo = params[1], params[3]
        hs, os_ = cfg.hidden_slice, cfg.out_slice

        def f(x: Array, t: float = 0.0, drive=drive, mu=mu, tK=tK, tbo=tbo, hs=hs, os_=os_
              ) -> Array:
            d = drive.copy()
            d[:, os_] = -(x[:, hs] @ tK + tbo)  # outputs driven by the idealized hidden units
            return -mu * (proto.unit_force(x) - d)

        chains = len(drive)
        st = Stepper(LangevinSDE(f, cfg.n_free, cfg.sigma, cfg.dt), "euler", cfg.dt,
                     np.full((chains, cfg.n_free), float(cfg.x0)),
                     SequentialNoise(np.random.default_rng([s.seed, 6, blk]), chains, cfg.n_free),
                     steps=cfg.n_steps)
        T = cfg.n_steps
        Y = np.empty((T + 1, chains, cfg.n_free))
        Y[0] = st.x
        for _ in advance_blocks(st, T, out=lambda k, m, Y=Y: Y[1 + k: 1 + k + m].transpose(1, 0, 2)):
            pass
        Yk = Y[:-1]
        A = -((Y[1:] - Yk) / hmu + proto.unit_force(Yk))  # (T, chains, n_free)
        Z = np.concatenate([Yk, np.broadcast_to(uu, (T, chains, cfg.n_in)),
                            np.ones((T, chains, 1))], axis=2).reshape(-1, nz)
        C += Z.T @ Z
        D += Z.T @ A.reshape(-1, cfg.n_free)
    return C, D

def solve_student(cfg: NetConfig, C: Array, D: Array, ridge: float, n_obs: float
                  ) -> tuple[Array, Array, Array, int]:
    """Exact minimizer of (tr(ΘᵀCΘ) − 2 tr(ΘᵀD))/n_obs + λ‖θ‖² over the free parameters
    θ (each K pair once, symmetric; W and b on their masks), Θ = [K; W; b].

    Θ is a selection of θ (a K pair appears in two columns), so the Hessian is
    H = Σ_j S_jᵀ C S_j over the columns j (S_j: which parameter sits in which row of
    column j) and one dense solve (H/n_obs + λI) θ = g/n_obs gives θ. Cost O(n_free nz²)
    to assemble, O(P³) to solve (P ≈ 5·10³ for 64-64-10: a few seconds)."""
    from .model import masks

    Wm, Km = masks(cfg)
    nf, ni = cfg.n_free, cfg.n_in
    nz = nf + ni + 1
    tri = np.triu(Km, 1)
    pk = np.argwhere(tri)
    pw = np.argwhere(Wm)
    P = len(pk) + len(pw) + nf
    index = -np.ones((nz, nf), dtype=np.int64)  # parameter at Θ[row, column], −1: fixed 0
    ids = np.arange(len(pk))
    index[pk[:, 0], pk[:, 1]] = ids
    index[pk[:, 1], pk[:, 0]] = ids
    index[nf + pw[:, 0], pw[:, 1]] = len(pk) + np.arange(len(pw))
    index[nz - 1, :] = len(pk) + len(pw) + np.arange(nf)
    H = np.zeros((P, P))
    g = np.zeros(P)
    for j in range(nf):
        rows = np.nonzero(index[:, j] >= 0)[0]
        p = index[rows, j]
        H[np.ix_(p, p)] += C[np.ix_(rows, rows)]
        np.add.at(g, p, D[rows, j])
    A = H / n_obs
    A[np.diag_indices(P)] += ridge
    theta = np.linalg.solve(A, g / n_obs)
    K = np.zeros((nf, nf))
    K[pk[:, 0], pk[:, 1]] = theta[: len(pk)]
    K = K + K.T
    W = np.zeros(Wm.shape)
    W[pw[:, 0], pw[:, 1]] = theta[len(pk): len(pk) + len(pw)]
    b = theta[len(pk) + len(pw):].copy()
    return W, K, b, 1

def student_objective(cfg: NetConfig, C: Array, D: Array, W: Array, K: Array, b: Array,
                      ridge: float, n_obs: float) -> float:
    """The quadratic objective :func:`solve_student` minimizes (without its constant)."""
    Th = np.concatenate([K, W, b[None, :]], axis=0)
    return float(np.sum(Th * (C @ Th)) - 2 * np.sum(Th * D)) / n_obs + ridge * (
        0.5 * np.sum(K * K) + np.sum(W * W) + np.sum(b * b))

def teacher_solve(state, U: Array, y: Array) -> tuple[float, float]:
    """Build the idealized statistics and solve for the student; returns the teacher's
    (loss, accuracy) on all training images."""
    cfg = state.net.config
    s = state.settings
    C, D = idealized_statistics(state, U)
    n_obs = len(U) * s.teacher_trajectories * cfg.n_steps
    W, K, b, it = solve_student(cfg, C, D, s.ridge, n_obs)
    state.net = state.net.with_params(W, K, b)
    state.extra["solve_iterations"] = np.array(it)
    resp = _response(state)
    *_, o = teacher_forward(resp, _teacher_params(state), U)
    loss, _, _ = softmax_xent(s.logit_scale * o, y)
    return loss, float(np.mean(np.argmax(o, axis=1) == y))

__all__ = ["Response", "response_table", "solve_student", "student_objective",
           "teacher_loss_grad", "teacher_solve"]
