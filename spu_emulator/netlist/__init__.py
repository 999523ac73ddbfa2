"""Netlists: the YAML contract (load, dump) and the validated objects (schema).

The element types and :class:`Netlist` import no YAML library; ``load``/``loads``
(which need PyYAML) are imported on first use, so the numerics that only handle
netlist objects never import yaml.
"""

from .base import FORMAT
from .schema import (
    ELEMENT_TYPES,
    GROUND,
    BiasedResistor,
    Capacitor,
    CurrentSource,
    Element,
    EnergyCoupler,
    Inductor,
    MutualInductance,
    Netlist,
    NonlinearCapacitor,
    Readout,
    Resistor,
    Waveform,
    register_element,
)


def __getattr__(name: str):
    if name in ("load", "loads"):
        from . import reader as _reader

        return getattr(_reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMAT",
    "load",
    "loads",
    "ELEMENT_TYPES",
    "GROUND",
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
    "Waveform",
    "register_element",
]
