"""≥ 40 malformed netlists: each gives exit status 2 and a one-line message naming
the file and the field (no traceback)."""

from pathlib import Path

import pytest

from spu_emulator.cli import main

ROOT = Path(__file__).resolve().parent.parent

H = "format: spu-netlist/1\n"
CELL = "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm}\n"

CASES = [
    # (id, yaml text, substrings the message must contain)
    ("empty", "", ["empty netlist"]),
    ("only-comment", "# nothing\n", ["empty netlist"]),
    ("not-mapping-list", "- a\n- b\n", ["expected a mapping at the top level"]),
    ("not-mapping-scalar", "42\n", ["expected a mapping at the top level"]),
    ("syntax-error", H + "cells: [\n", ["YAML syntax error"]),
    ("syntax-tab", H + "cells:\n\t- {name: a}\n", ["YAML syntax error"]),
    ("no-format", CELL, ["format", "missing"]),
    ("wrong-format", "format: spu-netlist/2\n" + CELL, ["format", "unsupported format"]),
    ("unknown-top-key", H + CELL + "colour: red\n", ["colour", "unknown top-level key"]),
    ("cells-not-list", H + "cells: {name: a}\n", ["cells", "expected a list"]),
    (
        "cell-unknown-key",
        H + "cells:\n  - {name: a, C: 1 nF, R: 1k, Q: 3}\n",
        ["cells[0].Q", "unknown key"],
    ),
    (
        "cell-missing-C",
        H + "cells:\n  - {name: a, R: 1 kOhm}\n",
        ["cells[0].C", "missing required field"],
    ),
    ("cell-missing-name", H + "cells:\n  - {C: 1 nF, R: 1 kOhm}\n", ["cells[0].name", "missing"]),
    (
        "cell-wrong-unit",
        H + "cells:\n  - {name: a, C: 1 nH, R: 1 kOhm}\n",
        ["cells[0].C", "does not fit"],
    ),
    ("ambiguous-M", H + "cells:\n  - {name: a, C: 1 nF, R: 1 M}\n", ["cells[0].R", "ambiguous"]),
    ("ambiguous-MF", H + "cells:\n  - {name: a, C: 1MF, R: 1k}\n", ["cells[0].C", "ambiguous"]),
    (
        "ambiguous-MOhm",
        H + "cells:\n  - {name: a, C: 1 nF, R: 2 MOhm}\n",
        ["cells[0].R", "ambiguous"],
    ),
    ("negative-C", H + "cells:\n  - {name: a, C: -1 nF, R: 1 kOhm}\n", ["cells[0].C", "positive"]),
    ("zero-R", H + "cells:\n  - {name: a, C: 1 nF, R: 0}\n", ["cells[0].R", "positive"]),
    ("nan-L", H + "cells:\n  - {name: a, C: 1 nF, L: .nan, R: 1k}\n", ["cells[0].L", "finite"]),
    ("inf-C", H + "cells:\n  - {name: a, C: .inf, R: 1k}\n", ["cells[0].C", "finite"]),
    ("garbage-value", H + "cells:\n  - {name: a, C: lots, R: 1k}\n", ["cells[0].C", "cannot read"]),
    ("bool-value", H + "cells:\n  - {name: a, C: true, R: 1k}\n", ["cells[0].C"]),
    ("bad-scale", H + "cells:\n  - {name: a, C: 1 zF, R: 1k}\n", ["cells[0].C", "unrecognised"]),
    (
        "negative-temperature",
        H + "cells:\n  - {name: a, C: 1 nF, R: 1k, temperature: -3 K}\n",
        ["temperature", "non-negative"],
    ),
    ("top-temperature-unit", H + "temperature: 300 V\n" + CELL, ["temperature", "does not fit"]),
    (
        "duplicate-cell",
        H + "cells:\n  - {name: a, C: 1 nF, R: 1k}\n  - {name: a, C: 1 nF, R: 1k}\n",
        ["cells[1].name", "duplicate"],
    ),
    (
        "duplicate-key",
        H + "cells:\n  - {name: a, C: 1 nF, C: 2 nF, R: 1k}\n",
        ["cells[0].C", "duplicate key"],
    ),
    (
        "duplicate-element-name",
        H + CELL + "elements:\n  - {name: a.R, type: R, nodes: [a, gnd], value: 1k}\n",
        ["elements[0]", "duplicate name"],
    ),
    (
        "cell-named-gnd",
        H + "cells:\n  - {name: gnd, C: 1 nF, R: 1k}\n",
        ["cells[0].name", "ground"],
    ),
    (
        "coupler-unknown-node",
        H + CELL + "couplers:\n  - {between: [a, z], C: 1 pF}\n",
        ["couplers[0].between[1]", "unknown node"],
    ),
    (
        "coupler-self-loop",
        H + CELL + "couplers:\n  - {between: [a, a], C: 1 pF}\n",
        ["couplers[0].between", "self-loop"],
    ),
    (
        "coupler-two-kinds",
        H + CELL + "couplers:\n  - {between: [a, gnd], C: 1 pF, R: 1k}\n",
        ["couplers[0]", "exactly one"],
    ),
    (
        "coupler-no-kind",
        H + CELL + "couplers:\n  - {between: [a, gnd]}\n",
        ["couplers[0]", "exactly one"],
    ),
    (
        "coupler-three-nodes",
        H + CELL + "couplers:\n  - {between: [a, b, c], C: 1 pF}\n",
        ["couplers[0].between", "two node names"],
    ),
    (
        "element-unknown-type",
        H + CELL + "elements:\n  - {name: X, type: Q, nodes: [a, gnd], value: 1}\n",
        ["elements[0].type", "unknown element type"],
    ),
    (
        "element-missing-type",
        H + CELL + "elements:\n  - {name: X, nodes: [a, gnd], value: 1}\n",
        ["elements[0].type", "missing"],
    ),
    (
        "element-self-loop",
        H + CELL + "elements:\n  - {name: R1, type: R, nodes: [a, a], value: 1k}\n",
        ["elements[0].nodes", "self-loop"],
    ),
    (
        "element-missing-value",
        H + CELL + "elements:\n  - {name: R1, type: R, nodes: [a, gnd]}\n",
        ["elements[0].value", "missing"],
    ),
    (
        "element-extra-key",
        H + CELL + "elements:\n  - {name: R1, type: R, nodes: [a, gnd], value: 1k, tol: 1}\n",
        ["elements[0].tol", "unknown key"],
    ),
    (
        "element-name-space",
        H + CELL + "elements:\n  - {name: 'R 1', type: R, nodes: [a, gnd], value: 1k}\n",
        ["elements[0].name", "no spaces"],
    ),
    (
        "k-too-large",
        H
        + "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1k}\n  - {name: b, C: 1 nF, L: 1 uH, R: 1k}\n"
        "elements:\n  - {name: K1, type: K, inductors: [a.L, b.L], k: 1.0}\n",
        ["elements[0].k", "|k| must be < 1"],
    ),
    (
        "k-unknown-inductor",
        H + CELL + "elements:\n  - {name: K1, type: K, inductors: [a.L, q.L], k: 0.1}\n",
        ["elements[0].inductors", "unknown inductor"],
    ),
    (
        "k-self",
        H + CELL + "elements:\n  - {name: K1, type: K, inductors: [a.L, a.L], k: 0.1}\n",
        ["elements[0].inductors", "itself"],
    ),
    (
        "k-jointly-not-pd",
        H
        + "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1k}\n  - {name: b, C: 1 nF, L: 1 uH, R: 1k}\n"
        "  - {name: c, C: 1 nF, L: 1 uH, R: 1k}\nelements:\n  - {name: K1, type: K, inductors: [a.L, b.L], k: 0.9}\n"
        "  - {name: K2, type: K, inductors: [b.L, c.L], k: 0.9}\n  - {name: K3, type: K, inductors: [a.L, c.L], k: -0.9}\n",
        ["inductance matrix is not positive definite", "K1"],
    ),
    (
        "floating-island",
        H + CELL + "elements:\n  - {name: Cf, type: C, nodes: [a, f], value: 1 pF}\n"
        "  - {name: Cg, type: C, nodes: [f, gnd], value: 1 pF}\n",
        ["floating island", "f"],
    ),
    (
        "no-dissipation",
        H + "cells:\n  - {name: a, C: 1 nF, L: 1 uH}\n",
        ["no dissipative path", "a"],
    ),
    (
        "inductor-loop",
        H
        + "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1k}\n  - {name: b, C: 1 nF, L: 1 uH, R: 1k}\n"
        "couplers:\n  - {between: [a, b], L: 1 uH}\n",
        ["inductor-only loop", "a.L"],
    ),
    (
        "reactive-node-without-C",
        H + CELL + "elements:\n  - {name: L2, type: L, nodes: [a, m], value: 1 uH}\n"
        "  - {name: R2, type: R, nodes: [m, gnd], value: 1k}\n",
        ["node 'm'", "no capacitance"],
    ),
    (
        "source-only-node",
        H + CELL + "elements:\n  - {name: I2, type: I, nodes: [gnd, q], dc: 1 mA}\n",
        ["node 'q'", "no capacitance and no resistor"],
    ),
    (
        "no-capacitive-path",
        H + CELL + "elements:\n  - {name: Cpq, type: C, nodes: [p, q], value: 1 pF}\n"
        "  - {name: Rp, type: R, nodes: [p, gnd], value: 1k}\n  - {name: Rq, type: R, nodes: [q, gnd], value: 1k}\n",
        ["capacitive path to ground", "p, q", "elements"],
    ),
    ("readout-bits", H + CELL + "readout: {bits: 0}\n", ["readout.bits"]),
    (
        "cell-temp-without-R",
        H + "cells:\n  - {name: a, C: 1 nF, L: 1 uH, temperature: 3 K}\n",
        ["cells[0].temperature"],
    ),
    ("no-elements", H + "name: x\n", ["no elements"]),
    (
        "cap-coupler-temperature",
        H + CELL + "couplers:\n  - {between: [a, gnd], C: 1 pF, temperature: 4 K}\n",
        ["couplers[0].temperature"],
    ),
]


