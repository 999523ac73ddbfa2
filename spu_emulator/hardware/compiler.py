"""Compile a target matrix into SPU hardware: component values + a readout map.

Target: a symmetric positive definite precision P (``kind="precision"``), covariance
S (P = S⁻¹) or matrix A to invert (P = A), d × d. The design's user variables x then
have, at equilibrium, Cov(x) = P⁻¹. At one temperature T the stationary state is
Boltzmann whatever the resistors and inductors (fluctuation–dissipation), so only the
energy matrix matters:

* ``capacitive`` (single-ended cells, positive couplers): Cov(v) = k_B T C_N⁻¹ with
  C_N = α D P D. Needs C_N to be a Maxwell matrix (off-diagonals ≤ 0, row sums ≥ 0):
  P must be an M-matrix (off-diagonals ≤ 0); D = diag(y) with y > 0 and P y > 0
  (found by Jacobi iteration on P y = 1). Couplers C_ij = −(C_N)_ij, ground
  capacitors g_i = (C_N 1)_i. Readout x_i = s_i v_i with s = sqrt(α / k_B T) y.
* ``differential`` (signed couplings): variable i is u_i = v(i⁺) − v(i⁻). Ground
  capacitors g_i on i⁺ and i⁻; for K_ij < 0 a straight pair of couplers
  (i⁺–j⁺, i⁻–j⁻), for K_ij > 0 a crossed pair (i⁺–j⁻, i⁻–j⁺), each of 2|K_ij|.
  With m_i = (v(i⁺) + v(i⁻))/2 the energy ½ vᵀ C_N v separates exactly:
  a straight coupler gives c (m_i − m_j)² + ¼ c (u_i − u_j)², a crossed one
  c (m_i − m_j)² + ¼ c (u_i + u_j)², a ground pair g m_i² + ¼ g u_i². So
  E = ½ uᵀ K u + ½ mᵀ K_m m with K_ii = g_i/2 + Σ_j |K_ij|, K_ij = ∓ c_ij / 2 and
  K_m = 2 (diag g + Laplacian(c)): the common mode is independent of u and
  Cov(u) = k_B T K⁻¹ exactly. Needs K = α D P D diagonally dominant: P must be an
  H-matrix (its comparison matrix an M-matrix).
* ``inductive`` (any SPD matrix): cells with coupled inductors (a transformer
  network): the inductance matrix L = D P D with diag(L) the cell inductances and
  mutual coupling factors k_ij = P_ij / sqrt(P_ii P_jj) (|k| < 1 since P ≻ 0).
  Cov(i_L) = k_B T L⁻¹; the variables are the inductor currents, x = D i /
  sqrt(k_B T). Passive capacitor networks cannot do this: Kron reduction keeps
  diagonal dominance, so non-H matrices need transformers (Cederbaum's theorem
  on resistive/capacitive n-ports).

``realization="auto"`` picks the first that applies, in that order. Coupler values
(capacitances, or |k| for the inductive realization) can be quantized to a
:class:`~spu_emulator.hardware.bank.Bank`; ground capacitors and cell inductors are
trimmed exactly. The report gives the realized precision error
‖P̃ − P‖_F / ‖P‖_F and covariance error ‖P̃⁻¹ − P⁻¹‖_F / ‖P⁻¹‖_F.
Cost: O(d²) per Jacobi iteration (≤ 500), O(d³) for the optional covariance report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..netlist.schema import (
    GROUND,
    Capacitor,
    Element,
    Inductor,
    MutualInductance,
    Netlist,
    Resistor,
)
from ..units import K_B
from .bank import Bank, quantize
from .design import Design, ProgramMap, Variable

Array = np.ndarray


@dataclass(frozen=True)
class CompileOptions:
    """Realizable ranges and cell parameters.

    ``c_max``: largest programmed capacitor (F); the matrix is scaled so that the
    largest component equals it. ``c_min``: smallest realizable capacitor (report).
    ``inductance``: cell inductance (H), None for RC cells (no inductor).
    ``resistance``: cell loss resistor (Ω); None picks near-critical damping of the
    slowest mode for RLC cells (R = ½ sqrt(ℓ / λ_max(C_N)), λ_max by Gershgorin)
    and 1 kΩ for RC cells. ``cells_from``: take names, L, R, temperature and readout
    from an existing netlist's cells.
    """

    temperature: float = 300.0
    c_max: float = 1e-9
    c_min: float = 1e-13
    inductance: float | None = 1e-6
    resistance: float | None = None
    realization: str = "auto"
    names: tuple[str, ...] | None = None
    cells_from: Netlist | None = None
    covariance_report: bool = True

    def __post_init__(self) -> None:
        for name in ("temperature", "c_max", "c_min"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"must be positive and finite, got {v!r}", name)
        for name in ("inductance", "resistance"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise InputError(f"must be positive and finite, got {v!r}", name)
        if self.c_min >= self.c_max:
            raise InputError(f"the smallest capacitor ({self.c_min:g} F) must be below the "
                             f"largest (`c_max` {self.c_max:g} F)", "c_min")


@dataclass(frozen=True)
class Plan:
    """Ideal (unquantized) component values of a realization; :func:`build` turns
    it, with possibly quantized coupler values, into a :class:`Design`."""

    realization: str
    kind: str
    P: Array  # target precision in user variables
    names: tuple[str, ...]
    scale: Array  # (d,) readout scale
    mean: Array  # (d,)
    ground: Array  # (d,) ground capacitors (F)
    pairs: Array  # (m, 2) int
    signs: Array  # (m,) −1 straight / +1 crossed (differential), sign of k (inductive)
    values: Array  # (m,) coupler capacitances (F) or |k|
    cell_L: Array | None  # (d,) cell inductances
    cell_R: Array  # (d,)
    temperature: float
    readout: Any = None
    info: dict = field(default_factory=dict)


#: Magnitudes of matrix entries the compiler's arithmetic handles (squares and
#: products of entries must stay finite and normal).
MATRIX_RANGE = (1e-100, 1e100)


def check_spd(P: Array, what: str = "matrix") -> Array:
    if np.iscomplexobj(P):
        raise InputError(f"{what}: has complex entries; the SPU works with real symmetric matrices")
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] < 1:
        raise InputError(f"{what}: expected a square matrix, got shape {P.shape}")
    if not np.all(np.isfinite(P)):
        raise InputError(f"{what}: contains non-finite entries")
    big = float(np.max(np.abs(P)))
    if not MATRIX_RANGE[0] <= big <= MATRIX_RANGE[1]:
        raise InputError(f"{what}: its largest entry is {big:.3g}, outside "
                         f"{MATRIX_RANGE[0]:g}..{MATRIX_RANGE[1]:g}: scale the matrix (the "
                         "inverse scales by the reciprocal)")
    asym = np.max(np.abs(P - P.T)) / max(np.max(np.abs(P)), 1e-300)
    if asym > 1e-10:
        raise InputError(f"{what}: not symmetric (max relative asymmetry {asym:.2g})")
    P = 0.5 * (P + P.T)
    try:
        np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        raise InputError(f"{what}: not positive definite (Cholesky failed)") from None
    return P


def dominance_scaling(M: Array, iters: int = 500) -> tuple[Array | None, float]:
    """y > 0 with (M y)_i ≥ r M_ii y_i, r > 0, for a Z-matrix M with positive diagonal
    (Jacobi iteration on M y = 1, which converges monotonically iff M is a nonsingular
    M-matrix). Returns (y, r) with the best ratio r found, or (None, r≤0). O(iters d²)."""
    dg = np.diag(M).copy()
    N = np.diag(dg) - M  # ≥ 0 entrywise
    y = 1.0 / dg
    best, best_r = None, -np.inf
    for _ in range(iters):
        My = M @ y
        r = float(np.min(My / (dg * y)))
        if r > best_r:
            best, best_r = y.copy(), r
        if best_r >= 0.25:
            break
        y_new = (1.0 + N @ y) / dg
        if np.max(y_new) > 1e12 * np.max(1.0 / dg) or np.allclose(y_new, y, rtol=1e-13, atol=0):
            break
        y = y_new
    return (best, best_r) if best_r > 1e-9 else (None, best_r)


def classify(P: Array) -> tuple[str, Array | None, float, str]:
    """(realization, y, ratio, reason) for the first realization that applies."""
    d = P.shape[0]
    off = P - np.diag(np.diag(P))
    if d == 1 or np.all(off <= 0):
        y, r = dominance_scaling(P)
        if y is not None:
            return "capacitive", y, r, "M-matrix (non-positive off-diagonals): positive couplers suffice"
    comp = np.diag(np.diag(P)) - np.abs(off)
    y, r = dominance_scaling(comp)
    if y is not None:
        return "differential", y, r, (
            "H-matrix with positive off-diagonal precision entries: differential cells with "
            "crossed couplers"
        )
    return "inductive", None, 0.0, (
        "not an H-matrix (no diagonal scaling makes it diagonally dominant), which no "
        "capacitor network can realize: coupled inductors (transformer network)"
    )


def plan_program(
    matrix: Array,
    kind: str = "precision",
    *,
    mean: Array | None = None,
    options: CompileOptions = CompileOptions(),
) -> Plan:
    """Ideal component values realizing the target (see module docstring)."""
    if kind not in ("precision", "covariance", "matrix"):
        raise InputError(f"unknown target kind {kind!r}")
    M = check_spd(matrix, kind)
    P = check_spd(np.linalg.inv(M), "inverse of the covariance") if kind == "covariance" else M
    d = P.shape[0]
    kT = K_B * options.temperature
    if options.temperature <= 0:
        raise InputError("temperature must be positive (the SPU samples thermal noise)")
    mean_arr = np.zeros(d) if mean is None else np.asarray(mean, float).ravel()
    if mean_arr.shape != (d,):
        raise InputError(f"mean: expected {d} values, got {mean_arr.size}")

    names = options.names
    cell_L = None if options.inductance is None else np.full(d, float(options.inductance))
    cell_R = None if options.resistance is None else np.full(d, float(options.resistance))
    temperature = options.temperature
    readout = None
    if options.cells_from is not None:
        src = options.cells_from
        if len(src.cells) != d:
            raise InputError(
                f"{src.source or src.name} has {len(src.cells)} cells, the matrix needs {d}", "cells_from"
            )
        names = tuple(src.cells)
        Ls, Rs = [], []
        for c in src.cells:
            try:
                Ls.append(src.element(f"{c}.L").L)  # type: ignore[attr-defined]
            except KeyError:
                Ls.append(None)
            try:
                Rs.append(src.element(f"{c}.R").R)  # type: ignore[attr-defined]
            except KeyError:
                raise InputError(f"cell {c!r} has no resistor R", "cells_from") from None
        cell_L = None if any(x is None for x in Ls) else np.array(Ls, float)
        cell_R = np.array(Rs, float)
        temperature = src.temperature
        kT = K_B * temperature
        readout = src.readout
    if names is None:
        names = tuple(f"x{i}" for i in range(d))
    if len(names) != d or len(set(names)) != d:
        raise InputError(f"need {d} distinct variable names")

    realization, y, ratio, reason = classify(P)
    if options.realization != "auto":
        want = options.realization
        order = ("capacitive", "differential", "inductive")
        if want not in order:
            raise InputError(f"unknown realization {want!r} (auto, {', '.join(order)})")
        if order.index(want) < order.index(realization):
            raise InputError(f"cannot realize this matrix as {want}: it is {reason.split(':')[0]}")
        if want != realization:
            realization = want
            if want == "differential":
                y, ratio = dominance_scaling(np.diag(np.diag(P)) - np.abs(P - np.diag(np.diag(P))))
    iu, ju = np.triu_indices(d, 1)
    info: dict[str, Any] = {"reason": reason}

    if realization in ("capacitive", "differential"):
        K = y[:, None] * P * y[None, :]
        kij = K[iu, ju]
        nz = kij != 0
        pairs = np.stack([iu[nz], ju[nz]], axis=1)
        if realization == "capacitive":
            raw_c = -kij[nz]
            raw_g = K.sum(axis=1)
            signs = -np.ones(len(raw_c))
        else:
            raw_c = 2.0 * np.abs(kij[nz])
            raw_g = 2.0 * (np.diag(K) - (np.abs(K).sum(axis=1) - np.abs(np.diag(K))))
            signs = np.sign(kij[nz])
        top = max(float(np.max(raw_g)), float(np.max(raw_c, initial=0.0)))
        alpha = options.c_max / top
        ground = alpha * raw_g
        values = alpha * raw_c
        scale = np.sqrt(alpha / kT) * y
        if cell_R is None:
            if cell_L is None:
                cell_R = np.full(d, 1e3)
            else:
                node_tot = ground + np.bincount(pairs.ravel(), np.repeat(values, 2), minlength=d) if len(values) else ground
                lam = 2.0 * float(np.max(node_tot))  # Gershgorin bound on λ_max(C_N)
                cell_R = 0.5 * np.sqrt(cell_L / lam)
        info.update(alpha=alpha, dominance_ratio=ratio)
    else:
        if cell_L is None:
            cell_L = np.full(d, 1e-6)
        dP = np.sqrt(np.diag(P))
        kmat = P / np.outer(dP, dP)
        kij = kmat[iu, ju]
        nz = kij != 0
        pairs = np.stack([iu[nz], ju[nz]], axis=1)
        signs = np.sign(kij[nz])
        values = np.abs(kij[nz])
        Dl = np.sqrt(cell_L) / dP  # L = Dl P Dl has diagonal cell_L
        scale = Dl / np.sqrt(kT)
        ground = np.full(d, options.c_max)
        if cell_R is None:
            Lmat_row = np.sqrt(cell_L) * (np.abs(kmat) @ np.sqrt(cell_L))
            lam = float(np.max(Lmat_row))  # Gershgorin bound on λ_max(L)
            cell_R = 0.5 * np.sqrt(lam / ground)
    return Plan(
        realization=realization, kind=kind, P=P, names=tuple(names), scale=scale,
        mean=mean_arr, ground=ground, pairs=pairs.astype(int), signs=signs, values=values,
        cell_L=cell_L, cell_R=np.asarray(cell_R, float), temperature=temperature,
        readout=readout, info=info,
    )


def hardware_matrix(plan: Plan, values: Array) -> Array:
    """The energy matrix the components realize: C_N (capacitive), the differential
    K (differential) or the inductance matrix L (inductive). O(d² + m)."""
    i, j = plan.pairs[:, 0], plan.pairs[:, 1]
    if plan.realization == "inductive":
        sl = np.sqrt(plan.cell_L)
        Lm = np.diag(plan.cell_L.astype(float))
        off = plan.signs * values * sl[i] * sl[j]
        Lm[i, j] = off
        Lm[j, i] = off
        return Lm
    half = 0.5 if plan.realization == "differential" else 1.0
    K = np.diag(half * plan.ground)
    np.add.at(K, (i, i), half * values)
    np.add.at(K, (j, j), half * values)
    off = plan.signs * half * values
    K[i, j] += off
    K[j, i] += off
    return K


def realized_precision(plan: Plan, values: Array) -> Array:
    """P̃ of the user variables: Cov(x) = k_B T S K⁻¹ S ⇒ P̃ = S⁻¹ K S⁻¹ / (k_B T)."""
    K = hardware_matrix(plan, values)
    s = plan.scale
    return K / np.outer(s, s) / (K_B * plan.temperature)


def build(plan: Plan, values: Array | None = None, report: dict | None = None) -> Design:
    """The design netlist for ``plan`` with coupler ``values`` (default: ideal)."""
    values = plan.values if values is None else np.asarray(values, float)
    d = len(plan.names)
    elements: list[Element] = []
    cells: list[str] = []

    def cell(node: str, c: float, k: int) -> None:
        cells.append(node)
        elements.append(Capacitor(name=f"{node}.C", nodes=(node, GROUND), C=float(c)))
        if plan.cell_L is not None:
            elements.append(Inductor(name=f"{node}.L", nodes=(node, GROUND), L=float(plan.cell_L[k])))
        elements.append(Resistor(name=f"{node}.R", nodes=(node, GROUND), R=float(plan.cell_R[k])))

    variables = []
    if plan.realization == "differential":
        for k, nm in enumerate(plan.names):
            cell(f"{nm}.p", plan.ground[k], k)
            cell(f"{nm}.m", plan.ground[k], k)
            variables.append(Variable(nm, "voltage", f"{nm}.p", f"{nm}.m", float(plan.scale[k]), float(plan.mean[k])))
    else:
        for k, nm in enumerate(plan.names):
            cell(nm, plan.ground[k], k)
            if plan.realization == "inductive":
                variables.append(Variable(nm, "current", f"{nm}.L", GROUND, float(plan.scale[k]), float(plan.mean[k])))
            else:
                variables.append(Variable(nm, "voltage", nm, GROUND, float(plan.scale[k]), float(plan.mean[k])))
    n = plan.names
    for (i, j), sgn, v in zip(plan.pairs, plan.signs, values, strict=True):
        if v <= 0:
            continue  # switch open
        a, b = n[i], n[j]
        if plan.realization == "capacitive":
            elements.append(Capacitor(name=f"C[{a},{b}]", nodes=(a, b), C=float(v)))
        elif plan.realization == "differential":
            if sgn < 0:
                elements.append(Capacitor(name=f"C[{a}.p,{b}.p]", nodes=(f"{a}.p", f"{b}.p"), C=float(v)))
                elements.append(Capacitor(name=f"C[{a}.m,{b}.m]", nodes=(f"{a}.m", f"{b}.m"), C=float(v)))
            else:
                elements.append(Capacitor(name=f"C[{a}.p,{b}.m]", nodes=(f"{a}.p", f"{b}.m"), C=float(v)))
                elements.append(Capacitor(name=f"C[{a}.m,{b}.p]", nodes=(f"{a}.m", f"{b}.p"), C=float(v)))
        else:
            elements.append(MutualInductance(
                name=f"K[{a},{b}]", nodes=(), inductors=(f"{a}.L", f"{b}.L"), k=float(sgn * v)
            ))
    netlist = Netlist(
        name=f"program-{plan.realization}-{d}",
        temperature=float(plan.temperature),
        nodes=tuple(cells),
        cells=tuple(cells),
        elements=tuple(elements),
        readout=plan.readout,
    )
    prog = ProgramMap(plan.realization, plan.kind, tuple(variables), dict(report or {}))
    return Design(netlist, prog)


def error_report(plan: Plan, values: Array, covariance: bool = True) -> dict[str, Any]:
    """Relative Frobenius errors of the realized precision (and covariance) vs target."""
    Pt = realized_precision(plan, values)
    out: dict[str, Any] = {
        "precision_relative_error": float(np.linalg.norm(Pt - plan.P) / np.linalg.norm(plan.P)),
    }
    if covariance:
        try:
            np.linalg.cholesky(Pt)
        except np.linalg.LinAlgError:
            raise InputError(
                "the quantized hardware matrix is not positive definite: use a finer bank (more bits)"
            ) from None
        S = np.linalg.inv(plan.P)
        out["covariance_relative_error"] = float(np.linalg.norm(np.linalg.inv(Pt) - S) / np.linalg.norm(S))
    return out


def quantized_values(
    plan: Plan, bank: Bank | None, rounding: str = "nearest", rng: np.random.Generator | None = None
) -> tuple[Array, dict[str, Any]]:
    """Coupler values rounded to ``bank`` (unchanged if None) and a description."""
    if bank is None or len(plan.values) == 0:
        return plan.values, {"bank": "none (exact values)"}
    top = float(np.max(plan.values))
    levels = bank.scaled(top)
    if plan.realization == "inductive" and levels[-1] >= 1:
        levels = np.minimum(levels, 1 - 1e-9)
    q = quantize(plan.values, levels, rounding, rng)
    return q, {
        "bank": bank.label,
        "rounding": rounding,
        "bank_top": float(levels[-1]),
        "clipped": int(np.sum(plan.values > levels[-1] * (1 + 1e-12))),
        "open_couplers": int(np.sum(q == 0)),
    }


def compile_matrix(
    matrix: Array,
    kind: str = "precision",
    *,
    mean: Array | None = None,
    options: CompileOptions = CompileOptions(),
    bank: Bank | None = None,
    rounding: str = "nearest",
    rng: np.random.Generator | int | None = None,
) -> Design:
    """Compile a target into a :class:`Design` (netlist + readout map + report)."""
    plan = plan_program(matrix, kind, mean=mean, options=options)
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    values, qinfo = quantized_values(plan, bank, rounding, gen)
    return finish(plan, values, qinfo, options.covariance_report)


def finish(plan: Plan, values: Array, qinfo: dict, covariance: bool = True) -> Design:
    report: dict[str, Any] = {
        "realization": plan.realization,
        "reason": plan.info.get("reason", ""),
        "dimension": len(plan.names),
        "couplers": int(np.sum(values > 0)),
    }
    report.update({k: v for k, v in qinfo.items()})
    report.update(error_report(plan, values, covariance))
    if plan.realization != "inductive":
        caps = np.concatenate([plan.ground, values[values > 0]])
        report["capacitance_max"] = float(np.max(caps))
        report["capacitance_min"] = float(np.min(caps))
    return build(plan, values, report)


__all__ = [
    "CompileOptions", "Plan", "build", "check_spd", "classify", "compile_matrix",
    "dominance_scaling", "error_report", "finish", "hardware_matrix", "plan_program",
    "quantized_values", "realized_precision",
]
