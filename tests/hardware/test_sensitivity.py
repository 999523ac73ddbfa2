"""Exact sensitivities: every derivative matches central finite differences of the
plain per-board route (assemble + scipy), the first-order spread matches Monte Carlo
for small tolerances, and the physics of parasitics shows in the derivatives."""

from __future__ import annotations

import time

import numpy as np
import pytest
from boards import CELLS2_HOT, everything, scipy_voltage_covariance, with_tolerances
from randnet import random_netlist_yaml

from spu_emulator.circuit import assemble
from spu_emulator.errors import InputError
from spu_emulator.hardware.compiler import CompileOptions, compile_matrix
from spu_emulator.hardware.design import Design
from spu_emulator.hardware.family import BoardFamily
from spu_emulator.hardware.montecarlo import monte_carlo
from spu_emulator.hardware.sensitivity import sensitivity
from spu_emulator.netlist import load, loads
from spu_emulator.netlist.tolerance import Tolerance, Tolerances
from spu_emulator.sampling.matrices import h_matrix, m_matrix, spd

SPU8 = "netlists/spu8.yaml"


def _fd(f, fam: BoardFamily, j: int, h: float = 1e-3):
    """∂f/∂ln p_j by central differences, Richardson-extrapolated from steps h and 2h
    (truncation O(h⁴)): ((4 D_h − D_2h) / 3)."""
    def central(step):
        vp, vm = fam.nominal.copy(), fam.nominal.copy()
        vp[j] *= np.exp(step)
        vm[j] *= np.exp(-step)
        return (f(fam.netlist_for(vp)) - f(fam.netlist_for(vm))) / (2 * step)
    return (4 * central(h) - central(2 * h)) / 3


def _check_derivatives(res, f, D, fam, tol=1e-5):
    """‖D_fd − D‖ ≤ tol · max(‖D‖, 1e-4 ‖f‖): relative, except for derivatives that
    vanish (below 10⁻⁴ of the quantity itself: finite differences only see rounding)."""
    base = np.linalg.norm(f(fam.netlist))
    worst = 0.0
    for j in range(len(fam.parameters)):
        Dfd = _fd(f, fam, j)
        err = np.linalg.norm(Dfd - D[j]) / max(np.linalg.norm(D[j]), 1e-4 * base)
        worst = max(worst, err)
        assert err <= tol, (res.name, fam.names[j], err)
    return worst


NETLISTS = [f"random{s}" for s in range(22)] + ["everything", "cells2_hot"]


def _netlist(name: str):
    if name == "everything":
        return everything()
    if name == "cells2_hot":
        return loads(CELLS2_HOT)
    seed = int(name[6:])
    return loads(random_netlist_yaml(seed, temperatures=seed % 2 == 1))


@pytest.mark.parametrize("name", NETLISTS)
def test_voltage_covariance_derivatives_match_finite_differences(name):
    """22 random netlists (half of them at several temperatures, with Kron-reduced nodes
    and mutual inductances), one with every element type, one with a hot inductor series
    resistance."""
    net = _netlist(name)
    res = sensitivity(net)
    fam = BoardFamily(net)
    np.testing.assert_allclose(res.voltage_covariance, scipy_voltage_covariance(net),
                               rtol=0, atol=1e-12 * np.max(np.abs(res.voltage_covariance)))
    _check_derivatives(res, scipy_voltage_covariance, res.d_voltage_covariance, fam)


def _modes(netlist):
    """The drift's eigenvalues of one board (the plain route), computed in the SDE's
    well-scaled coordinates y = scale⁻¹ x (in volts and amperes the drift's entries span
    ~20 decades and its small real parts carry rounding of ~1e-9 relative)."""
    sde = assemble(netlist).to_sde()
    return np.linalg.eigvals(np.linalg.solve(sde.scale, sde.A @ sde.scale))


