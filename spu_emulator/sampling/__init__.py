"""The sampling layer: Gaussian sampling and thermodynamic linear algebra on a
programmed (emulated) SPU, with estimators and error bars.

Options travel as value objects (:class:`RunBudget`, :class:`BoardOptions`,
:class:`Quantization`, :class:`EnergyModel`; compile options are
:class:`~spu_emulator.hardware.compiler.CompileOptions`); :func:`inv`, :func:`logdet`
and :func:`solve` return a :class:`LinalgResult` (value, info), :func:`sample` a
:class:`SampleResult`. The readout chain (filter, converter, quantizer) is
:mod:`.readout`; the energy report :func:`energy_report`.
"""

from .energy import EnergyModel, energy_report
from .gaussian import SampleResult, sample
from .linalg import RC_CELLS, LinalgInfo, LinalgResult, inv, logdet, solve
from .options import SAMPLE_BOARD, BoardOptions, Quantization, RunBudget
from .readout import ClippingWarning

__all__ = [
    "RC_CELLS", "SAMPLE_BOARD", "BoardOptions", "ClippingWarning", "EnergyModel", "LinalgInfo",
    "LinalgResult", "Quantization", "RunBudget", "SampleResult", "energy_report", "inv", "logdet",
    "sample", "solve",
]