def test_enough_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name,text,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_netlist(tmp_path, capsys, name, text, needles):
    f = tmp_path / f"{name}.yaml"
    f.write_text(text)
    for cmd in (["check", str(f)], ["analyze", str(f), "--json"]):
        status = main(cmd)
        out, err = capsys.readouterr()
        assert status == 2, (name, err)
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"spu: error: {f}"), err
        for needle in needles:
            assert needle in lines[0], (needle, lines[0])
        assert "Traceback" not in err


def test_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_directory_and_binary(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err
    b = tmp_path / "bin.yaml"
    b.write_bytes(b"\xff\xfe\x00\x01")
    assert main(["check", str(b)]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_line_numbers_are_reported(tmp_path, capsys):
    f = tmp_path / "x.yaml"
    f.write_text(H + "cells:\n  - {name: a, C: 1 nF, R: 1k}\n  - {name: b, C: -2 nF, R: 1k}\n")
    assert main(["check", str(f)]) == 2
    assert f"{f}:4: cells[1].C: must be positive" in capsys.readouterr().err


def test_bad_cli_options(tmp_path, capsys):
    nl = f"{ROOT}/netlists/single_cell.yaml"
    for argv in (
        ["simulate", nl, "--duration", "-1", "--out", str(tmp_path / "a.npz")],
        ["simulate", nl, "--duration", "1u", "--chains", "0", "--out", str(tmp_path / "a.npz")],
        ["simulate", nl, "--duration", "1u", "--out", str(tmp_path / "a.txt")],
        ["simulate", nl, "--duration", "1u", "--out", str(tmp_path / "missing_dir" / "a.npz")],
        ["simulate", nl, "--duration", "1n", "--dt", "1u", "--out", str(tmp_path / "a.npz")],
    ):
        with pytest.raises(SystemExit) as e:
            status = main(argv)
            raise SystemExit(status)
        assert e.value.code == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "error" in err[0], (argv, err)
    assert not list(tmp_path.iterdir())  # nothing half-written
