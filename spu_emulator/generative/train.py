"""Training by maximizing the probability of the time-reversed noising trajectory.

One epoch noises every training image ``trajectories_per_image`` times (batches of
``batch_size`` trajectories, all chains of a batch advancing together) and

- ``lstsq``: adds the batch statistics (S, D, C) to the running normal equations and,
  at the end of the epoch, solves them exactly (:func:`objective.solve`, warm start);
- ``gd``: takes one gradient step θ ← θ − lr ∇L_batch(θ) per batch (the paper's scheme).

Determinism and resume: the image order of epoch e comes from the generator seeded
(seed, 1, e), the noise of batch k of epoch e from (seed, 2, e, k) and the per-epoch heat
estimate from (seed, 3, e), so a run stopped after any batch and resumed from its
checkpoint performs exactly the same arithmetic as an uninterrupted run. A checkpoint
holds θ, the running and the current epoch's statistics, the history and the position
(epoch, batch); it is written atomically every ``checkpoint_every`` seconds and at
every epoch end.

Cost per epoch: n_traj·(n_settle + T)·N normals and n_traj·T·N² flops for the
statistics, plus the solve (O(k N³)) and the heat estimate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..errors import InputError
from ..resources import Budget
from . import data as gdata
from .config import Config
from .generate import generate
from .model import QuarticModel, bias_mask, coupling_mask
from .noising import Stats, noising_trajectories
from .objective import Problem, solve
from .trained import TrainedModel

Array = np.ndarray
SPARSE_SAMPLE = 10_000  # images used to set the sparse drive's thresholds


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def sparse_drive(targets: Array, directions: Array, active: float, gain: float
                 ) -> tuple[Array, Array]:
    """(P, c) of the "sparse" hidden drive h = clip(P s̃ + c, −1, 1): along each random
    direction w_k (rows of ``directions``) the centred projection u_k = w_k·(s̃ − s̄) of
    the training targets is thresholded at its (1 − ``active``) quantile θ_k and scaled
    by its spread σ_k, h_k = clip(g (u_k − θ_k)/σ_k): hidden unit k is on (h > 0) for a
    fraction ``active`` of the training images, off for the rest, and saturated for most
    (g = ``gain``). Cost O(n_images · n_hidden · n_visible)."""
    mean = targets.mean(axis=0)
    u = (targets - mean) @ directions.T
    sd = u.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    theta = np.quantile(u, 1.0 - active, axis=0)
    P = gain * directions / sd[:, None]
    return P, -(mean @ P.T) - gain * theta / sd


def initial_model(config: Config, dataset: gdata.Dataset) -> TrainedModel:
    """Zero parameters, the hidden drive's random directions drawn from (seed, 0) (for
    the "sparse" drive its thresholds from the training split), the split from
    split_seed."""
    nv = int(np.prod(dataset.shape))
    H = config.n_hidden
    cm = coupling_mask(nv, H, config.hidden_hidden)
    bm = bias_mask(nv, H, config.visible_bias)
    model = QuarticModel(nv, H, config.J2, config.J4, config.kT, config.mu,
                         np.zeros((nv + H, nv + H)), np.zeros(nv + H), cm, bm)
    tr, ho = gdata.split_indices(len(dataset.images), config.n_heldout, config.split_seed,
                                 config.dataset)
    if config.max_images:
        tr = tr[: config.max_images]
    if config.hidden_drive == "sparse" and H:
        # thresholds from at most SPARSE_SAMPLE evenly spread training images (MNIST: 60k)
        sub = tr if len(tr) <= SPARSE_SAMPLE else tr[np.linspace(0, len(tr) - 1, SPARSE_SAMPLE).astype(int)]
        proj, offset = sparse_drive(gdata.pixels_to_targets(dataset.flat[sub], dataset.lo, dataset.hi),
                                    _rng(config.seed, 0).standard_normal((H, nv)) / np.sqrt(nv),
                                    config.hidden_active, config.projection_gain)
    else:
        proj = config.projection_gain * _rng(config.seed, 0).standard_normal((H, nv)) / np.sqrt(nv)
        offset = np.zeros(H)
    T = config.protocol.n_steps
    nf = config.n_time_features
    return TrainedModel(config, model, proj, dataset.shape, dataset.lo, dataset.hi, dataset.digest,
                        tr, ho, Stats.zeros(nv + H, T, nf), Stats.zeros(nv + H, T, nf),
                        projection_offset=offset)


def epoch_batches(config: Config, n_train: int, epoch: int) -> list[Array]:
    """Indices (into the training split) of each batch of epoch ``epoch``."""
    order = np.tile(np.arange(n_train), config.trajectories_per_image)
    order = _rng(config.seed, 1, epoch).permutation(order)
    return [order[i: i + config.batch_size] for i in range(0, len(order), config.batch_size)]


class Interrupted(Exception):
    """Raised by a ``stop`` hook to stop training after a checkpoint (tests, signals)."""


def train(
    config: Config,
    dataset: gdata.Dataset,
    state: TrainedModel | None = None,
    checkpoint: Callable[[TrainedModel], None] | None = None,
    checkpoint_every: float = 180.0,
    on_batch: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
    stop: Callable[[TrainedModel], bool] | None = None,
    budget: Budget | None = None,
) -> TrainedModel:
    """Train (or resume ``state``) up to ``config.epochs`` epochs; return the model.

    ``checkpoint(state)`` is called every ``checkpoint_every`` seconds (after a batch)
    and at each epoch end; ``on_batch(done, total)`` reports progress over the whole
    run; ``log`` receives one line per epoch; if ``stop(state)`` returns True after a
    checkpoint, :class:`Interrupted` is raised (simulates a kill). A run whose model
    (N² couplings, the N × (N + 2) loss statistics, N = visible + hidden units) would not
    fit in memory, or whose trajectories would take beyond the step budget, is refused
    before it starts, with its estimate."""
    n_units = int(np.prod(dataset.shape)) + int(config.n_hidden)
    limits = budget or Budget()
    limits.check_memory(6.0 * n_units * (n_units + 3) * 8 + 1.5e8, "the model and its statistics",
                        "use fewer hidden units (`n_hidden`)")
    steps = config.protocol.n_steps + config.protocol.n_settle
    limits.check_steps(float(config.epochs) * min(len(dataset.images), config.max_images or 10**12)
                       * steps, "the training trajectories",
                       "use fewer `epochs`, images or hidden units")
    if state is None:
        state = initial_model(config, dataset)
    else:
        if state.config.resume_key() != config.resume_key():
            diff = [k for k, v in config.resume_key().items() if state.config.resume_key()[k] != v]
            raise InputError(f"the checkpoint was trained with different settings ({', '.join(diff)})",
                             "state")
        if state.dataset_digest != dataset.digest:
            raise InputError("the checkpoint was trained on different data", "state")
        state.config = config
    c = config
    prot = c.protocol
    X = dataset.flat[state.train_idx]
    nb = len(epoch_batches(c, len(X), 0))
    total = c.epochs * nb
    last_ckpt = time.monotonic()
    t_epoch = time.monotonic()

    def save_ckpt() -> None:
        nonlocal last_ckpt
        if checkpoint is not None:
            checkpoint(state)
        last_ckpt = time.monotonic()
        if stop is not None and stop(state):
            raise Interrupted(f"stopped at epoch {state.epoch}, batch {state.batch}")

    while state.epoch < c.epochs:
        e = state.epoch
        batches = epoch_batches(c, len(X), e)
        m = state.model
        J_prev, b_prev = m.J, state.bias_columns()
        while state.batch < len(batches):
            k = state.batch
            idx = batches[k]
            bstats, _ = noising_trajectories(state.targets(X[idx]), prot, c.J2, c.J4, c.kT, c.mu,
                                             _rng(c.seed, 2, e, k), time_bias=c.time_bias)
            if c.optimizer == "gd":
                pb = Problem(bstats, m.coupling_mask, m.bias_mask, c.mu, c.kT, c.dt, c.ridge)
                bc = state.bias_columns()
                gJ, gb = pb.gradient(state.model.J, bc)
                state.set_params(state.model.J - c.lr * gJ, bc - c.lr * gb)
            state.epoch_stats = state.epoch_stats + bstats
            state.batch += 1
            if on_batch is not None:
                on_batch(e * nb + state.batch, total)
            if time.monotonic() - last_ckpt >= checkpoint_every and state.batch < len(batches):
                save_ckpt()
        # ---- epoch end ------------------------------------------------------------
        es = state.epoch_stats
        pb_e = Problem(es, m.coupling_mask, m.bias_mask, c.mu, c.kT, c.dt, c.ridge)
        per = 1.0 / (m.n_units * prot.n_steps)  # report per unit-step: 0.5 is the noise floor
        before = pb_e.loss(J_prev, b_prev) * per
        state.stats = state.stats + es
        if c.optimizer == "lstsq":
            pb = Problem(state.stats, m.coupling_mask, m.bias_mask, c.mu, c.kT, c.dt, c.ridge)
            J, b, _ = solve(pb, state.model.J, state.bias_columns())
            state.set_params(J, b)
        after = pb_e.loss(state.model.J, state.bias_columns()) * per
        heat = generate(state, c.heat_samples, _rng(c.seed, 3, e)).heat_kT.mean() \
            if c.heat_samples else float("nan")
        now = time.monotonic()
        state.history.loss_before.append(before)
        state.history.loss_after.append(after)
        state.history.heat_kT.append(float(heat))
        state.history.seconds.append(now - t_epoch)
        t_epoch = now
        state.epoch += 1
        state.batch = 0
        state.epoch_stats = Stats.zeros(m.n_units, prot.n_steps, c.n_time_features)
        state.complete = state.epoch >= c.epochs
        if log is not None:
            log(f"epoch {state.epoch}/{c.epochs}: loss/unit-step {before:.6g} -> {after:.6g}, "
                f"heat {heat:.1f} kT/sample, {state.history.seconds[-1]:.1f} s")
        save_ckpt()
    state.complete = True
    return state
