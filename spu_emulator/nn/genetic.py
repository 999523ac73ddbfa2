"""Training by a genetic algorithm (Whitelam & Casert's scheme, batched).

A population of P parameter vectors θ_p (the trainable entries of W, the pairs of K,
b). Each generation g:

1. draws a fitness minibatch of ``batch_size`` training images and one set of normals
   (generator (seed, 3, g, 0));
2. runs all P networks on it at once — P × B chains, one batched (P, B, n) × (P, n, n)
   product per step through :class:`~spu_emulator.integrate.simulate.Stepper` — and
   scores each by its fitness at t_f: minus the cross-entropy of β·y_out(t_f)
   (``fitness="xent"``) or the single-shot accuracy (``"accuracy"``);
3. keeps the ``elite`` best unchanged (elitism) and fills the rest with copies of
   elite parents chosen uniformly, each entry mutated by N(0, ``mutation``²)
   (generator (seed, 3, g, 1)).

The reported network is the best of the last evaluated generation. Fitness can be
evaluated through any ``map`` (e.g. a Dask client: :func:`dask_fitness_map`), in
chunks of the population; the result does not depend on the chunking since every
network's normals are its own slice of the generation's draw. Cost per generation:
P·B·T·n_free² flops and P·B·T·n_free normals.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import MissingDependencyError
from ..generative.dynamics import advance_blocks
from ..integrate.noise import SequentialNoise
from ..integrate.simulate import Stepper
from ..sde.base import LangevinSDE
from .gradient import softmax_xent
from .model import NetConfig, ThermoNet, masks

Array = np.ndarray


def flatten(net: ThermoNet) -> Array:
    Wm, Km = net.masks
    return np.concatenate([net.W[Wm], net.K[np.triu(Km, 1)], net.b])


def unflatten(cfg: NetConfig, theta: Array) -> tuple[Array, Array, Array]:
    """(W, K, b) of each row of ``theta`` (P, n_params) → (P, n_in, n), (P, n, n), (P, n)."""
    Wm, Km = masks(cfg)
    tri = np.triu(Km, 1)
    P = len(theta)
    nw, nk = int(Wm.sum()), int(tri.sum())
    W = np.zeros((P, *Wm.shape))
    W[:, Wm] = theta[:, :nw]
    K = np.zeros((P, *Km.shape))
    K[:, tri] = theta[:, nw: nw + nk]
    K = K + K.transpose(0, 2, 1)
    return W, K, theta[:, nw + nk:]


def population_outputs(cfg: NetConfig, theta: Array, u: Array, keys: list[list[int]]) -> Array:
    """Outputs at t_f of every network of ``theta`` (P, n_params) on images u (B, n_in),
    one trajectory per image each: (P, B, n_out) (NaN where a network diverged).
    Network p's normals come from the generator seeded ``keys[p]`` (one (B, n_free)
    block per step), so a network's outputs do not depend on the others in the batch."""
    gens = [np.random.default_rng(k) for k in keys]
    return _population_run(cfg, theta, u, _StackedNoise(gens, len(u), cfg.n_free))


def fitness(cfg: NetConfig, theta: Array, u: Array, labels: Array, keys: list[list[int]],
            logit_scale: float, kind: str) -> Array:
    """Fitness of each network (P,) (higher is better; −inf if it diverged)."""
    y = population_outputs(cfg, theta, u, keys)
    ok = np.all(np.isfinite(y), axis=(1, 2))
    y = np.where(np.isfinite(y), y, 0.0)
    if kind == "accuracy":
        f = np.mean(np.argmax(y, axis=2) == labels[None], axis=1)
    else:
        f = -np.array([softmax_xent(logit_scale * yp, labels)[0] for yp in y])
    return np.where(ok, f, -np.inf)


