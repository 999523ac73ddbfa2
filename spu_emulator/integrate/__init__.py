"""Integrators (exact Van Loan, Euler–Maruyama) behind one ``simulate`` entry point."""

from .base import Integrator, NoiseSource
from .euler import EulerMaruyama
from .exact import Exact
from .simulate import INTEGRATORS, SaveAt, Trajectory, simulate

__all__ = [
    "Integrator",
    "NoiseSource",
    "EulerMaruyama",
    "Exact",
    "INTEGRATORS",
    "SaveAt",
    "Trajectory",
    "simulate",
]
