"""The Board's stepping: equilibrium transition vs the general Van Loan one, the
gather readout vs the readout matrix, equilibrium vs simulated burn-in starts."""

from __future__ import annotations

import numpy as np
import pytest

from spu_emulator.circuit.assemble import assemble
from spu_emulator.hardware.compiler import CompileOptions, compile_matrix
from spu_emulator.sampling.engine import Board, Readout, equilibrium_transition
from spu_emulator.sampling.matrices import h_matrix, m_matrix, spd


def _designs():
    rng = np.random.default_rng(42)
    yield compile_matrix(m_matrix(6, rng, cond=50), "matrix", options=CompileOptions(inductance=None))
    yield compile_matrix(m_matrix(5, rng, cond=20), "matrix", options=CompileOptions(inductance=1e-6))
    yield compile_matrix(h_matrix(5, rng), "matrix", options=CompileOptions(inductance=None))
    yield compile_matrix(spd(6, rng, 100), "matrix", options=CompileOptions(inductance=None))


@pytest.mark.parametrize("design", list(_designs()), ids=lambda d: d.program.realization)
@pytest.mark.parametrize("factor", [0.01, 1.0, 7.0])
def test_sampling_equilibrium_transition_matches_van_loan(design, factor):
    sde = assemble(design.netlist).to_sde()
    h = factor * sde.relaxation_time()
    F, Lq, Lz = equilibrium_transition(sde, h)
    F0, Q0 = sde.transition(h)
    assert np.allclose(F, F0, rtol=0, atol=1e-9 * np.max(np.abs(F0)))
    Q = Lq @ Lq.T
    assert np.linalg.norm(Q - Q0) <= 1e-9 * np.linalg.norm(Q0)
    S = sde.boltzmann_covariance()
    assert np.linalg.norm(Lz @ Lz.T - S) <= 1e-12 * np.linalg.norm(S)


@pytest.mark.parametrize("design", list(_designs()), ids=lambda d: d.program.realization)
def test_sampling_gather_readout_equals_readout_matrix(design):
    sde = assemble(design.netlist).to_sde()
    T = design.program.readout_matrix(sde.state_names)
    ro = Readout.from_design(design, sde.state_names)
    x = np.random.default_rng(0).standard_normal((3, 4, sde.dim))
    assert np.allclose(ro.apply(x, ro.scale), x @ T.T, rtol=1e-12, atol=0)


def test_sampling_equilibrium_start_only_after_a_long_burn_in():
    des = next(_designs())
    b = Board(des, seed=0, chains=16, groups=4)
    assert b.equilibrium_start and b.emulated_time == pytest.approx(15 * b.tau)
    b0 = Board(des, seed=0, chains=16, groups=4, burn_in=0.0)
    assert not b0.equilibrium_start and not np.any(b0.x)
    short = Board(des, seed=0, chains=16, groups=4, burn_in=3 * b.tau)
    assert not short.equilibrium_start
    # three relaxation times from zero: the variance deficit e^{-6} per mode is visible
    # only statistically; the state has moved off zero
    assert np.any(short.x)
    for bd in (b, b0, short):
        bd.close()


def test_sampling_board_moments_match_exact_covariance():
    """Equilibrium start + exact steps: the second moment of 128 chains × 400 samples
    is within 5 batch-means standard errors of the exact covariance, entrywise."""
    des = compile_matrix(spd(6, np.random.default_rng(3), 30), "matrix", options=CompileOptions(inductance=None))
    b = Board(des, seed=1, dtype=np.float64)
    b.advance(400)
    S, per = b.moments.second_moment()
    se = per.std(axis=0, ddof=1) / np.sqrt(b.groups)
    exact = des.exact_covariance()
    assert np.max(np.abs(S - exact) / se) < 5
    b.close()
