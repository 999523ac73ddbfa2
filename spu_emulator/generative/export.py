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

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io import write_text
from ..units import K_B
from .model import QuarticModel


@dataclass(frozen=True)
class PhysicalScale:
    """Bath temperature (K), the linear capacitance C₁ (F) that J₂ = 1 stands for, and
    the time τ₀ (s) of one model time unit."""

    temperature: float = 300.0
    capacitance: float = 1e-12
    time_unit: float = 1e-6

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


def netlist_dict(model: QuarticModel, scale: PhysicalScale = PhysicalScale(), name: str = "generative",
                 tol: float = 0.0, ramp_bias: Any = None,
                 ramp: tuple[tuple[float, ...], tuple[float, ...]] | None = None) -> dict[str, Any]:
    """The spu-netlist/1 document (plain data) for ``model``; couplings with
    |J_ij| ≤ tol are left out. With ``ramp_bias`` b′ (N,) and ``ramp`` = (generation
    times s in model units, φ(s)) the biases are time dependent, b_i + b′_i φ(s): unit i's
    bias source is the piecewise-linear V_b,i(t) = −ε₀ (b_i + b′_i φ(t/τ₀)) / q₀, t from
    coupling switch-on (units with b′_i = 0 keep a constant source). Cost O(N²)."""
    eps0 = scale.energy_unit(model.kT)
    q0 = scale.charge_unit(model.kT)
    R = scale.resistance(model.kT, model.mu)
    names = node_names(model.n_visible, model.n_hidden)
    elements: list[dict[str, Any]] = []
    for n in names:
        elements.append({"name": f"NC_{n}", "type": "NC", "nodes": [n, "gnd"],
                         "J2": float(eps0 * model.J2 / q0**2), "J4": float(eps0 * model.J4 / q0**4)})
    for i, n in enumerate(names):
        bias: Any = float(-eps0 * model.b[i] / q0)
        if ramp is not None and ramp_bias is not None and ramp_bias[i] != 0.0:
            bias = {"pwl": [[float(s * scale.time_unit), float(-eps0 * (model.b[i] + ramp_bias[i] * p) / q0)]
                            for s, p in zip(*ramp, strict=True)]}
        elements.append({"name": f"RB_{n}", "type": "RB", "nodes": [n, "gnd"], "value": float(R),
                         "bias": bias})
    iu, ju = np.nonzero(np.triu(model.coupling_mask, 1) & (np.abs(model.J) > tol))
    for i, j in zip(iu, ju, strict=True):
        elements.append({"name": f"EC_{names[i]}_{names[j]}", "type": "EC",
                         "nodes": [names[i], names[j]], "J": float(eps0 * model.J[i, j] / q0**2)})
    desc = (f"Trained generative thermodynamic computer: {model.n_visible} visible + "
            f"{model.n_hidden} hidden units. Scales: model kT {model.kT:g} = k_B·{scale.temperature:g} K, "
            f"energy unit {eps0:.6g} J, charge unit {q0:.6g} C (J2=1 is {scale.capacitance:g} F), "
            f"time unit {scale.time_unit:g} s, R = {R:.6g} Ohm (mu = {model.mu:g}). "
            "Visible node v<i> is pixel i (row-major); read q/charge_unit.")
    return {"format": "spu-netlist/1", "name": name, "description": desc,
            "temperature": float(scale.temperature), "elements": elements}


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _flow(v: Any) -> str:
    """One value as a YAML flow-style string that ``yaml.safe_load`` reads back as ``v``
    (str, int, float, list, dict). The exporter writes ~10⁵ elements; ``yaml.safe_dump``
    per element takes minutes for that, this takes a second."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"
        r = repr(v)  # YAML 1.1 floats need a dot: 1e-12 -> 1.0e-12
        return r.replace("e", ".0e", 1) if "." not in r and "e" in r else r
    if isinstance(v, str):
        return v if _PLAIN.match(v) and v.lower() not in _YAML_WORDS else json.dumps(v)
    raise TypeError(f"cannot write {type(v).__name__} to the netlist")


def write_netlist(path: str | Path, model: QuarticModel, scale: PhysicalScale = PhysicalScale(),
                  name: str = "generative", tol: float = 0.0, ramp_bias: Any = None,
                  ramp: tuple[tuple[float, ...], tuple[float, ...]] | None = None) -> dict[str, Any]:
    """Write :func:`netlist_dict` as YAML atomically; return the document."""
    import yaml  # lazy: numerics never import yaml

    doc = netlist_dict(model, scale, name, tol, ramp_bias, ramp)
    head = {k: v for k, v in doc.items() if k != "elements"}
    text = yaml.safe_dump(head, sort_keys=False, width=1000) + "elements:\n"
    text += "".join(f"  - {_flow(e)}\n" for e in doc["elements"])
    write_text(path, text)
    return doc
