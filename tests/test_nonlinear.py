"""Nonlinear elements (NC, RB, EC): parsing, Boltzmann statistics, Euler order."""

from pathlib import Path

import numpy as np
import pytest

from spu_emulator.circuit import assemble
from spu_emulator.cli import main
from spu_emulator.integrate import SaveAt, simulate
from spu_emulator.netlist import load, loads
from spu_emulator.sampling.estimators import covariance_with_errors
from spu_emulator.units import K_B

ROOT = Path(__file__).resolve().parent.parent


def boltzmann_moments(J2, J4, Jab, kT, span=6e-16, m=1201):
    g = np.linspace(-span, span, m)
    Q1, Q2 = np.meshgrid(g, g, indexing="ij")
    E = J2[0] * Q1**2 + J4[0] * Q1**4 + J2[1] * Q2**2 + J4[1] * Q2**4 + Jab * Q1 * Q2
    w = np.exp(-(E - E.min()) / kT)
    w /= w.sum()
    return np.array(
        [[(w * Q1 * Q1).sum(), (w * Q1 * Q2).sum()], [(w * Q1 * Q2).sum(), (w * Q2 * Q2).sum()]]
    )


def test_nonlinear_pair_is_boltzmann():
    nl = load(f"{ROOT}/netlists/nonlinear_pair.yaml")
    assert not nl.is_linear
    sde = assemble(nl).to_sde()
    h = sde.default_dt()
    tr = simulate(
        sde,
        "euler",
        0,
        40000 * h,
        h,
        21,
        chains=512,
        x0="zeros",
        save=SaveAt(every=10, t_start=4000 * h),
    )
    est = covariance_with_errors(tr.states)
    ref = boltzmann_moments(sde.J2, sde.J4, sde.Jc[0, 1], K_B * 300)
    # Euler's O(h) bias at the default step is ~0.5 %: allow it beside 4.5 standard errors
    tol = 4.5 * est.stderr + 0.01 * np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    assert np.all(np.abs(est.covariance - ref) < tol), (est.covariance, ref, est.stderr)
    assert np.all(np.abs(est.mean) < 4.5 * est.mean_stderr + 1e-19)


def test_energy_and_voltage_are_consistent():
    sde = assemble(load(f"{ROOT}/netlists/nonlinear_pair.yaml")).to_sde()
    q = np.random.default_rng(0).standard_normal((5, 2)) * 1e-16
    eps = 1e-22
    for i in range(2):
        dq = np.zeros(2)
        dq[i] = eps
        fd = (sde.energy(q + dq) - sde.energy(q - dq)) / (2 * eps)
        assert np.allclose(sde.voltage(q)[:, i], fd, rtol=1e-6)


def test_pwl_bias_drives_the_mean():
    """A bias ramp pulls the charge: with couplings off the mean follows the
    linear relaxation dq̄/dt = −(2 J2 q̄ − V_b(t))/R at small amplitude."""
    y = """format: spu-netlist/1
temperature: 0 K
elements:
  - {name: N, type: NC, nodes: [a, gnd], J2: 5e11}
  - {name: R, type: RB, nodes: [a, gnd], value: 1 kOhm, bias: {pwl: [[0, 1 V], [2 ns, 1 V], [4 ns, 0 V]]}}
"""
    sde = assemble(loads(y)).to_sde()
    tr = simulate(sde, "euler", 0, 8e-9, 1e-13, 0, chains=1, x0="zeros")
    q = tr.states[0, :, 0]
    t = tr.t
    # at 2 ns (20 time constants of 1e-10 s... RC = 1 kOhm * 1 pF = 1 ns) q ≈ C V (1 − e^{−2})
    C = 1 / (2 * 5e11)
    assert q[np.searchsorted(t, 2e-9)] == pytest.approx(C * (1 - np.exp(-2)), rel=2e-3)
    assert abs(q[-1]) < C * 0.1