@pytest.mark.parametrize("name", ["random1", "random4", "random7", "everything", "spu8"])
def test_mode_derivatives_match_finite_differences(name):
    net = load(SPU8) if name == "spu8" else _netlist(name)
    res = sensitivity(net)
    fam = BoardFamily(net)
    lam0 = _modes(net)
    order = np.argsort(np.abs(lam0), kind="stable")
    keep = np.flatnonzero(lam0[order].imag >= 0)

    def modes(netlist):
        """ln f, ln Q of each mode matched as documented (eigenvalues folded into the
        upper half plane, sorted by |λ|, read where the nominal board has one of each
        pair), and the relaxation time."""
        lam = _modes(netlist)
        fold = lam.real + 1j * np.abs(lam.imag)
        fold = fold[np.argsort(np.abs(fold), kind="stable")][keep]
        return np.concatenate([np.log(np.abs(fold)), np.log(np.abs(fold) / (2 * np.abs(fold.real))),
                               [-1 / np.max(lam.real)]])

    np.testing.assert_allclose(np.exp(modes(net)[: keep.size]) / (2 * np.pi), res.mode_frequency,
                               rtol=1e-9)
    D = np.concatenate([res.d_log_frequency, res.d_log_q, res.d_relaxation_time[:, None]], axis=1)
    for j in range(len(fam.parameters)):
        Dfd = _fd(modes, fam, j, h=1e-4)  # near-degenerate modes: a small step
        # log-derivatives are O(1); those below 1e-4 are compared at 1e-9 absolute
        scale = np.maximum(np.abs(D[j]), 1e-4)
        scale[-1] = max(abs(D[j, -1]), 1e-4 * res.relaxation_time)
        assert np.all(np.abs(Dfd - D[j]) <= 1e-5 * scale), (name, fam.names[j])


