"""The classifier's dynamics on the project's stepping loop, batched over images ×
trajectories.

Chains are ordered image-major (chain i·M + m is trajectory m of image i); each has
the constant field b + F(u_i) of its image and starts from the stated y₀. They advance
together as one :class:`~spu_emulator.sde.base.LangevinSDE` through
:class:`~spu_emulator.integrate.simulate.Stepper` with the ``euler`` (Euler–Maruyama:
y' = y + h f(y) + σ√h ξ) or ``heun`` integrator; the normals come from
:class:`~spu_emulator.integrate.noise.SequentialNoise` on the caller's generator (one
(B·M, n_free) block per step, in step order), so a run is fixed by its generator.

Cost per step: one (B·M, n_free) × (n_free, n_free) product and B·M·n_free normals;
recording the whole path (for the gradient) holds (T + 1)·B·M·n_free floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError, InstabilityError
from ..generative.dynamics import advance_blocks, check_method
from ..integrate.noise import SequentialNoise
from ..integrate.simulate import Stepper
from ..sde.base import LangevinSDE
from .model import ThermoNet

Array = np.ndarray


def check_images(net: ThermoNet, u: Array, source: str = "images") -> Array:
    """``u`` as a float (B, n_in) array of finite values, or a one-line error."""
    u = np.asarray(u, dtype=float)
    if u.ndim != 2 or u.shape[1] != net.config.n_in:
        raise InputError(f"{source}: images of {u.shape[1:] if u.ndim > 1 else u.shape} "
                         f"values do not match the model's {net.config.n_in} inputs", "data")
    if not np.all(np.isfinite(u)):
        raise InputError(f"{source}: images contain NaN or infinite pixels", "data")
    return u


#: float64 arrays of (chains, free units) a run holds at once: the fields, the state, the
#: normals, the drift's temporaries and the piece of states being handed out.
_RUN_ARRAYS = 10


def check_run_memory(net: ThermoNet, chains: int, kept: int = 0, reduce: str = "") -> None:
    """Refuse, before it starts, a run of ``chains`` trajectories (images × M) that would
    not fit in memory; ``kept``: states per chain stored besides (a stored path)."""
    from ..resources import Budget

    need = 8.0 * chains * net.config.n_free * (_RUN_ARRAYS + kept)
    Budget().check_memory(need, f"{chains:,} trajectories of {net.config.n_free} units",
                          reduce or "use fewer `trajectories` or images")


def _stepper(net: ThermoNet, u: Array, M: int, rng: np.random.Generator, method: str,
             n_steps: int) -> Stepper:
    c = net.config
    check_run_memory(net, len(u) * M)
    F = np.repeat(net.fields(u), M, axis=0)
    chains = F.shape[0]
    sde = LangevinSDE(net.drift_from_fields(F), c.n_free, c.sigma, c.dt)
    x0 = np.full((chains, c.n_free), float(c.x0))
    return Stepper(sde, check_method(method), c.dt, x0, SequentialNoise(rng, chains, c.n_free),
                   steps=n_steps)


def _diverged(net: ThermoNet) -> InstabilityError:
    return InstabilityError(f"the network's dynamics diverged at dt = {net.config.dt:g}: the "
                            "couplings are too strong for this step; use a smaller --dt")


def path(net: ThermoNet, u: Array, rng: np.random.Generator, M: int = 1,
         method: str = "euler") -> Array:
    """Every state of the run to t_f: (T + 1, B·M, n_free), T = t_f/dt, row 0 = y₀."""
    c = net.config
    T = c.n_steps
    check_run_memory(net, len(u) * M, T + 1, "use a smaller `batch_size`")
    st = _stepper(net, u, M, rng, method, T)
    buf = np.empty((T + 1, st.chains, c.n_free))
    buf[0] = st.x
    for _ in advance_blocks(st, T, out=lambda k, m: buf[1 + k: 1 + k + m].transpose(1, 0, 2)):
        pass
    if not np.all(np.isfinite(buf[-1])):
        raise _diverged(net)
    return buf


def outputs_at(net: ThermoNet, u: Array, rng: np.random.Generator, M: int = 1,
               steps: Sequence[int] | None = None, method: str = "euler",
               progress=None, all_units: bool = False) -> Array:
    """Output units (every free unit if ``all_units``) at the given step counts (default:
    t_f only), shape (len(steps), B, M, n_out or n_free). Only those states are kept
    (memory O(B·M·n_free) per kept time)."""
    c = net.config
    sel = slice(None) if all_units else c.out_slice
    n_sel = c.n_free if all_units else c.n_out
    steps = [c.n_steps] if steps is None else sorted(int(s) for s in steps)
    if not steps or steps[0] < 0:
        raise InputError(f"observation steps must be ≥ 0, got {steps}", "steps")
    B = len(u)
    st = _stepper(net, u, M, rng, method, steps[-1])
    res = np.empty((len(steps), B, M, n_sel))
    want = {s: i for i, s in enumerate(steps)}
    if 0 in want:
        res[want[0]] = st.x[:, sel].reshape(B, M, n_sel)
    if progress is not None:
        progress.start(steps[-1])
    for k, states in advance_blocks(st, steps[-1]):
        m = states.shape[1]
        for s in range(k + 1, k + m + 1):
            if s in want:
                res[want[s]] = states[:, s - k - 1, sel].reshape(B, M, n_sel)
        if progress is not None:
            progress.update(m)
    if progress is not None:
        progress.close()
    if not np.all(np.isfinite(res)):
        raise _diverged(net)
    return res


def predict(net: ThermoNet, u: Array, rng: np.random.Generator, M: int = 1,
            method: str = "euler", progress=None) -> Array:
    """Predicted class per image: argmax of the outputs at t_f averaged over M
    trajectories (M = 1: single shot). (B,) int64."""
    y = outputs_at(net, u, rng, M, method=method, progress=progress)[0]
    return np.argmax(y.mean(axis=1), axis=1).astype(np.int64)


__all__ = ["check_images", "check_run_memory", "outputs_at", "path", "predict"]
