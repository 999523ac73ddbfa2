"""Positions and step sizes shared by the training methods: batches per epoch, epochs
per run, the cosine learning-rate schedule and one Adam step on a training state."""

from __future__ import annotations

import numpy as np

from .gradient import Adam
from .trained import TrainedNet, TrainSettings

Array = np.ndarray


def n_batches(settings: TrainSettings, n_train: int) -> int:
    if settings.method == "ga":
        return 1
    return -(-n_train // settings.batch_size)


def n_epochs(settings: TrainSettings) -> int:
    if settings.method == "ga":
        return settings.generations
    if settings.method == "teacher":
        return settings.epochs + 1  # the teacher's epochs, then the exact solve
    return settings.epochs


def adam_step(state: TrainedNet, params: list[Array], grads: list[Array], lr: float) -> list[Array]:
    opt = Adam(lr=lr, step_count=state.opt_step, m=state.opt_m, v=state.opt_v)
    new = opt.update(params, grads)
    state.opt_step, state.opt_m, state.opt_v = opt.step_count, opt.m, opt.v
    return new


def cosine_lr(settings: TrainSettings, done: int, total: int) -> float:
    return settings.lr * 0.5 * (1.0 + np.cos(np.pi * min(done, total) / max(total, 1)))
