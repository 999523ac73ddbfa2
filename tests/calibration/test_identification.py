"""Identification of hidden as-built deviations from samples: pooled coverage of the
reported standard errors over seeded trials (spu8 and programmed designs of d = 4, 8),
the model against the project's exact discretization, and an independent hand-written
exact AR(1) board recovered through the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.calibration.estimate import calibrate
from spu_emulator.calibration.model import BoardModel
from spu_emulator.calibration.samples import from_arrays
from spu_emulator.circuit.assemble import assemble
from spu_emulator.cli import main
from spu_emulator.hardware.compiler import CompileOptions, compile_matrix
from spu_emulator.hardware.family import BoardFamily
from spu_emulator.integrate.simulate import simulate
from spu_emulator.netlist import load
from spu_emulator.netlist.tolerance import Tolerance, Tolerances
from spu_emulator.units import K_B

NETLISTS = Path(__file__).resolve().parents[2] / "netlists"


def _target(d, seed):
    rng = np.random.default_rng(seed)
    W = np.triu(rng.uniform(0.1, 1.0, (d, d)), 1)
    W = W + W.T
    return np.diag(W.sum(1) + rng.uniform(0.5, 1.5, d)) - W


def _trial(netlist, h, n, chains, seed, c_sigma):
    tol = Tolerances(classes={"C": Tolerance(c_sigma), "L": Tolerance(0.01), "R": Tolerance(0.01)})
    fam = BoardFamily(netlist.replace(tolerances=tol))
    values = fam.draw(seed, 0, 1)[0]
    sde = assemble(fam.netlist_for(values)).to_sde()
    tr = simulate(sde, "exact", 0.0, n * h, h, seed + 1000, chains=chains, x0="stationary")
    s = from_arrays(tr.t, tr.states[..., : sde.n_voltage], sde.node_names)
    cal = calibrate(s, netlist, goodness_of_fit=False)
    return (np.log(values / cal.nominal) - cal.theta) / cal.theta_se


def test_model_matches_the_projects_exact_transition():
    nl = load(NETLISTS / "spu8.yaml")
    m = BoardModel(nl, 1e-7)
    d = m.discrete(np.zeros(m.P), derivatives=False)
    F, Q = assemble(nl).to_sde().transition(1e-7)
    sg = m.sigma
    assert np.allclose(d.F, F / sg[:, None] * sg[None, :], atol=1e-12)
    assert np.allclose(d.Q, Q / np.outer(sg, sg), atol=1e-12)


def test_complex_step_derivatives_match_differences():
    nl = load(NETLISTS / "spu8.yaml")
    m = BoardModel(nl, 1e-7)
    th = np.random.default_rng(0).normal(0, 0.03, m.P)
    d = m.discrete(th)
    for j in (0, 1, 2, 30):
        e = np.zeros(m.P)
        e[j] = 1e-6
        dp, dm = m.discrete(th + e, False), m.discrete(th - e, False)
        assert np.allclose((dp.F - dm.F) / 2e-6, d.dF[j], atol=1e-6 * np.abs(d.dF[j]).max())
        assert np.allclose((dp.Q - dm.Q) / 2e-6, d.dQ[j], atol=1e-6 * np.abs(d.dQ[j]).max())


def test_pooled_coverage_of_fifty_seeded_trials():
    """50 trials: 5 × spu8, 5 × programmed d = 8, 40 × programmed d = 4, hidden C and
    coupler deviations of 2, 3.5 or 5% and 1% on L and R. Pooled z-scores: ≥ 95% within
    3 SE and 68% ± 10% within 1 SE (≈ 1240 values: the binomial SE of the fraction is
    1.3%, so ± 10% also covers the within-trial correlation of estimates)."""
    sig = (0.02, 0.035, 0.05)
    z = []
    spu8 = load(NETLISTS / "spu8.yaml")
    for k in range(5):
        z.append(_trial(spu8, 1e-7, 16384, 4, 100 + k, sig[k % 3]))
    for d, count, n in ((8, 5, 8192), (4, 40, 4096)):
        for k in range(count):
            des = compile_matrix(_target(d, 7 * d + k), "matrix", options=CompileOptions())
            nl = des.netlist
            lam = assemble(nl).to_sde().eigenvalues()
            h = 2 * np.pi / np.max(np.abs(lam)) / 6  # 3× the Nyquist rate of the fastest mode
            z.append(_trial(nl, h, n, 4, 1000 * d + k, sig[k % 3]))
    z = np.concatenate(z)
    assert z.size >= 1200
    within3 = np.mean(np.abs(z) < 3)
    within1 = np.mean(np.abs(z) < 1)
    assert within3 >= 0.95, within3
    assert abs(within1 - 0.68) <= 0.10, within1


def _hand_board():
    """Two RLC cells joined by a coupler, in SI: C_N, L, R by hand."""
    C1, C2, Cc = 1.05e-9, 0.93e-9, 0.21e-9
    L1, L2 = 1.52e-6, 1.97e-6
    R1, R2 = 1.01e3, 1.22e3
    return C1, C2, Cc, L1, L2, R1, R2


def test_independent_exact_ar1_board_is_recovered(tmp_path):
    import scipy.linalg as sla

    C1, C2, Cc, L1, L2, R1, R2 = _hand_board()
    T = 300.0
    kT = K_B * T
    CN = np.array([[C1 + Cc, -Cc], [-Cc, C2 + Cc]])
    M = np.diag([0, 0, L1, L2]).astype(float)
    M[:2, :2] = CN
    K = np.zeros((4, 4))
    K[0, 0], K[1, 1] = 1 / R1, 1 / R2
    K[0, 2] = K[1, 3] = 1.0   # C dv = −G v − i_L
    K[2, 0] = K[3, 1] = -1.0  # L di = v
    A = -np.linalg.solve(M, K)
    h = 1e-7
    F = sla.expm(A * h)
    Sig = kT * np.linalg.inv(M)          # Boltzmann covariance (one temperature)
    Q = Sig - F @ Sig @ F.T              # exact one-step noise
    Lq = np.linalg.cholesky(0.5 * (Q + Q.T))
    Ls = np.linalg.cholesky(Sig)
    rng = np.random.default_rng(42)
    chains, n = 8, 16384
    x = rng.standard_normal((chains, 4)) @ Ls.T
    v = np.empty((chains, n, 2))
    for k in range(n):
        v[:, k] = x[:, :2]
        x = x @ F.T + rng.standard_normal((chains, 4)) @ Lq.T
    samples = tmp_path / "ar1.npz"
    np.savez(samples, t=np.arange(n) * h, v=v, nodes=np.array(["a", "b"]))
    design = tmp_path / "pair.yaml"
    design.write_text(
        "format: spu-netlist/1\nname: pair\ntemperature: 300 K\ncells:\n"
        "  - {name: a, C: 1 nF, L: 1.5 uH, R: 1 kOhm}\n"
        "  - {name: b, C: 0.9 nF, L: 2 uH, R: 1.2 kOhm}\n"
        "couplers:\n  - {between: [a, b], C: 200 pF}\n")
    out = tmp_path / "cal.yaml"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["calibrate", str(samples), "--design", str(design), "-o", str(out), "--json"])
    assert rc == 0
    rep = json.loads(buf.getvalue())
    truth = {"a.C": C1, "b.C": C2, "a-b.C": Cc, "a.L": L1, "b.L": L2, "a.R": R1, "b.R": R2}
    assert set(truth) == set(rep["parameters"])
    for name, val in truth.items():
        p = rep["parameters"][name]
        assert abs(p["estimate"] - val) < 4 * p["stderr"], (name, p, val)
        assert p["stderr"] < 0.05 * val
    assert rep["fit"]["goodness_of_fit"]["p_value"] > 1e-4
    assert out.exists()


@pytest.mark.parametrize("seed", [5])
def test_a_well_fitted_board_passes_and_a_wrong_design_fails_goodness_of_fit(seed):
    spu8 = load(NETLISTS / "spu8.yaml")
    fam = BoardFamily(spu8)
    sde = assemble(spu8).to_sde()
    tr = simulate(sde, "exact", 0.0, 16384e-7, 1e-7, seed, chains=4, x0="stationary")
    v = tr.states[..., :8]
    ok = calibrate(from_arrays(tr.t, v, sde.node_names), spu8)
    assert ok.fit["goodness_of_fit"]["p_value"] > 1e-3
    # readings with white noise the design's readout does not have (30% of the rms):
    # no component values reproduce a flat floor under the resonances
    noisy = v + 0.3 * v.std() * np.random.default_rng(seed).standard_normal(v.shape)
    bad = calibrate(from_arrays(tr.t, noisy, sde.node_names), spu8)
    assert bad.fit["goodness_of_fit"]["p_value"] < 1e-6
    del fam
