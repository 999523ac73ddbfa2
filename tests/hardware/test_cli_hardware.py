"""``spu montecarlo`` and ``spu sensitivity``: JSON and text outputs, per-board arrays,
plots, yields, and bad input as one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from boards import EVERYTHING, with_tolerances

from spu_emulator.cli import main
from spu_emulator.hardware.spec import METRICS, Spec, wilson_interval

ROOT = Path(__file__).resolve().parent.parent.parent
SPU8 = (ROOT / "netlists/spu8.yaml").read_text()
TOL = "tolerances: {C: 1%, L: {sigma: 1%, lot: 0.5%}, R: 2%}\n"


@pytest.fixture
def spu8t(tmp_path) -> Path:
    f = tmp_path / "spu8t.yaml"
    f.write_text(SPU8.replace("cells:\n", TOL + "cells:\n", 1))
    return f


@pytest.fixture
def design(tmp_path) -> tuple[Path, Path]:
    from spu_emulator.sampling.matrices import m_matrix

    A = m_matrix(5, np.random.default_rng(1), density=0.9, cond=20)
    a = tmp_path / "A.csv"
    np.savetxt(a, A, delimiter=",")
    d = tmp_path / "design.yaml"
    assert main(["program", "--matrix", str(a), "-o", str(d)]) == 0
    d.write_text(d.read_text() + "tolerances:\n  C: 1%\n  R: 5%\n")
    return d, a


def _run(argv: list[str]) -> int:
    """main()'s exit status, also when argparse refuses an option (SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_montecarlo_json(spu8t, capsys):
    assert main(["montecarlo", str(spu8t), "--boards", "300", "--seed", "3", "--json"]) == 0
    out = _json(capsys)
    assert out["boards"] == 300 and out["nodes"] == [f"n{i}" for i in range(1, 9)]
    assert out["failed_boards"] == {"count": 0, "reasons": {}}
    vc = out["voltage_covariance"]
    for k in ("mean", "std", "p05", "p50", "p95"):
        assert np.array(vc[k]).shape == (8, 8)
    assert np.all(np.array(vc["p05"]) <= np.array(vc["p95"]))
    assert set(out["metrics"]) == {k for k, m in METRICS.items() if not m.programmed}
    assert "program" not in out


def test_montecarlo_programmed_design_yield_and_save(design, tmp_path, capsys):
    d, a = design
    npz = tmp_path / "boards.npz"
    assert main(["montecarlo", str(d), "--boards", "200", "--json", "--target", str(a),
                 "--spec", "inverse_error < 0.01 and min_q >= 0.4", "--save", str(npz)]) == 0
    out = _json(capsys)
    y = out["yield"]
    assert y["method"] == "Wilson score" and y["boards"] == 200
    assert y["interval"][0] <= y["yield"] <= y["interval"][1]
    assert "inverse_error" in out["program"] and np.array(out["program"]["target_covariance"]).shape == (5, 5)
    data = np.load(npz, allow_pickle=False)
    assert data["voltage_covariance"].shape == (200, 5, 5)
    assert data["element_values"].shape == (200, len(data["element_names"]))
    assert data["realized_covariance"].shape == (200, 5, 5)
    # the same names as spu sensitivity's parameters
    assert main(["sensitivity", str(d), "--json"]) == 0
    sens = _json(capsys)
    assert sens["parameters"] == list(data["element_names"])
    assert np.array(sens["d_voltage_covariance"]).shape == (len(sens["parameters"]), 5, 5)
    assert len(sens["d_inverse_error"]) == len(sens["parameters"])
    passed = np.sum(data["metric_inverse_error"] < 0.01)  # min_q ≥ 0.4 always holds
    assert y["passed"] == passed


def test_montecarlo_same_seed_same_file(spu8t, tmp_path, capsys):
    files = []
    for chunk in ("1", "7", "1000"):
        f = tmp_path / f"c{chunk}.npz"
        assert main(["montecarlo", str(spu8t), "--boards", "40", "--seed", "5", "--chunk", chunk,
                     "--save", str(f), "--quiet"]) == 0
        files.append(f.read_bytes())
    assert files[0] == files[1] == files[2]
    capsys.readouterr()


