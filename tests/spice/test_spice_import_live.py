"""SPICE decks in and out, against ngspice itself (marked ``spice``; CI installs ngspice).

- Every bundled netlist's exported deck runs under plain ``ngspice -b deck.cir``: it
  exits 0, says what it wrote, and its data files parse and agree with the emulator
  (the node PSD pointwise within 1e-3; the transient on its uniform grid).
- Every hand-written deck in ``tests/spice/decks/`` imports, and ``spu analyze`` of the
  netlist gives the node variances that ngspice's ``.noise`` of the *original* deck
  integrates to (the spectrum check's grid and quadrature), within 1e-3; the DC
  operating point (``.op``) gives the emulator's mean.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.circuit.assemble import assemble
from spu_emulator.cli import main
from spu_emulator.netlist import load
from spu_emulator.spice.checks import ValidateOptions
from spu_emulator.spice.checks.spectrum import SpectrumCheck
from spu_emulator.spice.deck import ANALYSIS_CARDS
from spu_emulator.spice.export import ExportOptions, fmt, plan_export
from spu_emulator.spice.run import INSTALL_HINT, find_ngspice, ngspice_available, read_raw, run_deck

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "netlists").glob("*.yaml"))
DECKS = sorted((Path(__file__).parent / "decks").glob("*.cir"))

pytestmark = [
    pytest.mark.spice,
    pytest.mark.skipif(not ngspice_available(), reason=f"ngspice is not installed: {INSTALL_HINT}"),
]


def test_there_are_enough_hand_written_decks():
    assert len(DECKS) >= 5
    text = "\n".join(p.read_text().lower() for p in DECKS)
    for feature in (".subckt", ".param", ".temp", "dtemp=", "\nk", "\n+", "meg", "nf", ".include",
                    ".options temp="):
        assert feature in text, feature


# ---- exported decks run on their own -----------------------------------------------------


def _ngspice(deck: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([find_ngspice(), "-b", deck.name, *extra], cwd=deck.parent,
                          capture_output=True, text=True, timeout=300)


def _check_noise_files(net, plan, folder: Path, log: str) -> list[float]:
    sde = assemble(net).to_sde()
    index = {n: i for i, n in enumerate(assemble(net).nodes)}
    worst = []
    for an, file in zip(plan.noise, plan.noise_files, strict=True):
        assert f"wrote {file}" in log, log
        head = (folder / file).read_text().splitlines()[0].split()
        assert head == ["frequency", "onoise_spectrum"]
        data = np.loadtxt(folder / file, skiprows=1)
        f, s = data[:, 0], data[:, 1] ** 2  # V/sqrt(Hz) -> V^2/Hz, one-sided
        assert f[0] == pytest.approx(an.fstart) and f[-1] == pytest.approx(an.fstop)
        emu = sde.node_psd(f)[:, index[an.output]]
        mask = emu > 1e-9 * emu.max()
        rel = float(np.max(np.abs(s[mask] / emu[mask] - 1)))
        assert rel <= 1e-3, (file, rel)
        worst.append(rel)
        # the echoed variance (trapezoid over the sweep) is the node's variance
        m = re.search(rf"wrote {re.escape(file)}: .*variance over the sweep (\S+) V\^2", log)
        var = float(m.group(1))
        exact = sde.stationary_covariance()[index[an.output], index[an.output]]
        assert var == pytest.approx(exact, rel=2e-3), (file, var, exact)
    return worst


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_exported_deck_runs_under_plain_ngspice(path, tmp_path, capsys):
    """``spu spice export`` then ``ngspice -b deck.cir``: exit 0, one 'wrote' line per
    file, the files parse; linear netlists: .noise of every state node matches the
    emulator's node PSD within 1e-3; nonlinear: the transient of every node and charge
    node, on the uniform trnoise grid."""
    net = load(path)
    deck = tmp_path / "deck.cir"
    assert main(["spice", "export", str(path), "-o", str(deck)]) == 0
    capsys.readouterr()
    plan = plan_export(net, stem="deck")
    proc = _ngspice(deck)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "no simulations run" not in log and "rror" not in log, log
    assert sorted(p.name for p in tmp_path.glob("*.dat")) == sorted(plan.files)
    if net.is_linear:
        worst = _check_noise_files(net, plan, tmp_path, log)
        print(f"{path.stem}: worst PSD error {max(worst):.2e} over {len(worst)} node(s)")
    else:
        data = np.loadtxt(tmp_path / plan.tran_file, skiprows=1)
        head = (tmp_path / plan.tran_file).read_text().splitlines()[0].split()
        assert head == ["time", "v(a)", "v(b)", "v(q_a)", "v(q_b)"]
        t = data[:, 0]
        np.testing.assert_allclose(np.diff(t), plan.tran.step, rtol=1e-6)
        assert t[-1] == pytest.approx(plan.tran.stop, rel=1e-6)
        q = 1e-15 * data[len(t) // 2:, 3]  # charge of node a, second half of the run
        assert 1e-17 < np.std(q) < 2e-16
    # with -r, the analyses' plots also go to a raw file
    proc = _ngspice(deck, "-r", "out.raw")
    assert proc.returncode == 0
    plots = read_raw(tmp_path / "out.raw")
    assert len(plots) == len(plan.noise) + (plan.tran is not None)


def test_exported_transient_of_a_linear_netlist(tmp_path, capsys):
    """noise,tran on the single cell: both kinds of file from one run."""
    net = load(ROOT / "netlists/single_cell.yaml")
    opts = ExportOptions(analysis=("noise", "tran"), stop=4e-6)
    deck = tmp_path / "sc.cir"
    assert main(["spice", "export", str(ROOT / "netlists/single_cell.yaml"), "-o", str(deck),
                 "--analysis", "noise,tran", "--stop", "4u"]) == 0
    plan = plan_export(net, opts, stem="sc")
    proc = _ngspice(deck)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_noise_files(net, plan, tmp_path, proc.stdout)
    data = np.loadtxt(tmp_path / "sc_tran.dat", skiprows=1)
    assert data.shape == (round(4e-6 / plan.tran.step) + 1, 2)
    # from rest, with trnoise: a few relaxation times of thermal noise, kT/C ~ 4e-12 V^2
    assert 1e-13 < np.var(data[len(data) // 2:, 1]) < 2e-11


# ---- hand-written decks: import, analyze, against ngspice on the original -----------------


def _circuit_of(path: Path) -> str:
    """The deck's circuit cards: its analysis cards, control blocks and .end removed,
    .include paths made absolute (ngspice runs it elsewhere)."""
    out, skip = [], False
    for line in path.read_text().splitlines():
        words = line.split()
        head = words[0].lower() if words else ""
        if head.startswith(".control"):
            skip = True
        if skip:
            skip = not head.startswith(".endc")
            continue
        if head in ANALYSIS_CARDS or head == ".end":
            continue
        if head in (".include", ".inc"):
            line = f".include {(path.parent / words[1]).resolve()}"
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("path", DECKS, ids=lambda p: p.stem)
def test_hand_written_deck_imports_to_ngspice_noise(path, tmp_path, capsys):
    yaml = tmp_path / "net.yaml"
    assert main(["spice", "import", str(path), "-o", str(yaml)]) == 0
    analyzed = tmp_path / "a.json"
    assert main(["analyze", str(yaml), "--out", str(analyzed)]) == 0
    capsys.readouterr()
    a = json.loads(analyzed.read_text())
    net = load(yaml)
    circuit = assemble(net)
    check, opts = SpectrumCheck(), ValidateOptions()
    plan = check.plan(circuit, opts)
    body = _circuit_of(path)
    decks = {}
    for n in plan.nodes:  # ngspice's flattened node names are the netlist's
        cards = [f"ispu_ref 0 {n} dc 0 ac 1",
                 f".noise v({n}) ispu_ref dec {plan.points_per_decade} {fmt(plan.fmin)} "
                 f"{fmt(plan.fmax)}"]
        cards += [f".noise v({n}) ispu_ref lin {k} {fmt(fa)} {fmt(fb)}" for k, fa, fb in plan.sweeps]
        decks[n] = body + "\n".join(cards) + "\n.end\n"
    data = check.run(plan, decks, net, run_deck)
    result = check.compare(circuit, data, opts)
    assert result.passed, result.summary
    var_ng = np.array([row["variance_ngspice"] for row in result.rows])
    idx = [a["nodes"].index(n) for n in data.nodes]
    var_an = np.diag(np.asarray(a["voltage_covariance"]))[idx]
    err = float(np.max(np.abs(var_ng / var_an - 1)))
    assert err <= 1e-3, (var_ng, var_an)
    # the DC operating point: the emulator's mean
    op = run_deck(body + ".op\n.end\n").plot("operating point")
    mean_ng = np.array([op[f"v({n})"].real[0] for n in data.nodes])
    mean = np.asarray(a["mean"])[idx]
    np.testing.assert_allclose(mean_ng, mean, rtol=1e-6, atol=1e-12)
    print(f"{path.name}: {len(data.nodes)} nodes, worst variance error vs ngspice {err:.2e}, "
          f"worst PSD error {max(r['psd_max_rel_error'] for r in result.rows):.2e}, "
          f"max |mean| {np.abs(mean).max():.3g} V")
