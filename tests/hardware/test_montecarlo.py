"""Monte Carlo over as-built boards: the batched matrices are the assembler's, each
board's covariance is scipy's, the spread over boards agrees with an independent draw
within its sampling error, the bytes do not depend on batching, failed boards are
reported, and the physics of parasitics holds."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from boards import (
    CELLS2,
    CELLS2_HOT,
    EVERYTHING,
    draw_independently,
    everything,
    parameters,
    scipy_voltage_covariance,
    with_tolerances,
)
from randnet import random_netlist_yaml

from spu_emulator.circuit import assemble
from spu_emulator.errors import InputError
from spu_emulator.hardware.compiler import compile_matrix
from spu_emulator.hardware.design import Design
from spu_emulator.hardware.family import BoardFamily
from spu_emulator.hardware.lyapunov import solve_batched
from spu_emulator.hardware.montecarlo import evaluate, monte_carlo
from spu_emulator.io import save_npz
from spu_emulator.netlist import load, loads
from spu_emulator.netlist.tolerance import Tolerance, Tolerances
from spu_emulator.sampling.matrices import m_matrix, spd
from spu_emulator.units import K_B

SPU8 = "netlists/spu8.yaml"


def _random_with_tolerances(seed: int):
    return loads(with_tolerances(random_netlist_yaml(seed, temperatures=seed % 2 == 1)))


@pytest.mark.parametrize("seed", range(12))
def test_batched_matrices_are_the_assemblers(seed):
    """M, K and N Nᵀ of the nominal board, built by the batched recorder, equal
    assemble()'s (Kron reduction, mutual inductance, series resistances included)."""
    net = everything() if seed == 0 else _random_with_tolerances(seed)
    fam = BoardFamily(net)
    c = fam.circuit
    M, K, Q = (X[0] for X in fam.matrices(fam.nominal[None]))
    for a, b in ((M, c.M), (K, c.K), (Q, c.N @ c.N.T)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14 * np.max(np.abs(b)))


def test_parameters_name_every_value_once():
    fam = BoardFamily(everything())
    names = fam.names
    assert len(set(names)) == len(names)
    assert {"a.C", "a.L", "a.L.series_R", "couplers[0]", "couplers[0].switch",
            "couplers[0].C_ground[0]", "parasitics.stray_k[0]", "K1", "I1", "N1",
            "L9.series_R"} <= set(names)
    assert len(names) == len(parameters(fam.netlist))
    # an override by name acts on the main value only
    p = {q.name: q for q in fam.parameters}
    assert p["C9"].tolerance.sigma == 0.08 and p["L9.series_R"].tolerance.sigma == 0.05


def test_each_board_is_scipys_board():
    """Every board's covariance equals scipy's Lyapunov solution of that board's own
    netlist (built from the drawn values), equilibrium and not."""
    for net in (everything(), load(SPU8).replace(tolerances=everything().tolerances)):
        res = monte_carlo(net, 40, seed=5)
        fam = BoardFamily(net)
        assert res.ok.all()
        for b in range(0, 40, 3):
            S = scipy_voltage_covariance(fam.netlist_for(res.element_values[b]))
            np.testing.assert_allclose(res.voltage_covariance[b], S, rtol=0,
                                       atol=1e-11 * np.max(np.abs(S)))


def test_draws_follow_the_documented_streams():
    """Board i takes raw outputs iK … (i+1)K − 1 of PCG64(SeedSequence(seed)), K = 5 + P,
    each r giving u = (⌊r/2¹²⌋ + ½) 2⁻⁵²: lot normals Φ⁻¹(u) per class (C, L, R, K,
    noise), then per value Φ⁻¹(u) (Gaussian) or 2u − 1 (uniform); the lot factor is
    common to a class on one board."""
    from scipy.stats import norm

    net = everything()
    fam = BoardFamily(net)
    P = len(fam.names)
    v = fam.draw(11, 0, 6)
    raw = np.random.PCG64(np.random.SeedSequence(11)).random_raw(6 * (5 + P))
    u = ((raw[4 * (5 + P):5 * (5 + P)] >> np.uint64(12)).astype(float) + 0.5) / 2.0**52
    tb, tr = 330.0, 300.0
    for j, (e, field, cls, t) in enumerate(parameters(net)):
        x = norm.ppf(u[5 + j]) if t.distribution == "gaussian" else 2 * u[5 + j] - 1
        lot = norm.ppf(u[("C", "L", "R", "K", "noise").index(cls)])
        want = getattr(e, field) * (1 + t.lot * lot) * (1 + t.sigma * x) * (1 + t.tempco * (tb - tr))
        assert v[4, j] == pytest.approx(want, rel=1e-13)
    # any slice of boards is the same boards
    for a, b in ((0, 6), (4, 5), (2, 6), (5, 6)):
        np.testing.assert_array_equal(fam.draw(11, a, b), v[a:b])
    # the spread is the documented one (10,000 boards)
    big = fam.draw(3, 0, 10_000)
    rel = big / fam.nominal - 1
    p = {q.name: j for j, q in enumerate(fam.parameters)}
    assert np.std(rel[:, p["C9"]]) == pytest.approx(0.08, rel=0.05)  # its override: no lot
    assert np.std(rel[:, p["a.C"]]) == pytest.approx(np.hypot(0.02, 0.01), rel=0.05)
    lotC = np.corrcoef(rel[:, p["a.C"]], rel[:, p["b.C"]])[0, 1]
    assert lotC == pytest.approx(0.01**2 / (0.02**2 + 0.01**2), abs=0.05)
    # L: uniform ±3%, no lot, 200 ppm/K at 30 K above the reference
    x = big[:, p["a.L"]] / (fam.nominal[p["a.L"]] * (1 + 200e-6 * 30)) - 1
    assert np.max(np.abs(x)) <= 0.03 and np.std(x) == pytest.approx(0.03 / np.sqrt(3), rel=0.05)