def test_montecarlo_text_and_plots(spu8t, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["montecarlo", str(spu8t), "--boards", "200", "--spec", "max_voltage_std < 1.72 uV",
                 "--plot", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "200 boards" in text and "yield of 'max_voltage_std < 1.72 uV'" in text
    assert "Wilson" in text and "n8" in text
    assert (tmp_path / "montecarlo.png").stat().st_size > 1000
    assert (tmp_path / "tornado_max_voltage_std.png").stat().st_size > 1000


def test_sensitivity_text_and_monte_carlo_beside(spu8t, capsys):
    assert main(["sensitivity", str(spu8t), "--metric", "max_voltage_std", "--boards", "400",
                 "--top", "5"]) == 0
    text = capsys.readouterr().out
    assert "first-order std of max_voltage_std" in text and "Monte Carlo over 400 boards" in text
    assert "n6.C" in text
    assert main(["sensitivity", str(spu8t), "--json", "--boards", "200"]) == 0
    out = _json(capsys)
    assert out["metric"]["name"] == "covariance_error" and "first_order_rms" in out["metric"]
    assert "rms" in out["monte_carlo"]["metric"]


@pytest.mark.parametrize("args,needle", [
    (["--boards", "0"], "--boards: must be positive"),
    (["--boards", "-5"], "--boards: must be positive"),
    (["--boards", "many"], "invalid int value"),
    (["--spec", "inverse_error < 0.05"], "--spec: metric 'inverse_error' needs a programmed design"),
    (["--spec", "nope < 1"], "--spec: unknown metric 'nope'"),
    (["--spec", "min_q = 3"], "--spec: cannot read 'min_q = 3'"),
    (["--spec", "min_q < abc"], "--spec: 'min_q < abc': cannot read the number"),
    (["--spec", "min_q < 3 or min_q > 5"], "--spec: cannot read 'min_q < 3 or min_q > 5': "
                                           "clauses are joined by 'and' only"),
    (["--spec", ""], "--spec: give a specification"),
    (["--plot", "/no/such/dir"], "--plot: /no/such/dir: not a directory"),
    (["--metrics", "bogus"], "--metrics: unknown metric 'bogus'"),
    (["--chunk", "0"], "--chunk: must be a positive integer"),
])
def test_montecarlo_bad_input_one_line(spu8t, capsys, args, needle):
    assert _run(["montecarlo", str(spu8t), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_bad_netlists_one_line(tmp_path, capsys):
    plain = ROOT / "netlists/spu8.yaml"
    for cmd in (["montecarlo", str(plain)], ["montecarlo", str(tmp_path / "none.yaml")],
                ["sensitivity", str(ROOT / "netlists/nonlinear_pair.yaml")],
                ["sensitivity", str(plain), "--metric", "inverse_error"],
                ["sensitivity", str(plain), "--metric", "nope"],
                ["sensitivity", str(plain), "--boards", "-1"]):
        assert main(cmd) == 2, cmd
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("spu: error: "), (cmd, err)
    assert main(["montecarlo", str(plain)]) == 2
    assert "no 'tolerances:' section" in capsys.readouterr().err


def test_target_of_the_wrong_shape(design, tmp_path, capsys):
    d, _ = design
    bad = tmp_path / "B.csv"
    np.savetxt(bad, np.eye(3), delimiter=",")
    assert main(["montecarlo", str(d), "--target", str(bad), "--boards", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--target: expected a 5 x 5 matrix" in err[0]


def test_everything_netlist_runs_from_the_command_line(tmp_path, capsys):
    f = tmp_path / "e.yaml"
    f.write_text(with_tolerances(EVERYTHING))
    assert main(["montecarlo", str(f), "--boards", "50", "--json"]) == 0
    out = _json(capsys)
    assert out["method"] == "Lyapunov equation" and out["failed_boards"]["count"] == 0


# ---- the specification language and the interval ---------------------------------------


def test_spec_parser():
    s = Spec.parse("inverse_error < 5% and min_q >= 10 and max_voltage_std <= 2 uV")
    assert s.clauses == (("inverse_error", "<", 0.05), ("min_q", ">=", 10.0),
                         ("max_voltage_std", "<=", 2e-6))
    m = {"inverse_error": np.array([0.01, 0.06, np.nan, 0.01]), "min_q": np.array([11, 11, 11, 9.0]),
         "max_voltage_std": np.array([1e-6] * 4)}
    assert s.passes(m).tolist() == [True, False, False, False]
    assert Spec.parse("relaxation_time > 1 us").clauses[0][2] == pytest.approx(1e-6)


def test_wilson_interval():
    lo, hi = wilson_interval(0, 100)
    assert lo == 0 and 0.03 < hi < 0.04
    lo, hi = wilson_interval(95, 100)
    assert lo < 0.95 < hi and hi < 1 and lo == pytest.approx(0.8882, abs=1e-3)
    lo, hi = wilson_interval(100, 100)
    assert hi == 1 and lo == pytest.approx(0.963, abs=1e-3)


@pytest.mark.slow
def test_docs_walkthrough_runs_as_written(tmp_path):
    """Every command of docs/hardware.md (its indented blocks), in a fresh folder, with
    the numbers the page shows."""
    import re
    import subprocess
    import sys

    doc = (ROOT / "docs/hardware.md").read_text()
    doc = re.sub(r"```.*?```", "", doc, flags=re.S)  # outputs and Python, not commands
    blocks, cur = [], []
    for line in doc.splitlines():
        if line.startswith("    "):
            cur.append(line[4:])
        elif cur and line.strip():
            blocks.append("\n".join(cur))
            cur = []
    script = "set -e\nspu() { \"$PY\" -m spu_emulator \"$@\"; }\npython() { \"$PY\" \"$@\"; }\n"
    script += "\n".join(blocks) + "\n"
    (tmp_path / "netlists").symlink_to(ROOT / "netlists")
    r = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                       env={"PY": sys.executable, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "yield of 'inverse_error < 0.05': 7062 / 10000 = 70.62%" in r.stdout
    assert "yield of 'inverse_error < 0.05': 9821 / 10000 = 98.21%" in r.stdout
    assert "1  K[n1,n2]" in r.stdout and (tmp_path / "plots/tornado_inverse_error.png").exists()
