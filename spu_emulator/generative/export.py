"""The trained computer as a spu-netlist/1 circuit (nonlinear capacitors, resistors to
bias sources, signed energy couplers).

Model → circuit (physics.md §6): unit i is the charge q_i = q₀ x_i on node i, which
carries a nonlinear capacitor (energy E = ε₀ (J₂ x² + J₄ x⁴), i.e. J₂ᶜ = ε₀J₂/q₀² J/C²,
J₄ᶜ = ε₀J₄/q₀⁴ J/C⁴) and a resistor R to a bias source V_b; each coupling is an energy
coupler Jᶜ_ij = ε₀ J_ij / q₀². Kirchhoff at the node gives

    dq_i = −(1/R)(∂E/∂q_i − V_b,i) dt + sqrt(2 k_B T / R) dW,

which in model units (x = q/q₀, t = τ₀ s) is the model's Langevin equation when

    ε₀ = k_B T / kT_model   (the model's kT is the bath's k_B T),
    q₀ = sqrt(2 ε₀ C₁)      (J₂ = 1 is a linear capacitor C₁; default 1 pF),
    R  = τ₀ ε₀ / (μ q₀²)    (default τ₀ = 1 µs per model time unit),
    V_b,i = −ε₀ b_i / q₀.

With the defaults at 300 K and kT = 0.03: ε₀ = 1.38e-19 J, q₀ = 5.3e-16 C, R ≈ 500 kΩ,
voltages of tens of µV (the states are a few times the kT/C thermal voltage).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
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
from ..units import K_B
from .model import QuarticModel


@dataclass(frozen=True)
class PhysicalScale:
    """Bath temperature (K), the linear capacitance C₁ (F) that J₂ = 1 stands for, and
    the time τ₀ (s) of one model time unit."""

    temperature: float = 300.0
    capacitance: float = 1e-12
    time_unit: float = 1e-6

    def __post_init__(self) -> None:
        for name in ("temperature", "capacitance", "time_unit"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"must be positive, got {v!r}", name)

    def energy_unit(self, kT_model: float) -> float:
        """ε₀ = k_B T / kT_model (J per model energy unit)."""
        return K_B * self.temperature / kT_model

    def charge_unit(self, kT_model: float) -> float:
        """q₀ = sqrt(2 ε₀ C₁) (C per model unit of x)."""
        return float(np.sqrt(2.0 * self.energy_unit(kT_model) * self.capacitance))

    def resistance(self, kT_model: float, mu: float) -> float:
        """R = τ₀ ε₀ / (μ q₀²)."""
        q0 = self.charge_unit(kT_model)
        return self.time_unit * self.energy_unit(kT_model) / (mu * q0 * q0)


def node_names(n_visible: int, n_hidden: int) -> list[str]:
    return [f"v{i}" for i in range(n_visible)] + [f"h{k}" for k in range(n_hidden)]


def build_netlist(model: QuarticModel, scale: PhysicalScale = PhysicalScale(),
                  name: str = "generative", tol: float = 0.0, ramp_bias: Any = None,
                  ramp: tuple[tuple[float, ...], tuple[float, ...]] | None = None) -> Netlist:
    """The circuit of ``model`` as a :class:`~spu_emulator.netlist.Netlist`: per unit i a
    :class:`~spu_emulator.netlist.NonlinearCapacitor` (J2 = ε₀J₂/q₀², J4 = ε₀J₄/q₀⁴) and a
    :class:`~spu_emulator.netlist.BiasedResistor` (R to V_b,i = −ε₀ b_i/q₀), per
    coupling with |J_ij| > tol an :class:`~spu_emulator.netlist.EnergyCoupler`
    (J = ε₀J_ij/q₀²). With ``ramp_bias`` b′ (N,) and ``ramp`` = (generation times s in
    model units, φ(s)) the biases are time dependent, b_i + b′_i φ(s): unit i's bias
    source is the piecewise-linear V_b,i(t) = −ε₀ (b_i + b′_i φ(t/τ₀)) / q₀, t from
    coupling switch-on (units with b′_i = 0 keep a constant source). Cost O(N²)."""
    eps0 = scale.energy_unit(model.kT)
    q0 = scale.charge_unit(model.kT)
    R = float(scale.resistance(model.kT, model.mu))
    names = node_names(model.n_visible, model.n_hidden)
    J2 = float(eps0 * model.J2 / q0**2)
    J4 = float(eps0 * model.J4 / q0**4)
    elements: list[Element] = [NonlinearCapacitor(name=f"NC_{n}", nodes=(n, GROUND), J2=J2, J4=J4)
                               for n in names]
    times = tuple(float(s * scale.time_unit) for s in ramp[0]) if ramp is not None else ()
    for i, n in enumerate(names):
        if ramp is not None and ramp_bias is not None and ramp_bias[i] != 0.0:
            bias = Waveform(times, tuple(float(-eps0 * (model.b[i] + ramp_bias[i] * p) / q0)
                                         for p in ramp[1]))
        else:
            bias = Waveform(values=(float(-eps0 * model.b[i] / q0),))
        elements.append(BiasedResistor(name=f"RB_{n}", nodes=(n, GROUND), R=R, bias=bias))
    iu, ju = np.nonzero(np.triu(model.coupling_mask, 1) & (np.abs(model.J) > tol))
    Jc = (eps0 * model.J[iu, ju] / q0**2).tolist()
    elements += [EnergyCoupler(name=f"EC_{names[i]}_{names[j]}", nodes=(names[i], names[j]), J=v)
                 for i, j, v in zip(iu.tolist(), ju.tolist(), Jc, strict=True)]
    desc = (f"Trained generative thermodynamic computer: {model.n_visible} visible + "
            f"{model.n_hidden} hidden units. Scales: model kT {model.kT:g} = k_B·{scale.temperature:g} K, "
            f"energy unit {eps0:.6g} J, charge unit {q0:.6g} C (J2=1 is {scale.capacitance:g} F), "
            f"time unit {scale.time_unit:g} s, R = {R:.6g} Ohm (mu = {model.mu:g}). "
            "Visible node v<i> is pixel i (row-major); read q/charge_unit.")
    return Netlist(name=name, temperature=float(scale.temperature), nodes=tuple(names), cells=(),
                   elements=tuple(elements), description=desc)


def write_netlist(path: str | Path, model: QuarticModel, scale: PhysicalScale = PhysicalScale(),
                  name: str = "generative", tol: float = 0.0, ramp_bias: Any = None,
                  ramp: tuple[tuple[float, ...], tuple[float, ...]] | None = None) -> Netlist:
    """Write :func:`build_netlist` as spu-netlist/1 YAML (:func:`~spu_emulator.netlist.dump.dumps`)
    atomically; return the netlist. Cost O(N²) (text of every element)."""
    netlist = build_netlist(model, scale, name, tol, ramp_bias, ramp)
    write_text(path, dumps(netlist))
    return netlist
