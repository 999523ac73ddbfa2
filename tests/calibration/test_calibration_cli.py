"""spu calibrate's bad inputs (one line, exit 2, nothing written) and spu program
--calibration's compensation (≥ 5× smaller inversion error at equal sampling time)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.cli import main
from spu_emulator.netlist import load

ROOT = Path(__file__).resolve().parents[2]
SPU8 = ROOT / "netlists" / "spu8.yaml"


def _good(n=4096):
    rng = np.random.default_rng(0)
    t = np.arange(n) * 1e-7
    v = 2e-6 * rng.standard_normal((n, 8))
    return {"t": t, "v": v, "nodes": np.array([f"n{i}" for i in range(1, 9)])}


def _run(tmp_path, capsys, **over):
    data = _good()
    data.update(over)
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / "s.npz"
    np.savez(path, **data)
    out = tmp_path / "cal.yaml"
    rc = main(["calibrate", str(path), "--design", str(SPU8), "-o", str(out)])
    err = capsys.readouterr().err
    return rc, err, out


@pytest.mark.parametrize("case, over, words", [
    ("no time axis", {"t": None}, "no time axis"),
    ("uneven sampling", {"t": np.r_[np.arange(100) * 1e-7, 100e-7 + np.arange(3996) * 1.1e-7]},
     "uneven sampling"),
    ("unknown nodes", {"nodes": np.array([f"m{i}" for i in range(8)])}, "not a node of"),
    ("NaN samples", {"v": np.where(np.arange(8) == 3, np.nan, 1e-6) * np.ones((4096, 8))},
     "non-finite"),
    ("digest mismatch", {"design_digest": np.array("0" * 64)}, "design_digest"),
    ("too few samples", {"t": np.arange(50) * 1e-7, "v": np.ones((50, 8))}, "too few samples"),
    ("sample rate too low", {"t": np.arange(4096) * 2e-7}, "too low for the design's mode"),
])
def test_bad_samples_one_line_exit_2(tmp_path, capsys, case, over, words):
    rc, err, out = _run(tmp_path, capsys, **over)
    assert rc == 2, (case, err)
    assert err.count("\n") == 1 and words in err, err
    assert "s.npz" in err
    assert not out.exists()


def test_parameters_in_a_product_are_named(tmp_path, capsys):
    design = tmp_path / "par.yaml"
    design.write_text(
        "format: spu-netlist/1\nname: par\ntemperature: 300 K\n"
        "cells:\n  - {name: a, C: 1 nF, L: 1.5 uH, R: 1 kOhm}\n"
        "elements:\n  - {type: C, name: Cx, nodes: [a, gnd], value: 0.5 nF}\n")
    path = tmp_path / "s.npz"
    n = 8192
    np.savez(path, t=np.arange(n) * 1e-7, v=1e-6 * np.ones((n, 1)), nodes=np.array(["a"]))
    rc = main(["calibrate", str(path), "--design", str(design), "-o", str(tmp_path / "c.yaml")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "a.C" in err and "Cx" in err and "combination" in err


def test_compensation_five_times_smaller_inversion_error(tmp_path):
    spec = importlib.util.spec_from_file_location("demo", ROOT / "bench" / "demo_calibration.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    r = demo.run(str(tmp_path), 32768, 16, 3)
    inv = r["inversion_error"]
    assert inv["uncalibrated"] >= 5 * inv["calibrated"], inv
    # no worse than the ideal board at that time plus the calibration's own uncertainty
    assert inv["calibrated"] <= inv["ideal_board"] + r["calibration_uncertainty"]["covariance_error_p95"]
    assert r["within_3se"] >= 0.9
    cal = (tmp_path / "board-cal.yaml").read_text()
    assert "n1-n2.C" in cal and "stderr" in cal and load(SPU8).digest in cal


def _program(tmp_path, capsys, *extra):
    import json

    A = np.array([[3.0, -1.0, -0.5, 0, 0, 0, 0, -0.2], [-1.0, 3.0, -0.5, 0, 0, 0, -0.3, 0],
                  [-0.5, -0.5, 3.0, -1.0, 0, 0, 0, 0], [0, 0, -1.0, 3.0, -0.7, 0, 0, 0],
                  [0, 0, 0, -0.7, 3.0, -1.0, 0, 0], [0, 0, 0, 0, -1.0, 3.0, -0.4, 0],
                  [0, -0.3, 0, 0, 0, -0.4, 3.0, -1.0], [-0.2, 0, 0, 0, 0, 0, -1.0, 3.0]])
    np.save(tmp_path / "A.npy", A)
    rc = main(["program", "--matrix", str(tmp_path / "A.npy"), "--cells-from", str(SPU8),
               "-o", str(tmp_path / "p.yaml"), "--json", *extra])
    cap = capsys.readouterr()
    return rc, (json.loads(cap.out) if rc == 0 else cap.err)


def test_program_with_the_example_calibration_and_a_bank(tmp_path, capsys):
    cal = str(ROOT / "calibration" / "spu8-board-cal.yaml")
    rc, rep = _program(tmp_path, capsys, "--calibration", cal)
    assert rc == 0
    comp = rep["compensation"]
    assert comp["positions_calibrated"] == 24 + 10  # the cells' C, L, R and the 10 slots used
    assert rep["covariance_relative_error"] < 1e-12  # exact values: only the calibration's error
    assert comp["uncompensated_covariance_error"] > 0.01
    u = comp["calibration_uncertainty"]
    assert 0 < u["covariance_error_mean"] < comp["uncompensated_covariance_error"]
    rc, rb = _program(tmp_path, capsys, "--calibration", cal, "--bank", "6")
    assert rc == 0 and "6" in str(rb["bank"])
    assert 0 < rb["covariance_relative_error"] < rb["compensation"]["uncompensated_covariance_error"]


@pytest.mark.parametrize("text, words", [
    ("format: other/1\n", "not a calibration file"),
    ("format: spu-calibration/1\nparameters: {}\n", "parameters: missing or empty"),
    ("format: spu-calibration/1\nparameters: {n1.C: {element: n1.C, class: C, nominal: 1.0e-9, "
     "estimate: x, stderr: 1.0e-11}}\n", "n1.C.estimate: must be a number"),
    (b"npz", "--calibration"),  # a samples file given in its place: binary, not YAML
])
def test_bad_calibration_file_one_line_exit_2(tmp_path, capsys, text, words):
    bad = tmp_path / "bad.yaml"
    if isinstance(text, bytes):
        import io

        buf = io.BytesIO()
        np.savez(buf, t=np.arange(4.0), v=np.ones((4, 2)), nodes=np.array(["a", "b"]))
        bad.write_bytes(buf.getvalue())
    else:
        bad.write_text(text)
    rc, err = _program(tmp_path, capsys, "--calibration", str(bad))
    assert rc == 2 and err.count("\n") == 1 and words in err and "bad.yaml" in err, err
    assert not (tmp_path / "p.yaml").exists()


def test_invert_solve_logdet_sample_on_the_calibrated_board(tmp_path, capsys):
    import json

    cal = str(ROOT / "calibration" / "spu8-board-cal.yaml")
    A = np.diag([3.0, 3.2, 2.8, 3.1]) - 0.4 * (np.ones((4, 4)) - np.eye(4))
    A8 = np.kron(np.eye(2), A)
    np.save(tmp_path / "A.npy", A8)
    np.save(tmp_path / "b.npy", np.arange(1.0, 9.0))
    common = ["--time", "2ms", "--json", "--quiet", "--calibration", cal]
    for cmd in (["invert", str(tmp_path / "A.npy")], ["logdet", str(tmp_path / "A.npy")],
                ["solve", str(tmp_path / "A.npy"), str(tmp_path / "b.npy")]):
        rc = main(cmd + common)
        cap = capsys.readouterr()
        assert rc == 0, cap.err
        rep = json.loads(cap.out)
        comp = rep["compile_reports"][0]["compensation"]
        assert comp["positions_calibrated"] > 24
        assert comp["calibration_uncertainty"]["covariance_error_mean"] > 0
    rc = main(["solve", str(tmp_path / "A.npy"), str(tmp_path / "b.npy"), "--method", "dc", *common])
    assert rc == 2 and "inverse" in capsys.readouterr().err
    prog = tmp_path / "p.yaml"
    assert main(["program", "--matrix", str(tmp_path / "A.npy"), "--cells-from", str(SPU8),
                 "--calibration", cal, "-o", str(prog)]) == 0
    capsys.readouterr()
    rc = main(["sample", str(prog), "--samples", "200", "--calibration", cal, "-o",
               str(tmp_path / "x.npy"), "--json"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert json.loads(cap.out)["calibrated_board"]["positions_applied"] == 24 + 12


def test_spu_simulate_output_is_read_and_the_report_names_the_data(tmp_path, capsys):
    import json

    traj = tmp_path / "traj.npz"
    assert main(["simulate", str(SPU8), "--duration", "3ms", "--dt", "100ns", "--seed", "4",
                 "-o", str(traj), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "board-cal.yaml"
    assert main(["calibrate", str(traj), "--design", str(SPU8), "-o", str(out), "--json",
                 "--plot", str(tmp_path)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["data"]["samples_per_chain"] == 30000 and rep["data"]["nodes"][0] == "n1"
    assert rep["design"]["digest"] == load(SPU8).digest
    assert len(rep["data"]["sha256"]) == 64 and rep["data"]["interval"] == pytest.approx(1e-7)
    z = [(p["estimate"] - p["nominal"]) / p["stderr"] for p in rep["parameters"].values()]
    assert np.mean(np.abs(z) < 3) >= 0.9  # the nominal board: estimates near the design
    assert (tmp_path / "calibration_deviations.png").exists()


def test_program_takes_the_board_from_the_calibration_and_checks_it(tmp_path, capsys):
    """`spu program --calibration` alone programs the calibrated board's cells (as
    invert/solve/logdet do), the same bytes as with its design given; a --cells-from of
    another design is refused in one line (the digest), nothing written."""
    import json

    A = np.eye(8) * 3 - 0.2 * (np.ones((8, 8)) - np.eye(8))
    np.save(tmp_path / "A.npy", A)
    cal = str(ROOT / "calibration" / "spu8-board-cal.yaml")
    outs = []
    for extra in ((), ("--cells-from", str(SPU8))):
        out = tmp_path / f"p{len(outs)}.yaml"
        assert main(["program", "--matrix", str(tmp_path / "A.npy"), "--calibration", cal,
                     "-o", str(out), "--json", *extra]) == 0
        assert json.loads(capsys.readouterr().out)["compensation"]["positions_calibrated"] == 52
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    bad = tmp_path / "bad.yaml"
    assert main(["program", "--matrix", str(tmp_path / "A.npy"), "--calibration", cal,
                 "--cells-from", str(ROOT / "netlists" / "coupled_pair.yaml"), "-o", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "design.digest" in err and not bad.exists(), err
