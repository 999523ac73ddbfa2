"""SPICE deck → netlist (``spu spice import``) and the new exported-deck layout, offline.

SPICE numbers and expressions as SPICE reads them; cards, continuation lines,
comments, subcircuits and parameters; what each construct becomes; the round trip
import(export(netlist)) for every bundled netlist (the digest, names restored from the
exporter's header maps); golden text of the exported decks; every kind of bad input:
one line naming the deck file and line, exit status 2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.circuit.assemble import assemble
from spu_emulator.cli import main
from spu_emulator.errors import InputError, NetlistError
from spu_emulator.netlist import load, loads
from spu_emulator.spice.deck import read_deck
from spu_emulator.spice.export import ExportOptions, NoiseAnalysis, export, plan_export, to_spice
from spu_emulator.spice.expr import ExpressionError, evaluate, number, parse, polynomial
from spu_emulator.spice.importer import celsius_to_kelvin, import_deck, import_text
from spu_emulator.units import K_B

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "netlists").glob("*.yaml"))
DECKS = sorted((Path(__file__).parent / "decks").glob("*.cir"))


def _circuit_matrices(netlist):
    c = assemble(netlist).to_sde()
    return c.A, c.B @ c.B.T


def _same_circuit(a, b) -> None:
    """Equal assembled circuits: state names, drift and noise matrices."""
    ca, cb = assemble(a), assemble(b)
    assert ca.to_sde().state_names == cb.to_sde().state_names
    for x, y in zip(_circuit_matrices(a), _circuit_matrices(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=0)


# ---- numbers and expressions -------------------------------------------------------


@pytest.mark.parametrize("text,value", [
    ("1", 1.0), ("2.5", 2.5), (".5", 0.5), ("1e-9", 1e-9), ("-3E2", -300.0),
    ("1f", 1e-15), ("1F", 1e-15), ("10p", 1e-11), ("2.2n", 2.2e-9), ("2.2NF", 2.2e-9),
    ("4.7u", 4.7e-6), ("4.7UH", 4.7e-6), ("1m", 1e-3), ("1M", 1e-3), ("500M", 0.5),
    ("1k", 1e3), ("1K", 1e3), ("1kohm", 1e3), ("1MEG", 1e6), ("1meg", 1e6), ("2Megohm", 2e6),
    ("1g", 1e9), ("1T", 1e12), ("1mil", 25.4e-6), ("1MIL", 25.4e-6), ("1e3k", 1e6),
    ("10uF", 1e-5), ("3ohm", 3.0), ("5A", 5.0), ("1V", 1.0), ("2s", 2.0), ("1ms", 1e-3),
    ("10Hz", 10.0), ("1farad", 1e-15),
])
def test_numbers_read_as_spice_reads_them(text, value):
    """SPICE's scale suffixes, case-insensitive: M and m are milli, MEG mega; a unit
    after the scale is ignored (so a bare F is femto, as in SPICE); decimal scaling."""
    assert number(text) == value


@pytest.mark.parametrize("text", ["1.5x", "1kk", "2q", "1..2", "abc", "1e", "--1", "1megx"])
def test_bad_numbers_are_errors(text):
    with pytest.raises(ExpressionError):
        number(text)


def test_expressions():
    env = {"a": 2.0, "b": 3.0}
    ev = lambda s: evaluate(parse(s), env.__getitem__)  # noqa: E731
    assert ev("1 + 2*3") == 7.0
    assert ev("(1 + 2)*3") == 9.0
    assert ev("2**3**2") == 512.0  # right associative
    assert ev("2^3") == 8.0
    assert ev("-a**2") == -4.0
    assert ev("a - -b") == 5.0
    assert ev("1k/a + 1n*1g") == 501.0
    assert ev("b/a/2") == 0.75
    for bad, msg in [("sqrt(2)", "not supported"), ("1/0", "division by zero"),
                     ("2 +", "ends too early"), ("(1", "ends too early"), ("(1 2)", "expected ')'"), ("1 2", "unexpected"),
                     ("a ? b", "cannot read"), ("", "empty")]:
        with pytest.raises(ExpressionError, match=re_escape(msg)):
            ev(bad)
    with pytest.raises(KeyError):
        ev("c")


def re_escape(s: str) -> str:
    import re

    return re.escape(s)


def test_polynomial_in_node_voltages():
    p = polynomial(parse("0.001*v(q_a)+0.8*v(q_a)*v(q_a)*v(q_a)-3e-4*v(q_b)"))
    assert p == {("q_a",): 0.001, ("q_a", "q_a", "q_a"): 0.8, ("q_b",): -3e-4}
    assert polynomial(parse("2*(v(x)+1)**2/4")) == {("x", "x"): 0.5, ("x",): 1.0, (): 0.5}
    with pytest.raises(ExpressionError):
        polynomial(parse("exp(v(x))"))
    with pytest.raises(ExpressionError):
        polynomial(parse("v(x)/v(y)"))


def test_celsius_to_kelvin_is_exact_for_written_values():
    assert celsius_to_kelvin(26.85) == 300.0
    assert celsius_to_kelvin(27) == 300.15
    assert celsius_to_kelvin(-196.15) == 77.0


# ---- reading decks -------------------------------------------------------------------


def test_cards_comments_continuations_case_and_end():
    deck = read_deck(
        "R1 a 0 1k  (the first line is the title, never a card)\n"
        "* a comment\n"
        "R1 A 0 1K ; inline comment\n"
        "C1 a\n"
        "* comment lines may sit inside a card's continuation\n"
        "+ GND\n"
        "+ 1N $ another inline comment\n"
        "\n"
        "L1 a b$c 1u\n"
        ".end\n"
        "R9 this is after .end\n",
        "t.cir")
    assert deck.title.startswith("R1 a 0 1k")
    assert deck.notes == []  # a title that is text, not a card
    assert read_deck("R1 a 0 1k\nC1 a 0 1n\n", "t.cir").notes == [
        "t.cir:1: title: the first line is the deck's title, not a card, as in every SPICE: "
        "'R1 a 0 1k' is not read"]
    assert [(e.kind, e.name, e.nodes, e.value) for e in deck.elements] == [
        ("r", "r1", ("a", "0"), 1e3), ("c", "c1", ("a", "0"), 1e-9),
        ("l", "l1", ("a", "b$c"), 1e-6)]  # '$' starts a comment only after a blank
    assert deck.elements[1].card.line == 4  # a card is located at its first line
    assert deck.elements[0].shown == "R1"


def test_subcircuits_flatten_with_ngspice_names_and_parameters():
    deck = read_deck("""title
