"""The package's shape: no import cycles, numerics free of yaml/matplotlib/argparse/tqdm,
the public front door, and the documented route for adding an element type."""

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import numpy as np
import pytest

import spu_emulator as spu
from spu_emulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "spu_emulator"
NUMERICS = ("circuit", "sde", "integrate", "sampling", "hardware", "generative", "calibration",
            "nn")


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def import_graph() -> nx.DiGraph:
    """Edges A → B for every import of B anywhere in A (module level or inside a
    function: a lazy import still ties the two modules together)."""
    mods = _modules()
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [f"{target}.{a.name}" for a in node.names
                           if f"{target}.{a.name}" in mods] or [target]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t in mods and t != name:
                    g.add_edge(name, t)
    return g


def test_import_graph_sees_imports():
    g = import_graph()
    assert g.has_edge("spu_emulator.circuit.assemble", "spu_emulator.netlist.schema")
    assert g.has_edge("spu_emulator.integrate.simulate", "spu_emulator.integrate.exact")
    assert g.number_of_edges() > 100


def test_no_import_cycles():
    cycles = sorted(nx.simple_cycles(import_graph()), key=len)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles[:5])


@pytest.mark.parametrize("package", NUMERICS)
def test_numerics_import_no_yaml_matplotlib_argparse_tqdm(package):
    code = (
        f"import sys, spu_emulator.{package}; "
        "print([m for m in ('yaml', 'matplotlib', 'argparse', 'tqdm', 'PySpice') "
        "if m in sys.modules])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"spu_emulator.{package} imports {r.stdout.strip()}"


def test_front_door_is_lazy_and_complete():
    code = (
        "import sys, spu_emulator as spu; "
        "print(sorted(m for m in ('scipy', 'yaml', 'matplotlib', 'spu_emulator.sampling') "
        "if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
    for name in ("load", "assemble", "analyze", "simulate", "sample", "inv", "solve", "logdet"):
        assert callable(getattr(spu, name)), name
    assert set(spu.__all__) >= {"load", "assemble", "simulate", "inv"}
    with pytest.raises(AttributeError):
        spu.no_such_thing  # noqa: B018


def test_front_door_pipeline():
    net = spu.load(ROOT / "netlists/coupled_pair.yaml")
    sde = spu.assemble(net).to_sde()
    a = spu.analyze(net)
    np.testing.assert_allclose(sde.stationary_covariance()[:2, :2], a["voltage_covariance"])
    traj = spu.simulate(sde, "exact", 0.0, 2e-6, 5e-8, rng=3, chains=2)
    assert traj.states.shape == (2, 40, 4) and traj.nodes == ("a", "b")


def test_library_errors_name_parameters_cli_names_flags(tmp_path, capsys):
    net = spu.load(ROOT / "netlists/single_cell.yaml")
    with pytest.raises(spu.InputError) as e:
        spu.run_simulation(net, -1.0)
    assert str(e.value).startswith("duration: ") and "--" not in str(e.value)
    assert main(["simulate", str(ROOT / "netlists/single_cell.yaml"), "--duration", "1n",
                 "--dt", "1u", "--out", str(tmp_path / "a.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spu: error: --duration: ") and len(err.splitlines()) == 1


# ---- the documented route for a new element type (docs/architecture.md) ---------


def _define_toy_element():
    """A conductance element ``type: G`` (value in siemens), written as
    docs/architecture.md says: one class with parse, yaml_entry, stamp and spice."""
    from spu_emulator.netlist.base import Element, register_element

    @register_element
    @dataclass(frozen=True, slots=True)
    class ToyConductance(Element):
        G: float = 1.0
        temperature: float | None = None
        TYPE: ClassVar[str] = "G"
        CONDUCTIVE: ClassVar[bool] = True
        DISSIPATIVE: ClassVar[bool] = True
        SPICE_PREFIX: ClassVar[str | None] = "R"
        SPICE_ROLES: ClassVar[tuple[str, ...]] = ("i_n",)

        @classmethod
        def parse(cls, ctx, node, m, name):
            ctx.keys(node, ("name", "type", "nodes", "value"), ("temperature",))
            return cls(name=name, nodes=ctx.node_pair(m["nodes"]),
                       G=ctx.quantity(m["value"], "1", positive=True),
                       temperature=ctx.temperature(m), origin=node.path)

        def yaml_entry(self) -> dict[str, Any]:
            out = {"name": self.name, "type": self.TYPE, "nodes": list(self.nodes), "value": self.G}
            if self.temperature is not None:
                out["temperature"] = self.temperature
            return out

        def stamp(self, s, bath_temperature: float) -> None:
            t = bath_temperature if self.temperature is None else self.temperature
            s.conductance(self, self.nodes[0], self.nodes[1], 1.0 / self.G, t)

        def spice(self, deck) -> list[str]:
            a, b = (deck.node(n) for n in self.nodes)
            return [f"{deck.name(self)} {a} {b} {deck.fmt(1.0 / self.G)}"
                    + deck.temperature(self.temperature)]

    return ToyConductance


TOY = """format: spu-netlist/1
name: toy
temperature: 300 K
cells:
  - {name: a, C: 1 nF, L: 1 uH}
  - {name: b, C: 2 nF}
couplers:
  - {between: [a, b], C: 100 pF}
elements:
  - {name: Ga, type: G, nodes: [a, gnd], value: 1e-3}
  - {name: Gb, type: G, nodes: [b, gnd], value: 5e-4, temperature: 300 K}
"""


def test_new_element_type_through_the_documented_route(tmp_path, capsys):
    from spu_emulator.netlist.base import ELEMENT_TYPES
    from spu_emulator.netlist.dump import dumps
    from spu_emulator.units import K_B

    cls = _define_toy_element()
    try:
        f = tmp_path / "toy.yaml"
        f.write_text(TOY)
        assert main(["check", str(f)]) == 0
        assert "2 G" in capsys.readouterr().out  # element counts by type
        assert main(["analyze", str(f), "--json"]) == 0
        a = json.loads(capsys.readouterr().out)
        CN = np.array([[1.1e-9, -0.1e-9], [-0.1e-9, 2.1e-9]])
        np.testing.assert_allclose(a["voltage_covariance"], K_B * 300 * np.linalg.inv(CN),
                                   rtol=1e-9)
        deck = tmp_path / "toy.cir"
        assert main(["spice", "export", str(f), "-o", str(deck)]) == 0
        text = deck.read_text()
        assert "r_ga a 0 1000.0" in text and "r_gb b 0 2000.0" in text
        # the YAML writer round-trips it
        net = spu.load(f)
        assert spu.loads(dumps(net)).digest == net.digest
        # bad input: a one-line located error
        f.write_text(TOY.replace("value: 1e-3", "value: -1"))
        assert main(["check", str(f)]) == 2
        err = capsys.readouterr().err
        assert "elements[0].value: must be positive" in err and len(err.splitlines()) == 1
    finally:
        del ELEMENT_TYPES[cls.TYPE]


def test_api_doc_example_runs():
    """docs/api.md's example runs as written (from the repository root)."""
    import re

    code = re.findall(r"```python\n(.*?)```", (ROOT / "docs/api.md").read_text(), re.S)
    assert code
    r = subprocess.run([sys.executable, "-c", code[0]], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]


def test_docs_describe_every_public_name():
    doc = (ROOT / "docs/api.md").read_text()
    for name in ("load", "assemble", "analyze", "simulate", "sample", "inv", "solve", "logdet"):
        assert f"spu.{name}(" in doc, name
    import spu_emulator as spu

    missing = [n for n in spu._API if f"spu.{n}" not in doc]
    assert not missing, f"docs/api.md does not describe {missing}"
    for n in spu._API:  # every name resolves
        getattr(spu, n)
