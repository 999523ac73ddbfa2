"""A programmed SPU: a netlist plus the map from hardware readings to user variables.

The map is stored in the design netlist itself, in a top-level ``program:`` section
(registered with the loader's ``SECTION_PARSERS``, so ``spu check``/``analyze``/
``simulate`` accept the file and ignore the section)::

    program:
      realization: differential       # capacitive | differential | inductive
      target: precision               # precision | covariance | matrix
      variables:
        - {name: x0, read: voltage, plus: x0p, minus: x0m, scale: 5.1e+05, mean: 0.0}
        - ...
      report: {precision_relative_error: 0.0, ...}

User variable i is ``x_i = mean_i + scale_i · (V(plus) − V(minus))`` for a voltage
readout (``minus: gnd`` for single-ended cells) or ``x_i = mean_i + scale_i · I(plus)``
for the current through inductor ``plus`` (inductive realization). The section must
come after the elements it names (the emitter writes it last).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NetlistError
from ..netlist.dump import dumps
from ..netlist.schema import GROUND, Inductor, Netlist

Array = np.ndarray

REALIZATIONS = ("capacitive", "differential", "inductive")
TARGETS = ("precision", "covariance", "matrix")


@dataclass(frozen=True)
class Variable:
    """One user variable: x = mean + scale · reading (see module docstring)."""

    name: str
    read: str  # "voltage" | "current"
    plus: str
    minus: str = GROUND
    scale: float = 1.0
    mean: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "read": self.read, "plus": self.plus}
        if self.read == "voltage":
            d["minus"] = self.minus
        d["scale"] = float(self.scale)
        d["mean"] = float(self.mean)
        return d


@dataclass(frozen=True)
class ProgramMap:
    realization: str
    target: str
    variables: tuple[Variable, ...]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.variables)

    @property
    def mean(self) -> Array:
        return np.array([v.mean for v in self.variables])

    def to_section(self) -> dict[str, Any]:
        return {
            "realization": self.realization,
            "target": self.target,
            "variables": [v.to_dict() for v in self.variables],
            "report": {k: v for k, v in self.report.items() if isinstance(v, (int, float, str))},
        }

    def readout_matrix(self, state_names: tuple[str, ...]) -> Array:
        """T (d, n) with x = mean + T state for the SDE's state vector."""
        idx = {s: i for i, s in enumerate(state_names)}
        T = np.zeros((self.dim, len(state_names)))
        for k, v in enumerate(self.variables):
            if v.read == "current":
                T[k, idx[f"i({v.plus})"]] = v.scale
            else:
                T[k, idx[f"v({v.plus})"]] += v.scale
                if v.minus != GROUND:
                    T[k, idx[f"v({v.minus})"]] -= v.scale
        return T


@dataclass(frozen=True)
class Design:
    """A compiled SPU program: the hardware netlist and the user-variable map."""

    netlist: Netlist
    program: ProgramMap

    def dumps(self) -> str:
        return dumps(self.netlist, {"program": self.program.to_section()})

    def exact_covariance(self) -> Array:
        """Cov(x) of the user variables at stationarity, from the Lyapunov solution of
        the assembled circuit (what ``spu analyze`` computes). O(n³)."""
        from ..circuit.assemble import assemble

        sde = assemble(self.netlist).to_sde()
        T = self.program.readout_matrix(sde.state_names)
        S = T @ sde.stationary_covariance() @ T.T
        return 0.5 * (S + S.T)


# ---------------------------------------------------------------------------
# The `program:` section: validated by the loader, read back by load_design.
# ---------------------------------------------------------------------------


def _parse_program_section(ctx, node, builder) -> None:
    """Loader hook: check the structure and that every name refers to the circuit."""
    _program_from(ctx, node, set(builder.nodes), {
        e.name for e in builder.elements if isinstance(e, Inductor)
    })


def _program_from(ctx, node, nodes: set[str], inductors: set[str]) -> ProgramMap:
    m = ctx.keys(node, ("realization", "variables"), ("target", "report"))
    real = m["realization"].value
    if real not in REALIZATIONS:
        raise ctx.error(m["realization"], f"unknown realization {real!r} (one of {', '.join(REALIZATIONS)})")
    target = m["target"].value if "target" in m else "covariance"
    if target not in TARGETS:
        raise ctx.error(m["target"], f"unknown target {target!r} (one of {', '.join(TARGETS)})")
    variables = []
    names: set[str] = set()
    for vn in ctx.sequence(m["variables"]):
        vm = ctx.keys(vn, ("name", "read", "plus", "scale"), ("minus", "mean"))
        name = ctx.string(vm["name"])
        if name in names:
            raise ctx.error(vm["name"], f"duplicate variable name {name!r}")
        names.add(name)
        read = vm["read"].value
        plus = ctx.string(vm["plus"])
        minus = GROUND
        if read == "voltage":
            if plus not in nodes:
                raise ctx.error(vm["plus"], f"unknown node {plus!r}")
            if "minus" in vm:
                minus = ctx.string(vm["minus"])
                minus = GROUND if minus in ("gnd", "0") else minus
                if minus != GROUND and minus not in nodes:
                    raise ctx.error(vm["minus"], f"unknown node {minus!r}")
        elif read == "current":
            if plus not in inductors:
                raise ctx.error(vm["plus"], f"unknown inductor {plus!r}")
            if "minus" in vm:
                raise ctx.error(vm["minus"], "a current readout has no 'minus' node")
        else:
            raise ctx.error(vm["read"], f"read must be 'voltage' or 'current', got {read!r}")
        scale = ctx.quantity(vm["scale"], "1")
        if scale == 0:
            raise ctx.error(vm["scale"], "scale must be non-zero")
        mean = ctx.quantity(vm["mean"], "1") if "mean" in vm else 0.0
        variables.append(Variable(name, read, plus, minus, scale, mean))
    if not variables:
        raise ctx.error(m["variables"], "a program needs at least one variable")
    report: dict[str, Any] = {}
    if "report" in m:
        for k, v in ctx.mapping(m["report"]).items():
            report[k] = v.value
    return ProgramMap(real, target, tuple(variables), report)


#: Top-level netlist sections this module defines: the loader accepts (and checks)
#: ``program:`` in every netlist (it imports this mapping on first use).
NETLIST_SECTIONS = {"program": _parse_program_section}


def loads_design(text: str, file: str | None = None) -> Design:
    """Parse a design netlist (with its ``program:`` section)."""
    from ..netlist import reader  # the YAML side: imported only when reading a file

    netlist = reader.loads(text, file)
    ctx = reader.Context(file)
    root = reader._compose(text, ctx)
    top = ctx.mapping(root)
    if "program" not in top:
        raise NetlistError(
            "no 'program:' section: this netlist was not made by `spu program` "
            "(sample it with `spu simulate` instead)", file, "program",
        )
    inductors = {e.name for e in netlist.elements if isinstance(e, Inductor)}
    prog = _program_from(ctx, top["program"], set(netlist.nodes), inductors)
    return Design(netlist, prog)


def load_design(path: str | os.PathLike[str]) -> Design:
    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise NetlistError("file not found", p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NetlistError(f"cannot read: {exc}", p) from None
    return loads_design(text, p)


__all__ = ["Design", "NETLIST_SECTIONS", "ProgramMap", "Variable", "load_design", "loads_design"]
