"""Gaussian sampling from a programmed SPU.

Read the design's user variables x = mean + T state at the ADC interval h after a
burn-in, from one board (one chain, as the hardware does) or several. The samples
are correlated over the circuit's relaxation time; the result reports the
integrated autocorrelation time of every variable and the effective sample size
N_eff = N / τ_int (of the marginal means; covariance entries are reported too
when d ≤ 64). Cost: O(N n²) to simulate, O(N d log N) for τ_int.

Readout: the design netlist's ``readout:`` block (or ``board.readout``) sets the
converter every node voltage read goes through (:mod:`.readout`): anti-alias
filter (exact, as extra SDE states), gain error, offset, input-referred noise, then
an ideal mid-tread ADC on ±full_scale (:class:`~spu_emulator.sampling.readout.Adc`)
before the readings are mapped to the user variables. The summary's ``adc`` gives the
LSB, the LSB relative to the smallest voltage rms read (quantization adds ≈ LSB²/12
to each variance) and the fraction of readings clipped at the end codes (a
:class:`~.readout.ClippingWarning` when any clipped); ``readout`` gives the converter
and how it biases the covariance and the mean, term by term
(:func:`~.readout.bias_report`). ``adc=False`` reads ideally.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..hardware.design import Design
from ..resources import Budget
from .energy import EnergyModel, energy_report
from .engine import Board
from .estimators import covariance_with_errors, integrated_autocorr_time
from .options import SAMPLE_BOARD, BoardOptions, check_count
from .readout import warn_clipping

Array = np.ndarray


@dataclass(frozen=True, eq=False)
class SampleResult:
    """What :func:`sample` returns: the samples (chains, N, d) with their provenance
    (interval, burn-in, emulated and wall time) and statistics (τ_int, N_eff);
    :meth:`summary` is the JSON report of ``spu sample``."""

    samples: Array  # (chains, N, d) user variables
    names: tuple[str, ...]
    interval: float
    burn_in: float
    relaxation_time: float
    emulated_time: float
    wall_time: float
    tau_int: Array  # (d,)
    effective_samples: Array  # (d,)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        B, N, d = self.samples.shape
        return {
            "samples": N, "chains": B, "dimension": d, "variables": list(self.names),
            "sample_interval": self.interval, "burn_in": self.burn_in,
            "relaxation_time": self.relaxation_time, "emulated_time": self.emulated_time,
            "wall_time": self.wall_time,
            "effective_samples": float(np.min(self.effective_samples)),
            "effective_samples_per_variable": self.effective_samples,
            "tau_int": self.tau_int, **self.extra,
        }


def sample(design: Design, n: int, *, seed: int = 0, board: BoardOptions = SAMPLE_BOARD,
           budget: Budget | None = None, energy: EnergyModel | None = None) -> SampleResult:
    """``n`` samples per chain of the design's user variables, read as ``board`` says
    (:class:`~.options.BoardOptions`; default :data:`~.options.SAMPLE_BOARD`: one
    chain, float64). Sample interval: ``board.interval``, else the netlist's readout
    rate, else one relaxation time; burn-in: ``board.burn_in``, else 15 relaxation
    times; the readout chain of ``board.readout`` or else the netlist's ``readout:``
    block (``board.adc=False``: ideal; see module docstring); ``energy``: the
    assumptions of an energy report (:class:`~.energy.EnergyModel`) in the summary's
    ``energy``. ``budget`` bounds the memory and work (a
    request beyond it is refused before it starts, with its estimate). Cost O(chains · n · n_states²) to simulate,
    O(chains · n · d log n) for the autocorrelation times.
    """
    check_count(n, "n")
    chains = board.chains
    d = design.program.dim
    limits = budget or Budget()
    limits.check_steps(float(chains) * n, "these samples", "draw fewer `n` or use fewer `chains`")
    limits.check_memory(2.0 * chains * n * d * 8 + 1.5e8, "the samples",
                        "draw fewer `n` or use fewer `chains`")
    readout = board.readout if board.readout is not None else design.netlist.readout
    if board.interval is None and readout is not None and readout.rate:
        board = replace(board, interval=1.0 / readout.rate)
    bd = Board(design, seed=seed, options=board.with_default_dtype(np.float64))
    y = bd.advance(n, keep=True)
    bd.close()
    x = y + design.program.mean
    tau = np.atleast_1d(integrated_autocorr_time(y))
    extra: dict[str, Any] = {}
    if bd.adc is not None:
        volts_rms = np.sqrt(np.mean(y.reshape(-1, y.shape[-1]) ** 2, axis=0)) / np.abs(bd.readout.scale)
        extra["adc"] = {
            "bits": bd.adc.bits, "full_scale": bd.adc.full_scale, "lsb": bd.adc.lsb,
            "lsb_over_rms_max": float(bd.adc.lsb / max(float(np.min(volts_rms)), 1e-300)),
            "clipped_fraction": bd.adc_clipped / max(bd.adc_readings, 1),
        }
    t_hw = bd.chains * bd.burn_in + bd.chains * n * bd.h
    rep = bd.readout_report()
    if rep is not None:
        warn_clipping(bd.adc_clipped, bd.adc_readings, bd.converter)
        extra["readout"] = rep
    if energy is not None:
        extra["energy"] = energy_report(
            operation="sample", dimension=d, cells=bd.cells, channels=len(bd.readout.channels),
            hardware_time=t_hw, conversions=bd.conversions,
            bits=None if bd.adc is None else bd.adc.bits, samples=bd.chains * n, model=energy)
    if design.program.dim <= 64 and n >= 16:
        est = covariance_with_errors(x)
        extra["covariance_effective_samples_min"] = est.min_effective_samples
    return SampleResult(
        samples=x, names=tuple(v.name for v in design.program.variables), interval=bd.h,
        burn_in=bd.burn_in, relaxation_time=bd.tau,
        emulated_time=t_hw, wall_time=bd.wall_time,
        tau_int=tau, effective_samples=bd.chains * n / tau, extra=extra,
    )
