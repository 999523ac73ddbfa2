"""Settings of the cross-checks: one small frozen value object per check, grouped by
:class:`ValidateOptions` (the defaults are what ``spu validate`` uses).

Every setting has one name everywhere: the field of its check's options, the key of
``ValidateOptions.to_dict()`` (the JSON report and the ``options`` of a reference
file, a flat dict) and of :meth:`ValidateOptions.from_dict`. ``None`` means "derived
from the circuit" (see each field's comment).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ...errors import InputError


@dataclass(frozen=True, slots=True)
class SpectrumOptions:
    """The spectrum check: a log grid of ``points_per_decade`` from min|λ|/2π /
    10^band_decades to max|λ|/2π · 10^band_decades; tolerances on the integrated
    variance and the pointwise PSD (relative)."""

    points_per_decade: int = 1000
    band_decades: float = 3.0
    variance_tol: float = 1e-3
    psd_tol: float = 1e-3


@dataclass(frozen=True, slots=True)
class WaveformOptions:
    """The waveform check: ``waveform_samples`` input samples at step
    ``waveform_step`` (default: fastest time / 8), relative RMS tolerance."""

    waveform_samples: int = 2000
    waveform_step: float | None = None
    waveform_tol: float = 1e-3


@dataclass(frozen=True, slots=True)
class StatisticsOptions:
    """The statistics check: the trnoise run and its allowance.

    ``trnoise_interval`` NT (default: fastest time / 20); ``relaxation_times`` the run
    length in slowest times (default: 1000, ``quick`` 100 linear / 300 nonlinear)
    after ``burn_in_relaxation_times``; an entry passes within ``trnoise_bias`` ·
    sqrt(Σ_ii Σ_jj) + ``stats_k`` standard errors (``batches`` batch means).
    ``max_trnoise_points`` caps the run's time points (default 2e6 quick / 2e7;
    ngspice takes ~5–9 µs each): a longer plan is shortened to fit, and below
    ``min_relaxation_times`` of the slowest mode the check is not run."""

    trnoise_interval: float | None = None
    relaxation_times: float | None = None
    burn_in_relaxation_times: float = 10.0
    trnoise_bias: float = 0.03
    stats_k: float = 4.0
    batches: int = 20
    max_trnoise_points: float | None = None
    min_relaxation_times: float = 40.0


#: The per-check groups of :class:`ValidateOptions`, by field name.
_GROUPS = (("spectrum", SpectrumOptions), ("waveform", WaveformOptions),
           ("statistics", StatisticsOptions))


@dataclass(frozen=True, slots=True)
class ValidateOptions:
    """All settings of a validation: ``quick`` (a shorter statistics run), ``seed``
    (the waveform input sequence and the nonlinear statistics reference) and one
    options object per check."""

    quick: bool = False
    seed: int = 0
    spectrum: SpectrumOptions = field(default_factory=SpectrumOptions)
    waveform: WaveformOptions = field(default_factory=WaveformOptions)
    statistics: StatisticsOptions = field(default_factory=StatisticsOptions)

    def to_dict(self) -> dict[str, Any]:
        """The flat dict of every setting (``quick``, ``seed`` and each check's fields)."""
        out: dict[str, Any] = {"quick": self.quick, "seed": self.seed}
        for name, _ in _GROUPS:
            out |= asdict(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ValidateOptions:
        """Options from a flat dict as :meth:`to_dict` writes it; unknown keys (from a
        newer version) are ignored, missing ones take their defaults."""
        groups = {
            name: kind(**{f.name: d[f.name] for f in fields(kind) if f.name in d})
            for name, kind in _GROUPS
        }
        top = {k: d[k] for k in ("quick", "seed") if k in d}
        return cls(**top, **groups)

    def with_values(self, **flat: Any) -> ValidateOptions:
        """A copy with settings changed by their flat names, e.g.
        ``options.with_values(max_trnoise_points=1e4)``."""
        current = self.to_dict()
        unknown = sorted(set(flat) - set(current))
        if unknown:
            raise InputError(f"unknown validation setting(s) {', '.join(unknown)}")
        return ValidateOptions.from_dict(current | flat)


__all__ = ["SpectrumOptions", "StatisticsOptions", "ValidateOptions", "WaveformOptions"]