def dask_fitness_map(address: str) -> Callable:
    """A ``map(fn, chunks)`` that evaluates chunks on the dask.distributed scheduler at
    ``address`` (optional dependency)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise MissingDependencyError("--dask-address needs dask[distributed]: "
                                     "pip install 'dask[distributed]'") from None
    client = Client(address)

    def fmap(fn: Callable, chunks: list) -> list:
        return client.gather(client.map(fn, chunks, pure=False))

    return fmap


def _chunk_fitness(args: tuple) -> Array:
    cfg, theta, u, labels, key, beta, kind = args
    return fitness(cfg, theta, u, labels, key, beta, kind)


def generation(state, U: Array, y: Array, g: int, fitness_map: Callable | None = None,
               chunks: int = 1) -> tuple[float, float]:
    """One generation on ``state`` (a :class:`~.trained.TrainedNet`); returns the best
    network's (cross-entropy, accuracy) on this generation's minibatch."""
    s = state.settings
    cfg = state.net.config
    P = s.population
    if state.population is None:
        base = flatten(state.net)
        r0 = np.random.default_rng([s.seed, 3, 0, 2])
        pop = base[None] + s.mutation * 5 * r0.standard_normal((P, base.size))
        pop[0] = base
        state.population = pop
    pop = state.population
    r = np.random.default_rng([s.seed, 3, g, 0])
    idx = r.choice(len(y), size=min(s.batch_size, len(y)), replace=False)
    u, lab = U[idx], y[idx]
    keys = [[s.seed, 3, g, 0, c] for c in range(P)]
    if fitness_map is not None:  # chunks of the population, anywhere: the same numbers
        step = max(1, -(-P // max(chunks, 1)))
        jobs = [(cfg, pop[a: a + step], u, lab, keys[a: a + step], s.logit_scale, s.fitness)
                for a in range(0, P, step)]
        fit = np.concatenate(fitness_map(_chunk_fitness, jobs))
    else:
        fit = fitness(cfg, pop, u, lab, keys, s.logit_scale, s.fitness)
    order = np.argsort(-fit, kind="stable")
    elite = pop[order[: s.elite]]
    best = elite[0]
    W, K, b = unflatten(cfg, best[None])
    state.net = state.net.with_params(W[0], K[0], b[0])
    rm = np.random.default_rng([s.seed, 3, g, 1])
    parents = elite[rm.integers(0, s.elite, P - s.elite)]
    children = parents + s.mutation * rm.standard_normal(parents.shape)
    state.population = np.concatenate([elite, children])
    yb = population_outputs(cfg, best[None], u, [keys[order[0]]])[0]
    yb = np.where(np.isfinite(yb), yb, 0.0)
    loss, _, _ = softmax_xent(s.logit_scale * yb, lab)
    return float(loss), float(np.mean(np.argmax(yb, axis=1) == lab))


class _StackedNoise(SequentialNoise):
    """P generators, each filling its own block of B chains per step (the normals a
    single-network run from that generator would see)."""

    def __init__(self, gens, B: int, dim: int):
        super().__init__(gens[0], len(gens) * B, dim)
        self.gens, self.B = gens, B

    def draw(self, m: int, prefetch: int | None = None, chains: int | None = None) -> Array:
        z = np.empty((len(self.gens), m, self.B, self.dim))
        for p, g in enumerate(self.gens):
            g.standard_normal(out=z[p])
        return np.ascontiguousarray(z.transpose(1, 0, 2, 3)).reshape(m, -1, self.dim)


def _population_run(cfg, theta, u, noise) -> Array:
    W, K, b = unflatten(cfg, theta)
    P, B = len(theta), len(u)
    if cfg.input_mode == "clamp":
        F = np.einsum("bi,pij->pbj", u, W) + b[:, None, :]
    else:
        F = np.broadcast_to(b[:, None, :], (P, B, cfg.n_free)).copy()
        F[:, :, : cfg.n_in] -= cfg.field_gain * u[None]
    proto = ThermoNet(cfg)
    mu = cfg.mu

    def drift(y: Array, t: float = 0.0) -> Array:
        y3 = y.reshape(P, B, -1)
        return (-mu * (proto.unit_force(y3) + F + np.matmul(y3, K))).reshape(P * B, -1)

    sde = LangevinSDE(drift, cfg.n_free, cfg.sigma, cfg.dt)
    x0 = np.full((P * B, cfg.n_free), float(cfg.x0))
    st = Stepper(sde, "euler", cfg.dt, x0, noise, steps=cfg.n_steps)
    for _ in advance_blocks(st, cfg.n_steps):
        pass
    y = st.x.reshape(P, B, -1)[:, :, cfg.out_slice]
    return y


__all__ = ["dask_fitness_map", "fitness", "flatten", "generation", "population_outputs",
           "unflatten"]
