"""The sampling layer: Gaussian sampling and thermodynamic linear algebra on a
programmed (emulated) SPU, with estimators and error bars.

Options travel as value objects (:class:`RunBudget`, :class:`BoardOptions`,
:class:`Quantization`; compile options are
:class:`~spu_emulator.hardware.compiler.CompileOptions`); :func:`inv`, :func:`logdet`
and :func:`solve` return a :class:`LinalgResult` (value, info), :func:`sample` a
:class:`SampleResult`.
"""

from .gaussian import SampleResult, sample
from .linalg import RC_CELLS, LinalgInfo, LinalgResult, inv, logdet, solve
from .options import SAMPLE_BOARD, BoardOptions, Quantization, RunBudget

__all__ = [
    "RC_CELLS", "SAMPLE_BOARD", "BoardOptions", "LinalgInfo", "LinalgResult", "Quantization",
    "RunBudget", "SampleResult", "inv", "logdet", "sample", "solve",
]