.param c0=1n
.subckt cell p params: c={c0} r=1k
C1 p 0 {c}
R1 p mid {r}
Rg mid gnd 1k
.ends cell
.subckt pair a b
x1 a cell
X2 b CELL c={2*c0} r='3k'
cc a b 10p
.ends
xp n1 n2 pair
.global vdd
""", "t.cir")
    got = {e.name: (e.nodes, e.value) for e in deck.elements}
    assert got == {
        "xp.x1.c1": (("n1", "0"), 1e-9), "xp.x1.r1": (("n1", "xp.x1.mid"), 1e3),
        "xp.x1.rg": (("xp.x1.mid", "0"), 1e3),
        "xp.x2.c1": (("n2", "0"), 2e-9), "xp.x2.r1": (("n2", "xp.x2.mid"), 3e3),
        "xp.x2.rg": (("xp.x2.mid", "0"), 1e3), "xp.cc": (("n1", "n2"), 1e-11),
    }
    assert deck.elements[3].shown == "xp.X2.C1"


def test_parameters_in_any_order_and_scopes():
    deck = read_deck("""t
.param b='a*2' a=3
.param c={b + a}
.subckt s p params: k=2
.param local={k*c}
R1 p 0 {local*1k}
.ends
R2 n 0 {c*1k}
X1 n s
X2 n s k={c}
""", "t.cir")
    assert [e.value for e in deck.elements] == [9e3, 18e3, 81e3]


def test_temperatures_and_analysis_cards_give_notes():
    r = import_text("""t
.options temp=50 tnom=27 reltol=1e-4
R1 a 0 1k
C1 a 0 1n
Iin 0 a dc 0 ac 1
.noise v(a) iin dec 10 1k 1g
.print noise onoise
.control
run
.endc
.end
""", "n.cir")
    assert r.netlist.temperature == 323.15
    notes = "\n".join(r.notes)
    for what in (".options: reltol", ".noise: ignored", ".print: ignored", ".control",
                 "Iin: a current source with no dc value"):
        assert what in notes, notes
    assert all(n.startswith("n.cir:") for n in r.notes)
    assert [e.name for e in r.netlist.elements] == ["r1", "c1"]


# ---- what each construct becomes ---------------------------------------------------------


def test_resistor_temperatures():
    r = import_text("""t
