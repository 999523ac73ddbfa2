"""spu_emulator: a circuit-level emulator of thermodynamic computers.

YAML → Netlist → Circuit → SDE → Trajectory → estimates / samples / models.
``import spu_emulator`` is light: it never imports PySpice or matplotlib.
"""

from .errors import (
    CrossCheckError,
    InputError,
    InstabilityError,
    NetlistError,
    SPUError,
    TopologyError,
)
from .units import K_B

__version__ = "0.1.0"

__all__ = [
    "K_B",
    "SPUError",
    "NetlistError",
    "TopologyError",
    "InstabilityError",
    "InputError",
    "CrossCheckError",
    "__version__",
]
