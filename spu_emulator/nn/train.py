"""Training driver: one loop, three methods, checkpoints and exact resume.

- ``gradient`` (:mod:`.gradient`): each epoch visits the training images in the order
  of the generator seeded (seed, 1, epoch), in minibatches; batch k of epoch e runs its
  trajectories with the normals of (seed, 2, e, k) and takes one Adam step with the
  pathwise gradient (learning rate ``lr``·½(1 + cos πs), s the fraction of steps done).
- ``teacher`` (:mod:`.teacher`): trains the digital teacher by Adam in the same way
  (an epoch per pass), then solves the quadratic path loss exactly (last "epoch").
- ``ga`` (:mod:`.genetic`): one generation per batch, fitness images and mutations from
  (seed, 3, generation).

Everything random is keyed by (seed, position), and the checkpoint holds the position,
the parameters and the optimizer state, so a run stopped after any batch (even by
SIGKILL) and resumed from its checkpoint does the same arithmetic as one that never
stopped: the final parameters are identical.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..errors import InputError
from .data import Labeled
from .gradient import loss_and_grad
from .model import NetConfig, ThermoNet, init_params
from .schedule import adam_step, cosine_lr, n_batches, n_epochs
from .trained import TrainedNet, TrainSettings

Array = np.ndarray


def rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


class Interrupted(Exception):
    """Raised when a ``stop`` hook asks to stop after a checkpoint (tests)."""


def initial_state(cfg: NetConfig, settings: TrainSettings, data: Labeled) -> TrainedNet:
    """Random initial parameters from (seed, 0) and an empty training state."""
    W, K, b = init_params(cfg, rng(settings.seed, 0), settings.init_scale)
    return TrainedNet(ThermoNet(cfg, W, K, b), settings, data.lo, data.hi, data.shape,
                      data.digest, len(data.labels), data_name=data.name)


def _gradient_batch(state: TrainedNet, U: Array, y: Array, idx: Array, e: int, k: int,
                    total: int) -> tuple[float, float]:
    s = state.settings
    net = state.net
    r = loss_and_grad(net, U[idx], y[idx], rng(s.seed, 2, e, k), s.logit_scale)
    wd = s.weight_decay
    grads = [r.gW + wd * net.W, r.gK + wd * net.K, r.gb]
    nb = n_batches(s, len(U))
    lr = cosine_lr(s, e * nb + k, total)
    W, K, b = adam_step(state, [net.W, net.K, net.b], grads, lr)
    state.net = net.with_params(W, K, b)
    return r.loss, r.accuracy


def train(cfg: NetConfig, settings: TrainSettings, data: Labeled, state: TrainedNet | None = None,
          checkpoint: Callable[[TrainedNet], None] | None = None, checkpoint_every: float = 60.0,
          on_batch: Callable[[int, int], None] | None = None,
          log: Callable[[str], None] | None = None,
          stop: Callable[[TrainedNet], bool] | None = None,
          fitness_map: Callable | None = None) -> TrainedNet:
    """Train (or resume ``state``) a classifier on ``data``; return the trained state.

    ``checkpoint(state)`` runs every ``checkpoint_every`` seconds (0: after every batch)
    and at each epoch end; ``on_batch(done, total)`` reports progress; ``log`` gets one
    line per epoch; ``stop(state)`` returning True after a checkpoint raises
    :class:`Interrupted`. ``fitness_map`` (ga only) maps the fitness function over the
    population (e.g. through a Dask client); by default it runs batched in-process."""
    if data.pixels.shape[1] != cfg.n_in:
        raise InputError(f"{data.name}: images of {data.pixels.shape[1]} pixels for a network of "
                         f"{cfg.n_in} inputs", "data")
    if int(data.labels.max()) >= cfg.n_out:
        raise InputError(f"{data.name}: labels: the largest label {int(data.labels.max())} needs "
                         f"at least {int(data.labels.max()) + 1} outputs", "data")
    if state is None:
        state = initial_state(cfg, settings, data)
    else:
        want = {"config": cfg.to_dict(), "settings": settings.__dict__}
        have = state.resume_key()
        diff = [f"{g}.{k}" for g in ("config", "settings") for k, v in want[g].items()
                if have[g].get(k) != v]
        if diff:
            raise InputError("the checkpoint was trained with different settings "
                             f"({', '.join(diff)})", "state")
        if state.data_digest != data.digest:
            raise InputError("the checkpoint was trained on different data", "state")
    s = settings
    U = data.scaled()
    y = data.labels
    nb = n_batches(s, len(y))
    ne = n_epochs(s)
    total = ne * nb
    last = time.monotonic()
    t_epoch = time.monotonic()

    def save() -> None:
        nonlocal last
        if checkpoint is not None:
            checkpoint(state)
        last = time.monotonic()
        if stop is not None and stop(state):
            raise Interrupted(f"stopped at epoch {state.epoch}, batch {state.batch}")

    sums = state.extra.get("sums", np.zeros(3))
    while state.epoch < ne:
        e = state.epoch
        order = rng(s.seed, 1, e).permutation(len(y))
        while state.batch < nb:
            k = state.batch
            idx = order[k * s.batch_size: (k + 1) * s.batch_size]
            if s.method == "gradient":
                loss, acc = _gradient_batch(state, U, y, idx, e, k, total)
            elif s.method == "teacher":
                from .teacher import teacher_batch, teacher_solve

                if e < s.epochs:
                    loss, acc = teacher_batch(state, U, y, idx, e, k, total)
                else:
                    loss, acc = teacher_solve(state, U, y)
                    state.batch = nb - 1
            else:
                from .genetic import generation

                loss, acc = generation(state, U, y, e, fitness_map,
                                       chunks=8 if fitness_map is not None else 1)
            sums = sums + np.array([loss * len(idx), acc * len(idx), len(idx)])
            state.extra["sums"] = sums
            state.batch += 1
            if on_batch is not None:
                on_batch(e * nb + state.batch, total)
            if time.monotonic() - last >= checkpoint_every and state.batch < nb:
                save()
        state.history["loss"].append(float(sums[0] / max(sums[2], 1)))
        state.history["accuracy"].append(float(sums[1] / max(sums[2], 1)))
        sums = np.zeros(3)
        state.extra["sums"] = sums
        state.epoch += 1
        state.batch = 0
        state.complete = state.epoch >= ne
        now = time.monotonic()
        if log is not None:
            log(f"epoch {state.epoch}/{ne}: loss {state.history['loss'][-1]:.4f}, "
                f"train accuracy {state.history['accuracy'][-1]:.4f}, {now - t_epoch:.1f} s")
        t_epoch = now
        save()
    state.complete = True
    return state


__all__ = ["Interrupted", "initial_state", "rng", "train"]