.temp 27
C1 a 0 1n
R1 a 0 1k
R2 a 0 2k dtemp=10
R3 a 0 3k temp=-196.15
R4 a 0 4k noisy=0
R5 a 0 5k dtemp=0
""", "t.cir")
    temps = {e.name: e.temperature for e in r.netlist.elements if e.TYPE == "R"}
    assert temps == {"r1": None, "r2": 310.15, "r3": 77.0, "r4": 0.0, "r5": 300.15}
    assert r.netlist.temperature == 300.15
    assert any("r3" in n.lower() and "dtemp" in n for n in r.notes)  # ngspice ignores temp=


def test_trnoise_current_source_is_white_noise():
    r = import_text("t\nC1 a 0 1n\nR1 a 0 1k\nI1 0 a dc 1u trnoise(2n 1p 0 0)\n"
                    "I2 a 0 TRNOISE(3n, 2p)\n", "t.cir")
    i1, i2 = r.netlist.elements[2:]
    assert (i1.dc, i1.noise_psd) == (1e-6, pytest.approx(2 * (2e-9) ** 2 * 1e-12, rel=1e-15))
    assert i2.noise_psd == pytest.approx(2 * 9e-18 * 2e-12, rel=1e-15)
    # the emulator's source intensity is half the one-sided PSD: NA^2 NT
    spec = assemble(r.netlist).noise[-1]
    assert spec.intensity == pytest.approx(9e-18 * 2e-12, rel=1e-12)


def test_series_inductor_orientation_keeps_the_coupling_sign():
    """L x b with R a x (the internal node first) must couple like the SPICE deck: the
    folded inductor runs from the resistor's far node to b."""
    deck = import_text("""t
C1 a 0 1n
R1 a 0 1k
C2 b 0 1n
R2 b 0 1k
L1 xa a 1u
RS xa 0 2
L2 b 0 1u
K1 L1 L2 0.4
""", "t.cir").netlist
    l1 = deck.element("l1")
    assert (l1.nodes, l1.series_R) == (("gnd", "a"), 2.0)
    same = loads("""format: spu-netlist/1
temperature: 300.15
elements:
  - {name: c1, type: C, nodes: [a, gnd], value: 1 nF}
  - {name: r1, type: R, nodes: [a, gnd], value: 1 kOhm}
  - {name: c2, type: C, nodes: [b, gnd], value: 1 nF}
  - {name: r2, type: R, nodes: [b, gnd], value: 1 kOhm}
  - {name: l1, type: L, nodes: [a, gnd], value: 1 uH, series_R: 2 Ohm}
  - {name: l2, type: L, nodes: [b, gnd], value: 1 uH}
  - {name: k1, type: K, inductors: [l1, l2], k: -0.4}
""")
    # reversed orientation and a negated coupling are the same circuit up to the sign of
    # one inductor current: equal voltage covariances
    s1, s2 = assemble(deck).to_sde(), assemble(same).to_sde()
    np.testing.assert_allclose(s1.stationary_covariance()[:2, :2],
                               s2.stationary_covariance()[:2, :2], rtol=1e-10)


def test_bias_resistor_ammeter_and_noise_copy():
    net = import_text("""t
C1 a 0 1n
R1 a 0 1k
Rb a x 10k
Vb 0 x dc 2m
Ram a y 1k
Vam y z 0
Rz z 0 1k
Cz z 0 1p
Req n 0 1k
Veq n 0 dc 0
F1 0 a Veq 2
""", "t.cir")
    els = {e.name: e for e in net.netlist.elements}
    rb = els["rb"]
    assert rb.TYPE == "RB" and rb.bias.values == (-2e-3,) and rb.nodes == ("a", "gnd")
    assert els["ram"].nodes == ("a", "z")  # the 0 V source is a short
    f1 = els["f1"]
    assert f1.TYPE == "I" and f1.noise_psd == pytest.approx(4 * 4 * K_B * 300.15 / 1e3, rel=1e-12)
    assert any("Vam" in n and "ammeter" in n for n in net.notes)


def test_pwl_bias_source():
    net = import_text("t\nC1 a 0 1n\nR1 a x 1k\nV1 x 0 dc 1u pwl(0 1u 1n 0)\n", "t.cir").netlist
    (rb,) = [e for e in net.elements if e.TYPE == "RB"]
    assert rb.bias.times == (0.0, 1e-9) and rb.bias.values == (1e-6, 0.0)
    assert not net.is_linear


