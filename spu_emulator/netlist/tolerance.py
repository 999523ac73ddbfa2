"""Component tolerances: how the as-built boards of a design spread around its values.

A tolerance describes the *population* of boards built from a netlist, not the netlist
itself: ``check``, ``analyze`` and ``simulate`` keep using the nominal values, and
Monte Carlo (:mod:`spu_emulator.hardware.montecarlo`) draws boards from it.

Each component's value on a board is

    p = p₀ · (1 + σ_lot · u_lot) · (1 + σ · u) · (1 + α (T_board − T_ref))

with u, u_lot independent draws (standard normal, or uniform on [−1, 1] scaled so that
``sigma`` is the half-width for ``distribution="uniform"``), one u_lot per class per
board (a common lot factor: every capacitor of a board from the same reel), α the
temperature coefficient (ppm/K) and T_board the board temperature. Classes: ``C``
(capacitors, cells' and couplers' included), ``L`` (inductors), ``R`` (resistors,
inductor series resistances, switch resistances), ``K`` (mutual couplings) and
``noise`` (the level of every injected noise source). A per-element tolerance
overrides its class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Tolerance classes and what they cover.
CLASSES = {
    "C": "every capacitor (cells', couplers' and plain ones)",
    "L": "every inductor",
    "R": "every resistor (also inductor series and bias resistors)",
    "K": "every mutual inductance's coupling factor",
    "noise": "the level (PSD) of every injected noise source",
}
DISTRIBUTIONS = ("gaussian", "uniform")


@dataclass(frozen=True, slots=True)
class Tolerance:
    """One component's (or class's) spread: ``sigma`` relative (one standard deviation
    for ``"gaussian"``, the half-width for ``"uniform"``), ``lot`` the relative standard
    deviation of the common per-board factor of its class, ``tempco`` the temperature
    coefficient (1/K)."""

    sigma: float = 0.0
    distribution: str = "gaussian"
    lot: float = 0.0
    tempco: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.sigma == 0 and self.lot == 0 and self.tempco == 0

    @property
    def std(self) -> float:
        """The standard deviation of the per-component factor (a uniform half-width h
        has standard deviation h/√3)."""
        return self.sigma if self.distribution == "gaussian" else self.sigma / 3**0.5

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sigma:
            out["sigma" if self.distribution == "gaussian" else "uniform"] = self.sigma
        if self.lot:
            out["lot"] = self.lot
        if self.tempco:
            out["tempco"] = self.tempco
        return out


@dataclass(frozen=True, slots=True)
class Tolerances:
    """A netlist's ``tolerances:`` section: per-class spreads, per-element overrides (by
    element name), and the board temperature the temperature coefficients act at
    (``None``: the netlist's bath temperature, i.e. no drift) relative to
    ``reference_temperature`` (``None``: the netlist's bath)."""

    classes: dict[str, Tolerance] = field(default_factory=dict)
    elements: dict[str, Tolerance] = field(default_factory=dict)
    board_temperature: float | None = None
    reference_temperature: float | None = None

    def for_element(self, name: str, cls: str | None) -> Tolerance:
        """The tolerance that applies to element ``name`` of class ``cls``."""
        if name in self.elements:
            return self.elements[name]
        if cls is not None and cls in self.classes:
            return self.classes[cls]
        return Tolerance()

    def canonical(self) -> dict[str, Any]:
        return {
            "classes": {k: v.to_dict() for k, v in sorted(self.classes.items())},
            "elements": {k: v.to_dict() for k, v in sorted(self.elements.items())},
            "board_temperature": self.board_temperature,
            "reference_temperature": self.reference_temperature,
        }


def element_class(element: Any) -> list[tuple[str, str]]:
    """The (field, class) pairs of an element's values that tolerances act on."""
    t = element.TYPE
    if t == "C":
        return [("C", "C")]
    if t == "L":
        out = [("L", "L")]
        if getattr(element, "series_R", 0.0) > 0:
            out.append(("series_R", "R"))
        return out
    if t in ("R", "RB"):
        return [("R", "R")]
    if t == "K":
        return [("k", "K")]
    if t == "I" and getattr(element, "noise_psd", 0.0) > 0:
        return [("noise_psd", "noise")]
    if t == "IN":
        return [("psd", "noise")]
    return []


__all__ = ["CLASSES", "DISTRIBUTIONS", "Tolerance", "Tolerances", "element_class"]
