"""The sampling layer: Gaussian sampling and thermodynamic linear algebra on a
programmed (emulated) SPU, with estimators and error bars."""

from .gaussian import SampleResult, sample
from .linalg import LinalgInfo, inv, logdet, solve

__all__ = ["LinalgInfo", "SampleResult", "inv", "logdet", "sample", "solve"]
