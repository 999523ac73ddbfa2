"""Validated, immutable netlist objects.

The loader (:mod:`spu_emulator.netlist.load`) is the only producer of these objects
from user input, and it returns only valid ones, so later stages never re-check.
Each element type declares its fields once and knows how to stamp itself into the
circuit matrices (:meth:`Element.stamp`), so a new element type needs no change to
the assembler. A transformation (quantize, add tolerances, ...) returns a new
:class:`Netlist` via :meth:`Netlist.replace`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

GROUND_NAMES = frozenset({"gnd", "0"})
GROUND = "gnd"


class Stamper(Protocol):
    """What an element may call while the circuit is assembled (see
    :class:`spu_emulator.circuit.assemble.CircuitBuilder`)."""

    def capacitance(self, element: Element, a: str, b: str, c: float) -> None: ...
    def conductance(
        self, element: Element, a: str, b: str, r: float, temperature: float
    ) -> None: ...
    def inductor(
        self, element: Element, a: str, b: str, inductance: float, series_r: float, temperature: float
    ) -> None: ...
    def mutual(self, element: Element, l1: str, l2: str, k: float) -> None: ...
    def current(self, element: Element, a: str, b: str, dc: float, noise_psd: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Element:
    """A netlist element. ``origin`` is the YAML path it came from (for messages)."""

    name: str
    nodes: tuple[str, ...]
    origin: str = field(default="", compare=False)

    TYPE: ClassVar[str] = "?"
    #: Is this element linear (can the exact integrator handle it)?
    LINEAR: ClassVar[bool] = True
    #: Does it conduct DC (an R or L path), for the floating-island check?
    CONDUCTIVE: ClassVar[bool] = False
    #: Does it dissipate (a resistor), for the dissipative-path check?
    DISSIPATIVE: ClassVar[bool] = False
    #: Does it give a node capacitance (state)?
    CAPACITIVE: ClassVar[bool] = False

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Parameters as a plain dict (for digests, export and display)."""
        out: dict[str, Any] = {"type": self.TYPE}
        for f in dataclasses.fields(self):
            if f.name != "origin":
                v = getattr(self, f.name)
                out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


@dataclass(frozen=True, slots=True)
class Resistor(Element):
    """Resistor with Johnson–Nyquist noise S_I = 4 k_B T / R (one-sided).
    ``temperature=None`` means the netlist's bath temperature; 0 K is noiseless."""

    R: float = 1.0
    temperature: float | None = None
    TYPE: ClassVar[str] = "R"
    CONDUCTIVE: ClassVar[bool] = True
    DISSIPATIVE: ClassVar[bool] = True

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        t = bath_temperature if self.temperature is None else self.temperature
        s.conductance(self, self.nodes[0], self.nodes[1], self.R, t)


@dataclass(frozen=True, slots=True)
class Capacitor(Element):
    C: float = 1.0
    TYPE: ClassVar[str] = "C"
    CAPACITIVE: ClassVar[bool] = True

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.capacitance(self, self.nodes[0], self.nodes[1], self.C)


@dataclass(frozen=True, slots=True)
class Inductor(Element):
    """Inductor with optional series resistance ``series_R`` (a noise source at
    ``temperature``, voltage PSD 4 k_B T R_s one-sided)."""

    L: float = 1.0
    series_R: float = 0.0
    temperature: float | None = None
    TYPE: ClassVar[str] = "L"
    CONDUCTIVE: ClassVar[bool] = True

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        t = bath_temperature if self.temperature is None else self.temperature
        s.inductor(self, self.nodes[0], self.nodes[1], self.L, self.series_R, t)


@dataclass(frozen=True, slots=True)
class MutualInductance(Element):
    """Mutual inductance M = k sqrt(L1 L2) between two inductors (SPICE ``K``).
    ``nodes`` is empty; ``inductors`` names the two inductors."""

    inductors: tuple[str, str] = ("", "")
    k: float = 0.0
    TYPE: ClassVar[str] = "K"

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.mutual(self, self.inductors[0], self.inductors[1], self.k)


@dataclass(frozen=True, slots=True)
class CurrentSource(Element):
    """Current source pushing ``dc`` amperes from nodes[0] through itself into
    nodes[1] (SPICE convention), plus white noise of one-sided PSD ``noise_psd`` A²/Hz."""

    dc: float = 0.0
    noise_psd: float = 0.0
    TYPE: ClassVar[str] = "I"

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.current(self, self.nodes[0], self.nodes[1], self.dc, self.noise_psd)


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


