"""Nonlinear netlists (NC, EC, time-dependent RB) in the SPICE bridge.

Offline: golden deck text, charge scaling, the nonlinear driven ODE oracle, the
Euler statistics reference against the Boltzmann law, comparison with the stored
ngspice reference. Live (marked ``spice``): `spu validate` passes, a deck with one
J2 changed by 2% fails the waveform check at that node, the exported deck runs.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.circuit.assemble import assemble
from spu_emulator.cli import main
from spu_emulator.errors import InputError
from spu_emulator.integrate.driven import input_matrix, simulate_driven_nonlinear
from spu_emulator.netlist import load, loads
from spu_emulator.spice.checks import ValidateOptions, WaveformOptions
from spu_emulator.spice.checks.euler import GivenNoise, euler_covariance
from spu_emulator.spice.checks.waveform import WaveformCheck
from spu_emulator.spice.export import (
    NoiseAnalysis,
    TransientAnalysis,
    TrNoise,
    charge_capacitances,
    export,
    noise_source_table,
    to_spice,
)
from spu_emulator.spice.reference import load_outputs
from spu_emulator.spice.run import INSTALL_HINT, ngspice_available, run_deck
from spu_emulator.spice.validate import SpiceRun, validate

ROOT = Path(__file__).resolve().parents[2]
PAIR = ROOT / "netlists" / "nonlinear_pair.yaml"
REFERENCE = ROOT / "calibration" / "spice" / "nonlinear_pair.npz"
QUICK = ValidateOptions(quick=True)

live = [
    pytest.mark.spice,
    pytest.mark.skipif(not ngspice_available(), reason=f"ngspice is not installed: {INSTALL_HINT}"),
]

GOLDEN = """\
* spu_emulator export: nonlinear_pair (netlist digest {digest})
* node map (netlist -> spice): a->a, b->b
* element map: Na->b_na, Nb->b_nb, Ra->r_ra, Rb->r_rb
* charge nodes (q = C_aux*v): a->q_a (C_aux 1e-15), b->q_b (C_aux 1e-15)
* energy couplers (terms of the B sources): Eab a-b J=-300000000000.0
.options temp=26.85 tnom=26.85
* Na: E = J2 q^2 + J4 q^4, J2=500000000000.0 J4=2e44
v_na_s a b_na_v dc 0
b_na b_na_v 0 v=0.001*v(q_a)+0.8000000000000003*v(q_a)*v(q_a)*v(q_a)-0.00030000000000000003*v(q_b)
f_na_q 0 q_a v_na_s 1
c_na_q q_a 0 1e-15
* Nb: E = J2 q^2 + J4 q^4, J2=800000000000.0 J4=0
v_nb_s b b_nb_v dc 0
b_nb b_nb_v 0 v=0.0016*v(q_b)-0.00030000000000000003*v(q_a)
f_nb_q 0 q_b v_nb_s 1
c_nb_q q_b 0 1e-15
r_ra a r_ra_b 1000.0
v_ra_b r_ra_b 0 dc 1e-06 pwl(0 1e-06 1e-09 0)
i_ra_n 0 a dc 0 trnoise(1.0214262513278984e-06 7.94e-12 0 0)
r_rb b r_rb_b 2000.0
v_rb_b r_rb_b 0 dc 0
i_rb_n 0 b dc 0 trnoise(7.222574287959118e-07 7.94e-12 0 0)
.save v(a) v(b) v(q_a) v(q_b)
.tran 7.94e-12 3.11e-08 0 7.94e-12 uic
.end
"""


@pytest.fixture(scope="module")
def pair():
    return load(PAIR)


def _scale_j2(element: str, factor: float):
    """Deck filter: multiply the linear (2·J2·C_aux) coefficient of one NC's B source."""

    def edit(deck: str) -> str:
        pat = re.compile(rf"^({re.escape(element)} \S+ 0 v=)([0-9.eE+-]+)(\*)", re.M)
        assert pat.search(deck), element
        return pat.sub(lambda m: m.group(1) + repr(float(m.group(2)) * factor) + m.group(3), deck)

    return edit


# ---- offline --------------------------------------------------------------------


def test_golden_nonlinear_export(pair):
    """The deck as dot cards (what export() wrote before it grew a control block)."""
    deck = to_spice(pair, TransientAnalysis(7.94e-12, 3.11e-8, 7.94e-12, save=("a", "b")),
                    TrNoise(7.94e-12))
    assert deck == GOLDEN.format(digest=pair.digest[:16])


