"""Compile a linear solve A x = b into a DC-driven RC network.

The conductance matrix is programmed exactly like the capacitance matrix of
:mod:`spu_emulator.hardware.compiler` (same scaling D = diag(y) and realizations,
with resistors instead of capacitors): G = γ α D A D, γ = g_max / c_max. Currents
J = η D b are injected (a source from ground into node i, or, for a differential
cell, a floating source from i⁻ into i⁺: its power term is ηD b · u, so the
differential steady state solves K_G u = J, the common mode staying at zero).
The node voltages relax to mean u = G⁻¹ J = (η / γα) D⁻¹ A⁻¹ b, so
x = (γα / η) D u. Every cell has the same ground capacitor c₀ (dynamics only:
relaxation time c₀ / λ_min(G)), so the thermal noise per node is sqrt(k_B T / c₀);
η is set so the largest diagonal estimate |b_i / (y_i A_ii)| of u is ``drive``
times that. A resistor network realizes only M- and H-matrices (Kron reduction keeps
diagonal dominance, and inductors are shorts at DC): others are refused.
Cost: O(d²).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..netlist.schema import GROUND, Capacitor, CurrentSource, Netlist, Resistor
from ..units import K_B
from .bank import Bank
from .compiler import CompileOptions, error_report, plan_program, quantized_values
from .design import Design, ProgramMap, Variable

Array = np.ndarray


class NotResistive(InputError):
    """A matrix that no resistor network realizes (not an M- or H-matrix)."""


def compile_dc(
    a: Array,
    b: Array,
    *,
    options: CompileOptions | None = None,
    g_max: float = 1e-3,
    drive: float = 10.0,
    bank: Bank | None = None,
    rounding: str = "nearest",
    seed: int = 0,
) -> Design:
    """The RC network whose mean node voltages encode A⁻¹ b (module docstring).
    ``options`` default: CompileOptions(inductance=None) (RC cells)."""
    if options is None:
        options = CompileOptions(inductance=None)
    plan = plan_program(a, "matrix", options=options)
    if plan.realization == "inductive":
        raise NotResistive(
            "a resistor network cannot realize this matrix (not an M- or H-matrix: no diagonal "
            "scaling makes it diagonally dominant)"
        )
    values, qinfo = quantized_values(plan, bank, rounding, np.random.default_rng([seed, 104729]))
    d = len(plan.names)
    gamma = g_max / options.c_max
    c0 = options.c_max
    alpha_y = (plan.scale**2) * K_B * plan.temperature  # = α y² (scale = sqrt(α/kT) y)
    # alpha D P D with D = diag(y): hardware matrix entries scale as alpha*y_i*y_j.
    # Use the plan's absolute y: y_abs = scale / sqrt(alpha/kT); alpha*y_abs² = alpha_y.
    diag_est = np.abs(b) / (np.sqrt(alpha_y) * np.diag(plan.P))  # |b_i| / (sqrt(α) y_i A_ii)
    noise = np.sqrt(K_B * plan.temperature / c0)
    # u_i ≈ η/(γ sqrt(α)) · b_i / (sqrt(α) y_i A_ii) · ... (diagonal estimate)
    eta = drive * noise * gamma / max(float(np.max(diag_est)), 1e-300)
    sq_alpha_y = np.sqrt(alpha_y)  # sqrt(α) y_i
    elements = []
    cells: list[str] = []
    names = plan.names
    variables = []
    diff = plan.realization == "differential"
    r_ground = 1.0 / (gamma * plan.ground)

    def cell(node: str, k: int) -> None:
        cells.append(node)
        elements.append(Capacitor(name=f"{node}.C", nodes=(node, GROUND), C=c0))
        elements.append(Resistor(name=f"{node}.R", nodes=(node, GROUND), R=float(r_ground[k])))

    for k, nm in enumerate(names):
        # x_k = (γα/η) y_k u_k = (γ sqrt(α) / η) · sqrt(α) y_k u_k
        scale = float(gamma * sq_alpha_y[k] / eta)
        if diff:
            cell(f"{nm}.p", k)
            cell(f"{nm}.m", k)
            variables.append(Variable(nm, "voltage", f"{nm}.p", f"{nm}.m", scale, 0.0))
        else:
            cell(nm, k)
            variables.append(Variable(nm, "voltage", nm, GROUND, scale, 0.0))
    for (i, j), sgn, v in zip(plan.pairs, plan.signs, values, strict=True):
        if v <= 0:
            continue
        r = float(1.0 / (gamma * v))
        a_, b_ = names[i], names[j]
        if not diff:
            elements.append(Resistor(name=f"R[{a_},{b_}]", nodes=(a_, b_), R=r))
        elif sgn < 0:
            elements.append(Resistor(name=f"R[{a_}.p,{b_}.p]", nodes=(f"{a_}.p", f"{b_}.p"), R=r))
            elements.append(Resistor(name=f"R[{a_}.m,{b_}.m]", nodes=(f"{a_}.m", f"{b_}.m"), R=r))
        else:
            elements.append(Resistor(name=f"R[{a_}.p,{b_}.m]", nodes=(f"{a_}.p", f"{b_}.m"), R=r))
            elements.append(Resistor(name=f"R[{a_}.m,{b_}.p]", nodes=(f"{a_}.m", f"{b_}.p"), R=r))
    for k, nm in enumerate(names):
        J = float(eta * sq_alpha_y[k] * b[k])  # η D b with D = sqrt(α) y (absorbing sqrt α)
        if J == 0:
            continue
        nodes = (f"{nm}.m", f"{nm}.p") if diff else (GROUND, nm)
        elements.append(CurrentSource(name=f"J[{nm}]", nodes=nodes, dc=J))
    netlist = Netlist(
        name=f"solve-dc-{plan.realization}-{d}", temperature=float(plan.temperature),
        nodes=tuple(cells), cells=tuple(cells), elements=tuple(elements),
    )
    report = {"realization": plan.realization, "method": "dc", "reason": plan.info.get("reason", ""),
              "drive": drive, **qinfo, **error_report(plan, values, covariance=False)}
    return Design(netlist, ProgramMap(plan.realization, "matrix", tuple(variables), report))
