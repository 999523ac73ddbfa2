"""Gaussian sampling from a programmed SPU.

Read the design's user variables x = mean + T state at the ADC interval h after a
burn-in, from one board (one chain, as the hardware does) or several. The samples
are correlated over the circuit's relaxation time; the result reports the
integrated autocorrelation time of every variable and the effective sample size
N_eff = N / τ_int (of the marginal means; covariance entries are reported too
when d ≤ 64). Cost: O(N n²) to simulate, O(N d log N) for τ_int.

ADC: when the design netlist's ``readout:`` block gives ``bits`` (and ``full_scale``),
every node voltage read is quantized by an ideal mid-tread ADC on ±full_scale
(:class:`~spu_emulator.sampling.engine.Adc`) before it is mapped to the user
variables; the summary reports the LSB, the LSB relative to the smallest voltage rms
read (quantization adds ≈ LSB²/12 to each variance) and the fraction of readings
clipped at the end codes. ``adc=False`` reads ideally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..hardware.design import Design
from .engine import Board
from .estimators import covariance_with_errors, integrated_autocorr_time

Array = np.ndarray


@dataclass
class SampleResult:
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


def sample(
    design: Design,
    n: int,
    *,
    seed: int,
    rate: float | None = None,
    burn_in: float | None = None,
    chains: int = 1,
    dtype=np.float64,
    adc: bool = True,
) -> SampleResult:
    """``n`` samples per chain of the design's user variables. ``rate`` (Hz): ADC rate
    (default: the netlist's readout rate, else one sample per relaxation time).
    ``burn_in`` (s): default 15 relaxation times. ``adc``: apply the netlist's ADC
    quantization when its readout block gives ``bits`` (see module docstring)."""
    if n < 1:
        raise InputError(f"--samples must be ≥ 1, got {n}")
    if rate is not None and not (np.isfinite(rate) and rate > 0):
        raise InputError(f"--rate must be positive, got {rate!r}")
    if burn_in is not None and not (np.isfinite(burn_in) and burn_in >= 0):
        raise InputError(f"--burn-in must be ≥ 0, got {burn_in!r}")
    if rate is None and design.netlist.readout is not None and design.netlist.readout.rate:
        rate = design.netlist.readout.rate
    board = Board(design, seed=seed, interval=None if rate is None else 1.0 / rate,
                  chains=chains, groups=1, burn_in=burn_in, dtype=dtype, adc=adc)
    y = board.advance(n, keep=True)
    board.close()
    x = y + design.program.mean
    tau = np.atleast_1d(integrated_autocorr_time(y))
    extra: dict[str, Any] = {}
    if board.adc is not None:
        volts_rms = np.sqrt(np.mean(y.reshape(-1, y.shape[-1]) ** 2, axis=0)) / np.abs(board.readout.scale)
        extra["adc"] = {
            "bits": board.adc.bits, "full_scale": board.adc.full_scale, "lsb": board.adc.lsb,
            "lsb_over_rms_max": float(board.adc.lsb / max(float(np.min(volts_rms)), 1e-300)),
            "clipped_fraction": board.adc_clipped / max(board.adc_readings, 1),
        }
    if design.program.dim <= 64 and n >= 16:
        est = covariance_with_errors(x)
        extra["covariance_effective_samples_min"] = est.min_effective_samples
    return SampleResult(
        samples=x, names=tuple(v.name for v in design.program.variables), interval=board.h,
        burn_in=board.burn_in, relaxation_time=board.tau,
        emulated_time=chains * board.burn_in + chains * n * board.h, wall_time=board.wall_time,
        tau_int=tau, effective_samples=chains * n / tau, extra=extra,
    )
