"""Netlist → YAML text (spu-netlist/1) that :func:`~spu_emulator.netlist.reader.loads`
reads back to an equal :class:`~spu_emulator.netlist.schema.Netlist`.

Values are written exactly: every float is its shortest round-trip ``repr`` in SI
units, spelled so that YAML reads it as a float (``1.0e-09``, never ``1e-09``,
which YAML 1.1 would read as a string). Cells are written in the ``cells:`` section
(their ``<cell>.C``, ``<cell>.L``, ``<cell>.R`` elements), every other element in
``elements:`` in netlist order, each as its own :meth:`~.base.Element.yaml_entry`, so node order and element order survive the trip.
Extra top-level sections (e.g. the compiler's ``program:`` map) are appended last,
after every element they may refer to. Pure text: O(size of the netlist).
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring  # what json.dumps(str, ensure_ascii=False) returns, in C
from typing import Any

from .schema import GROUND, Capacitor, Element, Inductor, Netlist, Resistor


def fmt_float(x: float) -> str:
    """Shortest exact text of a float that YAML 1.1 reads as a float."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot write non-finite value {x!r} into a netlist")
    s = repr(x)
    if "e" in s:
        mant, exp = s.split("e")
        if "." not in mant:
            mant += ".0"
        if exp[0] not in "+-":
            exp = "+" + exp
        s = f"{mant}e{exp}"
    elif "." not in s:
        s += ".0"
    return s


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return fmt_float(v)
    if isinstance(v, str):
        # JSON strings are valid YAML flow scalars (double-quoted, escaped).
        return encode_basestring(v)
    raise TypeError(f"cannot write {type(v).__name__} into a netlist")


def flow(v: Any) -> str:
    """A value as one-line YAML flow text (mappings keep their key order)."""
    t = type(v)
    if t is float:  # the common leaves first (a netlist of 10⁵ elements has ~10⁶)
        return fmt_float(v)
    if t is str:
        return encode_basestring(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalar
        v = v.item()
    return _scalar(v)


def _cell_entry(netlist: Netlist, cell: str, by_name: dict[str, Element]) -> tuple[dict, set[str]]:
    used: set[str] = set()
    entry: dict[str, Any] = {"name": cell}
    c = by_name.get(f"{cell}.C")
    if not (isinstance(c, Capacitor) and c.nodes == (cell, GROUND)):
        raise ValueError(f"cell {cell!r} has no capacitor element {cell}.C to ground")
    entry["C"] = c.C
    used.add(c.name)
    ell = by_name.get(f"{cell}.L")
    r = by_name.get(f"{cell}.R")
    r_ok = isinstance(r, Resistor) and r.nodes == (cell, GROUND)
    cell_t = r.temperature if r_ok else None
    if isinstance(ell, Inductor) and ell.nodes == (cell, GROUND) and (
            (ell.series_R == 0.0 and ell.temperature is None)
            or (ell.series_R > 0.0 and ell.temperature == cell_t)):
        entry["L"] = ell.L
        if ell.series_R > 0.0:
            entry["R_L"] = ell.series_R
        used.add(ell.name)
    if r_ok:
        entry["R"] = r.R
        if r.temperature is not None:
            entry["temperature"] = r.temperature
        used.add(r.name)
    return entry, used


def _tolerance(t: Any) -> Any:
    """A tolerance as the reader takes it (percentages written exactly)."""
    from decimal import Decimal

    def dec(x: float, scale: int) -> str:
        d = (Decimal(repr(x)) * scale).normalize()
        return format(d, "f")

    def pct(x: float) -> str:
        return f"{dec(x, 100)}%"

    out: dict[str, str] = {}
    if t.sigma:
        out["sigma" if t.distribution == "gaussian" else "uniform"] = pct(t.sigma)
    if t.lot:
        out["lot"] = pct(t.lot)
    if t.tempco:
        out["tempco"] = f"{dec(t.tempco, 1_000_000)} ppm/K"
    if list(out) == ["sigma"]:
        return out["sigma"]
    return out or "0%"


def dumps(netlist: Netlist, sections: dict[str, Any] | None = None) -> str:
    """YAML text of ``netlist``; ``sections`` are extra top-level keys written last
    (each a mapping or list, written one flow item per line)."""
    by_name = {e.name: e for e in netlist.elements}
    lines = ["format: spu-netlist/1", f"name: {_scalar(netlist.name)}"]
    if netlist.description:
        lines.append(f"description: {_scalar(netlist.description)}")
    lines.append(f"temperature: {fmt_float(netlist.temperature)}")
    if netlist.readout is not None:
        ro = {k: v for k, v in netlist.readout.canonical().items() if v is not None}
        if "gain_error" in ro:
            from decimal import Decimal

            ro["gain_error"] = format((Decimal(repr(ro["gain_error"])) * 100).normalize(), "f") + "%"
        lines.append(f"readout: {flow(ro)}")
    used: set[str] = set()
    if netlist.cells:
        lines.append("cells:")
        for cell in netlist.cells:
            entry, u = _cell_entry(netlist, cell, by_name)
            used |= u
            lines.append(f"  - {flow(entry)}")
    rest = [e for e in netlist.elements if e.name not in used]
    if rest:
        lines.append("elements:")
        lines.extend(f"  - {flow(e.yaml_entry())}" for e in rest)
    if netlist.tolerances is not None:
        tol = netlist.tolerances
        lines.append("tolerances:")
        for k, v in tol.classes.items():
            lines.append(f"  {k}: {flow(_tolerance(v))}")
        if tol.elements:
            lines.append("  elements:")
            lines.extend(f"    {_scalar(k)}: {flow(_tolerance(v))}" for k, v in tol.elements.items())
        for k in ("board_temperature", "reference_temperature"):
            if getattr(tol, k) is not None:
                lines.append(f"  {k}: {fmt_float(getattr(tol, k))}")
    for key, value in (sections or {}).items():
        lines.append(f"{key}:")
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, list) and v and isinstance(v[0], dict):
                    lines.append(f"  {k}:")
                    lines.extend(f"    - {flow(x)}" for x in v)
                else:
                    lines.append(f"  {k}: {flow(v)}")
        else:
            lines.extend(f"  - {flow(x)}" for x in value)
    return "\n".join(lines) + "\n"
