"""Integrators (exact Van Loan, Euler–Maruyama, Heun) behind one stepping loop
(:class:`Stepper`) and one entry point (:func:`simulate`)."""

from .base import Integrator
from .euler import EulerMaruyama, Heun
from .exact import Exact
from .noise import NoiseSource, SequentialNoise
from .progress import NoProgress, Progress
from .simulate import INTEGRATORS, SaveAt, Stepper, Trajectory, simulate

__all__ = [
    "Integrator",
    "NoiseSource",
    "SequentialNoise",
    "EulerMaruyama",
    "Heun",
    "Exact",
    "INTEGRATORS",
    "NoProgress",
    "Progress",
    "SaveAt",
    "Stepper",
    "Trajectory",
    "simulate",
]
