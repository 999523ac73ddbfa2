"""Netlist → SPICE text: golden decks, names, noise-source order (no ngspice needed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.circuit.assemble import assemble
from spu_emulator.errors import InputError
from spu_emulator.netlist import load, loads
from spu_emulator.spice.export import (
    ExportOptions,
    NoiseAnalysis,
    PWLInputs,
    TransientAnalysis,
    export,
    fmt,
    noise_source_table,
    spice_names,
    to_spice,
)

ROOT = Path(__file__).resolve().parents[2]
NETLISTS = sorted(p for p in (ROOT / "netlists").glob("*.yaml") if load(p).is_linear)

ALL_ELEMENTS = """
format: spu-netlist/1
name: every_element
temperature: 300 K
cells:
  - {name: A, C: 1 nF, L: 1 uH, R: 1 kOhm, temperature: 77 K}
  - {name: b-2, C: 2 nF, R: 10 kOhm}
couplers:
  - {between: [A, b-2], C: 100 pF}
elements:
  - {name: R.x, type: R, nodes: [b-2, x], value: 2 kOhm, temperature: 0 K}
  - {name: Cx, type: C, nodes: [x, gnd], value: 10 pF}
  - {name: L2, type: L, nodes: [x, gnd], value: 10 uH, series_R: 3 Ohm, temperature: 350 K}
  - {name: K1, type: K, inductors: [A.L, L2], k: -0.25}
  - {name: I1, type: I, nodes: [gnd, x], dc: 1 uA, noise_psd: 1e-22}
"""

GOLDEN_NOISE = """\
* spu_emulator export: every_element (netlist digest {digest})
* node map (netlist -> spice): A->a, b-2->b_2, x->x
* element map: A.C->c_a_c, A.L->l_a_l, A.R->r_a_r, b-2.C->c_b_2_c, b-2.R->r_b_2_r, couplers[0]->c_couplers_0, R.x->r_r_x, Cx->c_cx, L2->l_l2, K1->k_k1, I1->i_i1
.options temp=26.85 tnom=26.85
c_a_c a 0 1e-09
l_a_l a 0 1e-06
r_a_r a 0 1000.0 dtemp=-223.0
c_b_2_c b_2 0 2e-09
r_b_2_r b_2 0 10000.0
c_couplers_0 a b_2 1e-10
r_r_x b_2 x 2000.0 noisy=0
c_cx x 0 1e-11
l_l2 x l_l2_x 1e-05
r_l2_s l_l2_x 0 3.0 dtemp=50.0
k_k1 l_a_l l_l2 -0.25
i_i1 0 x dc 1e-06
r_i1_eq i_i1_eq 0 165.67788
v_i1_eq i_i1_eq 0 dc 0
f_i1_eq 0 x v_i1_eq 1
ispuref 0 a dc 0 ac 1
.noise v(a) ispuref dec 100 1000.0 10000000000.0
.end
"""

GOLDEN_TRAN = """\
* spu_emulator export: every_element (netlist digest {digest})
* node map (netlist -> spice): A->a, b-2->b_2, x->x
* element map: A.C->c_a_c, A.L->l_a_l, A.R->r_a_r, b-2.C->c_b_2_c, b-2.R->r_b_2_r, couplers[0]->c_couplers_0, R.x->r_r_x, Cx->c_cx, L2->l_l2, K1->k_k1, I1->i_i1
.options temp=26.85 tnom=26.85
c_a_c a 0 1e-09
l_a_l a 0 1e-06
r_a_r a 0 1000.0 dtemp=-223.0
i_a_r_n 0 a dc 0 pwl(0 0 1e-09 1.0)
c_b_2_c b_2 0 2e-09
r_b_2_r b_2 0 10000.0
i_b_2_r_n 0 b_2 dc 0 pwl(0 0 1e-09 2.0)
c_couplers_0 a b_2 1e-10
r_r_x b_2 x 2000.0 noisy=0
c_cx x 0 1e-11
l_l2 x l_l2_x 1e-05
r_l2_s l_l2_x l_l2_y 3.0 dtemp=50.0
v_l2_n 0 l_l2_y dc 0 pwl(0 0 1e-09 4.0)
k_k1 l_a_l l_l2 -0.25
i_i1 0 x dc 1e-06
r_i1_eq i_i1_eq 0 165.67788
v_i1_eq i_i1_eq 0 dc 0
f_i1_eq 0 x v_i1_eq 1
i_i1_n 0 x dc 0 pwl(0 0 1e-09 3.0)
.save v(a) v(x)
.tran 1e-09 1e-09 0 5e-10 uic
.end
"""


@pytest.fixture(scope="module")
def every():
    return loads(ALL_ELEMENTS, "every.yaml")


def test_golden_noise_deck(every):
    """The validate-style deck (dot cards, run with -r out.raw): what export() wrote before
    it grew a control block."""
    assert to_spice(every, NoiseAnalysis("A")) == GOLDEN_NOISE.format(digest=every.digest[:16])


def test_golden_pwl_deck(every):
    t = np.array([0.0, 1e-9])
    u = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    deck = to_spice(every, TransientAnalysis(1e-9, 1e-9, 5e-10, save=("A", "x")), PWLInputs(t, u))
    assert deck == GOLDEN_TRAN.format(digest=every.digest[:16])


def test_trnoise_amplitudes(every):
    deck = export(every, ExportOptions(trnoise=2e-9))
    table = noise_source_table(every)
    assert [s.label for s in table] == ["A.R", "b-2.R", "I1", "L2.series_R"]
    # NA = sqrt(q / NT) with q = 2kT/R for the 77 K resistor
    na = np.sqrt(2 * 1.380649e-23 * 77 / 1000 / 2e-9)
    assert f"i_a_r_n 0 a dc 0 trnoise({fmt(na)} 2e-09 0 0)" in deck
    assert "trnoise(" in deck.split("v_l2_n")[1].splitlines()[0]


@pytest.mark.parametrize("path", NETLISTS, ids=lambda p: p.stem)
def test_noise_table_matches_circuit(path):
    """The deck's noise sources are the emulator's, in the same order and intensity."""
    net = load(path)
    c = assemble(net)
    table = noise_source_table(net)
    assert tuple(s.label for s in table) == c.noise_sources
    q = np.array([s.intensity for s in table])
    # a noise column's norm over its incidence equals sqrt(q) times the incidence norm
    from spu_emulator.integrate.driven import source_intensities

    np.testing.assert_allclose(source_intensities(c), q, rtol=1e-14)


def test_names_are_unique_and_lower_case():
    net = loads("""