@dataclass(frozen=True, slots=True)
class NonlinearCapacitor(Element):
    """Capacitor to ground with energy E(q) = J2 q² + J4 q⁴ of its charge q
    (J/C², J/C⁴): charge–voltage law v = dE/dq = 2 J2 q + 4 J4 q³. A linear capacitor
    C is J2 = 1/(2C), J4 = 0. Its node's charge is a state of the nonlinear SDE."""

    J2: float = 0.0
    J4: float = 0.0
    TYPE: ClassVar[str] = "NC"
    LINEAR: ClassVar[bool] = False
    CAPACITIVE: ClassVar[bool] = True

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.nonlinear_capacitor(self, self.nodes[0], self.J2, self.J4)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class BiasedResistor(Element):
    """Resistor R from nodes[0] to an ideal voltage source ``bias`` (V, constant or
    piecewise linear in time) whose other terminal is nodes[1] (ground): current
    (V_b(t) − v)/R into the node, with Johnson–Nyquist noise at ``temperature``.
    With a constant bias it is linear (a Norton source V_b/R beside R)."""

    R: float = 1.0
    bias: Waveform = Waveform()
    temperature: float | None = None
    TYPE: ClassVar[str] = "RB"
    CONDUCTIVE: ClassVar[bool] = True
    DISSIPATIVE: ClassVar[bool] = True

    @property
    def LINEAR(self) -> bool:  # type: ignore[override]
        return self.bias.constant

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        t = bath_temperature if self.temperature is None else self.temperature
        if hasattr(s, "bias_resistor"):
            s.bias_resistor(self, self.nodes[0], self.nodes[1], self.R, t, self.bias)  # type: ignore[attr-defined]
        else:  # linear circuits: Norton equivalent of a constant source
            s.conductance(self, self.nodes[0], self.nodes[1], self.R, t)
            s.current(self, self.nodes[1], self.nodes[0], self.bias.values[0] / self.R, 0.0)

    def params(self) -> dict[str, Any]:
        out = Element.params(self)
        out["bias"] = {"times": list(self.bias.times), "values": list(self.bias.values)}
        return out


@dataclass(frozen=True, slots=True)
class EnergyCoupler(Element):
    """Signed energy coupling E = J q_a q_b (J/C²) between the charges of two
    nonlinear-capacitor nodes: it adds J q_b to v_a and J q_a to v_b."""

    J: float = 0.0
    TYPE: ClassVar[str] = "EC"
    LINEAR: ClassVar[bool] = False

    def stamp(self, s: Stamper, bath_temperature: float) -> None:
        s.energy_coupling(self, self.nodes[0], self.nodes[1], self.J)  # type: ignore[attr-defined]


#: Registry of element types by their netlist ``type:`` string. Extensions add to it.
ELEMENT_TYPES: dict[str, type[Element]] = {
    cls.TYPE: cls
    for cls in (
        Resistor,
        Capacitor,
        Inductor,
        MutualInductance,
        CurrentSource,
        NonlinearCapacitor,
        BiasedResistor,
        EnergyCoupler,
    )
}


@dataclass(frozen=True, slots=True)
class Readout:
    """ADC readout of the cell voltages: sample ``rate`` (Hz), ``bits`` and
    ``full_scale`` (V, the ADC spans ±full_scale). ``bits=None`` means ideal."""

    rate: float | None = None
    bits: int | None = None
    full_scale: float | None = None


@dataclass(frozen=True, slots=True)
class Netlist:
    """A validated circuit description.

    ``nodes`` lists the non-ground nodes in state order: cell nodes in file order,
    then other nodes in order of first appearance. ``cells`` names the SPU cells.
    """

    name: str
    temperature: float
    nodes: tuple[str, ...]
    cells: tuple[str, ...]
    elements: tuple[Element, ...]
    source: str | None = field(default=None, compare=False)
    description: str = field(default="", compare=False)
    readout: Readout | None = None

    def replace(self, **changes: Any) -> Netlist:
        return dataclasses.replace(self, **changes)

    def element(self, name: str) -> Element:
        for e in self.elements:
            if e.name == name:
                return e
        raise KeyError(name)

    def canonical(self) -> dict[str, Any]:
        """A plain-data description (sorted, JSON-able) used for the digest."""
        return {
            "name": self.name,
            "temperature": self.temperature,
            "nodes": list(self.nodes),
            "cells": list(self.cells),
            "elements": [e.params() | {"name": e.name} for e in self.elements],
            "readout": dataclasses.asdict(self.readout) if self.readout else None,
        }

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical content: equal circuits have equal digests,
        whatever their formatting."""
        text = json.dumps(self.canonical(), sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def is_linear(self) -> bool:
        return all(e.LINEAR for e in self.elements)
