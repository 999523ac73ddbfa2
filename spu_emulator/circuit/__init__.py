"""Circuits: element stamps, topology checks and assembly into matrices."""

from .assemble import Circuit, assemble
from .topology import check_topology

__all__ = ["Circuit", "assemble", "check_topology"]
