"""A trained classifier as a spu-netlist/1 circuit, one image presented.

Same elements and scales as the generative computer's export
(:mod:`spu_emulator.generative.export`, physics.md §6): free unit j is the charge
q_j = q₀ y_j on node j (``h<k>`` hidden, ``o<c>`` outputs, ``in<i>`` inputs applied as
fields) with a nonlinear capacitor (J₂ᶜ = ε₀J₂/q₀², J₄ᶜ = ε₀J₄/q₀⁴), a resistor R to a
bias source, and an energy coupler Jᶜ = ε₀K_jl/q₀² per coupled pair. The clamped inputs
act on the free units only through their fields, so the presented image is the bias
sources: V_b,j = −ε₀ (b_j + F_j(u))/q₀ with F(u) = uW (clamped) or −g u on the input
nodes (fields). With no image the sources hold the biases b alone.

Reading the answer: simulate from zero charge (the default of ``spu simulate`` for
nonlinear circuits) for t_f·τ₀ with the step Δt·τ₀ and Euler–Maruyama; the class is
argmax of the output charges at the end (:func:`trajectory_prediction`). The cubic
term J₃ has no circuit element and is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..generative.export import PhysicalScale
from ..io import write_text
from ..netlist import (
    GROUND,
    BiasedResistor,
    Element,
    EnergyCoupler,
    Netlist,
    NonlinearCapacitor,
    Waveform,
)
from ..netlist.dump import dumps
from .trained import TrainedNet

Array = np.ndarray
DEFAULT_SCALE = PhysicalScale()


def node_names(tm: TrainedNet) -> list[str]:
    c = tm.net.config
    return ([f"in{i}" for i in range(c.n_field_inputs)] + [f"h{k}" for k in range(c.n_hidden)]
            + [f"o{k}" for k in range(c.n_out)])


def build_netlist(tm: TrainedNet, pixels: Array | None = None,
                  scale: PhysicalScale = DEFAULT_SCALE, name: str = "nn",
                  tol: float = 0.0) -> Netlist:
    """The circuit of ``tm`` with the image ``pixels`` (n_in,) (in the data's own scale)
    presented through the bias sources, or none. Cost O(n_free² + n_in n_free)."""
    net = tm.net
    c = net.config
    if c.J3 != 0:
        raise InputError("the cubic term J3 has no circuit element; export a model with J3 = 0",
                         "model")
    if pixels is None:
        fields = net.b.copy()
    else:
        u = tm.scale(np.asarray(pixels, dtype=float).reshape(1, -1))
        if u.shape[1] != c.n_in:
            raise InputError(f"an image of {u.shape[1]} pixels for a model of {c.n_in} inputs",
                             "data")
        if not np.all(np.isfinite(u)):
            raise InputError("the image has NaN or infinite pixels", "data")
        fields = net.fields(u)[0]
    eps0 = scale.energy_unit(c.kT)
    q0 = scale.charge_unit(c.kT)
    R = float(scale.resistance(c.kT, c.mu))
    names = node_names(tm)
    J2 = float(eps0 * c.J2 / q0**2)
    J4 = float(eps0 * c.J4 / q0**4)
    elements: list[Element] = [NonlinearCapacitor(name=f"NC_{n}", nodes=(n, GROUND), J2=J2, J4=J4)
                               for n in names]
    elements += [BiasedResistor(name=f"RB_{n}", nodes=(n, GROUND), R=R,
                                bias=Waveform(values=(float(-eps0 * fields[j] / q0),)))
                 for j, n in enumerate(names)]
    _, Km = net.masks
    iu, ju = np.nonzero(np.triu(Km, 1) & (np.abs(net.K) > tol))
    elements += [EnergyCoupler(name=f"EC_{names[i]}_{names[j]}", nodes=(names[i], names[j]),
                               J=float(eps0 * net.K[i, j] / q0**2))
                 for i, j in zip(iu.tolist(), ju.tolist(), strict=True)]
    desc = (f"Thermodynamic classifier {c.n_in}-{c.n_hidden}-{c.n_out} ({c.input_mode} inputs"
            f"{', one image presented by the bias sources' if pixels is not None else ', no image'}). "
            f"Model kT {c.kT:g} = k_B*{scale.temperature:g} K, energy unit {eps0:.6g} J, charge unit "
            f"{q0:.6g} C, time unit {scale.time_unit:g} s, R = {R:.6g} Ohm. Simulate from zero "
            f"charge for t_f = {c.t_final * scale.time_unit:.6g} s with dt = "
            f"{c.dt * scale.time_unit:.6g} s (euler); the class is argmax of q(o<k>) at t_f.")
    return Netlist(name=name, temperature=float(scale.temperature), nodes=tuple(names), cells=(),
                   elements=tuple(elements), description=desc)


def write_netlist(path: str | Path, tm: TrainedNet, pixels: Array | None = None,
                  scale: PhysicalScale = DEFAULT_SCALE, name: str = "nn",
                  tol: float = 0.0) -> Netlist:
    netlist = build_netlist(tm, pixels, scale, name, tol)
    write_text(path, dumps(netlist))
    return netlist


def simulate_arguments(tm: TrainedNet, scale: PhysicalScale = DEFAULT_SCALE) -> dict[str, float]:
    """``spu simulate`` settings (seconds) of one inference: step and duration."""
    c = tm.net.config
    return {"dt": c.dt * scale.time_unit, "duration": c.n_steps * c.dt * scale.time_unit}


def trajectory_prediction(tm: TrainedNet, states: Array, names: list[str],
                          scale: PhysicalScale = DEFAULT_SCALE) -> Array:
    """Class of each chain of a simulated trajectory (chains, T, n) of the exported
    circuit: argmax of the output charges in the last saved state. (chains,) int64."""
    want = [f"q({n})" for n in node_names(tm)]
    if names and list(names) != want:
        raise InputError(f"trajectory states {list(names)[:3]}... are not the exported "
                         f"netlist's {want[:3]}...", "trajectory")
    c = tm.net.config
    q = states[:, -1, c.out_slice] / scale.charge_unit(c.kT)
    return np.argmax(q, axis=1).astype(np.int64)


__all__ = ["build_netlist", "node_names", "simulate_arguments", "trajectory_prediction",
           "write_netlist"]
