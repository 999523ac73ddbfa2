"""The energy report: every term from its stated assumption, how it scales with the
hardware time, the bits and the samples, and what a run reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spu_emulator.errors import InputError
from spu_emulator.hardware.compiler import CompileOptions, compile_matrix
from spu_emulator.netlist.schema import Readout
from spu_emulator.sampling import BoardOptions, RunBudget, inv, logdet, sample, solve
from spu_emulator.sampling.energy import EnergyModel, digital_flops, energy_report, format_energy
from spu_emulator.sampling.matrices import h_matrix, m_matrix

MODEL = EnergyModel(amplifier_power=2e-3, noise_source_power=1e-3, adc_fom=20e-15, adc_bits=10,
                    flop_energy=5e-12, digital="test CPU")


def _rep(**kw):
    args = dict(operation="inverse", dimension=8, cells=8, channels=8, hardware_time=1e-3,
                conversions=80000, bits=12, model=MODEL)
    args.update(kw)
    return energy_report(**args)


def test_energy_terms_follow_their_assumptions():
    r = _rep()
    assert r["amplifier_J"] == pytest.approx(8 * 2e-3 * 1e-3, rel=1e-15)
    assert r["noise_source_J"] == pytest.approx(8 * 1e-3 * 1e-3, rel=1e-15)
    assert r["static_power"] == pytest.approx(8 * 3e-3)
    assert r["adc_J_per_conversion"] == pytest.approx(20e-15 * 4096, rel=1e-15)
    assert r["adc_J"] == pytest.approx(20e-15 * 4096 * 80000, rel=1e-15)
    assert r["board_J"] == pytest.approx(r["amplifier_J"] + r["noise_source_J"] + r["adc_J"], rel=1e-15)
    assert r["digital_flops"] == 8**3 and r["digital_J"] == pytest.approx(8**3 * 5e-12)
    assert r["ratio_board_over_digital"] == pytest.approx(r["board_J"] / r["digital_J"])
    text = " ".join(r["assumptions"])
    for needle in ("0.002 W amplifier", "0.001 W noise source", "2e-14 J per conversion-step",
                   "2^12", "80000 conversions", "5e-12 J/FLOP", "test CPU", "excluded"):
        assert needle in text, needle
    assert not r["bits_assumed"]
    out = format_energy(r)
    assert "board" in out and "digital inverse" in out and out.count("\n  - ") == len(r["assumptions"])
    json.dumps(r)  # plain data


def test_energy_scales_with_time_bits_and_samples():
    r = _rep()
    t2 = _rep(hardware_time=2e-3)
    assert t2["amplifier_J"] == pytest.approx(2 * r["amplifier_J"]) and t2["adc_J"] == r["adc_J"]
    assert t2["noise_source_J"] == pytest.approx(2 * r["noise_source_J"])
    b13 = _rep(bits=13)
    assert b13["adc_J"] == pytest.approx(2 * r["adc_J"]) and b13["amplifier_J"] == r["amplifier_J"]
    c2 = _rep(conversions=160000)
    assert c2["adc_J"] == pytest.approx(2 * r["adc_J"])
    assumed = _rep(bits=None)
    assert assumed["bits"] == 10 and assumed["bits_assumed"] and "bits assumed" in " ".join(assumed["assumptions"])
    # digital: d³ for the inverse, d³/3 + 2d² solve, d³/3 + d logdet, d³/3 + N(d² + d) sampling
    assert digital_flops("inverse", 10)[0] == 1000
    assert digital_flops("solve", 10)[0] == pytest.approx(1000 / 3 + 200)
    assert digital_flops("logdet", 10)[0] == pytest.approx(1000 / 3 + 10)
    assert digital_flops("sample", 10, 500)[0] == pytest.approx(1000 / 3 + 500 * 110)
    assert _rep(dimension=16)["digital_J"] == pytest.approx(8 * r["digital_J"])


@pytest.mark.parametrize("kw,field", [
    ({"amplifier_power": -1.0}, "amplifier_power"), ({"noise_source_power": float("nan")}, "noise_source_power"),
    ({"adc_fom": -1e-15}, "adc_fom"), ({"adc_bits": 0}, "adc_bits"), ({"flop_energy": "1pJ"}, "flop_energy"),
])
def test_energy_model_rejects_bad_values(kw, field):
    with pytest.raises(InputError) as exc:
        EnergyModel(**kw)
    assert exc.value.param == field


def test_energy_report_rejects_unknown_operation():
    with pytest.raises(InputError) as exc:
        _rep(operation="qr")
    assert exc.value.param == "operation"


def test_energy_of_runs():
    """A run's report takes its hardware time, cells, channels (2 per variable for a
    differential design) and conversions (samples × channels) from the board."""
    A = m_matrix(4, np.random.default_rng(3), cond=10)
    X, info = inv(A, RunBudget(samples=4096), energy=MODEL)
    e = info.energy
    assert e["hardware_time"] == info.emulated_time and e["cells"] == 4 and e["channels"] == 4
    assert e["conversions"] == info.samples * 4 and e["bits_assumed"]
    assert e["amplifier_J"] == pytest.approx(4 * 2e-3 * info.emulated_time)
    assert "energy" in info.to_dict()
    H = h_matrix(3, np.random.default_rng(2))
    _, info = logdet(H, RunBudget(samples=4096), energy=MODEL,
                     board=BoardOptions(readout=Readout(bits=14, full_scale=1e-4)))
    e = info.energy
    assert e["channels"] == 6 and e["cells"] == 6 and e["bits"] == 14 and not e["bits_assumed"]
    assert e["conversions"] == info.samples * 6 and e["operation"] == "logdet"
    _, info = solve(A, np.ones(4), RunBudget(samples=4096), method="dc", energy=MODEL)
    assert info.energy["operation"] == "solve" and info.energy["conversions"] == info.samples * 4
    des = compile_matrix(A, "precision", options=CompileOptions(inductance=None))
    assert des.program.realization == "capacitive"
    res = sample(des, 500, seed=1, board=BoardOptions(chains=2, groups=1), energy=MODEL)
    e = res.summary()["energy"]
    assert e["hardware_time"] == res.emulated_time and e["conversions"] == 2 * 500 * 4
    assert e["digital_flops"] == pytest.approx(4**3 / 3 + 1000 * 20)


def test_energy_cli(tmp_path, capsys):
    from spu_emulator.cli import main

    A = m_matrix(4, np.random.default_rng(3), cond=10)
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", np.ones(4))
    for argv in (["invert", str(tmp_path / "A.npy")], ["logdet", str(tmp_path / "A.npy")],
                 ["solve", str(tmp_path / "A.npy"), str(tmp_path / "b.npy")]):
        assert main([*argv, "--time", "2ms", "--energy", "--json", "--quiet"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert rep["energy"]["hardware_time"] == rep["emulated_time"]
        assert main([*argv, "--time", "2ms", "--quiet"]) == 0
        assert "energy" not in capsys.readouterr().out
        assert main([*argv, "--time", "2ms", "--energy", "--quiet"]) == 0
        out = capsys.readouterr().out
        assert "energy: board" in out and "assumptions:" in out and "J/FLOP" in out
    assert main(["program", "--matrix", str(tmp_path / "A.npy"), "-o", str(tmp_path / "d.yaml")]) == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "d.yaml"), "--samples", "100", "--energy", "--out",
                 str(tmp_path / "s.npy")]) == 0
    assert "energy: board" in capsys.readouterr().out
