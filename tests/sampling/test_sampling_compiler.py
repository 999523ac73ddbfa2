"""Compiler round trips: the compiled netlist's exact (Lyapunov) covariance of the
user variables equals the target, and the reported quantization error is the
measured one."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from spu_emulator.circuit.assemble import assemble
from spu_emulator.errors import InputError
from spu_emulator.hardware.bank import Bank, quantize, stratified_roundings
from spu_emulator.hardware.compiler import (
    CompileOptions,
    compile_matrix,
    hardware_matrix,
    plan_program,
)
from spu_emulator.hardware.dc import compile_dc
from spu_emulator.hardware.design import loads_design
from spu_emulator.netlist import load, loads
from spu_emulator.netlist.dump import dumps
from spu_emulator.sampling.matrices import h_matrix, m_matrix, spd
from spu_emulator.units import K_B

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _cases():
    rng = np.random.default_rng(20240401)
    cases = []
    for k in range(102):
        d = int(rng.integers(2, 17)) if k < 99 else 64
        kind = ("M", "H", "G")[k % 3]
        A = {"M": m_matrix, "H": h_matrix}.get(kind, spd)(d, rng)
        target = ("precision", "covariance", "matrix")[(k // 3) % 3]
        L = None if (k % 2 or d > 32) else 1e-6
        cases.append((kind, target, A, L))
    return cases


def test_sampling_compiler_round_trip_100_matrices():
    kinds = set()
    worst = 0.0
    for kind, target, A, L in _cases():
        des = compile_matrix(A, target, options=CompileOptions(inductance=L))
        back = loads_design(des.dumps(), "design.yaml")
        assert back.netlist == des.netlist
        assert back.program.variables == des.program.variables
        want = A if target == "covariance" else np.linalg.inv(A)
        got = back.exact_covariance()
        err = np.linalg.norm(got - want) / np.linalg.norm(want)
        worst = max(worst, err)
        assert err < 1e-9, (kind, target, A.shape, des.program.realization, err)
        kinds.add(des.program.realization)
    assert kinds == {"capacitive", "differential", "inductive"}
    assert worst < 1e-9


@pytest.mark.parametrize("bank", [Bank.uniform(3), Bank.uniform(4), Bank.uniform(6),
                                  Bank.from_values([1e-10, 2.2e-10, 4.7e-10, 1e-9])])
@pytest.mark.parametrize("maker", [m_matrix, h_matrix, spd])
def test_sampling_reported_quantization_error_is_measured(bank, maker):
    rng = np.random.default_rng(7)
    A = maker(8, rng)
    try:
        des = compile_matrix(A, "matrix", bank=bank, options=CompileOptions(inductance=None))
    except InputError as exc:  # a coarse bank can make L indefinite: refused, not wrong
        assert "positive definite" in str(exc)
        return
    S = loads_design(des.dumps()).exact_covariance()
    Ai = np.linalg.inv(A)
    measured = np.linalg.norm(S - Ai) / np.linalg.norm(Ai)
    reported = des.program.report["covariance_relative_error"]
    assert reported > 1e-6  # the bank really changed something
    assert abs(measured - reported) <= 1e-9 * max(reported, 1e-300) + 1e-12
    P = np.linalg.inv(S)
    assert abs(np.linalg.norm(P - A) / np.linalg.norm(A) - des.program.report["precision_relative_error"]) < 1e-8


def test_sampling_differential_common_mode_is_independent():
    """Cov of (u, m): u = v⁺ − v⁻ has k_B T K⁻¹ and is uncorrelated with m."""
    rng = np.random.default_rng(3)
    A = h_matrix(5, rng)
    plan = plan_program(A, "precision", options=CompileOptions(inductance=None))
    assert plan.realization == "differential"
    des = compile_matrix(A, "precision", options=CompileOptions(inductance=None))
    c = assemble(des.netlist)
    Sv = K_B * 300.0 * np.linalg.inv(c.C)
    d = 5
    idx = {n: i for i, n in enumerate(c.nodes)}
    Tu = np.zeros((d, 2 * d))
    Tm = np.zeros((d, 2 * d))
    for i, nm in enumerate(plan.names):
        Tu[i, idx[f"{nm}.p"]], Tu[i, idx[f"{nm}.m"]] = 1, -1
        Tm[i, idx[f"{nm}.p"]], Tm[i, idx[f"{nm}.m"]] = 0.5, 0.5
    K = hardware_matrix(plan, plan.values)
    np.testing.assert_allclose(Tu @ Sv @ Tu.T, K_B * 300.0 * np.linalg.inv(K), rtol=1e-9)
    cross = Tu @ Sv @ Tm.T
    assert np.max(np.abs(cross)) < 1e-9 * np.max(np.abs(Tu @ Sv @ Tu.T))


def test_sampling_refusals():
    rng = np.random.default_rng(1)
    G = spd(6, rng, 100)
    with pytest.raises(InputError, match="cannot realize"):
        compile_matrix(G, options=CompileOptions(realization="capacitive"))
    with pytest.raises(InputError, match="not positive definite"):
        compile_matrix(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(InputError, match="not symmetric"):
        compile_matrix(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(InputError, match="resistor network cannot"):
        compile_dc(G, np.ones(6))


def test_sampling_bank_rounding():
    rng = np.random.default_rng(0)
    levels = np.array([0.0, 1.0, 2.0, 4.0])
    v = rng.random(2000) * 4
    q = quantize(v, levels, "nearest")
    assert np.all(np.abs(q - v) <= np.array([0.5, 0.5, 1.0, 1.0])[np.searchsorted(levels, v).clip(1, 3)] + 1e-12)
    qs = np.stack([quantize(v, levels, "stochastic", rng) for _ in range(400)])
    assert np.all(np.isin(qs, levels))
    # unbiased: mean error within 5 standard errors
    assert abs(float((qs.mean(0) - v).mean())) < 5 * qs.std() / np.sqrt(qs.size)
    K = 16
    st = stratified_roundings(v, levels, K, rng)
    gap = np.diff(levels)[np.searchsorted(levels, v).clip(1, 3) - 1]
    assert np.all(np.abs(st.mean(0) - v) <= gap / (2 * K) + 1e-12)


def test_sampling_dump_round_trips_bundled_netlists():
    for path in sorted(glob.glob(os.path.join(ROOT, "netlists", "*.yaml"))):
        n = load(path)
        if not all(e.TYPE in ("R", "C", "L", "K", "I") for e in n.elements):
            continue  # extension element types are emitted by their own modules
        back = loads(dumps(n), path)
        assert back == n, path
