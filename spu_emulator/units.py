"""SI constants and SPICE-style value parsing.

A value is a number in SI units, or a string: a number, an optional SPICE scale
suffix (f p n u µ m k meg g t, case-insensitive: ``m`` is milli, ``meg`` is mega), then
an optional unit that must match the field. The field's unit is matched first, then
the scale, so ``"300 K"`` on a temperature is 300 kelvin. A bare upper-case ``M``
(``"1 M"``, ``"1MF"``, ``"1 MOhm"``) is rejected as ambiguous between milli and mega.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

K_B = 1.380649e-23  # J/K, exact (SI 2019)
DEFAULT_TEMPERATURE = 300.0  # K

#: Canonical unit of each quantity, and the spellings accepted for it.
UNITS: dict[str, tuple[str, ...]] = {
    "F": ("F",),
    "H": ("H",),
    "Ohm": ("Ohm", "Ohms", "Ω", "ohm", "ohms"),
    "K": ("K",),
    "A": ("A",),
    "Hz": ("Hz",),
    "V": ("V",),
    "s": ("s",),
    "A2/Hz": ("A^2/Hz", "A2/Hz", "A²/Hz"),
    "V2/Hz": ("V^2/Hz", "V2/Hz", "V²/Hz"),
    "1": (),  # dimensionless
}

#: Scale suffix -> power of ten.
SCALES: dict[str, int] = {
    "f": -15,
    "p": -12,
    "n": -9,
    "u": -6,
    "µ": -6,
    "μ": -6,
    "m": -3,
    "k": 3,
    "meg": 6,
    "g": 9,
    "t": 12,
}

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")


class ValueParseError(ValueError):
    """Raised with a message that the loader turns into a located NetlistError."""


def _strip_unit(rest: str, unit: str) -> str | None:
    """If ``rest`` ends with one spelling of ``unit`` (case-insensitive), return the
    part before it; else ``None``."""
    for spelling in sorted(UNITS[unit], key=len, reverse=True):
        if rest.lower().endswith(spelling.lower()):
            return rest[: len(rest) - len(spelling)].strip()
    return None


def parse_value(value: object, unit: str) -> float:
    """Parse a netlist value for a field whose SI unit is ``unit`` (a key of UNITS).

    >>> parse_value("1 kOhm", "Ohm"), parse_value("300 K", "K"), parse_value("2.2n", "F")
    (1000.0, 300.0, 2.2e-09)
    """
    if isinstance(value, bool):
        raise ValueParseError(f"expected a number or a string like '1 n{unit}', got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise ValueParseError(
            f"expected a number or a string with unit {unit}, got {type(value).__name__}"
        )
    m = _NUMBER.match(value)
    if not m:
        raise ValueParseError(f"cannot read {value!r} as a number with an optional unit")
    number = float(m.group(1))
    rest = m.group(2)
    if not math.isfinite(number):
        raise ValueParseError(f"{value!r} is not finite")
    if not rest:
        return number
    scale_text = _strip_unit(rest, unit) if unit != "1" else None
    if scale_text is None:
        scale_text = rest
        if scale_text.lower() not in SCALES and scale_text != "M":
            other = [u for u in UNITS if u != unit and _strip_unit(rest, u) is not None]
            if other:
                raise ValueParseError(
                    f"unit of {value!r} does not fit this field: expected {unit}, got {other[0]}"
                )
            raise ValueParseError(
                f"unrecognised unit or scale in {value!r} (expected unit {unit}; "
                "scales are f p n u m k meg g t)"
            )
    if scale_text == "":
        return number
    if scale_text == "M":
        raise ValueParseError(
            f"ambiguous scale 'M' in {value!r}: write 'meg' for 1e6 or 'm' for 1e-3"
        )
    exponent = SCALES.get(scale_text.lower())
    if exponent is None:
        raise ValueParseError(
            f"unrecognised scale {scale_text!r} in {value!r} (scales are f p n u m k meg g t)"
        )
    # Decimal arithmetic so that "2.2n" is exactly the double nearest 2.2e-9.
    return float(Decimal(m.group(1)).scaleb(exponent))


def format_value(x: float, unit: str = "") -> str:
    """Engineering notation with a SPICE scale suffix, e.g. ``1e-9 -> '1n'``."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}{unit}"
    table = [
        (1e12, "t"),
        (1e9, "g"),
        (1e6, "meg"),
        (1e3, "k"),
        (1.0, ""),
        (1e-3, "m"),
        (1e-6, "u"),
        (1e-9, "n"),
        (1e-12, "p"),
        (1e-15, "f"),
    ]
    for factor, suffix in table:
        if abs(x) >= factor * 0.999999999:
            return f"{x / factor:.12g}{suffix}{unit}"
    return f"{x:.12g}{unit}"


def format_si(x: float, unit: str = "", digits: int = 4) -> str:
    """Human-readable SI formatting for display (``2.647 MHz``, ``4.14 pV²``).
    Not meant to be read back (use :func:`format_value` for netlists)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g} {unit}".strip()
    prefixes = [
        (1e12, "T"),
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1.0, ""),
        (1e-3, "m"),
        (1e-6, "µ"),
        (1e-9, "n"),
        (1e-12, "p"),
        (1e-15, "f"),
        (1e-18, "a"),
    ]
    for factor, p in prefixes:
        if abs(x) >= factor * 0.9999995:
            return f"{x / factor:.{digits}g} {p}{unit}".strip()
    return f"{x:.{digits}g} {unit}".strip()
