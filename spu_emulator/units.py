"""SI constants and SPICE-style value parsing.

A value is a number in SI units, or a string: a number, an optional SPICE scale
suffix (f p n u µ m k meg g t, case-insensitive: ``m`` is milli, ``meg`` is mega), then
an optional unit that must match the field. The field's unit is matched first, then
the scale, so ``"300 K"`` on a temperature is 300 kelvin. One-letter units (F H K A V
s) are matched exactly as written, so they never read as scales: a lone letter that is
another quantity's unit (``"300 F"`` on a temperature, ``"1 K"`` on a capacitance) is an
error, and a case variant of the field's own unit that is also a scale (``"1 f"`` on a
capacitance: femto or farad?) is an error with both readings suggested. A bare
upper-case ``M`` (``"1 M"``, ``"1MF"``, ``"1 MOhm"``) is rejected as ambiguous between
milli and mega.
"""

from __future__ import annotations

import functools
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


def _echo(value: object, limit: int = 40) -> str:
    """A value as a message shows it: its repr, cut to ``limit`` characters."""
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 1] + "…"


class ValueParseError(ValueError):
    """Raised with a message that the loader turns into a located NetlistError."""


#: What each unit measures (for messages).
QUANTITY = {"F": "capacitance", "H": "inductance", "Ohm": "resistance", "K": "temperature",
            "A": "current", "Hz": "frequency", "V": "voltage", "s": "time",
            "A2/Hz": "current noise PSD", "V2/Hz": "voltage noise PSD", "1": "a plain number"}
#: Names of the scales (for messages).
SCALE_NAMES = {"f": "femto", "p": "pico", "n": "nano", "u": "micro", "µ": "micro",
               "μ": "micro", "m": "milli", "k": "kilo", "meg": "mega", "g": "giga", "t": "tera"}
#: Plural names of the one-letter units (for messages).
UNIT_NAMES = {"F": "farads", "H": "henries", "K": "kelvin", "A": "amperes", "V": "volts",
              "s": "seconds"}
#: Units written with one letter: matched exactly as written (case-sensitive), so that
#: they never collide with the case-insensitive scales (F farad vs f femto, K kelvin
#: vs k kilo).
SINGLE_LETTER = frozenset(u for u in UNITS if len(u) == 1)


def _strip_unit(rest: str, unit: str) -> str | None:
    """If ``rest`` ends with one spelling of ``unit``, return the part before it; else
    ``None``. One-letter units must match exactly (``F``, not ``f``); longer spellings
    are case-insensitive (``kohm``, ``Hz``)."""
    for spelling in sorted(UNITS[unit], key=len, reverse=True):
        if len(spelling) == 1:
            if rest.endswith(spelling):
                return rest[:-1].strip()
        elif rest.lower().endswith(spelling.lower()):
            return rest[: len(rest) - len(spelling)].strip()
    return None


def _lone_letter(value: str, number: str, rest: str, unit: str) -> str | None:
    """The error for a value whose suffix is a lone letter that is a unit symbol (of
    this or another quantity) rather than a scale, or None."""
    if len(rest) != 1:
        return None
    if rest in SINGLE_LETTER and rest != unit:  # e.g. 300 F on a temperature
        hint = ""
        if rest.lower() in SCALES:
            hint = f"; for {SCALE_NAMES[rest.lower()]} write '{number} {rest.lower()}{unit if unit != '1' else ''}'"
        return (f"unit of {_echo(value)} does not fit this field: expected {unit} "
                f"({QUANTITY[unit]}), got {rest} ({QUANTITY[rest]}, not a scale){hint}")
    if unit in SINGLE_LETTER and rest != unit and rest.lower() == unit.lower():
        if rest.lower() in SCALES:  # e.g. C: 1 f — femto (SPICE) or farad?
            name = UNIT_NAMES[unit]
            return (f"{_echo(value)} is ambiguous: write '{number} {rest}{unit}' for "
                    f"{SCALE_NAMES[rest.lower()]}{name} or '{number} {unit}' for {name}")
        return f"{_echo(value)}: write the unit as {unit!r} (units are case-sensitive)"
    return None


