"""Sweeps on a real Dask cluster (a scheduler and two workers on 127.0.0.1) against the
embedded one: the same bytes whatever runs them, a worker killed mid-sweep, an
interrupted sweep resumed, and points equal to the command run by hand."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweepcluster import ROOT, env

from spu_emulator.cli import main

NETLISTS = ROOT / "netlists"

# 40 points: 5 values of a cell's C x 8 of a cell's R, `spu check --json` of two cells
GRID = f"""\
sweep: spu-sweep/1
netlist: {NETLISTS / 'coupled_pair.yaml'}
command: [check, --json]
set:
  "cells[0].C": ["1 nF", "1.1 nF", "1.2 nF", "1.3 nF", "1.5 nF"]
  "cells[1].R": ["1 kOhm", "1.1 kOhm", "1.2 kOhm", "1.3 kOhm", "1.4 kOhm", "1.5 kOhm",
                 "2 kOhm", "3 kOhm"]
"""

# 160 slower points (analyze of the 8-cell SPU): long enough to interrupt mid-sweep
SLOW = f"""\
sweep: spu-sweep/1
netlist: {NETLISTS / 'spu8.yaml'}
command: [analyze, --json]
zip:
  "couplers[0].C": [{", ".join(f'"{50 + i} pF"' for i in range(160))}]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def sorted_lines(d: Path) -> list[str]:
    lines = (d / "results.jsonl").read_text().splitlines()
    return sorted(lines, key=lambda ln: json.loads(ln)["index"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Both sweeps on an embedded cluster of one worker."""
    tmp = tmp_path_factory.mktemp("ref")
    out = {}
    for name, text in (("grid", GRID), ("slow", SLOW)):
        f = write(tmp, f"{name}.yaml", text)
        assert main(["sweep", str(f), "-o", str(tmp / name), "--workers", "1", "--json"]) == 0
        out[name] = (tmp / name, f)
    return out


def test_cluster_gives_the_same_bytes_as_one_local_worker(cluster, reference, tmp_path, capsys):
    ref_dir, sweep_file = reference["grid"]
    capsys.readouterr()
    assert main(["sweep", str(sweep_file), "-o", str(tmp_path / "c"), "--scheduler",
                 cluster.address, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["points"] == report["ran"] == 40 and report["failed"] == 0
    lines = sorted_lines(tmp_path / "c")
    assert len(lines) == 40
    assert lines == sorted_lines(ref_dir)
    assert (tmp_path / "c/results.jsonl").read_bytes() == (ref_dir / "results.jsonl").read_bytes()
    assert (tmp_path / "c/summary.csv").read_bytes() == (ref_dir / "summary.csv").read_bytes()
    # both workers took points
    rows = [json.loads(ln) for ln in lines]
    assert [r["index"] for r in rows] == list(range(40))
    assert rows[9]["overrides"] == {"cells[0].C": "1.1 nF", "cells[1].R": "1.1 kOhm"}


def _wait_for_points(d: Path, k: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(list(d.glob("points/*/result.json"))) < k:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.02)


def _sweep_process(sweep_file: Path, out: Path, address: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "spu_emulator", "sweep", str(sweep_file),
                             "-o", str(out), "--scheduler", address],
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_sweep_costs_nothing(cluster, reference, tmp_path):
    ref_dir, sweep_file = reference["slow"]
    out = tmp_path / "k"
    proc = _sweep_process(sweep_file, out, cluster.address)
    _wait_for_points(out, 10, proc)
    cluster.workers[0].send_signal(signal.SIGKILL)
    cluster.workers[0].wait()
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert len(list(out.glob("points/*/result.json"))) == 160
    assert sorted_lines(out) == sorted_lines(ref_dir)


def test_interrupted_sweep_resumes_to_the_same_bytes(cluster, reference, tmp_path):
    ref_dir, sweep_file = reference["slow"]
    out = tmp_path / "i"
    proc = _sweep_process(sweep_file, out, cluster.address)
    _wait_for_points(out, 10, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "resume" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    done = len(list(out.glob("points/*/result.json")))
    assert 10 <= done < 160
    # results.jsonl holds exactly the finished points, by index
    partial = (out / "results.jsonl").read_text().splitlines()
    assert len(partial) == done
    proc = _sweep_process(sweep_file, out, cluster.address)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"{160 - done} run now, {done} done before" in stdout
    assert (out / "results.jsonl").read_bytes() == (ref_dir / "results.jsonl").read_bytes()


def test_points_equal_the_command_run_by_hand(reference, tmp_path, monkeypatch, capsys):
    ref_dir, _ = reference["grid"]
    base = (NETLISTS / "coupled_pair.yaml").read_text()
    rows = {json.loads(ln)["index"]: json.loads(ln) for ln in sorted_lines(ref_dir)}
    for index, c, r in ((0, "1 nF", "1 kOhm"), (17, "1.2 nF", "1.1 kOhm"), (39, "1.5 nF", "3 kOhm")):
        assert rows[index]["overrides"] == {"cells[0].C": c, "cells[1].R": r}
        # the overridden netlist, edited by hand from the base file's text
        a = "  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm}"
        b = "  - {name: b, C: 1 nF, L: 1 uH, R: 1 kOhm}"
        assert a in base and b in base
        text = base.replace(a, a.replace("C: 1 nF", f"C: {c}")).replace(
            b, b.replace("R: 1 kOhm", f"R: {r}"))
        d = tmp_path / str(index)
        d.mkdir()
        (d / "netlist.yaml").write_text(text)
        monkeypatch.chdir(d)
        capsys.readouterr()
        assert main(["check", "--json", "netlist.yaml"]) == 0
        assert json.loads(capsys.readouterr().out) == rows[index]["result"]
        # and the point's own netlist file gives it too
        assert (ref_dir / "points" / str(index) / "netlist.yaml").is_file()
    os.chdir(ROOT)