format: spu-netlist/1
cells:
  - {name: N1, C: 1 nF, R: 1 kOhm}
  - {name: n_1, C: 1 nF, R: 1 kOhm}
couplers:
  - {between: [N1, n_1], R: 1 kOhm}
""")
    names = spice_names(net)
    assert names.nodes == {"N1": "n1", "n_1": "n_1"}
    spice = list(names.nodes.values()) + list(names.elements.values()) + list(names.aux.values())
    assert len(set(spice)) == len(spice)
    assert all(s == s.lower() for s in spice)


def test_bad_requests(every):
    with pytest.raises(InputError, match="not a node"):
        to_spice(every, NoiseAnalysis("nope"))
    with pytest.raises(InputError, match="pwl inputs must have shape"):
        to_spice(
            every, TransientAnalysis(1e-9, 1e-9, 1e-9), PWLInputs(np.zeros(2), np.zeros((2, 3)))
        )


def test_nonlinear_netlist_exports_behavioural_deck():
    """Nonlinear capacitors become charge-integrating behavioural sources (B)."""
    nonlinear = [p for p in sorted((ROOT / "netlists").glob("*.yaml")) if not load(p).is_linear]
    assert nonlinear, "a nonlinear netlist is bundled"
    deck = export(load(nonlinear[0]))
    assert re.search(r"^b\S+ .*v=", deck, re.M | re.I), deck
    assert ".tran" in deck.lower()


def test_fmt_round_trips():
    for x in (1e-9, 1.2e-9, 1000.0, 26.85, -0.25, 1 / 3, 6.02e23):
        assert float(fmt(x)) == x
    assert fmt(0.0) == "0"


def test_import_does_not_load_pyspice_or_matplotlib():
    code = (
        "import sys, spu_emulator, spu_emulator.spice.export, spu_emulator.spice.validate, "
        "spu_emulator.spice.reference, spu_emulator.spice.plots, "
        "spu_emulator.spice.run, spu_emulator.cli.spice, spu_emulator.integrate.driven; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySpice', 'matplotlib')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
