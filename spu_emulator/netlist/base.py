"""The element interface: what every netlist element type declares and knows how to do.

An element type is one frozen dataclass (its fields) that owns, in one place:

- ``parse`` (classmethod): its ``elements:`` entry in YAML → a validated instance,
  with located one-line errors (through the loader's context, see
  :class:`~spu_emulator.netlist.context.Context`);
- ``yaml_entry``: the instance → the ``elements:`` entry that ``parse`` reads back;
- ``stamp``: its contribution to the circuit matrices and noise, through the
  :class:`Stamper` the assembler passes (linear and nonlinear circuits alike);
- ``spice``: its SPICE lines, through the :class:`SpiceDeck` the exporter passes.

:func:`register_element` adds a type to :data:`ELEMENT_TYPES`, which the loader, the
YAML writer, the assembler and the SPICE exporter all read: a new element type needs
no change to any of them (docs/architecture.md walks through one).

This module imports nothing beyond the standard library and numpy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

#: The format string every netlist declares (``format: spu-netlist/1``).
FORMAT = "spu-netlist/1"
GROUND_NAMES = frozenset({"gnd", "0"})
GROUND = "gnd"


@dataclass(frozen=True, slots=True)
class Waveform:
    """A source value over time: constant, or piecewise linear through (t, value)
    points (held constant before the first and after the last point)."""

    times: tuple[float, ...] = ()
    values: tuple[float, ...] = (0.0,)

    @property
    def constant(self) -> bool:
        return len(self.values) == 1

    def __call__(self, t: float) -> float:
        if self.constant:
            return self.values[0]
        import numpy as np

        return float(np.interp(t, self.times, self.values))


class Stamper(Protocol):
    """What an element may call while the circuit is assembled (implemented by
    :class:`spu_emulator.circuit.assemble.CircuitBuilder`). Noise is recorded with its
    two-sided intensity q (the source is √q dW/dt), computed once here."""

    def capacitance(self, element: Element, a: str, b: str, c: float) -> None: ...
    def conductance(self, element: Element, a: str, b: str, r: float, temperature: float) -> None: ...
    def inductor(
        self, element: Element, a: str, b: str, inductance: float, series_r: float, temperature: float
    ) -> None: ...
    def mutual(self, element: Element, l1: str, l2: str, k: float) -> None: ...
    def current(self, element: Element, a: str, b: str, dc: float, noise_psd: float) -> None: ...
    def bias_resistor(
        self, element: Element, node: str, other: str, r: float, temperature: float, bias: Waveform
    ) -> None: ...
    def nonlinear_capacitor(self, element: Element, node: str, J2: float, J4: float) -> None: ...
    def energy_coupling(self, element: Element, a: str, b: str, J: float) -> None: ...
    def filtered_noise(
        self, element: Element, a: str, b: str, psd: float, bandwidth: float
    ) -> None: ...


class SpiceDeck(Protocol):
    """What an element may call while its SPICE lines are written (implemented by
    :class:`spu_emulator.spice.export.DeckWriter`)."""

    t0: float  # deck temperature (the netlist's bath), K

    def node(self, name: str) -> str: ...
    def name(self, element: Element) -> str: ...
    def aux(self, element: Element, role: str) -> str: ...
    def fmt(self, x: float) -> str: ...
    def temperature(self, t: float | None) -> str: ...
    def wrap(self, line: str) -> list[str]: ...
    def charge_node(self, node: str) -> str: ...
    def charge_capacitance(self, node: str) -> float: ...
    def couplings(self, node: str) -> list[tuple[str, float]]: ...
    def noise_input(self, element: Element, kind: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Element:
    """A netlist element. ``origin`` is the YAML path it came from and ``line`` its line
    in the file (for messages; neither is part of the circuit)."""

    name: str
    nodes: tuple[str, ...]
    origin: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)

    TYPE: ClassVar[str] = "?"
    #: Is this element linear (can the exact integrator handle it)?
    LINEAR: ClassVar[bool] = True
    #: Does it conduct DC (an R or L path), for the floating-island check?
    CONDUCTIVE: ClassVar[bool] = False
    #: Does it dissipate (a resistor), for the dissipative-path check?
    DISSIPATIVE: ClassVar[bool] = False
    #: Does it give a node capacitance (state)?
    CAPACITIVE: ClassVar[bool] = False
    #: Is it a pure source, allowed on a capacitance-free (Kron-reduced) node?
    SOURCE: ClassVar[bool] = False
    #: SPICE element letter (None: no SPICE element of its own, e.g. a coupling term).
    SPICE_PREFIX: ClassVar[str | None] = None
    #: Names of the auxiliary SPICE nodes / elements it needs (``deck.aux(e, role)``).
    SPICE_ROLES: ClassVar[tuple[str, ...]] = ()

    # ---- YAML ------------------------------------------------------------------
    @classmethod
    def parse(cls, ctx: Any, node: Any, m: dict[str, Any], name: str) -> Element:
        """Build a validated instance from its YAML mapping ``m`` (loader nodes)."""
        raise NotImplementedError(f"element type {cls.TYPE} cannot be read from YAML")

    def yaml_entry(self) -> dict[str, Any]:
        """The ``elements:`` entry (plain data, SI floats) that :meth:`parse` reads back."""
        raise NotImplementedError(f"element type {self.TYPE} has no YAML writer")

    def _entry(self, **fields: Any) -> dict[str, Any]:
        """``{name, type, nodes, **fields}`` without the fields that are None (optional
        fields at their defaults are left out)."""
        out: dict[str, Any] = {"name": self.name, "type": self.TYPE, "nodes": list(self.nodes)}
        out.update({k: v for k, v in fields.items() if v is not None})
        return out

    # ---- circuit -----------------------------------------------------------------
    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        raise NotImplementedError

    @property
    def lossy(self) -> bool:
        """Does it damp the piece of circuit it sits in (dissipative-path check)?"""
        return self.DISSIPATIVE

    @property
    def lossless_inductor(self) -> bool:
        """Is it an inductor with no series resistance (inductor-loop check)?"""
        return False

    # ---- SPICE -----------------------------------------------------------------
    def spice(self, deck: SpiceDeck) -> list[str]:
        raise NotImplementedError(f"element type {self.TYPE} has no SPICE equivalent")

    def params(self) -> dict[str, Any]:
        """Parameters as a plain dict (for digests, export and display)."""
        out: dict[str, Any] = {"type": self.TYPE}
        for f in dataclasses.fields(self):
            if f.name not in ("origin", "line"):
                v = getattr(self, f.name)
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


#: Registry of element types by their netlist ``type:`` string. Extensions add to it
#: with :func:`register_element`.
ELEMENT_TYPES: dict[str, type[Element]] = {}


def register_element(cls: type[Element]) -> type[Element]:
    """Class decorator: make ``cls`` readable as ``type: cls.TYPE`` (and writable,
    assemblable and exportable, through its own methods)."""
    if not cls.TYPE or cls.TYPE == "?":
        raise ValueError(f"{cls.__name__} needs a TYPE")
    if cls.TYPE in ELEMENT_TYPES and ELEMENT_TYPES[cls.TYPE] is not cls:
        raise ValueError(f"element type {cls.TYPE!r} is already registered")
    ELEMENT_TYPES[cls.TYPE] = cls
    return cls
