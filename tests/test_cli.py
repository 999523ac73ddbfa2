"""CLI contract: JSON/npz keys, determinism, plots, and the README's example."""

import hashlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.cli import main
from spu_emulator.units import K_B

ROOT = Path(__file__).resolve().parent.parent


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_analyze_json_keys(capsys):
    a = run_json(capsys, ["analyze", f"{ROOT}/netlists/coupled_pair.yaml", "--json"])
    for key in (
        "nodes",
        "voltage_covariance",
        "state_names",
        "state_covariance",
        "modes",
        "relaxation_time",
    ):
        assert key in a
    assert a["nodes"] == ["a", "b"]
    assert a["state_names"] == ["v(a)", "v(b)", "i(a.L)", "i(b.L)"]
    CN = np.array([[1.2e-9, -0.2e-9], [-0.2e-9, 1.2e-9]])
    assert np.allclose(a["voltage_covariance"], K_B * 300 * np.linalg.inv(CN), rtol=1e-12)
    assert len(a["modes"]) == 2 and all(m["oscillatory"] for m in a["modes"])


def test_check_prints_summary(capsys):
    assert main(["check", f"{ROOT}/netlists/rc_network.yaml"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "Kron-reduced (no capacitance): m" in out


def test_simulate_npz_and_json(tmp_path, capsys):
    out = tmp_path / "t.npz"
    s = run_json(
        capsys,
        [
            "simulate",
            f"{ROOT}/netlists/spu8.yaml",
            "--duration",
            "200us",
            "--chains",
            "4",
            "--seed",
            "7",
            "--out",
            str(out),
            "--json",
        ],
    )
    for key in ("voltage_covariance", "voltage_covariance_stderr", "effective_samples"):
        assert key in s
    d = np.load(out)
    assert d["states"].shape[0] == 4 and d["states"].shape[2] == 16
    assert d["t"].shape[0] == d["states"].shape[1]
    assert list(d["state_names"][:2]) == ["v(n1)", "v(n2)"]
    assert int(d["seed"]) == 7 and str(d["method"]) == "exact"
    assert s["max_abs_z"] < 5


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_same_seed_same_bytes(tmp_path, method):
    digests = []
    for k in range(2):
        out = tmp_path / f"{method}{k}.npz"
        argv = [
            "simulate",
            f"{ROOT}/netlists/nonequilibrium.yaml",
            "--duration",
            "20us",
            "--chains",
            "3",
            "--seed",
            "11",
            "--method",
            method,
            "--dt",
            "1ns",
            "--save-every",
            "5",
            "--out",
            str(out),
        ]
        assert main(argv) == 0
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    out2 = tmp_path / "other.npz"
    assert (
        main(
            [
                "simulate",
                f"{ROOT}/netlists/nonequilibrium.yaml",
                "--duration",
                "20us",
                "--chains",
                "3",
                "--seed",
                "12",
                "--method",
                method,
                "--dt",
                "1ns",
                "--save-every",
                "5",
                "--out",
                str(out2),
            ]
        )
        == 0
    )
    assert hashlib.sha256(out2.read_bytes()).hexdigest() != digests[0]


@pytest.mark.parametrize(
    "chains,duration,dtype",
    [(300, 1e-4, np.float64), (1, 3e-3, np.float32), (1, 3e-3, np.float64), (7, 5e-4, np.float32)],
)
def test_threads_do_not_change_results(chains, duration, dtype):
    """Wide batches and the small-batch scan (stretches per stream, fixed up on the
    worker threads) give the same bytes with or without threads."""
    from spu_emulator.circuit import assemble
    from spu_emulator.integrate import simulate
    from spu_emulator.netlist import load

    sde = assemble(load(f"{ROOT}/netlists/spu8.yaml")).to_sde()
    a = simulate(sde, "exact", 0, duration, 1e-8, 5, chains=chains, threads=True, dtype=dtype).states
    b = simulate(sde, "exact", 0, duration, 1e-8, 5, chains=chains, threads=False, dtype=dtype).states
    assert a.dtype == dtype and np.array_equal(a, b)


def test_plot_writes_pngs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert (
        main(
            [
                "plot",
                f"{ROOT}/netlists/coupled_pair.yaml",
                "--out-dir",
                str(tmp_path),
                "--duration",
                "200us",
            ]
        )
        == 0
    )
    for name in ("trajectories.png", "psd.png", "covariance.png"):
        p = tmp_path / name
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.stat().st_size > 10_000


def test_readme_example_runs(tmp_path):
    """The README's first command (after the install step) runs as written."""
    text = open(ROOT / "README.md").read()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    line = next(ln for ln in block.splitlines() if ln.startswith("python3 -m pip install"))
    cmds = [c.strip() for c in line.split("&&")][1:]
    assert cmds and all(c.startswith("spu ") for c in cmds)
    for c in cmds:
        argv = shlex.split(c)
        argv = [str(tmp_path / a) if a.endswith(".npz") else a for a in argv]
        r = subprocess.run(
            [sys.executable, "-m", "spu_emulator", *argv[1:]],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,  # the README's commands run from the repository root
        )
        assert r.returncode == 0, r.stderr
    assert "bash .ci/run" in block


def test_import_is_light():
    code = (
        "import sys, spu_emulator, spu_emulator.cli, spu_emulator.analysis; "
        "bad=[m for m in ('PySpice','matplotlib','sklearn','tqdm') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_simulate_x0(tmp_path, capsys):
    x0 = tmp_path / "x0.npy"
    np.save(x0, np.full((3, 2), 2e-16))
    out = tmp_path / "a.npz"
    assert main(["simulate", f"{ROOT}/netlists/nonlinear_pair.yaml", "--duration", "20ps", "--chains", "3",
                 "--x0", str(x0), "--out", str(out)]) == 0
    first = np.load(out)["states"][:, 0]
    assert np.all(np.abs(first - 2e-16) < 1e-16)  # one short step away from the start
    np.save(x0, np.zeros(5))
    assert main(["simulate", f"{ROOT}/netlists/nonlinear_pair.yaml", "--duration", "20ps", "--x0", str(x0),
                 "--out", str(out)]) == 2
    assert "--x0: expected shape (2,)" in capsys.readouterr().err


def test_float32_precision_warning_is_one_line(tmp_path, capsys):
    """49 high-Q tanks (98 states: too many for the scan) in a wide float32 batch step
    with the rounded F: one warning line. One such tank takes the scan: quiet."""
    cell = "{{name: a{}, C: 1 nF, L: 1 uH, R: 10 megOhm}}"
    head = "format: spu-netlist/1\ntemperature: 300 K\ncells:\n"
    many, one = tmp_path / "tanks.yaml", tmp_path / "tank.yaml"
    many.write_text(head + "".join(f"  - {cell.format(i)}\n" for i in range(49)))
    one.write_text(head + f"  - {cell.format(0)}\n")
    out = tmp_path / "t.npz"
    opts = ["--duration", "20 ns", "--dt", "1 ns", "--out", str(out), "--float32", "--chains", "200"]
    assert main(["simulate", str(many)] + opts) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spu: warning: float32 run:"), err
    assert "may shift the slowest decay rate by ~" in err[0] and out.exists()
    assert err[0].endswith("or fewer than 128 chains")  # 98 states: segments anchor in float64
    assert main(["simulate", str(one)] + opts) == 0
    assert capsys.readouterr().err == ""