def test_same_seed_same_bytes_whatever_the_chunking(tmp_path):
    net = everything()
    blobs = set()
    for chunk, workers in ((1, 1), (7, 2), (1000, 1), (13, 3)):
        res = monte_carlo(net, 60, seed=42, chunk=chunk, workers=workers)
        f = tmp_path / f"c{chunk}.npz"
        save_npz(f, **res.arrays())
        blobs.add(f.read_bytes())
    assert len(blobs) == 1
    other = monte_carlo(net, 60, seed=43)
    assert not np.array_equal(other.element_values, res.element_values)
    # the first boards of a longer run are the boards of a shorter one
    longer = monte_carlo(net, 90, seed=42, chunk=17)
    assert np.array_equal(longer.element_values[:60], res.element_values)
    assert np.array_equal(longer.voltage_covariance[:60], res.voltage_covariance)


def _stats_agree(X: np.ndarray, Y: np.ndarray, k: float = 5.0) -> None:
    """Entry by entry: means within k standard errors, variances within k standard
    errors of the sample variance (SE² = (m₄ − s⁴)/N, valid for any distribution)."""
    n1, n2 = len(X), len(Y)
    m1, m2 = X.mean(0), Y.mean(0)
    v1, v2 = X.var(0, ddof=1), Y.var(0, ddof=1)
    assert np.all(np.abs(m1 - m2) <= k * np.sqrt(v1 / n1 + v2 / n2) + 1e-300)
    se = lambda Z, v, n: np.sqrt(np.maximum(np.mean((Z - Z.mean(0)) ** 4, 0) - v * v, 0) / n)  # noqa: E731
    assert np.all(np.abs(v1 - v2) <= k * np.sqrt(se(X, v1, n1) ** 2 + se(Y, v2, n2) ** 2) + 1e-300)
    assert np.all(v1 > 0)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["everything", "spu8"])
def test_spread_agrees_with_an_independent_monte_carlo(which):
    """≥ 2000 boards: the mean and the spread of every voltage-covariance entry agree
    with boards drawn independently (our own generator, the documented formula) and
    solved one by one by scipy, within their sampling errors."""
    N = 2000
    if which == "everything":
        net = everything()
    else:
        net = load(SPU8).replace(tolerances=loads(with_tolerances(
            EVERYTHING, "tolerances: {C: {sigma: 2%, lot: 1%}, L: {uniform: 3%}, R: 5%}\n")
        ).tolerances)
    res = monte_carlo(net, N, seed=2024)
    assert res.ok.all()
    ref = np.array([scipy_voltage_covariance(b)
                    for b in draw_independently(net, N, np.random.default_rng(99))])
    _stats_agree(res.voltage_covariance, ref)


def test_equal_temperature_is_kT_over_C():
    net = load(SPU8).replace(tolerances=Tolerances(classes={"C": Tolerance(0.05)}))
    res = monte_carlo(net, 30, seed=1)
    fam = BoardFamily(net)
    for b in range(30):
        c = assemble(fam.netlist_for(res.element_values[b]))
        np.testing.assert_allclose(res.voltage_covariance[b], K_B * 300 * np.linalg.inv(c.C),
                                   rtol=1e-12)
    assert res.equilibrium and res.summary()["method"].startswith("k_B T")


