"""Netlists: the YAML contract (load, dump) and the validated objects (schema).

The element types and :class:`Netlist` import no YAML library; ``load``/``loads``
(which need PyYAML) are imported on first use, so the numerics that only handle
netlist objects never import yaml.
"""

from .base import FORMAT
from .schema import *  # noqa: F403  (the netlist objects: schema.__all__)
from .schema import __all__ as _SCHEMA


def __getattr__(name: str):
    if name in ("load", "loads"):
        from . import reader as _reader

        return getattr(_reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMAT", "load", "loads", *_SCHEMA]  # noqa: F405 (load, loads: lazy)
