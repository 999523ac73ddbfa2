"""Stochastic differential equations of circuits and their exact equilibrium analysis."""

from .base import SDE, LangevinSDE
from .linear import LinearSDE
from .nonlinear import NonlinearSDE

__all__ = ["SDE", "LangevinSDE", "LinearSDE", "NonlinearSDE"]
