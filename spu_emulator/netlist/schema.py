"""Validated, immutable netlist objects.

The loader (:mod:`spu_emulator.netlist.reader`) is the only producer of these objects
from user input, and it returns only valid ones, so later stages never re-check.
Element types live in :mod:`.elements` (each complete in one class: fields, YAML,
stamp, SPICE; the interface is :mod:`.base`). A transformation (quantize, add
tolerances, ...) returns a new :class:`Netlist` via :meth:`Netlist.replace`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .base import (
    ELEMENT_TYPES,
    GROUND,
    GROUND_NAMES,
    Element,
    SpiceDeck,
    Stamper,
    Waveform,
    register_element,
)
from .elements import (
    BandLimitedNoise,
    BiasedResistor,
    Capacitor,
    CurrentSource,
    EnergyCoupler,
    Inductor,
    MutualInductance,
    NonlinearCapacitor,
    Resistor,
)
from .tolerance import Tolerance, Tolerances


@dataclass(frozen=True, slots=True)
class Readout:
    """The ADC readout of the cell voltages: sample ``rate`` (Hz), ``bits`` and
    ``full_scale`` (V, the converter spans ±full_scale and clips beyond);
    ``bits=None`` means ideal. A real converter adds an ``offset`` (V), a
    ``gain_error`` (relative), input-referred ``noise`` (V rms per reading) and an
    anti-alias filter: a first-order low-pass of corner ``bandwidth`` (Hz) before the
    sampler (None: none)."""

    rate: float | None = None
    bits: int | None = None
    full_scale: float | None = None
    offset: float = 0.0
    gain_error: float = 0.0
    noise: float = 0.0
    bandwidth: float | None = None

    def canonical(self) -> dict[str, Any]:
        """Plain data for the digest: the original three fields, then the others only
        when set (so netlists without them keep their digests)."""
        out: dict[str, Any] = {"rate": self.rate, "bits": self.bits, "full_scale": self.full_scale}
        for k, default in (("offset", 0.0), ("gain_error", 0.0), ("noise", 0.0),
                           ("bandwidth", None)):
            if getattr(self, k) != default:
                out[k] = getattr(self, k)
        return out

    @property
    def ideal(self) -> bool:
        """No quantization, offset, gain error, noise or filter."""
        return self.bits is None and not (self.offset or self.gain_error or self.noise
                                          or self.bandwidth)


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
    tolerances: Tolerances | None = field(default=None)

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
            "readout": self.readout.canonical() if self.readout else None,
        } | ({"tolerances": self.tolerances.canonical()} if self.tolerances else {})

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical content: equal circuits have equal digests,
        whatever their formatting."""
        text = json.dumps(self.canonical(), sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def is_linear(self) -> bool:
        return all(e.LINEAR for e in self.elements)


__all__ = [
    "BandLimitedNoise",
    "ELEMENT_TYPES",
    "GROUND",
    "GROUND_NAMES",
    "BiasedResistor",
    "Capacitor",
    "CurrentSource",
    "Element",
    "EnergyCoupler",
    "Inductor",
    "MutualInductance",
    "Netlist",
    "NonlinearCapacitor",
    "Readout",
    "Resistor",
    "SpiceDeck",
    "Stamper",
    "Tolerance",
    "Tolerances",
    "Waveform",
    "register_element",
]
