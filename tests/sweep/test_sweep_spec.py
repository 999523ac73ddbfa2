"""Sweep files: points in a fixed order with draws, boards and seeds that depend on
(sweep file, index) only, and every bad file refused in one line, exit 2, before any
work (no output directory appears)."""

import json
import socket

import numpy as np
import pytest
from sweepcluster import ROOT

from spu_emulator.cli import main
from spu_emulator.sweep.points import argv, netlist_text, point_seed, points
from spu_emulator.sweep.spec import load_sweep

NETLISTS = ROOT / "netlists"
PAIR = NETLISTS / "coupled_pair.yaml"


def sweep_file(tmp_path, body, netlist=PAIR, name="s.yaml"):
    p = tmp_path / name
    p.write_text(f"sweep: spu-sweep/1\nnetlist: {netlist}\n{body}")
    return p


def test_points_are_the_product_in_file_order(tmp_path):
    f = sweep_file(tmp_path, """command: [check, --json]
set:
  "cells[0].C": ["1 nF", "2 nF"]
zip:
  "cells[1].C": ["1 nF", "1.5 nF", "2 nF"]
  "cells[1].R": ["1 kOhm", "2 kOhm", "3 kOhm"]
""")
    pts = points(load_sweep(f))
    assert len(pts) == 6
    assert [p.index for p in pts] == list(range(6))
    assert dict(pts[4].overrides) == {"cells[0].C": "2 nF", "cells[1].C": "1.5 nF",
                                      "cells[1].R": "2 kOhm"}
    assert all(p.seed is None for p in pts)  # check takes no --seed
    assert argv(load_sweep(f), pts[0]) == ["check", "netlist.yaml", "--json"]


def test_random_draws_depend_on_the_seed_and_draw_number_only(tmp_path):
    body = """command: [analyze, --json]
seed: 7
random:
  count: {n}
  draw:
    "couplers[0].C": {{uniform: ["150 pF", "250 pF"]}}
    "cells[0].R": {{lognormal: ["1 kOhm", 0.1]}}
"""
    small = points(load_sweep(sweep_file(tmp_path, body.format(n=20), name="a.yaml")))
    big = points(load_sweep(sweep_file(tmp_path, body.format(n=400), name="b.yaml")))
    assert [p.overrides for p in big[:20]] == [p.overrides for p in small]
    c = np.array([dict(p.overrides)["couplers[0].C"] for p in big])
    r = np.array([dict(p.overrides)["cells[0].R"] for p in big])
    assert c.min() >= 150e-12 and c.max() <= 250e-12
    # uniform: mean 200 pF, sd 100/sqrt(12) pF; 400 independent draws -> 5 standard errors
    assert abs(c.mean() - 200e-12) < 5 * (100e-12 / np.sqrt(12)) / np.sqrt(400)
    assert abs(np.log(r / 1e3).mean()) < 5 * 0.1 / np.sqrt(400)
    assert abs(np.log(r / 1e3).std(ddof=1) - 0.1) < 5 * 0.1 / np.sqrt(2 * 399)
    other = points(load_sweep(sweep_file(tmp_path, body.format(n=20).replace("seed: 7", "seed: 8"),
                                         name="c.yaml")))
    assert other[0].overrides != small[0].overrides


def test_seeds_and_derived_seeds(tmp_path):
    f = sweep_file(tmp_path, """command: [simulate, --duration, "2 us", -o, t.npz, --json]
set: {"cells[0].C": ["1 nF", "2 nF"]}
seeds: 3
""")
    spec = load_sweep(f)
    pts = points(spec)
    assert [(dict(p.overrides)["cells[0].C"], p.seed) for p in pts] == [
        ("1 nF", 0), ("1 nF", 1), ("1 nF", 2), ("2 nF", 0), ("2 nF", 1), ("2 nF", 2)]
    assert argv(spec, pts[1])[-2:] == ["--seed", "1"]
    g = sweep_file(tmp_path, """command: [simulate, --duration, "2 us", -o, t.npz, --json]
seed: 5
set: {"cells[0].C": ["1 nF", "2 nF"]}
""", name="g.yaml")
    derived = [p.seed for p in points(load_sweep(g))]
    ss = np.random.SeedSequence(5).spawn(2)[0].spawn(2)
    assert derived == [int(s.generate_state(1, np.uint64)[0]) & (2**63 - 1) for s in ss]
    assert derived == [point_seed(5, 0), point_seed(5, 1)]


def test_montecarlo_points_are_the_boards_of_spu_montecarlo(tmp_path):
    from spu_emulator.hardware.family import BoardFamily
    from spu_emulator.netlist import loads

    net = tmp_path / "t.yaml"
    net.write_text(PAIR.read_text() + "tolerances:\n  C: {sigma: 5%, lot: 2%}\n  R: 5%\n")
    f = sweep_file(tmp_path, "command: [analyze, --json]\nmontecarlo: {boards: 4, seed: 11}\n",
                   netlist=net)
    spec = load_sweep(f)
    pts = points(spec)
    assert [p.board for p in pts] == [0, 1, 2, 3]
    fam = BoardFamily(loads(net.read_text(), "t.yaml"))
    for p in pts:
        board = loads(netlist_text(spec.netlist_text, p, 11), "x")
        want = fam.netlist_for(fam.draw(11, p.board, p.board + 1)[0])
        assert board.digest == want.digest