def test_tempco_shifts_every_board_by_the_same_factor():
    text = with_tolerances(EVERYTHING, "tolerances:\n  C: {tempco: 100 ppm/K}\n"
                           "  board_temperature: 350 K\n  reference_temperature: 300 K\n")
    res = monte_carlo(loads(text), 3, seed=0)
    fam = BoardFamily(loads(text))
    is_c = np.array([c == "C" for c in fam.classes])
    np.testing.assert_allclose(res.element_values[:, is_c],
                               np.tile(fam.nominal[is_c] * (1 + 1e-4 * 50), (3, 1)), rtol=1e-15)
    np.testing.assert_array_equal(res.element_values[:, ~is_c], np.broadcast_to(
        fam.nominal[~is_c], (3, int(np.sum(~is_c)))))


def test_failed_boards_and_their_reasons():
    # a 40% Gaussian spread draws negative values now and then
    net = load(SPU8).replace(tolerances=Tolerances(classes={"C": Tolerance(0.4)}))
    res = monte_carlo(net, 400, seed=3)
    f = res.failed()
    assert f["count"] > 0 and "at or below zero" in next(iter(f["reasons"]))
    assert np.all(np.isnan(res.voltage_covariance[~res.ok]))
    assert np.all(np.isnan(res.metrics["covariance_error"][~res.ok]))
    assert res.yield_("covariance_error < 10")["passed"] == res.boards - f["count"]
    # strong mutual couplings: L not positive definite on some boards
    text = ("format: spu-netlist/1\ntolerances: {K: 30%}\ncells:\n"
            "  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm}\n  - {name: b, C: 1 nF, L: 1 uH, R: 1 kOhm}\n"
            "  - {name: c, C: 1 nF, L: 1 uH, R: 1 kOhm}\nelements:\n"
            "  - {name: K1, type: K, inductors: [a.L, b.L], k: 0.7}\n"
            "  - {name: K2, type: K, inductors: [b.L, c.L], k: 0.7}\n")
    res = monte_carlo(loads(text), 300, seed=1)
    assert "the inductance matrix L is not positive definite" in res.failed()["reasons"]
    # a board whose drift is not Hurwitz: two identical LC cells joined by a resistor
    # (their common mode draws no current through it)
    text = ("format: spu-netlist/1\ncells:\n  - {name: a, C: 1 nF, L: 1 uH}\n"
            "  - {name: b, C: 2 nF, L: 1 uH}\ncouplers:\n  - {between: [a, b], R: 1 kOhm}\n")
    fam = BoardFamily(loads(text))
    v = fam.nominal.copy()
    v[fam.names.index("b.C")] = v[fam.names.index("a.C")]
    assert evaluate(fam, np.stack([fam.nominal, v])).failure.tolist() == [0, 4]


def test_batched_lyapunov_falls_back_where_the_eigenvectors_are_poor():
    """A defective drift (a Jordan block: critical damping) is caught by the backward
    error and solved by scipy; the others stay batched."""
    import scipy.linalg as sla

    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6, 6)) - 4 * np.eye(6)
    A[2] = np.kron(np.eye(3), np.array([[-1.0, 1.0], [0.0, -1.0]]))
    N = rng.standard_normal((6, 6, 6))
    Q = N @ N.swapaxes(1, 2)
    X, fallbacks = solve_batched(A, Q)
    assert fallbacks >= 1
    for b in range(6):
        ref = sla.solve_continuous_lyapunov(A[b], -Q[b])
        np.testing.assert_allclose(X[b], ref, atol=1e-12 * np.max(np.abs(ref)))


# ---- physics of parasitics ---------------------------------------------------------



def test_switch_resistance_changes_damping_not_the_equilibrium_covariance():
    text = CELLS2 + ("couplers:\n  - {between: [a, b], C: 100 pF, R_switch: 50 Ohm, name: sw}\n"
                     "tolerances: {elements: {sw.switch: 40%}}\n")
    net = loads(text)
    res = monte_carlo(net, 300, seed=4)
    ok = res.ok
    V = res.voltage_covariance[ok]
    assert np.max(np.abs(V - res.nominal["voltage_covariance"])) < 1e-12 * np.max(np.abs(V))
    # the damping moves: the switch's own RC mode by ~40%, the cells' Q a little
    spread = lambda X: np.std(X[ok], axis=0) / np.mean(X[ok], axis=0)  # noqa: E731
    assert np.max(spread(res.mode_frequency)) > 0.2
    q = res.mode_q[ok]
    assert np.max(spread(res.mode_q)[np.mean(q, 0) > 1]) > 1e-5
    # and the covariance is kT C_N⁻¹ of the capacitances alone
    C = assemble(net).C
    np.testing.assert_allclose(res.nominal["voltage_covariance"], K_B * 300 * np.linalg.inv(C),
                               rtol=1e-12)