@pytest.mark.parametrize("kind", ["capacitive", "differential", "inductive"])
def test_user_covariance_and_inverse_error_derivatives(kind):
    rng = np.random.default_rng(3)
    A = {"capacitive": m_matrix(4, rng, density=0.9, cond=20), "differential": h_matrix(4, rng),
         "inductive": spd(4, rng, 10)}[kind]
    des = compile_matrix(A, "matrix", options=CompileOptions(realization=kind))
    tol = Tolerances(classes={"C": Tolerance(0.01), "L": Tolerance(0.01), "R": Tolerance(0.02),
                              "K": Tolerance(0.005)})
    des = Design(des.netlist.replace(tolerances=tol), des.program)
    res = sensitivity(des, target=A)
    fam = BoardFamily(des.netlist)

    def user(netlist):
        sde = assemble(netlist).to_sde()
        T = des.program.readout_matrix(sde.state_names)
        return T @ sde.stationary_covariance() @ T.T

    _check_derivatives(res, user, res.d_realized_covariance, fam)
    # the inversion error is zero on the nominal board: its one-sided derivative is
    # ‖∂Σ_x/∂ln p‖ / ‖A⁻¹‖, and (1/h) inverse_error(p e^h) tends to it
    ms = res.metric("inverse_error")
    Ainv = np.linalg.inv(A)
    for j in (0, len(fam.parameters) // 2, len(fam.parameters) - 1):
        v = fam.nominal.copy()
        v[j] *= np.exp(1e-6)
        e = np.linalg.norm(user(fam.netlist_for(v)) - Ainv) / np.linalg.norm(Ainv)
        assert e / 1e-6 == pytest.approx(ms.derivative[j], rel=1e-4, abs=1e-8)


def test_smooth_metric_derivatives_match_finite_differences():
    net = everything()
    res = sensitivity(net)
    fam = BoardFamily(net)
    for name in ("max_voltage_std", "min_q", "relaxation_time"):
        ms = res.metric(name)

        def metric(netlist, name=name):
            r = monte_carlo(netlist.replace(tolerances=Tolerances()), 1)
            return np.array([r.nominal["metrics"][name]])

        base = metric(net)[0]
        for j in range(0, len(fam.parameters), 3):
            d = _fd(metric, fam, j)[0]
            assert abs(d - ms.derivative[j]) <= 1e-5 * max(abs(ms.derivative[j]), 1e-4 * abs(base)), (
                name, fam.names[j])


# ---- physics --------------------------------------------------------------------


def test_equal_temperature_covariance_does_not_depend_on_any_resistor():
    """At one temperature Cov(v) = k_B T C_N⁻¹: every R, R_L and R_switch derivative of
    the voltage covariance vanishes (the Lyapunov derivative finds it: the conductance
    and the noise terms cancel), and so does every L derivative, while the damping (Q)
    depends on the resistors; only the capacitors move the covariance."""
    text = ("format: spu-netlist/1\ntemperature: 300 K\ncells:\n"
            "  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm, R_L: 0.5 Ohm}\n"
            "  - {name: b, C: 1.5 nF, L: 2 uH, R: 2 kOhm}\n"
            "couplers:\n  - {between: [a, b], C: 100 pF, R_switch: 50 Ohm, name: sw}\n")
    res = sensitivity(loads(text))
    scale = np.max(np.abs(res.voltage_covariance))
    for j, (p, c) in enumerate(zip(res.parameters, res.classes, strict=True)):
        if c in ("R", "L"):
            assert np.max(np.abs(res.d_voltage_covariance[j])) < 1e-12 * scale, p
            assert np.max(np.abs(res.d_log_q[j])) > 1e-6, p
        else:
            assert np.max(np.abs(res.d_voltage_covariance[j])) > 1e-3 * scale, p
    j = res.parameters.index("sw.switch")
    assert np.max(np.abs(res.d_log_q[j])) > 1e-6


def test_hot_series_resistance_raises_the_covariance_as_the_lyapunov_equation_says():
    res = sensitivity(loads(CELLS2_HOT))
    j = res.parameters.index("Lh.series_R")
    d = res.d_voltage_covariance[j, 0, 0]
    assert res.voltage_covariance[0, 0] > 1.01 * 1.380649e-23 * 300 / 1e-9
    assert d != 0  # the hot resistance's noise reaches the node


# ---- first order vs Monte Carlo ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("which", ["spu8", "everything"])
def test_first_order_spread_matches_monte_carlo_for_small_tolerances(which):
    """0.1% tolerances (with lot factors): the first-order std of every voltage-covariance
    entry and of the smooth metrics is the Monte Carlo std within 10% (4000 boards: the
    sampling error of a std is ~1.1%)."""
    small = ("tolerances:\n  C: {sigma: 0.1%, lot: 0.05%}\n  L: {uniform: 0.1%}\n"
             "  R: {sigma: 0.1%, lot: 0.1%}\n  K: 0.1%\n  noise: 0.1%\n")
    net = load(SPU8).replace(tolerances=loads(with_tolerances(
        "format: spu-netlist/1\ncells:\n  - {name: a, C: 1 nF, R: 1 kOhm}\n", small)).tolerances) \
        if which == "spu8" else everything(small)
    sens = sensitivity(net)
    mc = monte_carlo(net, 4000, seed=7)
    assert mc.ok.all()
    pred = sens.first_order_covariance_std()
    got = np.std(mc.voltage_covariance, axis=0, ddof=1)
    big = pred > 1e-3 * np.max(pred)
    assert np.all(np.abs(got[big] / pred[big] - 1) < 0.1)
    for name in ("max_voltage_std", "relaxation_time", "covariance_error"):
        ms = sens.metric(name)
        v = mc.metrics[name]
        spread = np.sqrt(np.mean(v**2)) if ms.deviation else np.std(v, ddof=1)
        assert spread == pytest.approx(ms.first_order, rel=0.1), name


def test_first_order_prediction_of_the_inversion_error():
    A = spd(6, np.random.default_rng(5), 10)
    des = compile_matrix(A, "matrix")
    tol = Tolerances(classes={"L": Tolerance(0.002, lot=0.001), "K": Tolerance(0.001),
                              "C": Tolerance(0.002)})
    des = Design(des.netlist.replace(tolerances=tol), des.program)
    ms = sensitivity(des).metric("inverse_error")
    mc = monte_carlo(des, 3000, seed=2)
    rms = float(np.sqrt(np.mean(mc.metrics["inverse_error"] ** 2)))
    assert ms.deviation and rms == pytest.approx(ms.first_order, rel=0.1)
    top = ms.ranked(sensitivity(des).parameters, 3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]


def test_spu8_all_sensitivities_are_fast():
    net = load(SPU8)
    sensitivity(net)  # warm-up (imports)
    t = time.perf_counter()
    res = sensitivity(net)
    wall = time.perf_counter() - t
    assert res.d_voltage_covariance.shape == (52, 8, 8)
    assert wall < 5.0  # target ≤ 1 s (bench/bench_montecarlo.py); slack for a loaded machine


def test_bad_metric_names_the_parameter():
    res = sensitivity(load(SPU8))
    with pytest.raises(InputError, match="^metric: unknown metric 'nope'"):
        res.metric("nope")
    with pytest.raises(InputError, match="^metric: metric 'inverse_error' needs a programmed"):
        res.metric("inverse_error")