def _dead_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


BAD = [
    ("command: [check, --json]\nsett: {}\n", "s.yaml: sett: unknown key 'sett' (did you mean 'set'?"),
    ("command: [check, --json]\nset: {\"cells[9].C\": [\"1 nF\"]}\n",
     's.yaml: set."cells[9].C": the netlist has 2 cells'),
    ("command: [check, --json]\nset: {\"cells[0].X\": [\"1 nF\"]}\n",
     's.yaml: set."cells[0].X": the netlist has no \'X\' in cells[0]'),
    ("command: [check, --json]\nset: {\"cells[0].C\": []}\n",
     's.yaml: set."cells[0].C": the list is empty'),
    ("command: [check, --json]\nset: {\"cells[0].C\": [\"1 nF\", \"-2 nF\"]}\n",
     's.yaml: set."cells[0].C"[1]: must be positive'),
    ("command: [check, --json]\nzip: {\"cells[0].C\": [\"1 nF\"], \"cells[1].C\": [\"1 nF\", \"2 nF\"]}\n",
     "zipped lists need equal lengths"),
    ("command: [plot]\n", "s.yaml: command: cannot sweep 'spu plot'"),
    ("command: [spice, export, -o, x.cir]\n", "'spu spice export' prints no JSON"),
    ("command: [check]\n", "s.yaml: command: add --json"),
    ("command: [analyse, --json]\n", "'analyse' is not an spu command"),
    ("command: [check, --json, --frobnicate]\n", "unrecognized arguments: --frobnicate"),
    ("command: [check, --json]\nseeds: 3\n", "s.yaml: seeds: 'spu check' takes no --seed"),
    ("command: [analyze, --json]\nmontecarlo: {boards: 10}\n",
     "s.yaml: montecarlo: the netlist has no tolerances"),
    ("command: [analyze, --json]\nrandom: {count: 3, draw: {\"cells[0].C\": {gauss: [1, 2]}}}\n",
     "unknown key 'gauss'"),
    ("command: [check, --json]\nplot: {y: []}\n", "s.yaml: plot.y: the list is empty"),
]


@pytest.mark.parametrize("body,needle", BAD, ids=range(len(BAD)))
def test_bad_sweep_files_one_line_exit_2_nothing_written(tmp_path, capsys, body, needle):
    f = sweep_file(tmp_path, body)
    assert main(["sweep", str(f), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err, err
    assert str(f) in err or "s.yaml" in err
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_one_line_exit_2(tmp_path, capsys):
    f = sweep_file(tmp_path, "command: [check, --json]\n")
    address = _dead_address()
    assert main(["sweep", str(f), "-o", str(tmp_path / "out"), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"--scheduler: cannot connect to the scheduler at {address}" in err
    assert not (tmp_path / "out").exists()


def test_failed_points_recorded_exit_1_and_changed_file_refused(tmp_path, capsys):
    # spu analyze refuses nonlinear netlists: each point fails with that one line
    nl = NETLISTS / "nonlinear_pair.yaml"
    f = sweep_file(tmp_path, "command: [analyze, --json]\nseed: 1\n", netlist=nl)
    out = tmp_path / "out"
    assert main(["sweep", str(f), "-o", str(out), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "1 of 1 points failed" in err
    rec = json.loads((out / "results.jsonl").read_text())
    assert rec["index"] == 0 and rec["status"] == 2 and "nonlinear" in rec["error"]
    assert "\n" not in rec["error"]
    # a changed sweep file is refused on the same directory, before any work
    f.write_text(f.read_text().replace("seed: 1", "seed: 2"))
    assert main(["sweep", str(f), "-o", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "was made by a different sweep file" in err and len(err.strip().splitlines()) == 1


def test_a_sweep_too_large_for_memory_is_refused_before_any_work(tmp_path, capsys):
    """10⁹ seeds: refused in well under a second (the count is never built), one line with
    the estimate and the option that raises the limit; nothing written."""
    import time

    f = sweep_file(tmp_path, "command: [simulate, --duration, 1us, --json, -o, s.npz]\n"
                             "seeds: 1000000000\n")
    t = time.perf_counter()
    assert main(["sweep", str(f), "-o", str(tmp_path / "out")]) == 2
    assert time.perf_counter() - t < 5
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "1,000,000,000 points" in err, err
    assert "TB of memory" in err and "--max-memory" in err, err
    g = sweep_file(tmp_path, "command: [check, --json]\nset:\n  \"cells[0].C\": [\"1 nF\", \"2 nF\"]\n",
                   name="small.yaml")
    assert main(["sweep", str(g), "-o", str(tmp_path / "out"), "--max-memory", "1kB"]) == 2
    assert "a sweep of 2 points" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