def test_charge_nodes_read_thermal_charge_as_tenth_of_a_volt(pair):
    sde = assemble(pair).to_sde()
    qs, caux = dict(zip(sde.nodes, sde.thermal_charges(), strict=True)), charge_capacitances(pair)
    assert set(qs) == {"a", "b"}
    for n in qs:
        assert 0.03 < qs[n] / caux[n] < 0.35  # power of ten nearest 0.1 V
    # J2 q² + J4 q⁴ = k_B T / 2 at q_s
    kt = 1.380649e-23 * 300
    assert 5e11 * qs["a"] ** 2 + 2e44 * qs["a"] ** 4 == pytest.approx(kt / 2, rel=1e-12)


def test_noise_table_matches_nonlinear_sde(pair):
    sde = assemble(pair).to_sde()
    table = noise_source_table(pair)
    assert [s.label for s in table] == ["Ra", "Rb"]
    # each noise column of B is ±sqrt(q) at the resistor's nodes
    np.testing.assert_allclose(
        np.abs(sde.B).max(axis=0) ** 2, [s.intensity for s in table], rtol=1e-14
    )


def test_noise_analysis_is_refused(pair):
    with pytest.raises(InputError, match="does not apply to a nonlinear"):
        to_spice(pair, NoiseAnalysis("a"))


def test_cli_export_writes_the_deck(tmp_path, capsys, pair):
    out = tmp_path / "pair.cir"
    assert main(["spice", "export", str(PAIR), "-o", str(out)]) == 0
    assert out.read_text() == export(pair, stem="pair")


def test_nonlinear_driven_oracle_converges_and_matches_linear_limit():
    """With J4 = 0 and no coupler the ODE is linear: the DOP853 oracle must agree with
    the closed-form response to a PWL current (and converge with rtol)."""
    net = load(PAIR)
    circuit = assemble(net)
    sde = circuit.to_sde()
    plan = WaveformCheck().plan(circuit, ValidateOptions(waveform=WaveformOptions(200)))
    t, z = plan.t, plan.z
    h = t[1] - t[0]
    u = z * np.sqrt(circuit.intensities / h)
    Bu = input_matrix(circuit, sde)
    scale = np.array([6e-17, 6e-17])
    fine = simulate_driven_nonlinear(sde, t, u, input_matrix=Bu, rtol=1e-12, scale=scale)
    coarse = simulate_driven_nonlinear(sde, t, u, input_matrix=Bu, rtol=1e-8, scale=scale)
    rel = np.sqrt(np.mean((coarse.states - fine.states) ** 2) / np.mean(fine.states**2))
    assert rel < 1e-7
    # linear single node, constant current I: q(t) = I τ (1 − e^{−t/τ}), τ = R / (2 J2)
    lin = loads(
        """
format: spu-netlist/1
temperature: 300 K
elements:
  - {name: N, type: NC, nodes: [a, gnd], J2: 5e11}
  - {name: R, type: RB, nodes: [a, gnd], value: 1 kOhm, bias: {pwl: [[0, 0 V], [1 ns, 0 V]]}}
""",
        "lin.yaml",
    )
    c1 = assemble(lin)
    s1 = c1.to_sde()
    tt = np.linspace(0, 5e-9, 51)
    cur = np.full((tt.size, 1), 1e-9)
    tr = simulate_driven_nonlinear(
        s1, tt, cur, input_matrix=input_matrix(c1, s1), rtol=1e-10, scale=1e-18
    )
    tau = 1e3 / 1e12
    np.testing.assert_allclose(tr.states[:, 0], 1e-9 * tau * (1 - np.exp(-tt / tau)), rtol=1e-8)


def test_euler_reference_agrees_with_boltzmann(pair):
    """The statistics reference (Euler–Maruyama + Richardson) reproduces the exact
    Boltzmann covariance within 4 of its standard errors; Euler's own bias at h is
    of order h·rate and is what Richardson removes."""
    sde = assemble(pair).to_sde()
    emu = euler_covariance(sde, seed=3)
    boltz = sde.boltzmann_covariance()
    assert boltz is not None
    scale = np.sqrt(np.outer(np.diag(boltz), np.diag(boltz)))
    assert np.all(np.abs(emu.cov - boltz) <= 4 * emu.se + 1e-3 * scale)
    assert 1e-3 < np.max(np.abs(emu.bias) / scale) < 0.05