# ---- the round trip -----------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_round_trip_restores_every_bundled_netlist_exactly(path):
    """import(export(netlist)) has the same digest (names restored from the header's
    maps), with the default deck and, for linear netlists, with both analyses (the
    trnoise sources the exporter adds are recognized and dropped)."""
    net = load(path)
    options = [None] + ([ExportOptions(analysis=("noise", "tran"))] if net.is_linear else [])
    for opts in options:
        r = import_text(export(net, opts), f"{path.stem}.cir")
        assert r.exported and r.exact and not r.notes, r.notes
        assert r.netlist.digest == net.digest
        assert r.netlist.cells == net.cells and r.netlist.readout == net.readout
        assert loads(r.yaml()).digest == net.digest  # and the YAML says the same


def test_round_trip_of_validate_style_decks_is_the_same_circuit():
    """A to_spice deck (what validate runs: no cells, readout or explicit bath
    temperatures in its header) imports to the same assembled circuit, and says it is
    not exactly the exported netlist."""
    for path in BUNDLED:
        net = load(path)
        if not net.is_linear:
            continue
        r = import_text(to_spice(net, NoiseAnalysis(net.nodes[0])), "v.cir")
        _same_circuit(r.netlist, net)
        if net.readout is not None or net.cells:
            assert r.exact is False and any("not exactly" in n for n in r.notes)


def test_round_trip_of_random_netlists():
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from randnet import random_netlist_yaml

    done = 0
    for seed in range(40):
        try:
            net = loads(random_netlist_yaml(seed, temperatures=seed % 2 == 1))
        except Exception:  # noqa: BLE001 - some seeds make invalid circuits
            continue
        r = import_text(export(net, ExportOptions(analysis=("noise", "tran"), stop=1e-6)), "r.cir")
        assert r.exact and r.netlist.digest == net.digest, seed
        done += 1
    assert done >= 20


def test_edited_exported_deck_is_imported_with_a_note():
    net = load(ROOT / "netlists/spu8.yaml")
    deck = export(net).replace("c_n3_c n3 0 1.2e-09", "c_n3_c n3 0 1.3e-09")
    r = import_text(deck, "e.cir")
    assert r.exact is False and r.netlist.element("n3.C").C == 1.3e-9
    assert any("not exactly" in n for n in r.notes)
    # cards added to an exported deck keep their SPICE names
    added = export(net).replace(".options", "Iextra 0 n9 dc 1u\nC9 n9 0 1n\nR9 n9 n1 1k\n.options")
    r = import_text(added, "e.cir")
    assert r.netlist.nodes[-1] == "n9" and r.netlist.element("iextra").dc == 1e-6
    assert any("elements not in the exporter's maps (added to the deck?) kept under their "
               "SPICE names: iextra, c9, r9" in n for n in r.notes), r.notes
    assert any("nodes not in" in n and n.endswith(": n9") for n in r.notes), r.notes
    assert r.netlist.cells == net.cells and r.exact is False


# ---- the exported deck's layout (golden text) ------------------------------------------

#: How every exported deck ends (one analysis): the raw file with -r, and quit.
RAW_END = """\
if $?rawfile
write $rawfile {$spu_plot1}.all
end
quit
.endc
.end
"""

GOLDEN_CONTROL = """\
* analyses (the control block runs them and writes io_noise_a.dat where ngspice runs; the dot cards state them for other tools)
ispuref 0 a dc 0 ac 1
.noise v(a) ispuref dec 10 10000.0 1000000000.0
.control
set wr_vecnames
set wr_singlescale
set numdgt=15
noise v(a) ispuref dec 10 10000.0 1000000000.0
setplot previous
set spu_plot1 = "$curplot"
wrdata io_noise_a.dat onoise_spectrum
let spu_int = integ(onoise_spectrum*onoise_spectrum)
let spu_var = spu_int[length(spu_int)-1]
echo "wrote io_noise_a.dat: frequency (Hz), onoise_spectrum (V/sqrt(Hz)) of v(a), variance over the sweep $&spu_var V^2"
""" + RAW_END


def test_golden_exported_noise_deck():
    """The circuit lines are the validate deck's (test_spice_export's GOLDEN_NOISE) with
    the cells in the header, then the analyses: dot cards, and the control block."""
    from test_spice_export import ALL_ELEMENTS, GOLDEN_NOISE

    net = loads(ALL_ELEMENTS)
    deck = export(net, ExportOptions(nodes=("A",), points_per_decade=10, fstart=1e4,
                                     fstop=1e9), stem="io")
    head, circuit = GOLDEN_NOISE.format(digest=net.digest[:16]).split(".options", 1)
    assert deck == head + "* cells: A, b-2\n.options" + circuit.split("ispuref")[0] + GOLDEN_CONTROL
    assert import_text(deck, "io.cir").exact


