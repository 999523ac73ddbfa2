"""Generation on the exported circuit: start states for a circuit simulation and the
conversion of its trajectory back to images.

The circuit-level check runs the generation phase on the netlist that
:func:`~.export.write_netlist` writes instead of the model's own integrator:

1. :func:`~.generate.generate` gives, for each chain, the state at coupling switch-on
   (``x_start``, after the uncoupled noise phase); :func:`to_charges` turns it into node
   charges q = q₀ x in coulombs, in the exported netlist's state order (v0.., h0..);
2. :func:`spu_emulator.analysis.run_simulation` (Euler–Maruyama, ``x0`` those charges,
   the step, duration and burn-in of :func:`simulate_arguments`) runs the coupled
   circuit (fixed couplings, Johnson noise of its resistors) and keeps the states of
   the readout window;
3. :func:`trajectory_images` maps the charges back (x = q/q₀), averages the visible
   nodes over the saved window (the model's integrating readout) and returns images
   that are scored exactly as the model's own samples are.

The physical scale (bath temperature, the capacitance that J₂ = 1 stands for, the time
unit) must be the one the netlist was exported with. The command-line recipe is in
docs/generative.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .export import PhysicalScale, node_names
from .trained import TrainedModel

Array = np.ndarray


def state_names(tm: TrainedModel) -> list[str]:
    """Names of the exported netlist's states, in the simulation's order: q(v0).., q(h0)..."""
    return [f"q({n})" for n in node_names(tm.model.n_visible, tm.model.n_hidden)]


def to_charges(tm: TrainedModel, x: Array, scale: PhysicalScale) -> Array:
    """Model states x (B, N) → node charges q = q₀ x (coulombs) of the exported netlist."""
    return np.asarray(x, dtype=float) * scale.charge_unit(tm.model.kT)


def simulate_arguments(tm: TrainedModel, scale: PhysicalScale) -> dict[str, float]:
    """Circuit-simulation settings (seconds) that reproduce the model's generation phase:
    ``dt`` = Δt τ₀, ``duration`` = t_gen τ₀ and ``burn_in`` = (t_gen − window) τ₀ (seconds)."""
    c = tm.config
    n_gen = int(round(c.generation_time / c.dt))
    n_win = min(int(round(c.readout_window / c.dt)), n_gen)
    tau = scale.time_unit
    return {"dt": c.dt * tau, "duration": n_gen * c.dt * tau,
            "burn_in": (n_gen - max(n_win, 1)) * c.dt * tau}


def load_trajectory(path: str | Path) -> tuple[Array, Array, list[str]]:
    """Read a saved circuit trajectory (the .npz of
    :meth:`~spu_emulator.integrate.simulate.Trajectory.to_npz_dict`): states
    (chains, T, n), times t (T,), state names."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            if "states" not in z.files or "t" not in z.files:
                raise InputError(f"{p}: not a simulated trajectory (no states/t arrays)")
            states, t = z["states"], z["t"]
            names = [str(s) for s in z["state_names"]] if "state_names" in z.files else []
    except (OSError, ValueError) as exc:
        raise InputError(f"{p}: cannot read a .npz trajectory ({exc})") from None
    if states.ndim != 3 or len(t) != states.shape[1]:
        raise InputError(f"{p}: states must be (chains, T, n) with T times, got {states.shape}")
    return np.asarray(states, dtype=float), np.asarray(t, dtype=float), names


def trajectory_images(tm: TrainedModel, states: Array, t: Array, scale: PhysicalScale,
                      names: list[str] | None = None) -> Array:
    """Images (chains, h, w) from a simulated trajectory of the exported circuit.

    The visible charges are converted to model units (x = q/q₀) and averaged over the
    saved states within the model's readout window before the end (the last state
    alone when the window is 0), then mapped to pixels as :func:`~.generate.generate`
    does. The trajectory must hold the whole window (burn-in no later than
    (t_gen − window) τ₀) and be in the exported state order."""
    m = tm.model
    want = state_names(tm)
    if states.shape[2] != m.n_units:
        raise InputError(f"trajectory has {states.shape[2]} states, the model {m.n_units} units "
                         "(simulate the netlist exported from this model)")
    if names and list(names) != want:
        raise InputError(f"trajectory state order {names[:3]}... is not the exported "
                         f"netlist's {want[:3]}...")
    c = tm.config
    dt_s = c.dt * scale.time_unit
    window = c.readout_window * scale.time_unit
    if window > 0:
        sel = t > t[-1] - window + 0.5 * dt_s
        if t[-1] - t[0] < window - 1.5 * dt_s:
            raise InputError(f"trajectory spans {t[-1] - t[0]:.3g} s, shorter than the readout "
                             f"window {window:.3g} s (simulate with a shorter burn-in)")
    else:
        sel = np.zeros(len(t), dtype=bool)
        sel[-1] = True
    q0 = scale.charge_unit(m.kT)
    xv = states[:, sel, : m.n_visible].mean(axis=1) / q0
    return tm.to_pixels(xv)
