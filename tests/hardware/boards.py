"""Netlists and independent references for the hardware tests: every element type a
linear board can have, tolerances of every kind, and a plain per-board route (the
netlist of one board built by hand, assembled and solved by scipy)."""

from __future__ import annotations

import dataclasses

import numpy as np

from spu_emulator.circuit import assemble
from spu_emulator.netlist import loads
from spu_emulator.netlist.tolerance import CLASSES, element_class

#: Every linear element: parasitics (R_L, R_switch, C_ground, stray_k), a hot and a
#: cold resistor, a mutual inductance, white and band-limited injected noise (one into a
#: Kron-reduced node), a Kron-reduced node.
EVERYTHING = """format: spu-netlist/1
name: everything
temperature: 300 K
cells:
  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm, R_L: 0.5 Ohm}
  - {name: b, C: 1.3 nF, L: 1.4 uH, R: 1.5 kOhm}
couplers:
  - {between: [a, b], C: 100 pF, R_switch: 5 Ohm, C_ground: 2 pF}
parasitics: {stray_k: 1%}
elements:
  - {name: R9, type: R, nodes: [a, x], value: 2 kOhm, temperature: 77 K}
  - {name: C9, type: C, nodes: [x, gnd], value: 10 pF}
  - {name: L9, type: L, nodes: [x, gnd], value: 10 uH, series_R: 0.5 Ohm, temperature: 600 K}
  - {name: K1, type: K, inductors: [a.L, L9], k: 0.3}
  - {name: I1, type: I, nodes: [gnd, x], dc: 0 A, noise_psd: 1e-22}
  - {name: Rm1, type: R, nodes: [a, m], value: 1 kOhm}
  - {name: Rm2, type: R, nodes: [m, gnd], value: 1 kOhm, temperature: 400 K}
  - {name: I2, type: I, nodes: [gnd, m], noise_psd: 1e-23}
  - {name: N1, type: IN, nodes: [gnd, b], psd: 1e-22, bandwidth: 2 megHz}
"""

#: Every kind of tolerance: Gaussian and uniform, lot factors, a temperature coefficient
#: at a board temperature (GENERIC fits any netlist; TOLERANCES adds an override).
GENERIC = ("tolerances:\n  C: {sigma: 2%, lot: 1%}\n  L: {uniform: 3%, tempco: 200 ppm/K}\n"
           "  R: {sigma: 5%, lot: 2%}\n  K: 10%\n  noise: {uniform: 20%}\n"
           "  board_temperature: 330 K\n")
TOLERANCES = GENERIC + "  elements: {C9: {sigma: 8%}}\n"


#: Two cells, one with an inductor series resistance at the bath, plus a hot inductor
#: (series resistance at 3000 K) on cell a.
CELLS2 = ("format: spu-netlist/1\ntemperature: 300 K\ncells:\n"
          "  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm, R_L: 0.5 Ohm}\n"
          "  - {name: b, C: 1.5 nF, L: 2 uH, R: 2 kOhm}\n")
CELLS2_HOT = CELLS2.replace("R_L: 0.5 Ohm}", "}") + (
    "elements:\n  - {name: Lh, type: L, nodes: [a, gnd], value: 5 uH, series_R: 20 Ohm, "
    "temperature: 3000 K}\ntolerances: {R: 10%}\n")


def with_tolerances(text: str, tolerances: str = GENERIC) -> str:
    """``text`` with a tolerances section after its header lines."""
    head, _, rest = text.partition("cells:")
    return head + tolerances + "cells:" + rest


def everything(tolerances: str = TOLERANCES):
    return loads(with_tolerances(EVERYTHING, tolerances))


def parameters(netlist):
    """(element, field, class, tolerance) of every toleranced value, from the netlist
    alone (the documented rule: an override by name acts on the element's main value)."""
    tol = netlist.tolerances
    out = []
    for e in netlist.elements:
        pairs = element_class(e)
        for k, (field, cls) in enumerate(pairs):
            name = e.name if k == 0 else f"{e.name}.{field}"
            out.append((e, field, cls, tol.for_element(name, cls)))
    return out


def draw_independently(netlist, boards: int, rng: np.random.Generator) -> list:
    """Board netlists drawn from the documented distribution with our own generator:
    p = p0 (1 + lot u_lot)(1 + sigma u)(1 + tempco (T_board - T_ref))."""
    tol = netlist.tolerances
    t_board = tol.board_temperature or netlist.temperature
    t_ref = tol.reference_temperature or netlist.temperature
    params = parameters(netlist)
    out = []
    for _ in range(boards):
        lot = {c: rng.standard_normal() for c in CLASSES}
        per: dict[str, dict[str, float]] = {}
        for e, field, cls, t in params:
            u = rng.standard_normal() if t.distribution == "gaussian" else rng.uniform(-1, 1)
            v = getattr(e, field) * (1 + t.lot * lot[cls]) * (1 + t.sigma * u) * (
                1 + t.tempco * (t_board - t_ref))
            per.setdefault(e.name, {})[field] = v
        out.append(netlist.replace(elements=tuple(
            dataclasses.replace(e, **per[e.name]) if e.name in per else e
            for e in netlist.elements)))
    return out


def scipy_voltage_covariance(netlist) -> np.ndarray:
    """The plain route: assemble one board, scipy's Lyapunov solver (energy
    coordinates), the voltage block."""
    sde = assemble(netlist).to_sde()
    return sde.stationary_covariance()[: sde.n_voltage, : sde.n_voltage]