PAIR_IO = """format: spu-netlist/1
name: pair_io
temperature: 300 K
readout: {rate: 10 megHz, bits: 12}
cells:
  - {name: A, C: 1 nF, L: 1 uH, R: 1 kOhm, temperature: 77 K}
  - {name: b, C: 2 nF, R: 2 kOhm, temperature: 300 K}
couplers:
  - {name: k, between: [A, b], C: 100 pF}
elements:
  - {name: Lx, type: L, nodes: [b, gnd], value: 2 uH, series_R: 3 Ohm, temperature: 0 K}
  - {name: In, type: I, nodes: [gnd, b], dc: 1 uA, noise_psd: 1e-22}
"""


def test_exported_header_and_temperatures_restore_exactly():
    """Upper-case names, a cell at the bath temperature given explicitly (dtemp=0), a 0 K
    series resistance (noisy=0), the readout: all come back."""
    net = loads(PAIR_IO)
    deck = export(net, stem="io")
    for line in ("* cells: A, b", "* readout: rate=10000000.0 bits=12",
                 "r_b_r b 0 2000.0 dtemp=0", "r_lx_s l_lx_x 0 3.0 noisy=0"):
        assert f"\n{line}\n" in deck, line
    back = import_text(deck, "io.cir")
    assert back.exact and back.netlist.digest == net.digest


GOLDEN_TRAN_TAIL = """\
* analyses (the control block runs them and writes pair_tran.dat where ngspice runs; the dot cards state them for other tools)
.tran 7.94e-12 3.11e-08 0 7.94e-12 uic
.control
set wr_vecnames
set wr_singlescale
set numdgt=15
save v(a) v(b) v(q_a) v(q_b)
tran 7.94e-12 3.11e-08 0 7.94e-12 uic
set spu_plot1 = "$curplot"
linearize v(a) v(b) v(q_a) v(q_b)
wrdata pair_tran.dat v(a) v(b) v(q_a) v(q_b)
echo "wrote pair_tran.dat: time (s) every 7.94e-12 s and 4 voltages (V), from rest with trnoise sources"
echo "charges: q(a) = 1e-15*v(q_a), q(b) = 1e-15*v(q_b)"
""" + RAW_END


def test_golden_exported_nonlinear_deck():
    """The circuit lines are the validate deck's (test_spice_nonlinear's GOLDEN), then
    the transient as a dot card and in the control block."""
    from test_spice_nonlinear import GOLDEN

    pair = load(ROOT / "netlists/nonlinear_pair.yaml")
    deck = export(pair, stem="pair")
    circuit = GOLDEN.format(digest=pair.digest[:16]).split(".save")[0]
    assert deck == circuit + GOLDEN_TRAN_TAIL


def test_export_plan_defaults_and_refusals():
    spu8 = load(ROOT / "netlists/spu8.yaml")
    plan = plan_export(spu8, stem="s")
    assert [a.output for a in plan.noise] == list(spu8.nodes) and plan.tran is None
    assert plan.files == tuple(f"s_noise_n{i}.dat" for i in range(1, 9))
    lam = np.abs(assemble(spu8).to_sde().eigenvalues()) / (2 * np.pi)
    fa, fb = plan.noise[0].fstart, plan.noise[0].fstop
    assert np.log10(fa) % 1 == 0 and np.log10(fb) % 1 == 0  # whole decades
    assert lam.min() / 1e4 < fa <= lam.min() / 1e3 and lam.max() * 1e3 <= fb < lam.max() * 1e4
    rc = load(ROOT / "netlists/rc_network.yaml")
    assert [a.output for a in plan_export(rc).noise] == ["a", "b", "c", "d"]  # m is reduced
    assert [a.output for a in plan_export(rc, ExportOptions(nodes="all")).noise] == [
        "a", "b", "c", "d", "m"]
    tr = plan_export(spu8, ExportOptions(trnoise=1e-9)).tran
    assert tr is not None and tr.step == 1e-9 and tr.save == spu8.nodes
    pair = load(ROOT / "netlists/nonlinear_pair.yaml")
    for net, opts, param in [
        (pair, ExportOptions(analysis=("noise",)), "analysis"),
        (spu8, ExportOptions(analysis=("noise",), trnoise=1e-9), "trnoise"),
        (spu8, ExportOptions(stop=1e-6), "stop"),
        (spu8, ExportOptions(nodes=("zz",)), "nodes"),
        (spu8, ExportOptions(analysis=("ac",)), "analysis"),
        (spu8, ExportOptions(fstart=1e9, fstop=1e3), "fstop"),
        (spu8, ExportOptions(points_per_decade=0), "points_per_decade"),
        (spu8, ExportOptions(trnoise=1e-15, stop=1.0), "stop"),
        (spu8, ExportOptions(trnoise=-1.0), "trnoise"),
    ]:
        with pytest.raises(InputError) as exc:
            plan_export(net, opts)
        assert exc.value.param == param, (opts, exc.value)