def parse_value(value: object, unit: str) -> float:
    """Parse a netlist value for a field whose SI unit is ``unit`` (a key of UNITS).

    >>> parse_value("1 kOhm", "Ohm"), parse_value("300 K", "K"), parse_value("2.2n", "F")
    (1000.0, 300.0, 2.2e-09)
    """
    if isinstance(value, bool):
        raise ValueParseError(f"expected a number or a string like '1 n{unit}', got {_echo(value)}")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise ValueParseError(
            f"expected a number or a string with unit {unit}, got {type(value).__name__}"
        )
    return _parse_text(value, unit)


@functools.lru_cache(maxsize=1 << 14)
def _parse_text(value: str, unit: str) -> float:
    """:func:`parse_value` of a string (memoized: netlists repeat their values)."""
    m = _NUMBER.match(value)
    if not m:
        raise ValueParseError(f"cannot read {_echo(value)} as a number with an optional unit")
    number = float(m.group(1))
    rest = m.group(2)
    if not math.isfinite(number):
        raise ValueParseError(f"{_echo(value)} is not finite")
    if not rest:
        return number
    scale_text = _strip_unit(rest, unit) if unit != "1" else None
    if scale_text is None:
        scale_text = rest
        lone = _lone_letter(value, m.group(1), rest, unit)
        if lone:
            raise ValueParseError(lone)
        if scale_text.lower() not in SCALES and scale_text != "M":
            other = [u for u in UNITS if u not in (unit, "1") and _strip_unit(rest, u) is not None]
            if other:
                raise ValueParseError(
                    f"unit of {_echo(value)} does not fit this field: expected {unit}, got {other[0]}"
                )
            raise ValueParseError(
                f"unrecognised unit or scale in {_echo(value)} (expected unit {unit}; "
                "scales are f p n u m k meg g t)"
            )
    if scale_text == "":
        return number
    if scale_text == "M":
        raise ValueParseError(
            f"ambiguous scale 'M' in {_echo(value)}: write 'meg' for 1e6 or 'm' for 1e-3"
        )
    exponent = SCALES.get(scale_text.lower())
    if exponent is None:
        raise ValueParseError(
            f"unrecognised scale {scale_text!r} in {_echo(value)} (scales are f p n u m k meg g t)"
        )
    # Decimal arithmetic so that "2.2n" is exactly the double nearest 2.2e-9.
    return float(Decimal(m.group(1)).scaleb(exponent))


#: Plausible magnitudes per unit: (refused below, refused above, warned below, warned
#: above), for |x| > 0. Outside the refused bounds a value makes no physical or
#: numerical sense for a circuit (its reciprocal overflows, or kT overflows the
#: energies); outside the warned bounds it is legal but usually a wrong unit.
RANGES: dict[str, tuple[float, float, float, float]] = {
    "F": (1e-21, 1e3, 1e-18, 1e-1),
    "H": (1e-18, 1e6, 1e-15, 1e2),
    "Ohm": (1e-9, 1e18, 1e-6, 1e15),
    "K": (0.0, 1e9, 0.0, 1e4),
    "A": (0.0, 1e3, 0.0, 1.0),
    "A2/Hz": (0.0, 1e-3, 0.0, 1e-14),
    "V2/Hz": (0.0, 1e-3, 0.0, 1e-10),
    "Hz": (1e-6, 1e15, 1.0, 1e12),
    "V": (0.0, 1e6, 0.0, 1e3),
    "s": (0.0, 1e6, 0.0, 1e3),
}


def check_range(x: float, unit: str) -> tuple[str | None, str | None]:
    """(error, warning) for a parsed value of ``unit``: a one-line reason it is refused,
    or one why it looks suspicious (see :data:`RANGES`); (None, None) if plausible."""
    bounds = RANGES.get(unit)
    if bounds is None or x == 0 or not math.isfinite(x):
        return None, None
    lo, hi, wlo, whi = bounds
    a = abs(x)
    what = QUANTITY.get(unit, unit)
    if a < lo or a > hi:
        accepted = f"up to {hi:g} {unit}" if lo == 0 else f"{lo:g} to {hi:g} {unit}"
        return f"{x:g} {unit} is outside the accepted range of {what} ({accepted})", None
    if a < wlo or a > whi:
        usual = f"up to {whi:g} {unit}" if wlo == 0 else f"{wlo:g} to {whi:g} {unit}"
        return None, f"{x:g} {unit} is outside the usual range of {what} ({usual}): check the unit"
    return None, None


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
    if x == 0:
        return f"0 {unit}".strip()  # never "-0"
    if not math.isfinite(x):
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