def test_cli_validate_reference(capsys, pair):
    """The stored ngspice outputs pass; the spectrum check reads "not applicable"."""
    outputs, meta = load_outputs(str(REFERENCE))
    assert meta["digest"] == pair.digest and outputs.get("spectrum") is None
    code = main(["validate", str(PAIR), "--reference", str(REFERENCE), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["passed"]
    spec, wave, stats = report["checks"]
    assert [spec["check"], wave["check"], stats["check"]] == ["spectrum", "waveform", "statistics"]
    assert spec["info"]["applicable"] is False
    assert "not applicable (nonlinear)" in spec["summary"]
    # the spectrum did not run: not a pass, and the reason is given
    assert spec["status"] == "not run" and spec["passed"] is False
    assert spec["reason"] == spec["summary"] and report["status"] == "pass"
    assert wave["status"] == stats["status"] == "pass"
    assert wave["metric"] < 1e-4  # measured 8.8e-6
    assert stats["metric"] <= 1.0
    assert main(["validate", str(PAIR), "--reference", str(REFERENCE)]) == 0
    table = capsys.readouterr().out
    assert "  spectrum    n/a" in table and "not run" in table
    assert table.splitlines()[-1] == "PASS (not run: spectrum)"


def test_boltzmann_covariance_only_where_the_noise_is_the_baths(pair):
    """The quadrature applies when B Bᵀ = 2 k_B T G: not with a resistor at another
    temperature, nor with injected noise."""
    sde = assemble(pair).to_sde()
    assert sde.obeys_fdt() and sde.boltzmann_covariance() is not None
    hot = pair.replace(elements=tuple(
        dataclasses.replace(e, temperature=400.0) if e.name == "Rb" else e for e in pair.elements
    ))
    hot_sde = assemble(hot).to_sde()
    assert not hot_sde.obeys_fdt() and hot_sde.boltzmann_covariance() is None
    fastest, slowest = sde.timescales()
    assert sde.fastest_time() == fastest < slowest == sde.relaxation_time()
    assert sde.bias_end() == pytest.approx(1e-9)


def test_given_noise_serves_what_was_fed_in_any_draw_sizes():
    noise = GivenNoise(chains=3, dim=2)
    z = np.arange(5 * 3 * 2, dtype=float).reshape(5, 3, 2)
    noise.feed(z[:2])
    noise.feed(z[2:])
    got = np.concatenate([noise.draw(3), noise.draw(1), noise.draw(1)])
    np.testing.assert_array_equal(got, z)
    with pytest.raises(RuntimeError, match="more steps drawn than fed"):
        noise.draw(1)


# ---- live -----------------------------------------------------------------------


@pytest.mark.spice
@pytest.mark.skipif(not ngspice_available(), reason=f"ngspice is not installed: {INSTALL_HINT}")
def test_live_validate_passes(pair):
    """The waveform check is deterministic and must pass every time. The statistics check
    compares with ngspice's trnoise, which ngspice 39 cannot seed: every run draws other
    noise, and its run-to-run scatter has outliers beyond the batch-means error (one run
    measured −21% on a node variance against a 17% allowance, 1.02 of it, where 8 further
    runs gave 0.23–0.57 of it; NOTES.md). So the verdict is the majority of up to three
    independent ngspice runs: a broken emulator or deck fails them all, one outlier does
    not fail the suite."""
    passed, tables = 0, []
    for _ in range(3):
        start = time.perf_counter()
        report = validate(pair, QUICK)
        assert time.perf_counter() - start < 30
        assert report.checks[1].metric < 1e-4  # waveform: same inputs, every run
        assert "  spectrum    n/a" in report.table()
        tables.append(report.table())
        passed += report.passed
        if passed == 2 or len(tables) - passed == 2:
            break
    assert passed >= 2, "\n\n".join(tables)


@pytest.mark.spice
@pytest.mark.skipif(not ngspice_available(), reason=f"ngspice is not installed: {INSTALL_HINT}")
@pytest.mark.parametrize(("element", "node"), [("b_na", "a"), ("b_nb", "b")])
def test_live_planted_j2_fails_naming_the_node(pair, element, node):
    """J2 of one NC changed by 2% in the deck: the waveform check fails at its node."""
    report = validate(pair, QUICK, ("waveform",), SpiceRun(deck_filter=_scale_j2(element, 1.02)))
    (wave,) = report.checks
    assert not wave.passed and wave.worst == f"node {node}", wave.summary
    assert wave.metric > 3 * wave.tolerance


@pytest.mark.spice
@pytest.mark.skipif(not ngspice_available(), reason=f"ngspice is not installed: {INSTALL_HINT}")
def test_live_exported_deck_runs(pair):
    res = run_deck(export(pair))
    plot = res.plot("transient")
    q = 1e-15 * plot["v(q_a)"].real
    assert plot["time"].real[-1] == pytest.approx(3.11e-8)
    assert 1e-17 < np.std(q) < 2e-16
