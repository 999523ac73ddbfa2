"""The energy a run on the board costs, beside a digital computation of the same size.

Board side, for the emulated hardware time t of the run (burn-in included):

    E_static = cells · (P_amp + P_noise) · t          (every cell's amplifier and noise source)
    E_adc    = FoM · 2^bits · conversions             (Walden figure of merit, J per conversion-step)
    E_board  = E_static + E_adc

with ``conversions`` = samples × channels (one conversion per read node per sample;
none during the burn-in). The thermal noise itself costs nothing (a resistor in
equilibrium with its bath dissipates no net power); the defaults describe an
integrated board: a 1 mW low-noise buffer per cell (discrete op-amps draw 10–50 mW),
a 0.5 mW active noise source per cell (a passive thermal resistor, as emulated,
draws none: set ``noise_source_power=0``), 50 fJ per conversion-step (a good SAR ADC).
Excluded: programming the couplers, control, clocks, data transfer to the host.

Digital side: the FLOPs of a dense float64 computation of the same size at
``flop_energy`` J each (default 10 pJ: a 700 W accelerator at 67 TFLOP/s FP64, at
peak; small problems run far below peak, so this favours the digital side):

    inverse: d³ (Cholesky d³/3, then the inverse from the factor 2d³/3)
    solve:   d³/3 + 2d² (Cholesky and two triangular solves)
    logdet:  d³/3 + d (Cholesky and the logs of its diagonal)
    sample:  d³/3 + N (d² + d) (Cholesky once, then L z + μ per sample; normals not counted)

The digital result is exact to rounding; the board's carries its error bar.
:func:`energy_report` returns every term with the assumption it comes from; O(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .options import check_count, check_positive

#: Operations the report knows the digital FLOP count of.
OPERATIONS = ("inverse", "solve", "logdet", "sample")


@dataclass(frozen=True, slots=True)
class EnergyModel:
    """The assumptions of :func:`energy_report` (module docstring): per-cell
    ``amplifier_power`` and ``noise_source_power`` (W), the ADC's Walden ``adc_fom``
    (J per conversion-step) and the ``adc_bits`` assumed when the design's readout
    gives none, the digital ``flop_energy`` (J per FLOP) and what it describes."""

    amplifier_power: float = 1e-3
    noise_source_power: float = 0.5e-3
    adc_fom: float = 50e-15
    adc_bits: int = 12
    flop_energy: float = 10e-12
    digital: str = "float64 on a 700 W accelerator at 67 TFLOP/s (10 pJ/FLOP, at peak)"

    def __post_init__(self) -> None:
        check_positive(self.amplifier_power, "amplifier_power", zero=True)
        check_positive(self.noise_source_power, "noise_source_power", zero=True)
        check_positive(self.adc_fom, "adc_fom", zero=True)
        check_count(self.adc_bits, "adc_bits")
        check_positive(self.flop_energy, "flop_energy", zero=True)


#: The default assumptions.
DEFAULT_ENERGY = EnergyModel()


def digital_flops(operation: str, d: int, samples: int = 0) -> tuple[float, str]:
    """(FLOPs, the formula) of a dense digital ``operation`` on a d × d matrix
    (``samples`` draws for ``"sample"``); see the module docstring."""
    d3 = float(d) ** 3
    if operation == "inverse":
        return d3, "Cholesky d^3/3 + inverse from the factor 2d^3/3 = d^3"
    if operation == "solve":
        return d3 / 3 + 2.0 * d * d, "Cholesky d^3/3 + two triangular solves 2d^2"
    if operation == "logdet":
        return d3 / 3 + d, "Cholesky d^3/3 + d logs of its diagonal"
    if operation == "sample":
        return d3 / 3 + samples * (d * d + d), "Cholesky d^3/3 + N (d^2 + d) for L z + mean"
    raise InputError(f"unknown operation {operation!r} ({', '.join(OPERATIONS)})", "operation")


def energy_report(*, operation: str, dimension: int, cells: int, channels: int,
                  hardware_time: float, conversions: int, bits: int | None = None,
                  samples: int = 0, model: EnergyModel = DEFAULT_ENERGY) -> dict[str, Any]:
    """The energy of a run (module docstring) as plain data: every term, its inputs and
    the assumptions, beside a digital ``operation`` of size ``dimension``. ``bits``: the
    design's ADC (None: ``model.adc_bits``, stated as assumed); ``samples``: the draws
    of a ``"sample"`` run (the digital side makes as many)."""
    check_count(dimension, "dimension")
    check_count(cells, "cells")
    check_count(channels, "channels")
    check_positive(hardware_time, "hardware_time", zero=True)
    if conversions < 0:
        raise InputError(f"must be ≥ 0, got {conversions!r}", "conversions")
    bits_assumed = bits is None
    b = model.adc_bits if bits is None else int(bits)
    per_cell = model.amplifier_power + model.noise_source_power
    e_amp = cells * model.amplifier_power * hardware_time
    e_noise = cells * model.noise_source_power * hardware_time
    e_conv = model.adc_fom * 2.0**b
    e_adc = e_conv * conversions
    board = e_amp + e_noise + e_adc
    flops, formula = digital_flops(operation, dimension, samples)
    digital = flops * model.flop_energy
    return {
        "operation": operation, "dimension": dimension, "cells": cells, "channels": channels,
        "hardware_time": hardware_time, "conversions": int(conversions), "bits": b,
        "bits_assumed": bits_assumed,
        "amplifier_power_per_cell": model.amplifier_power,
        "noise_source_power_per_cell": model.noise_source_power,
        "static_power": cells * per_cell,
        "amplifier_J": e_amp, "noise_source_J": e_noise,
        "adc_fom_J_per_step": model.adc_fom, "adc_J_per_conversion": e_conv, "adc_J": e_adc,
        "board_J": board,
        "digital_flops": flops, "digital_flop_formula": formula,
        "digital_J_per_flop": model.flop_energy, "digital_description": model.digital,
        "digital_J": digital,
        "ratio_board_over_digital": board / digital if digital > 0 else float("inf"),
        "assumptions": [
            f"hardware time {hardware_time:.4g} s of one board (burn-in included)",
            f"{cells} cells x ({model.amplifier_power:g} W amplifier + {model.noise_source_power:g} W "
            "noise source) for the whole time; the thermal noise itself is free",
            f"ADC: {model.adc_fom:g} J per conversion-step (Walden) x 2^{b}"
            + (" (bits assumed: the readout gives none)" if bits_assumed else "")
            + f" = {e_conv:.3g} J per conversion, {conversions} conversions "
            f"({channels} channels per sample, none in the burn-in)",
            "excluded: programming the couplers, control, clocks, data transfer to the host",
            f"digital: {formula} = {flops:.4g} FLOPs x {model.flop_energy:g} J/FLOP "
            f"({model.digital}); exact to rounding, the board's result carries its error bar",
        ],
    }


def format_energy(rep: dict[str, Any]) -> str:
    """The report of :func:`energy_report` as a few lines for the terminal."""
    head = (f"energy: board {rep['board_J']:.3g} J (amplifiers {rep['amplifier_J']:.3g} J, noise "
            f"sources {rep['noise_source_J']:.3g} J, ADC {rep['adc_J']:.3g} J) over "
            f"{rep['hardware_time']:.3g} s; digital {rep['operation']} {rep['digital_J']:.3g} J "
            f"({rep['digital_flops']:.3g} FLOPs); board/digital {rep['ratio_board_over_digital']:.3g}")
    return "\n".join([head, "assumptions:", *(f"  - {a}" for a in rep["assumptions"])])


__all__ = ["DEFAULT_ENERGY", "OPERATIONS", "EnergyModel", "digital_flops", "energy_report",
           "format_energy"]