def test_inductor_series_resistance_at_the_bath_keeps_kT_over_C_a_hot_one_raises_it():
    cold = loads(CELLS2 + "tolerances: {elements: {a.L: 1%}}\n")
    res = monte_carlo(cold, 50, seed=0)
    np.testing.assert_allclose(res.voltage_covariance[:, 0, 0], K_B * 300 / 1e-9, rtol=1e-12)
    hot = loads(CELLS2_HOT)
    res = monte_carlo(hot, 50, seed=0)
    va = res.voltage_covariance[:, 0, 0]
    assert np.all(va > 1.01 * K_B * 300 / 1e-9)  # the hot resistance heats the cell
    fam = BoardFamily(hot)
    for b in range(0, 50, 7):  # by exactly what the Lyapunov equation says
        S = scipy_voltage_covariance(fam.netlist_for(res.element_values[b]))
        assert va[b] == pytest.approx(S[0, 0], rel=1e-11)


# ---- programmed designs ----------------------------------------------------------------


def _design(kind: str, d: int, tol: Tolerances):
    A = m_matrix(d, np.random.default_rng(7), density=0.8, cond=30) if kind == "capacitive" \
        else spd(d, np.random.default_rng(7), 10)
    des = compile_matrix(A, "matrix")
    return Design(des.netlist.replace(tolerances=tol), des.program), A


@pytest.mark.parametrize("kind", ["capacitive", "inductive"])
def test_programmed_design_realized_matrix_and_inverse_error(kind):
    tol = Tolerances(classes={"C": Tolerance(0.01), "L": Tolerance(0.01), "K": Tolerance(0.005)})
    des, A = _design(kind, 6, tol)
    assert des.program.realization == kind
    res = monte_carlo(des, 200, seed=9, target=A)
    Ainv = np.linalg.inv(A)
    np.testing.assert_allclose(res.nominal["realized_covariance"], Ainv, rtol=1e-9)
    fam = BoardFamily(des.netlist)
    for b in (0, 17, 133):
        sde = assemble(fam.netlist_for(res.element_values[b])).to_sde()
        T = des.program.readout_matrix(sde.state_names)
        Sx = T @ sde.stationary_covariance() @ T.T
        np.testing.assert_allclose(res.realized_covariance[b], Sx, rtol=1e-10, atol=1e-12 * np.max(Sx))
        Pm = np.linalg.inv(Sx)
        np.testing.assert_allclose(res.realized_matrix[b], Pm, rtol=0, atol=1e-9 * np.max(np.abs(Pm)))
        err = np.linalg.norm(Sx - Ainv) / np.linalg.norm(Ainv)
        assert res.metrics["inverse_error"][b] == pytest.approx(err, rel=1e-8)
    assert res.nominal["metrics"]["inverse_error"] < 1e-9
    y = res.yield_("inverse_error < 0.05 and matrix_error <= 50%")
    assert 0 <= y["interval"][0] <= y["yield"] <= y["interval"][1] <= 1
    # without --target the nominal board is the target (exact for an unquantized compile)
    res2 = monte_carlo(des, 200, seed=9)
    np.testing.assert_allclose(res2.metrics["inverse_error"], res.metrics["inverse_error"],
                               rtol=1e-6, atol=1e-12)


def test_bad_input_is_one_line():
    net = load(SPU8)
    with pytest.raises(InputError, match="no 'tolerances:' section"):
        monte_carlo(net, 10)
    tnet = net.replace(tolerances=Tolerances(classes={"C": Tolerance(0.01)}))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="^boards: "):
            monte_carlo(tnet, bad)
    with pytest.raises(InputError, match="^chunk: "):
        monte_carlo(tnet, 3, chunk=0)
    nonlinear = loads("format: spu-netlist/1\nelements:\n"
                      "  - {name: N, type: NC, nodes: [a, gnd], J2: 5e11}\n"
                      "  - {name: R, type: R, nodes: [a, gnd], value: 1 kOhm}\n"
                      "tolerances: {R: 1%}\n")
    with pytest.raises(InputError, match="linear netlist"):
        monte_carlo(nonlinear, 3)
    des, A = _design("capacitive", 4, Tolerances(classes={"C": Tolerance(0.01)}))
    with pytest.raises(InputError, match="^target: expected a 4 x 4"):
        monte_carlo(des, 3, target=np.eye(3))


def test_npz_is_a_plain_archive(tmp_path):
    res = monte_carlo(everything(), 5, seed=1)
    f = tmp_path / "a.npz"
    save_npz(f, **res.arrays())
    with zipfile.ZipFile(io.BytesIO(f.read_bytes())) as z:
        assert "element_names.npy" in z.namelist()
    d = np.load(f, allow_pickle=False)
    assert d["voltage_covariance"].shape == (5, len(res.nodes), len(res.nodes))
    assert d["element_values"].shape == (5, len(d["element_names"]))
    assert list(d["element_names"]) == list(res.parameters)
