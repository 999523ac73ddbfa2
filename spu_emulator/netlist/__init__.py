"""Netlists: the YAML contract (load) and the validated objects (schema)."""

from .load import FORMAT, load, loads
from .schema import (
    ELEMENT_TYPES,
    GROUND,
    Capacitor,
    CurrentSource,
    Element,
    Inductor,
    MutualInductance,
    Netlist,
    Readout,
    Resistor,
)

__all__ = [
    "FORMAT",
    "load",
    "loads",
    "ELEMENT_TYPES",
    "GROUND",
    "Capacitor",
    "CurrentSource",
    "Element",
    "Inductor",
    "MutualInductance",
    "Netlist",
    "Readout",
    "Resistor",
]
