"""Stochastic differential equations of circuits and their exact equilibrium analysis."""

from .linear import LinearSDE

__all__ = ["LinearSDE"]
