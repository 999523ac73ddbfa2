"""Comparison logic against stored ngspice outputs (calibration/): no ngspice needed."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.cli import main
from spu_emulator.netlist import load
from spu_emulator.spice.compare import (
    StatisticsData,
    batch_covariance,
    compare_all,
    integrate_spectrum,
    load_outputs,
    options_from_dict,
)
from spu_emulator.spice.run import read_raw

ROOT = Path(__file__).resolve().parents[2]
CAL = ROOT / "calibration" / "spice"
LINEAR = sorted(p.stem for p in (ROOT / "netlists").glob("*.yaml") if load(p).is_linear)


def _reference(name: str):
    out, meta = load_outputs(str(CAL / f"{name}.npz"))
    return load(ROOT / "netlists" / f"{name}.yaml"), out, options_from_dict(meta["options"]), meta


def _with(net, name: str, **changes):
    els = tuple(dataclasses.replace(e, **changes) if e.name == name else e for e in net.elements)
    return net.replace(elements=els)


@pytest.mark.parametrize("name", LINEAR)
def test_every_bundled_netlist_has_a_passing_reference(name):
    net, out, opts, meta = _reference(name)
    assert meta["digest"] == net.digest, (
        "calibration is stale: rerun `spu spice calibrate` (see its README)"
    )
    assert meta["ngspice"].startswith("ngspice-") and meta["command"].startswith(
        "spu spice calibrate"
    )
    report = compare_all(net, out, opts)
    assert report.passed, report.table()
    spec = report.checks[0]
    assert spec.name == "spectrum"
    assert max(r["variance_rel_error"] for r in spec.rows) <= 1e-3
    assert max(r["quadrature_rel_error"] for r in spec.rows) <= 1e-3


def test_waveform_on_spu8_within_1e3():
    net, out, opts, _ = _reference("spu8")
    report = compare_all(net, out, opts, ("waveform",))
    assert report.checks[0].metric <= 1e-3


@pytest.mark.parametrize("cap", ["n3.C", "n8.C"])
def test_planted_capacitor_fails_naming_the_node(cap):
    """The emulator's netlist has one capacitor 2% off the one ngspice simulated."""
    net, out, opts, _ = _reference("spu8")
    c = net.element(cap).C
    report = compare_all(_with(net, cap, C=1.02 * c), out, opts, ("spectrum", "waveform"))
    node = cap.split(".")[0]
    for check in report.checks:
        assert not check.passed
        assert check.worst == f"node {node}", check.summary
        assert f"FAIL at node {node}" in check.summary
    assert not report.passed


def test_planted_temperature_fails_naming_the_node():
    net, out, opts, _ = _reference("nonequilibrium")
    report = compare_all(_with(net, "a.R", temperature=400.0), out, opts)
    by = {c.name: c for c in report.checks}
    assert not by["spectrum"].passed and by["spectrum"].worst == "node a"
    assert not by["waveform"].passed and by["waveform"].worst == "node a"
    assert not by["statistics"].passed


def test_statistics_allowance_rejects_a_few_percent_only_with_small_errors():
    """The statistics verdict follows bias + k·SE: a 10% error fails with 1% SE and
    passes with 5% SE."""
    net, out, opts, _ = _reference("single_cell")
    from spu_emulator.circuit.assemble import assemble

    sigma = assemble(net).to_sde().stationary_covariance()[:1, :1]
    for se, ok in ((0.01, False), (0.05, True)):
        data = StatisticsData(
            cov=1.10 * sigma,
            se=se * sigma,
            mean=np.zeros(1),
            nodes=("a",),
            samples=1000,
            interval=1e-9,
            duration=1e-3,
            burn_in=1e-5,
        )
        report = compare_all(net, dataclasses.replace(out, statistics=data), opts, ("statistics",))
        assert report.passed is ok


def test_integrate_spectrum_lorentzian_and_tails():
    """A Lorentzian S = 4 D / (1 + (f/fc)²) integrates to π D fc (one-sided)."""
    fc, D = 1e5, 1e-12
    f = np.logspace(1, 8, 7 * 200 + 1)
    S = 4 * D / (1 + (f / fc) ** 2)
    assert integrate_spectrum(f, S) == pytest.approx(2 * np.pi * D * fc, rel=1e-6)
    # truncated grid: the power-law tails carry the rest
    g = np.logspace(3, 6, 3 * 200 + 1)
    assert integrate_spectrum(g, 4 * D / (1 + (g / fc) ** 2)) == pytest.approx(
        2 * np.pi * D * fc, rel=2e-3
    )


def test_batch_covariance_standard_error():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200_000, 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]])
    cov, se, mean = batch_covariance(x, 20)
    np.testing.assert_allclose(cov, [[1.0, 0.5], [0.5, 1.25]], atol=5 * se.max())
    # iid: SE of a variance ≈ sqrt(2/N) σ²
    assert se[0, 0] == pytest.approx(np.sqrt(2 / 200_000), rel=0.5)


def test_read_raw_binary_and_ascii(tmp_path):
    header = (
        "Title: t\nDate: x\nPlotname: Transient Analysis\nFlags: real\nNo. Variables: 2\n"
        "No. Points: 3\nVariables:\n\t0\ttime\ttime\n\t1\tv(a)\tvoltage\n"
    )
    data = np.array([[0, 1], [1, 2], [2, 4]], float)
    (tmp_path / "b.raw").write_bytes(header.encode() + b"Binary:\n" + data.astype("<f8").tobytes())
    (p,) = read_raw(tmp_path / "b.raw")
    np.testing.assert_array_equal(p["v(a)"], [1, 2, 4])
    body = "".join(f"{i}\t{a}\n\t{b}\n" for i, (a, b) in enumerate(data))
    (tmp_path / "a.raw").write_text(header + "Values:\n" + body)
    (q,) = read_raw(tmp_path / "a.raw")
    np.testing.assert_array_equal(q.data, data)
    cplx = header.replace("real", "complex") + "Binary:\n"
    vals = struct.pack("<12d", *[0, 0, 1, 1, 1, 0, 2, 2, 2, 0, 4, 4])
    (tmp_path / "c.raw").write_bytes(cplx.encode() + vals)
    (c,) = read_raw(tmp_path / "c.raw")
    np.testing.assert_array_equal(c["v(a)"], [1 + 1j, 2 + 2j, 4 + 4j])


def test_cli_reference_mode(capsys):
    args = [
        "validate",
        str(ROOT / "netlists" / "spu8.yaml"),
        "--reference",
        str(CAL / "spu8.npz"),
        "--json",
    ]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and [c["check"] for c in report["checks"]] == [
        "spectrum",
        "waveform",
        "statistics",
    ]
    # a reference made from another netlist is bad input (exit 2, one line)
    assert (
        main(
            [
                "validate",
                str(ROOT / "netlists" / "single_cell.yaml"),
                "--reference",
                str(CAL / "spu8.npz"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different netlist" in err