def test_euler_weak_order_on_quartic_well():
    """Euler's weak error in ⟨q²⟩(T) of a quartic well is O(h): with coupled
    Brownian paths (coarse increments are sums of fine ones), the differences
    ⟨q²⟩_h − ⟨q²⟩_{h/2} ≈ c h/2 shrink with slope 1 ± 0.3 in log–log."""
    from spu_emulator.integrate import EulerMaruyama

    y = """format: spu-netlist/1
elements:
  - {name: N, type: NC, nodes: [a, gnd], J2: 5e11, J4: 5e42}
  - {name: R, type: RB, nodes: [a, gnd], value: 1 kOhm}
"""
    sde = assemble(loads(y)).to_sde()
    rate = 2 * 5e11 / 1e3
    h0, levels, chains = 0.0125 / rate, 5, 100_000
    fine_steps = int(round(4 / rate / h0))
    Z = np.random.default_rng(77).standard_normal((fine_steps, chains, 1))
    q0 = np.full((chains, 1), 3e-16)  # start out of equilibrium, in the quartic part
    m2 = []
    for lev in range(levels):
        k = 2**lev
        Zc = Z.reshape(fine_steps // k, k, chains, 1).sum(axis=1) / np.sqrt(k)

        class Fixed:
            i = 0
            normals = Zc

            def draw(self, m, prefetch=None):
                self.i += m
                return self.normals[self.i - m : self.i]

        integ = EulerMaruyama()
        plan = integ.init(sde, h0 * k)
        out = np.empty((chains, fine_steps // k, 1))
        integ.run(plan, q0, fine_steps // k, Fixed(), 0.0, h0 * k, out)
        m2.append(np.mean(out[:, -1, 0] ** 2))
    hs = h0 * 2 ** np.arange(levels)
    diffs = np.abs(np.diff(m2))  # |m(2h) − m(h)| for h = hs[:-1]
    slope = np.polyfit(np.log(hs[:-1]), np.log(diffs), 1)[0]
    assert 0.7 <= slope <= 1.3, (slope, m2)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("  - {name: N, type: NC, nodes: [gnd, a], J2: 5e11}\n", "nodes: [node, gnd]"),
        ("  - {name: N, type: NC, nodes: [a, gnd], J2: -5e11}\n", "J2 must be positive"),
        ("  - {name: N, type: NC, nodes: [a, gnd], J2: 1, J4: -1}\n", "non-negative"),
        (
            "  - {name: N, type: NC, nodes: [a, gnd], J2: 1}\n  - {name: E, type: EC, nodes: [a, gnd], J: 1}\n",
            "not ground",
        ),
        (
            "  - {name: N, type: NC, nodes: [a, gnd], J2: 1}\n  - {name: R, type: RB, nodes: [a, gnd], value: 1k, bias: {pwl: [[1, 0], [0, 1]]}}\n",
            "must increase",
        ),
        (
            "  - {name: N, type: NC, nodes: [a, gnd], J2: 1}\n  - {name: R, type: RB, nodes: [a, gnd], value: 1k, bias: 3 A}\n",
            "does not fit",
        ),
        (
            "  - {name: N, type: NC, nodes: [a, gnd], J2: 1}\n  - {name: R, type: RB, nodes: [a, gnd], value: 1k}\n"
            "  - {name: C, type: C, nodes: [a, gnd], value: 1p}\n",
            "type NC",
        ),
    ],
)
def test_bad_nonlinear_netlists(tmp_path, capsys, text, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "format: spu-netlist/1\nelements:\n"
        + text
        + "  - {name: Rz, type: R, nodes: [a, gnd], value: 1k}\n"
    )
    argv = ["simulate", str(f), "--duration", "1n", "--out", str(tmp_path / "x.npz")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_nonlinear_cli_simulate(tmp_path, capsys):
    out = tmp_path / "nl.npz"
    assert (
        main(
            [
                "simulate",
                f"{ROOT}/netlists/nonlinear_pair.yaml",
                "--duration",
                "20ns",
                "--chains",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    d = np.load(out)
    assert list(d["state_names"]) == ["q(a)", "q(b)"] and str(d["method"]) == "euler"
    assert (
        main(
            [
                "simulate",
                f"{ROOT}/netlists/nonlinear_pair.yaml",
                "--duration",
                "20ns",
                "--method",
                "exact",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "nonlinear" in capsys.readouterr().err
