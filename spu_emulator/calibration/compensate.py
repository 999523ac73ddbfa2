"""Compensation: program a calibrated board so that its as-built parts realize the target.

A part's deviation belongs to its position (a cell, the coupler slot between two
cells), so it persists when the board is reprogrammed: a position with calibrated
ratio r = estimate / nominal builds r × (the value programmed into it). The compiler's
ideal values v* (:func:`~spu_emulator.hardware.compiler.plan_program`) are therefore
programmed as v* / r: ground capacitors, cell inductors and resistors exactly (they
are trimmed), couplers rounded to the component bank after the division when there is
one. The as-built board then has ground g*, couplers r·Q(v*/r), and the report gives
its residual precision and covariance errors against the target beside those of the
uncompensated program (Q(v*) programmed, r·Q(v*) built), and the spread of the
residual covariance error that the calibration's own uncertainty causes (draws of the
ratios from N(ln r̂, Σ_cal), the file's relative covariance).

Capacitive realizations only (each coupler one capacitor at one position). Cost
O(d² + m) plus O(draws · d³) for the uncertainty.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import InputError
from ..hardware.bank import Bank
from ..hardware.compiler import (
    CompileOptions,
    build,
    error_report,
    plan_program,
    quantized_values,
    realized_precision,
)
from ..hardware.design import Design
from ..netlist.schema import GROUND
from .report import BoardCalibration

Array = np.ndarray

#: Draws of the calibrated ratios for the propagated uncertainty.
UNCERTAINTY_DRAWS = 200


def _position_ratios(plan, cal: BoardCalibration) -> tuple[Array, Array, Array, Array, dict]:
    """(r_ground, r_couplers, r_L, r_R) of the plan's positions and which were missing."""
    pos = cal.by_position()
    d = len(plan.names)

    def ratio(cls: str, a: str, b: str) -> tuple[float, str | None]:
        nm = pos.get((cls, frozenset((a, b))))
        return (1.0, None) if nm is None else (cal.ratio(nm), nm)

    missing: list[str] = []
    used: list[str] = []
    out = []
    for cls in ("C", "L", "R"):
        r = np.ones(d)
        for k, c in enumerate(plan.names):
            r[k], nm = ratio(cls, c, GROUND)
            (used if nm else missing).append(nm or f"{c}.{cls}")
        out.append(r)
    rc = np.ones(len(plan.pairs))
    for k, (i, j) in enumerate(plan.pairs):
        rc[k], nm = ratio("C", plan.names[i], plan.names[j])
        (used if nm else missing).append(nm or f"{plan.names[i]}-{plan.names[j]}.C")
    return out[0], rc, out[1], out[2], {"used": used, "missing": missing}


def uncertainty(plan, cal: BoardCalibration, used: list[str], programmed: Array, ground: Array,
                seed: int = 0, draws: int = UNCERTAINTY_DRAWS) -> dict[str, float]:
    """Spread of the as-built covariance error from the calibration's uncertainty:
    ``programmed`` couplers and ``ground`` as built if the calibration were exact, each
    position then off by e^δ, δ ~ N(0, Σ_cal) (the true over the estimated ratio)."""
    idx = [cal.names.index(n) for n in used if n in cal.names]
    cov = cal.relative_covariance[np.ix_(idx, idx)]
    w, V = np.linalg.eigh(0.5 * (cov + cov.T))
    Lc = V * np.sqrt(np.clip(w, 0, None))
    rng = np.random.default_rng(seed)
    dev = np.exp(rng.standard_normal((draws, len(idx))) @ Lc.T)
    pos = {n: k for k, n in enumerate(cal.names[i] for i in idx)}
    pmap = cal.by_position()
    gi = np.array([pos.get(pmap.get(("C", frozenset((c, GROUND)))), -1) for c in plan.names])
    ci = np.array([pos.get(pmap.get(("C", frozenset((plan.names[i], plan.names[j])))), -1)
                   for i, j in plan.pairs], int).reshape(-1)
    S = np.linalg.inv(plan.P)
    errs = np.empty(draws)
    for k in range(draws):  # O(d³) each; draws is small
        e = np.concatenate([dev[k], [1.0]])
        p2 = dataclasses.replace(plan, ground=ground * e[gi])
        Pt = realized_precision(p2, programmed * e[ci])
        errs[k] = np.linalg.norm(np.linalg.inv(Pt) - S) / np.linalg.norm(S)
    return {"draws": draws, "covariance_error_mean": float(errs.mean()),
            "covariance_error_p95": float(np.quantile(errs, 0.95))}


