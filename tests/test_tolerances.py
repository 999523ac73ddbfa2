"""Tolerances and parasitics in the netlist: parsing, defaults, round trip and bad input."""

from pathlib import Path

import numpy as np
import pytest

from spu_emulator.circuit import assemble
from spu_emulator.cli import main
from spu_emulator.errors import NetlistError
from spu_emulator.netlist import loads
from spu_emulator.netlist.dump import dumps
from spu_emulator.units import K_B

H = "format: spu-netlist/1\n"
CELLS = "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm}\n  - {name: b, C: 1 nF, L: 1 uH, R: 1 kOhm}\n"


def test_tolerances_parse_and_do_not_change_the_circuit():
    text = H + "tolerances: {C: 5%, L: {sigma: 1%, lot: 0.5%}, R: {uniform: 2%, tempco: 100 ppm/K}}\n" + CELLS
    n = loads(text)
    t = n.tolerances
    assert t.classes["C"].sigma == 0.05 and t.classes["C"].distribution == "gaussian"
    assert t.classes["L"].lot == 0.005 and t.classes["R"].distribution == "uniform"
    assert t.classes["R"].tempco == 1e-4 and abs(t.classes["R"].std - 0.02 / 3**0.5) < 1e-15
    plain = loads(H + CELLS)
    c1, c2 = assemble(n), assemble(plain)
    assert np.array_equal(c1.C, c2.C) and np.array_equal(c1.G, c2.G)
    assert n.digest != plain.digest  # the population is part of the design
    assert loads(dumps(n)).canonical() == n.canonical()


def test_per_element_overrides_in_place_and_by_name():
    text = H + "tolerances: {C: 5%, elements: {Rx: 0.1%}}\n" + \
        "cells:\n  - {name: a, C: 1 nF, R: 1 kOhm, tolerance: {C: 1%, R: 2%}}\n" \
        "couplers:\n  - {between: [a, gnd], C: 10 pF, tolerance: 3%}\n" \
        "elements:\n  - {name: Rx, type: R, nodes: [a, gnd], value: 5 kOhm}\n"
    t = loads(text).tolerances
    assert t.for_element("a.C", "C").sigma == 0.01 and t.for_element("a.R", "R").sigma == 0.02
    assert t.for_element("couplers[0]", "C").sigma == 0.03
    assert t.for_element("Rx", "R").sigma == 0.001
    assert t.for_element("other", "C").sigma == 0.05


@pytest.mark.parametrize("snippet,needle", [
    ("tolerances: {C: -5%}\n", "from 0% to 50%"),
    ("tolerances: {C: 5}\n", "percentage like '5%'"),
    ("tolerances: {C: abc}\n", "percentage like '5%'"),
    ("tolerances: {C: 60%}\n", "from 0% to 50%"),
    ("tolerances: {Q: 5%}\n", "unknown key 'Q'"),
    ("tolerances: {R: {tempco: 100}}\n", "temperature coefficient"),
    ("tolerances: {elements: {nope: 1%}}\n", "no such element"),
    ("tolerances: {C: {sigma: 1%, uniform: 2%}}\n", "not both"),
])
def test_bad_tolerances_one_line(tmp_path, capsys, snippet, needle):
    f = tmp_path / "t.yaml"
    f.write_text(H + snippet + CELLS)
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and str(f) in err[0], err


def test_parasitics_build_plain_elements():
    text = H + "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm, R_L: 0.5 Ohm}\n" \
        "  - {name: b, C: 1 nF, L: 1 uH, R: 1 kOhm}\n" \
        "couplers:\n  - {between: [a, b], C: 100 pF, R_switch: 5 Ohm, C_ground: 2 pF}\n" \
        "parasitics: {stray_k: 1%}\n"
    n = loads(text)
    names = {e.name: e for e in n.elements}
    assert names["a.L"].series_R == 0.5
    assert names["couplers[0].switch"].nodes == ("a", "couplers[0].x")
    assert names["couplers[0]"].nodes == ("couplers[0].x", "b")
    assert names["couplers[0].C_ground[0]"].C == 2e-12
    assert names["parasitics.stray_k[0]"].k == 0.01
    assert loads(dumps(n)).digest == n.digest
    # equal temperatures: the switch resistance changes damping, not the covariance
    sde = assemble(n).to_sde()
    S = sde.stationary_covariance()
    B = K_B * 300 * np.linalg.inv(sde.mass)
    d = np.sqrt(np.diag(B))
    assert np.max(np.abs(S - B) / np.outer(d, d)) < 1e-9


@pytest.mark.parametrize("snippet,needle", [
    ("couplers:\n  - {between: [a, b], R: 1k, R_switch: 5 Ohm}\n", "needs C"),
    ("parasitics: {stray_k: 2}\n", "percentage"),
    ("parasitics: {other: 1%}\n", "unknown key"),
])
def test_bad_parasitics(snippet, needle):
    with pytest.raises(NetlistError, match=needle):
        loads(H + CELLS + snippet)


def test_netlist_format_doc_examples_round_trip():
    import re

    doc = (Path(__file__).resolve().parent.parent / "docs/netlist-format.md").read_text()
    for block in re.findall(r"```yaml\n(.*?)```", doc, re.S):
        n = loads(block)
        assert loads(dumps(n)).canonical() == n.canonical()


def test_band_limited_noise_source_physics():
    """A band-limited source's filter state has variance π f_c S/2, and the node PSD is
    |Z|² S / (1 + (f/f_c)²) (Z the cell's impedance); at high frequency it falls
    below the white source's."""
    text = H + "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm, temperature: 0 K}\n" \
        "elements:\n  - {name: N1, type: IN, nodes: [gnd, a], psd: 1e-22, bandwidth: 2 megHz}\n"
    sde = assemble(loads(text)).to_sde()
    assert sde.state_names == ("v(a)", "i(a.L)", "s(N1)")
    S = sde.stationary_covariance()
    assert abs(S[2, 2] / (np.pi * 2e6 * 1e-22 / 2) - 1) < 1e-10
    f = np.array([1e5, 5e6, 3e7])
    w = 2 * np.pi * f
    Z = 1 / (1j * w * 1e-9 + 1 / (1j * w * 1e-6) + 1e-3)
    np.testing.assert_allclose(sde.node_psd(f)[:, 0], np.abs(Z) ** 2 * 1e-22 / (1 + (f / 2e6) ** 2),
                               rtol=1e-10)
    white = assemble(loads(text.replace("type: IN", "type: I").replace("psd: 1e-22, bandwidth: 2 megHz",
                                                                          "noise_psd: 1e-22"))).to_sde()
    assert sde.node_psd([3e7])[0, 0] < 0.01 * white.node_psd([3e7])[0, 0]
    assert S[0, 0] < white.stationary_covariance()[0, 0]
    assert loads(dumps(loads(text))).digest == loads(text).digest