def test_cli_export_stdout_and_flags(tmp_path, capsys):
    spu8 = str(ROOT / "netlists/spu8.yaml")
    assert main(["spice", "export", spu8, "-o", "-", "--nodes", "n2,n5",
                 "--points-per-decade", "20"]) == 0
    out = capsys.readouterr().out
    assert out == export(load(spu8), ExportOptions(nodes=("n2", "n5"), points_per_decade=20))
    deck = tmp_path / "my deck.cir"
    assert main(["spice", "export", spu8, "-o", str(deck), "--analysis", "noise,tran",
                 "--stop", "2u", "--fstart", "1 kHz", "--fstop", "1 GHz"]) == 0
    msg = capsys.readouterr().out
    assert "my_deck_noise_n1.dat" in msg and "my_deck_tran.dat" in msg
    assert "wrdata my_deck_tran.dat" in deck.read_text()
    for argv, needle in [(["--trnoise", "1n", "--analysis", "noise"], "--trnoise"),
                         (["--nodes", "zz"], "--nodes"), (["--stop", "1u"], "--stop")]:
        assert main(["spice", "export", spu8, "-o", str(tmp_path / "x.cir"), *argv]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
    with pytest.raises(SystemExit) as exc:
        main(["spice", "export", spu8, "-o", str(tmp_path / "x.cir"), "--analysis", "ac"])
    assert exc.value.code == 2
    assert "--analysis: choose noise, tran or noise,tran" in capsys.readouterr().err


# ---- the CLI ---------------------------------------------------------------------------


def test_cli_import_writes_a_netlist_that_loads(tmp_path, capsys):
    deck = DECKS[0]
    out = tmp_path / "n.yaml"
    assert main(["spice", "import", str(deck), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out
    net = load(out)
    assert net.digest == import_deck(deck).netlist.digest
    assert main(["spice", "import", str(deck), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["nodes"] == list(net.nodes) and summary["exported"] is False
    assert summary["netlist"] == str(out) and summary["linear"] is True
    assert main(["spice", "import", str(deck), "-o", "-"]) == 0
    assert loads(capsys.readouterr().out).digest == net.digest
    assert main(["spice", "import", str(deck), "-o", "-", "--json"]) == 2


def test_cli_import_of_an_exported_deck_says_exact(tmp_path, capsys):
    deck = tmp_path / "spu8.cir"
    assert main(["spice", "export", str(ROOT / "netlists/spu8.yaml"), "-o", str(deck)]) == 0
    assert main(["spice", "import", str(deck), "-o", str(tmp_path / "back.yaml")]) == 0
    assert "restored exactly" in capsys.readouterr().out
    assert load(tmp_path / "back.yaml").digest == load(ROOT / "netlists/spu8.yaml").digest


def test_loader_points_at_the_importer(tmp_path, capsys):
    deck = tmp_path / "d.cir"
    deck.write_text(DECKS[0].read_text())
    assert main(["analyze", str(deck)]) == 2
    assert "spu spice import" in capsys.readouterr().err


def test_large_deck_imports_in_linear_time(tmp_path):
    """A 4000-cell chain (16k cards, 2000 of them in subcircuit instances): the import
    cost grows linearly (measured ~1.5 s here for the whole deck, ~0.4 ms a cell)."""
    def deck(n: int) -> str:
        lines = ["chain", ".subckt cell p params: c=1n", "C1 p 0 {c}", "L1 p 0 1.5u",
                 "R1 p 0 1.2k", ".ends"]
        for i in range(n):
            if i % 2:
                lines.append(f"X{i} n{i} cell c={1 + (i % 7) / 10}n")
            else:
                lines += [f"C{i} n{i} 0 1n", f"L{i} n{i} 0 1.5u", f"R{i} n{i} 0 1.2k"]
            if i:
                lines.append(f"CC{i} n{i - 1} n{i} 47p")
        return "\n".join(lines) + "\n.end\n"

    times = []
    for n in (1000, 4000):
        t0 = time.perf_counter()
        r = import_text(deck(n), "chain.cir")
        times.append(time.perf_counter() - t0)
        assert len(r.netlist.nodes) == n and len(r.netlist.elements) == 4 * n - 1
    assert times[1] < 8 * times[0] + 0.5, times


# ---- bad input: one line with file:line, exit 2 -----------------------------------------

BAD = [
    ("Q1 c b e mod", 2, "Q1: transistors are not modelled by the emulator"),
    ("M1 d g s b nmos", 2, "M1: transistors are not modelled"),
    ("J1 d g s jmod", 2, "J1: transistors are not modelled"),
    ("D1 a 0 dmod", 2, "D1: diodes are not modelled"),
    ("E1 a 0 b 0 2", 2, "E1: controlled sources are not modelled"),
    ("G1 a 0 b 0 1m", 2, "G1: controlled sources are not modelled"),
    ("H1 a 0 V1 10", 2, "H1: controlled sources are not modelled"),
    ("F1 a 0 V1 10", 2, "F1: controlled sources are not modelled"),
    ("S1 a 0 b 0 sw", 2, "S1: switches are not modelled"),
    ("T1 a 0 b 0 z0=50 td=1n", 2, "T1: transmission lines are not modelled"),
    ("A1 a b amod", 2, "A1: XSPICE code models are not modelled"),
    ("B1 a 0 v=v(a)*2", 2, "B1: behavioural sources are not modelled"),
    ("B1 a 0 i=1m", 2, "B1: behavioural sources are not modelled"),
    ("V1 a 0 dc 1", 2, "V1: voltage sources are not modelled"),
    ("V1 a b dc 0 ac 1\nR9 b 0 1k", 2, None),  # an ammeter: fine (no error)
    ("I1 0 a pulse(0 1 0 1n 1n 5n 10n)", 2, "I1: pulse sources are not modelled"),
    ("I1 0 a sin(0 1m 1meg)", 2, "I1: sin sources are not modelled"),
    ("I1 0 a dc 0 pwl(0 0 1n 1m)", 2, "I1: time-dependent current sources are not modelled"),
    ("I1 0 a dc 0 trnoise(1n 1p 1 1)", 2, "I1: trnoise is read as white noise"),
    ("I1 a 1m", 2, "I1: the source has no value"),
    ("R2 a 0 1.5x", 2, "R2: unknown suffix 'x'"),
    ("R2 a 0 1kk", 2, "R2: unknown suffix 'kk'"),
    ("R2 a 0 {rx}", 2, "R2: undefined parameter 'rx'"),
    ("R2 a 0 rx", 2, "R2: 'rx' is a model name or a parameter without braces"),
    ("R2 a 0 {1+}", 2, "R2: '1+' ends too early"),
    ("R2 a 0 1k tc1=1m", 2, "R2: parameter tc1= is not modelled"),
    ("R2 a 0 1k 2k", 2, "R2: unexpected '2k' after the value"),
    ("R2 a 0", 2, "R2: a resistor card is 'Rname n1 n2 value'"),
    ("R2 a", 2, "R2: a resistor card is"),
    ("C2 a 0 -1n", 2, "C2: the emulator needs a positive capacitance, got -1e-09"),
    ("R2 a 0 0", 2, "R2: the emulator needs a positive resistance"),
    ("R2 a a 1k", 2, "R2: both terminals are on node a"),
    ("R2 a 0 1k temp=1 dtemp=1", 2, "R2: give temp= or dtemp=, not both"),
    ("R2 a 0 1k dtemp=-400", 2, "R2: the temperature is below 0 K"),
    ("R1 a 0 2k", 2, "R1: the name is used twice (first at line 3)"),
    ("K1 L1 L9 0.5", 2, "K1: no inductor 'l9' to couple"),
    ("K1 L1 L1 0.5", 2, "K1: an inductor cannot couple to itself"),
    ("K1 L1 L2 1.5\nL2 a 0 1u", 2, "K1: the coupling factor must satisfy |k| < 1"),
    ("K1 L1 L2\nL2 a 0 1u", 2, "K1: a coupling card is"),
    ("X1 a nosuch", 2, "X1: unknown subcircuit 'nosuch'"),
    ("X1 a b twoport", 2, None),
    ("X1 a twoport", 2, "X1: subcircuit 'twoport' has 2 port(s) (p q), the instance gives 1"),
    ("X1 a b twoport w=1", 2, "X1: subcircuit 'twoport' has no parameter 'w'"),
    ("X1 a self", 2, "X1: subcircuit 'self' contains itself"),
    (".subckt open p\nR9 p 0 1k", 2, ".subckt: subcircuit 'open' has no .ends"),
    (".ends", 2, ".ends: .ends with no .subckt open"),
    (".subckt s2 p\n.ends other", 2, ".ends: .ends other closes subcircuit 's2'"),
    (".param a={b}\n.param b={a}\nR9 a 0 {a}", 2, "parameter 'a' depends on itself"),
    (".param p=1\n.param p=2", 2, ".param p: parameter 'p' is defined twice"),
    (".param q", 2, "expected name=value, got 'q'"),
    (".lib models.lib tt", 2, ".lib: not supported by the importer"),
    (".func f(x) x*2", 2, ".func: not supported by the importer"),
    (".frobnicate", 2, ".frobnicate: unknown card"),
    (".temp 27 50", 2, ".temp: give one temperature"),
    (".include nosuch.inc", 2, ".include: cannot find"),
    ("R2 a 0 {1/(2-2)}", 2, "R2: division by zero"),
    ("R2 a 0 (1k", 2, "R2: unbalanced quote, brace or parenthesis"),
]


def _bad_deck(extra: str) -> str:
    return f"""bad deck
C1 a 0 1n
R1 a 0 1k
L1 a 0 1u
.subckt twoport p q
R1 p q 1k
.ends twoport
.subckt self p
X1 p self
.ends
{extra}
.end
"""


@pytest.mark.parametrize("extra,offset,needle", BAD, ids=[b[0][:24] for b in BAD])
def test_bad_input_is_one_line_with_file_and_line(tmp_path, capsys, extra, offset, needle):
    deck = tmp_path / "deck.cir"
    deck.write_text(_bad_deck(extra))
    out = tmp_path / "n.yaml"
    code = main(["spice", "import", str(deck), "-o", str(out)])
    err = capsys.readouterr().err
    if needle is None and code == 0:  # accepted constructs, for contrast
        return
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if not ln.startswith("spu: note:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"spu: error: {deck}:"), lines[0]
    if needle is not None:
        assert needle in lines[0], lines[0]
    line = int(lines[0].split(f"{deck}:")[1].split(":")[0])
    first = 11  # the line of {extra} in the deck
    if extra.startswith((".subckt s2", "X1 a self", ".param a=")):
        return  # located at the card that closes or the definition that loops
    assert first <= line <= first + extra.count("\n"), (line, first)
    assert not out.exists()


def test_errors_inside_subcircuits_name_the_instance_path(tmp_path, capsys):
    deck = tmp_path / "sub.cir"
    deck.write_text("t\n.subckt amp in out\nQ1 out in 0 npn\n.ends\nX7 a b amp\n.end\n")
    assert main(["spice", "import", str(deck), "-o", str(tmp_path / "n.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"spu: error: {deck}:3: X7.Q1: transistors are not modelled by the emulator"


def test_continuation_with_nothing_to_continue(tmp_path, capsys):
    deck = tmp_path / "c.cir"
    deck.write_text("title\n+ 1k\nR1 a 0 1k\n.end\n")
    assert main(["spice", "import", str(deck), "-o", str(tmp_path / "n.yaml")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"spu: error: {deck}:2: a continuation line (+) with no card before it")


def test_unbalanced_and_missing_files(tmp_path, capsys):
    assert main(["spice", "import", str(tmp_path / "none.cir"), "-o", str(tmp_path / "n.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err
    empty = tmp_path / "empty.cir"
    empty.write_text("just a title\n.end\n")
    assert main(["spice", "import", str(empty), "-o", str(tmp_path / "n.yaml")]) == 2
    assert "no elements" in capsys.readouterr().err
    floating = tmp_path / "float.cir"
    floating.write_text("t\nC1 a b 1n\nR1 a b 1k\n.end\n")
    with pytest.raises(NetlistError, match="float.cir:2"):
        import_deck(floating)


def test_exporter_construct_with_a_wrong_piece_is_refused():
    pair = export(load(ROOT / "netlists/nonlinear_pair.yaml"))
    broken = pair.replace("f_na_q 0 q_a v_na_s 1", "f_na_q 0 q_a v_na_s 2")
    with pytest.raises(NetlistError, match="b_na: behavioural sources"):
        import_text(broken, "p.cir")
    odd = pair.replace("-0.00030000000000000003*v(q_b)\n", "-0.0004*v(q_b)\n", 1)
    with pytest.raises(NetlistError, match="coupling terms between"):
        import_text(odd, "p.cir")