def compile_compensated(matrix: Array, kind: str = "precision", *, calibration: BoardCalibration,
                        mean: Array | None = None, options: CompileOptions | None = None,
                        bank: Bank | None = None, rounding: str = "nearest",
                        rng: np.random.Generator | int | None = None) -> Design:
    """Compile ``matrix`` for the calibrated board (see the module docstring)."""
    plan = plan_program(matrix, kind, mean=mean, options=options or CompileOptions())
    if plan.realization != "capacitive":
        raise InputError(f"compensation programs capacitive realizations (one capacitor per "
                         f"position); this matrix needs the {plan.realization} one", "calibration")
    rg, rc, rl, rr, info = _position_ratios(plan, calibration)
    if not info["used"]:
        raise InputError(f"{calibration.source}: no calibrated position matches the program's "
                         f"cells ({', '.join(plan.names[:4])}…): calibrate the board these cells "
                         "are on (use --cells-from with its design)", "calibration")
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    comp_plan = dataclasses.replace(
        plan, ground=plan.ground / rg, values=plan.values / rc,
        cell_L=None if plan.cell_L is None else plan.cell_L / rl, cell_R=plan.cell_R / rr)
    q, qinfo = quantized_values(comp_plan, bank, rounding, gen)
    built = error_report(plan, q * rc)  # ground exact after division: g* built
    q0, _ = quantized_values(plan, bank, rounding, np.random.default_rng(0))
    raw = dataclasses.replace(plan, ground=plan.ground * rg)
    uncomp = error_report(raw, q0 * rc)
    report: dict[str, Any] = {
        "realization": plan.realization, "reason": plan.info.get("reason", ""),
        "dimension": len(plan.names), "couplers": int(np.sum(q > 0)), **qinfo,
        "precision_relative_error": built["precision_relative_error"],
        "covariance_relative_error": built.get("covariance_relative_error"),
        "compensation": {
            "calibration": calibration.source,
            "design_digest": calibration.design_digest,
            "positions_calibrated": len(info["used"]),
            "positions_uncalibrated": info["missing"],
            "uncompensated_precision_error": uncomp["precision_relative_error"],
            "uncompensated_covariance_error": uncomp.get("covariance_relative_error"),
            "calibration_uncertainty": uncertainty(plan, calibration, info["used"], q * rc, plan.ground),
        },
    }
    caps = np.concatenate([comp_plan.ground, q[q > 0]])
    report["capacitance_max"] = float(np.max(caps))
    report["capacitance_min"] = float(np.min(caps))
    return build(comp_plan, q, report)


def as_built(netlist, calibration: BoardCalibration):
    """The netlist with every calibrated position's value multiplied by its ratio: the
    board a design programmed onto the calibrated hardware really is."""
    pos = calibration.by_position()
    elements = []
    for e in netlist.elements:
        nodes = getattr(e, "nodes", ())
        field = {"C": "C", "L": "L", "R": "R"}.get(e.TYPE)
        nm = pos.get((e.TYPE, frozenset(nodes))) if field and len(nodes) == 2 else None
        if nm is not None:
            e = dataclasses.replace(e, **{field: getattr(e, field) * calibration.ratio(nm)})
        elements.append(e)
    return netlist.replace(elements=tuple(elements))


__all__ = ["as_built", "compile_compensated", "uncertainty"]
