"""Comparison logic against stored ngspice outputs (calibration/): no ngspice needed."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.circuit import assemble
from spu_emulator.cli import main
from spu_emulator.netlist import load, loads
from spu_emulator.spice.checks import ValidateOptions
from spu_emulator.spice.checks.spectrum import (
    SpectrumCheck,
    frequency_band,
    integrate_spectrum,
    merge_sweeps,
    resonance_sweeps,
)
from spu_emulator.spice.checks.statistics import (
    StatisticsData,
    batch_covariance,
    statistics_bias,
    statistics_plan,
    statistics_skip_reason,
)
from spu_emulator.spice.reference import load_outputs, options_from_dict
from spu_emulator.spice.run import read_raw
from spu_emulator.spice.validate import SpiceOutputs, compare_all

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
        report = compare_all(net, out.with_data(statistics=data), opts, ("statistics",))
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


HIGH_Q = """format: spu-netlist/1
temperature: 300 K
cells:
  - {name: a, C: 1 nF, L: 1 uH, R: %s}
  - {name: b, C: 1.3 nF, L: 2 uH, R: %s}
couplers:
  - {between: [a, b], C: 50 pF}
"""


@pytest.mark.parametrize("ra,rb", [("1 kOhm", "2 kOhm"), ("1 megOhm", "30 megOhm"), ("100 megOhm", "3 kOhm")])
def test_spectrum_grid_integrates_any_q_to_the_lyapunov_variance(ra, rb):
    """The grid `spu validate` gives ngspice (log grid + resonance sweeps), integrated
    the way the check integrates ngspice's spectrum, reproduces the exact variance of
    the emulator's own PSD for quality factors from ~30 to ~3e6 (a plain 1000 points
    per decade log grid misses up to 77% at Q ~ 1e5)."""
    c = assemble(loads(HIGH_Q % (ra, rb)))
    sde = c.to_sde()
    opts = ValidateOptions()
    lo, hi = frequency_band(c, opts)
    log_f = np.logspace(np.log10(lo), np.log10(hi), int(np.log10(hi / lo) * opts.spectrum.points_per_decade) + 1)
    parts = [(log_f, sde.node_psd(log_f))]
    for n, fa, fb in resonance_sweeps(c, opts):
        g = np.linspace(fa, fb, n)
        parts.append((g, sde.node_psd(g)))
    f = merge_sweeps([(p[0], np.arange(len(p[0]))) for p in parts])[0]
    var = integrate_spectrum(f, sde.node_psd(f))
    np.testing.assert_allclose(var, np.diag(sde.stationary_covariance())[: sde.n_voltage], rtol=2e-5)


def test_resonance_sweeps_only_where_the_log_grid_is_too_coarse():
    """Low-Q circuits (the bundled SPU, Q ≈ 32) keep their decks unchanged; a Q ~ 3e4
    cell gets nested windows around each of its two modes."""
    spu8 = assemble(load(ROOT / "netlists" / "spu8.yaml"))
    assert resonance_sweeps(spu8, ValidateOptions()) == ()
    spectrum = SpectrumCheck()
    decks = spectrum.decks(spectrum.plan(spu8, ValidateOptions()), load(ROOT / "netlists" / "spu8.yaml"))
    assert all(" lin " not in d for d in decks.values())
    high = assemble(loads(HIGH_Q % ("1 megOhm", "30 megOhm")))
    sw = resonance_sweeps(high, ValidateOptions())
    assert len(sw) >= 2 * 4 and all(n == 81 and 0 < a < b for n, a, b in sw)


def test_statistics_check_budget_and_high_q():
    """The trnoise run fits a point budget; a circuit whose slowest mode cannot be
    covered 40 times, or whose high-Q mode ngspice would damp by > 10%, gets a
    not-applicable statistics verdict that says why (instead of hours of ngspice or a
    false FAIL); the bundled SPU keeps the plain 3% allowance and its full plan."""
    spu8 = assemble(load(ROOT / "netlists" / "spu8.yaml"))
    quick = ValidateOptions(quick=True)
    assert statistics_skip_reason(spu8, quick) is None and statistics_bias(spu8, quick) == 0.03
    plan = statistics_plan(spu8, quick)
    assert (plan.duration + plan.burn_in) / plan.interval < 2e6
    high = assemble(loads(HIGH_Q % ("1 megOhm", "30 megOhm")))
    plan = statistics_plan(high, quick)
    assert (plan.duration + plan.burn_in) / plan.interval == pytest.approx(2e6, rel=1e-2)
    reason = statistics_skip_reason(high, quick)
    assert reason.startswith("not run:") and "damping" in reason
    budget = quick.with_values(max_trnoise_points=1e4, trnoise_interval=1e-9)
    assert "relaxation times" in statistics_skip_reason(spu8, budget)
    net = loads(HIGH_Q % ("1 megOhm", "30 megOhm"))
    report = compare_all(net, SpiceOutputs(), quick, ("statistics",))
    (check,) = report.checks
    # a check that did not run is not a pass, nor is a report in which nothing ran
    assert check.status == "not run" and not check.passed and check.reason == reason
    assert report.status == "not run" and not report.passed
    assert not check.info["applicable"] and check.summary == reason
    assert "n/a" in report.table()


HIGH_Q_NET = HIGH_Q % ("1 megOhm", "30 megOhm")


def test_check_that_cannot_run_is_reported_not_run_not_passed(tmp_path, capsys):
    """Statistics on a very high-Q design cannot run: its verdict is "not run" with
    the reason, in the report, its JSON and its table; it never counts as passed. With
    a passing check beside it the report passes (saying what did not run); alone, the
    report is "not run" and `spu validate` exits 1 (no ngspice is needed for that)."""
    net = loads(HIGH_Q_NET)
    quick = ValidateOptions(quick=True)
    reason = statistics_skip_reason(assemble(net), quick)
    spec = StatisticsData(cov=np.eye(1), se=np.eye(1), mean=np.zeros(1), nodes=("a",),
                          samples=1, interval=1.0, duration=1.0, burn_in=0.0)
    report = compare_all(net, SpiceOutputs({"statistics": spec}), quick)
    by = {c.name: c for c in report.checks}
    assert by["statistics"].status == "not run" and by["statistics"].reason == reason
    # no spectrum or waveform data in these outputs: not run either, saying so
    assert by["spectrum"].status == by["waveform"].status == "not run"
    assert "no ngspice spectrum data" in by["spectrum"].reason
    assert report.status == "not run" and not report.passed
    d = report.to_dict()
    assert d["status"] == "not run" and d["passed"] is False
    for c in d["checks"]:
        assert c["status"] == "not run" and c["passed"] is False and c["reason"] == c["summary"]
    table = report.table()
    assert "  statistics  n/a" in table and reason in table
    assert table.splitlines()[-1].startswith("NOT RUN") and "PASS" not in table

    # the CLI: JSON status per check, table, exit status 1 when nothing ran
    path = tmp_path / "high_q.yaml"
    path.write_text(HIGH_Q_NET)
    assert main(["validate", str(path), "--quick", "--checks", "statistics", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "not run" and out["passed"] is False
    (stats,) = out["checks"]
    assert stats["status"] == "not run" and stats["passed"] is False
    assert stats["reason"] == reason and stats["info"]["applicable"] is False
    assert main(["validate", str(path), "--quick", "--checks", "statistics"]) == 1
    text = capsys.readouterr().out
    assert "  statistics  n/a" in text and "not run" in text and reason in text
    assert text.splitlines()[-1].startswith("NOT RUN")


def test_not_run_check_beside_a_passing_one():
    """A report whose checks that ran all passed passes, and names what did not run."""
    net, out, opts, _ = _reference("spu8")
    skipped = opts.with_values(max_trnoise_points=1e4, trnoise_interval=1e-9)
    report = compare_all(net, out, skipped, ("waveform", "statistics"))
    wave, stats = report.checks
    assert wave.status == "pass" and stats.status == "not run" and not stats.passed
    assert report.status == "pass" and report.passed
    assert report.table().splitlines()[-1] == "PASS (not run: statistics)"
    assert [c["status"] for c in report.to_dict()["checks"]] == ["pass", "not run"]


def test_validate_option_errors_exit_2(capsys):
    for bad in ("abc", "10", "nan"):
        with pytest.raises(SystemExit) as exc:  # argparse's own exit, status 2
            main(["validate", str(ROOT / "netlists" / "spu8.yaml"), "--max-trnoise-points", bad])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "--max-trnoise-points" in err and err.count("\n") == 1, err


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


def test_validation_doc_python_example_runs(monkeypatch):
    """The "From Python" example of docs/validation.md runs as written (no ngspice)."""
    import re

    monkeypatch.chdir(ROOT)
    doc = (ROOT / "docs" / "validation.md").read_text()
    section = doc[doc.index("## From Python") :]
    (code,) = re.findall(r"```python\n(.*?)```", section[: section.index("\n## ", 3)], re.S)
    exec(compile(code, "docs/validation.md", "exec"), {})


def test_reference_file_round_trip(tmp_path):
    """A reference file written by save_outputs reads back to the same data and verdicts."""
    from spu_emulator.spice.reference import compare_reference, save_outputs

    net, out, opts, meta = _reference("spu8")
    path = tmp_path / "spu8.npz"
    save_outputs(str(path), out, net, opts, {"command": meta["command"]})
    back, meta2 = load_outputs(str(path))
    assert options_from_dict(meta2["options"]) == opts and meta2["digest"] == net.digest
    for name in ("spectrum", "waveform", "statistics"):
        a, b = out.get(name), back.get(name)
        for key, arr in a.to_npz()[0].items():
            np.testing.assert_array_equal(arr, b.to_npz()[0][key])
    report = compare_reference(net, str(path))
    assert [c.metric for c in report.checks] == [c.metric for c in compare_all(net, out, opts).checks]
