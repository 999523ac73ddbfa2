"""Trained denoising generation (Whitelam, arXiv 2506.15121): a network of noisy quartic
units whose couplings are trained so that its own Langevin dynamics turn thermal
noise into images. See docs/generative.md and physics.md §6.

Light to import: scikit-learn is imported lazily where used; no yaml, matplotlib or tqdm.
"""

from .config import PRESETS, Config
from .model import QuarticModel, quartic_drift, quartic_energy, quartic_gradient

__all__ = ["PRESETS", "Config", "QuarticModel", "quartic_drift", "quartic_energy",
           "quartic_gradient"]
