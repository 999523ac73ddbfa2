"""SPICE deck → :class:`~spu_emulator.netlist.schema.Netlist`, for the subset the
emulator models (``spu spice import``; docs/spice.md is the user's guide).

The deck is read by :mod:`.deck` (cards, parameters, subcircuits flattened), then its
elements become netlist elements:

==============================  =====================================================
deck                            netlist
==============================  =====================================================
``R``, ``C``, ``L``, ``K``      resistor (noise temperature from ``temp=``, ``dtemp=``
                                or the deck's; ``noisy=0`` is 0 K), capacitor,
                                inductor, mutual inductance
``L`` a x + ``R`` x b           an inductor with series resistance, when node x joins
                                only those two
``I`` dc, ``trnoise(NA NT)``    current source: DC value, white noise of one-sided PSD
                                S = 2·NA²·NT (trnoise holds N(0, NA²) values for NT:
                                two-sided intensity NA²·NT at low frequency)
``R`` a x + ``V`` x 0           a bias resistor (``RB``): the resistor to a ``dc`` or
                                ``pwl`` bias, when node x joins only those two
``V`` 0 V not sensed by an F    an ammeter: a short (its nodes are merged)
exporter's noise copy           ``R`` n 0 + ``V`` n 0 dc 0 + ``F`` a b V g: white current
                                noise S = g²·4k_BT/R from a to b (T: the resistor's)
exporter's nonlinear capacitor  ``V``/``B``/``F``/``C`` charge-node construct
                                (:mod:`.export`): NC with J2, J4, and the energy
                                couplers EC from the B sources' cross terms
==============================  =====================================================

A current source with only an ``ac`` value (a ``.noise`` or ``.ac`` stimulus) does
nothing in the emulator and is dropped with a note. Anything else (a transistor, a
controlled source, a time-dependent current source, …) is an error naming the deck,
line and card, e.g. ``deck.cir:12: Q1: transistors are not modelled by the emulator``.

A deck written by :func:`~spu_emulator.spice.export.export` is recognized by its header
and restored exactly: names from its node and element maps, cells and readout from
its header, temperatures and values that the exporter computed (noise resistances,
the B coefficients, ``dtemp``) as the shortest decimal that the exporter writes the
same way; the exporter's transient noise sources (which restate the resistors' own
noise) are dropped. :attr:`ImportResult.exact` then says whether the restored
netlist's digest is the one in the header. Cost: O(size of the flattened deck).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import NetlistError
from ..netlist import elements as el
from ..netlist.base import GROUND, Element, Waveform
from ..netlist.schema import Netlist, Readout
from ..units import K_B
from .deck import Deck, Flat, Source, load_deck, read_deck

C_TO_K = 273.15  # ngspice's CONSTCtoK (also in .export)
TITLE = re.compile(r"^\*\s*spu_emulator export: (\S+) \(netlist digest ([0-9a-f]+)\)\s*$")
ENERGY = re.compile(r"^\* (\S+): E = J2 q\^2 \+ J4 q\^4, J2=(\S+) J4=(\S+)$")


@dataclass(frozen=True, eq=False)
class ImportResult:
    """The imported ``netlist``, the ``notes`` (one line each: what was skipped or
    assumed, with file and line), whether the deck was ``exported`` by spu_emulator,
    and for such a deck whether the netlist is ``exact``ly the exported one (its digest
    matches the deck's header; None for other decks)."""

    netlist: Netlist
    notes: tuple[str, ...] = ()
    exported: bool = False
    exact: bool | None = None

    def yaml(self) -> str:
        """The netlist as spu-netlist/1 YAML text."""
        from ..netlist.dump import dumps

        return dumps(self.netlist)

    def summary(self) -> dict:
        """A plain-data summary (the CLI's ``--json``)."""
        counts: dict[str, int] = {}
        for e in self.netlist.elements:
            counts[e.TYPE] = counts.get(e.TYPE, 0) + 1
        return {
            "deck": self.netlist.source,
            "name": self.netlist.name,
            "temperature": self.netlist.temperature,
            "nodes": list(self.netlist.nodes),
            "cells": list(self.netlist.cells),
            "elements": len(self.netlist.elements),
            "element_types": counts,
            "linear": self.netlist.is_linear,
            "digest": self.netlist.digest,
            "exported": self.exported,
            "exact": self.exact,
            "notes": list(self.notes),
        }


def import_deck(path: str | os.PathLike[str]) -> ImportResult:
    """Import the SPICE deck at ``path`` (module docstring). Raises NetlistError (file,
    line, card) for anything outside the emulator's subset."""
    return _import(load_deck(path))


def import_text(text: str, file: str = "<deck>") -> ImportResult:
    """Import SPICE deck text; ``file`` names it in messages (and ``.include`` paths
    are relative to it)."""
    return _import(read_deck(text, file))


# ---- values the exporter computed ------------------------------------------------------


def restore(approx: float, forward: Callable[[float], float], target: float,
            stated: float | None = None) -> float:
    """The value x that the deck's ``target`` was computed from as ``forward(x)``:
    ``stated`` (what the exporter wrote in a comment) if it gives ``target``, else the
    shortest decimal near ``approx`` (the inverse computed in floating point) with
    forward(x) == target, else ``approx``. Exporter decks round-trip exactly through
    it; for other decks it trims the last-digit noise of the inversion. O(17)."""
    if stated is not None and forward(stated) == target:
        return stated
    if not math.isfinite(approx) or approx == 0:
        return approx
    for digits in range(1, 18):
        x = float(f"{approx:.{digits}g}")
        if forward(x) == target:
            return x
    return approx


def celsius_to_kelvin(tc: float) -> float:
    """T (K) of a SPICE temperature (°C), as the exporter writes it (12 digits)."""
    return restore(tc + C_TO_K, lambda t: float(f"{t - C_TO_K:.12g}"), tc)


# ---- the exporter's header -------------------------------------------------------------


@dataclass(eq=False)
class _Header:
    """What an exported deck's header says (see :func:`.export.export`)."""

    name: str
    digest: str
    nodes: dict[str, str] = field(default_factory=dict)  # spice -> netlist, netlist order
    elements: dict[str, str] = field(default_factory=dict)  # spice -> netlist
    cells: tuple[str, ...] = ()
    readout: Readout | None = None
    couplers: dict[str, tuple[str, float]] = field(default_factory=dict)  # "a-b" -> (name, J)
    #: the exact J2, J4 of each nonlinear capacitor (the comment above its lines)
    energies: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def parse(cls, deck: Deck) -> _Header | None:
        m = TITLE.match(deck.title)
        if not m:
            return None
        h = cls(m.group(1), m.group(2))
        for line in deck.header:
            key, _, rest = line.lstrip("* ").partition(": ")
            if key == "node map (netlist -> spice)":
                h.nodes = {s: n for n, s in _pairs(rest)}
            elif key == "element map":
                h.elements = {s: n for n, s in _pairs(rest)}
            elif key == "cells":
                h.cells = tuple(c for c in rest.split(", ") if c)
            elif key == "readout":
                kv = dict(w.split("=", 1) for w in rest.split() if "=" in w)
                h.readout = Readout(
                    rate=float(kv["rate"]) if "rate" in kv else None,
                    bits=int(kv["bits"]) if "bits" in kv else None,
                    full_scale=float(kv["full_scale"]) if "full_scale" in kv else None,
                )
            elif key == "energy couplers (terms of the B sources)":
                for item in rest.split(", "):
                    parts = item.split(" ")
                    if len(parts) == 3 and parts[2].startswith("J="):
                        h.couplers[parts[1]] = (parts[0], float(parts[2][2:]))
        for line in deck.comments:
            e = ENERGY.match(line)
            if e:
                h.energies[e.group(1)] = (float(e.group(2)), float(e.group(3)))
        return h


def _pairs(text: str) -> list[tuple[str, str]]:
    """``a->x, b->y`` → [(a, x), (b, y)] (SPICE names hold no ``-``, so split at the last)."""
    out = []
    for item in text.strip().split(", "):
        if item:
            n, _, s = item.rpartition("->")
            out.append((n, s))
    return out


# ---- the conversion --------------------------------------------------------------------


class _Importer:
    """The element pass (module docstring's table): constructs first, then plain cards."""

    def __init__(self, deck: Deck, header: _Header | None):
        self.deck, self.header = deck, header
        self.els = deck.elements
        # an exported deck's analyses are the exporter's own: no note about them
        own = {".control", ".noise", ".tran"} if header is not None else set()
        self.notes = [n for n, k in zip(deck.notes, deck.note_kinds, strict=True) if k not in own]
        self.t0 = celsius_to_kelvin(deck.temperature_c)
        self.alive = [True] * len(self.els)
        self.index: dict[str, int] = {}
        for i, e in enumerate(self.els):
            if e.name in self.index:
                first = self.els[self.index[e.name]]
                raise e.error(f"the name is used twice (first at line {first.card.line})")
            self.index[e.name] = i
        #: the F cards sensing each source, by the source's name
        self.sensing: dict[str, list[int]] = {}
        for i, e in enumerate(self.els):
            if e.kind == "f":
                self.sensing.setdefault(e.refs[0], []).append(i)
        self.parent: dict[str, str] = {}
        self.temp_noted = False
        self.out: list[tuple[int, Element]] = []
        self.touch: dict[str, list[int]] = {}

    # -- node merges (shorts)
    def rep(self, n: str) -> str:
        """The node ``n`` was merged into (union–find with path halving)."""
        p = self.parent
        while p.get(n, n) != n:
            p[n] = p.get(p[n], p[n])
            n = p[n]
        return n

    def short(self, a: str, b: str) -> None:
        ra, rb = self.rep(a), self.rep(b)
        if ra != rb:
            if ra == "0":
                ra, rb = rb, ra
            self.parent[ra] = rb

    def nodes(self, e: Flat) -> tuple[str, ...]:
        """The element's nodes after the shorts."""
        if not self.parent:
            return e.nodes
        return tuple(self.rep(n) for n in e.nodes)

    def _index_nodes(self) -> None:
        self.touch = {}
        for i, e in enumerate(self.els):
            if self.alive[i]:
                for n in set(self.nodes(e)):
                    if n != "0":
                        self.touch.setdefault(n, []).append(i)

    def only(self, node: str, *kinds: str) -> list[int] | None:
        """The alive elements on ``node`` if they are exactly one of each of ``kinds``."""
        found = [i for i in self.touch.get(node, ()) if self.alive[i]]
        if node == "0" or sorted(self.els[i].kind for i in found) != sorted(kinds):
            return None
        return found

    def emit(self, at: int, element: Element, *consumed: int) -> None:
        self.out.append((at, element))
        for i in consumed:
            self.alive[i] = False

    def note(self, e: Flat, message: str) -> None:
        self.notes.append(f"{e.card.file}:{e.card.line}: {e.shown}: {message}")

    # -- element helpers
    def temperature(self, e: Flat) -> float | None:
        """A resistor's noise temperature (K): 0 for noisy=0, temp= (°C), dtemp= (K
        above the deck's), else None (the deck's)."""
        p = e.params
        if p.get("noisy", 1) == 0:
            return 0.0
        if "temp" in p and "dtemp" in p:
            raise e.error("give temp= or dtemp=, not both")
        if "temp" in p:
            t = celsius_to_kelvin(p["temp"])
            if not self.temp_noted:
                self.temp_noted = True
                self.note(e, "temp= sets the noise temperature here (and on every resistor "
                          "that has it); ngspice 39's .noise ignores it (it takes dtemp= "
                          "only), so compare with dtemp= when checking against ngspice")
        elif "dtemp" in p:
            d = p["dtemp"]
            t = restore(self.t0 + d, lambda x: float(f"{x - self.t0:.12g}"), d)
        else:
            return None
        if t < 0:
            raise e.error(f"the temperature is below 0 K ({t:g} K)")
        return t

    def positive(self, e: Flat, what: str) -> float:
        if not (e.value > 0 and math.isfinite(e.value)):
            raise e.error(f"the emulator needs a positive {what}, got {e.value:g}")
        return e.value

    def sensor(self, name: str) -> Flat | None:
        """The 0 V source an F card senses (None if it is not one)."""
        i = self.index.get(name)
        e = self.els[i] if i is not None else None
        if e is None or e.kind != "v" or not self.alive[i] or not _zero(e.source):
            return None
        return e

    # -- passes
    def run(self) -> list[tuple[int, Element]]:
        self._drops_and_shorts()
        self._index_nodes()
        couplings = self._nonlinear_capacitors()
        self._noise_copies()
        self._bias_resistors()
        self._series_inductors()
        self._plain()
        self.out.sort(key=lambda p: p[0])
        return [*self.out, *[(len(self.els), c) for c in couplings]]

    def _drops_and_shorts(self) -> None:
        """Exporter decks: drop its transient noise copies (``trnoise``; a voltage one is
        a short) and its ``.noise`` reference source. Every deck: a 0 V source that no
        F senses and that is not a resistor's bias source is an ammeter, a short."""
        sensed = self.sensing
        mapped = self.header.elements if self.header is not None else None
        raw: dict[str, list[int]] = {}
        for i, e in enumerate(self.els):
            for n in e.nodes:
                raw.setdefault(n, []).append(i)
        for i, e in enumerate(self.els):
            if e.kind not in ("i", "v"):
                continue
            reference = e.kind == "i" and e.source.ac and _zero(e.source)
            if mapped is not None and e.name not in mapped and (
                    reference or e.source.trnoise is not None):
                self.alive[i] = False
                if e.kind == "v":
                    self.short(*e.nodes)
            elif e.kind == "v" and _zero(e.source) and e.name not in sensed:
                a, b = e.nodes
                x = b if a == "0" else a
                behind = [j for j in raw.get(x, ()) if j != i]
                if "0" in (a, b) and len(behind) == 1 and self.els[behind[0]].kind == "r":
                    continue  # a bias source (of 0 V)
                self.alive[i] = False
                self.short(a, b)
                if mapped is None:
                    self.note(e, "a 0 V source (an ammeter) is a short here; its nodes are "
                              "merged")

    def _nonlinear_capacitors(self) -> list[el.EnergyCoupler]:
        found = []  # (b index, node, charge node, C_aux, indices)
        for i, b in enumerate(self.els):
            if b.kind != "b" or not self.alive[i]:
                continue
            fail = b.error("behavioural sources are not modelled by the emulator (except the "
                           "exporter's nonlinear capacitor construct, docs/spice.md)")
            y, g = self.nodes(b)
            on_y = self.only(y, "b", "v") if g == "0" else None
            if on_y is None:
                raise fail
            vs = self.els[next(j for j in on_y if j != i)]
            fq = [j for j in self.sensing.get(vs.name, ()) if self.alive[j]]
            a, y2 = self.nodes(vs)
            if not _zero(vs.source) or y2 != y or a == "0" or len(fq) != 1:
                raise fail
            f = self.els[fq[0]]
            q = self.nodes(f)[1]
            on_q = self.only(q, "f", "c")
            if self.nodes(f)[0] != "0" or f.value != 1 or on_q is None:
                raise fail
            c = self.els[next(j for j in on_q if j != fq[0])]
            if self.nodes(c) != (q, "0"):
                raise fail
            found.append((i, a, q, c.value, (i, self.index[vs.name], fq[0], self.index[c.name])))
        charge = {q: (a, caux) for _, a, q, caux, _ in found}
        source = {a: i for i, a, _, _, _ in found}
        terms: dict[tuple[str, str], list[float]] = {}
        for i, a, q, caux, used in found:
            b = self.els[i]
            j2 = j4 = 0.0
            s2, s4 = self._stated_energy(b)
            for mono, coef in b.poly.items():
                if mono == (q,):
                    j2 = restore(coef / (2.0 * caux), lambda j, c=caux: 2.0 * j * c, coef, s2)
                elif mono == (q, q, q):
                    j4 = restore(coef / (4.0 * caux**3), lambda j, c=caux: 4.0 * j * c**3,
                                 coef, s4)
                elif len(mono) == 1 and mono[0] in charge and mono[0] != q:
                    other, c_o = charge[mono[0]]
                    J = restore(coef / c_o, lambda j, c=c_o: j * c, coef,
                                self._stated_coupling(a, other))
                    terms.setdefault(tuple(sorted((a, other))), []).append(J)
                else:
                    raise b.error("the B source's expression is not the exporter's nonlinear "
                                  "capacitor (v = 2J2·q + 4J4·q³ + Σ J·q_b in charge nodes)")
            self.emit(i, el.NonlinearCapacitor(name=b.name, nodes=(a, GROUND), J2=j2, J4=j4,
                                            origin=b.shown, line=b.card.line), *used)
        couplers = []
        for (a, b2), js in terms.items():
            if len(js) != 2 or js[0] != js[1]:
                raise self.els[source[a]].error(
                    f"the coupling terms between {a} and {b2} differ in the two B sources (an "
                    "energy coupler adds J·q_b to one and J·q_a to the other)")
            couplers.append(self._coupler(a, b2, js[0]))
        return couplers

    def _stated_energy(self, b: Flat) -> tuple[float | None, float | None]:
        """The J2, J4 an exporter's comment states for the NC written as B source ``b``."""
        if self.header is None or b.name not in self.header.elements:
            return None, None
        return self.header.energies.get(self.header.elements[b.name], (None, None))

    def _listed(self, a: str, b: str) -> tuple[str, float, bool] | None:
        """(name, J, reversed) of the header's energy coupler between charge nodes a, b."""
        if self.header is None:
            return None
        na, nb = self.header.nodes.get(a, a), self.header.nodes.get(b, b)
        for key, rev in ((f"{na}-{nb}", False), (f"{nb}-{na}", True)):
            if key in self.header.couplers:
                return (*self.header.couplers[key], rev)
        return None

    def _stated_coupling(self, a: str, b: str) -> float | None:
        listed = self._listed(a, b)
        return listed[1] if listed else None

    def _coupler(self, a: str, b: str, J: float) -> el.EnergyCoupler:
        """The energy coupler between charge nodes a and b: named (and oriented) as the
        exporter's header lists it, else ``ec_a_b``."""
        listed = self._listed(a, b)
        if listed is None:
            return el.EnergyCoupler(name=f"ec_{a}_{b}", nodes=(a, b), J=J)
        name, _, rev = listed
        return el.EnergyCoupler(name=name, nodes=(b, a) if rev else (a, b), J=J)

    def _noise_copies(self) -> None:
        for i, f in enumerate(self.els):
            if f.kind != "f" or not self.alive[i]:
                continue
            fail = f.error("controlled sources are not modelled by the emulator (except the "
                           "exporter's noise copy: R n 0, V n 0 dc 0, F a b V gain)")
            v = self.sensor(f.refs[0])
            if v is None:
                raise fail
            m = next((n for n in self.nodes(v) if n != "0"), None)
            on_m = self.only(m, "v", "r") if "0" in self.nodes(v) and m else None
            if on_m is None:
                raise fail
            r = self.els[next(j for j in on_m if j != self.index[v.name])]
            if "0" not in self.nodes(r):
                raise fail
            t = self.temperature(r)
            t = self.t0 if t is None else t
            R = self.positive(r, "resistance")
            g = f.value
            S = 4.0 * K_B * t / R * g * g
            if g == 1:
                S = restore(S, lambda s, t=t: 4.0 * K_B * t / s, R)
            used = (i, self.index[v.name], self.index[r.name])
            owner = self._noise_owner(i, self.nodes(f))
            a, b = self.nodes(f)
            if owner is None:
                self.emit(i, el.CurrentSource(name=f.name, nodes=_gnd((a, b)), noise_psd=S,
                                           origin=f.shown, line=f.card.line), *used)
            else:
                j, src = owner
                self.emit(j, el.CurrentSource(name=src.name, nodes=_gnd(self.nodes(src)),
                                           dc=src.source.dc, noise_psd=S, origin=src.shown,
                                           line=src.card.line), j, *used)

    def _noise_owner(self, i: int, nodes: tuple[str, ...]) -> tuple[int, Flat] | None:
        """Exporter decks: the current source written just before its noise copy."""
        if self.header is None:
            return None
        for j in range(i - 1, max(i - 4, -1), -1):
            e = self.els[j]
            if e.kind == "i" and self.alive[j] and self.nodes(e) == nodes:
                if e.source.trnoise is not None or e.source.pwl:
                    return None
                return j, e
        return None

    def _bias_resistors(self) -> None:
        for i, r in enumerate(self.els):
            if r.kind != "r" or not self.alive[i]:
                continue
            for x, a in (self.nodes(r), self.nodes(r)[::-1]):
                on_x = self.only(x, "r", "v")
                if on_x is None or a == "0":
                    continue
                v = self.els[next(j for j in on_x if j != i)]
                if "0" not in self.nodes(v) or v.source.trnoise is not None:
                    continue
                sign = 1.0 if self.nodes(v)[0] == x else -1.0
                self.emit(i, el.BiasedResistor(
                    name=r.name, nodes=(a, GROUND), R=self.positive(r, "resistance"),
                    bias=_waveform(v, sign), temperature=self.temperature(r), origin=r.shown,
                    line=r.card.line), i, self.index[v.name])
                break

    def _series_inductors(self) -> None:
        for i, ell in enumerate(self.els):
            if ell.kind != "l" or not self.alive[i]:
                continue
            n1, n2 = self.nodes(ell)
            for x, keep in ((n2, n1), (n1, n2)):
                on_x = self.only(x, "l", "r")
                if on_x is None:
                    continue
                r = self.els[next(j for j in on_x if j != i)]
                far = next(n for n in self.nodes(r) if n != x)
                if far == keep:
                    continue
                nodes = (keep, far) if x == n2 else (far, keep)
                self.emit(i, el.Inductor(
                    name=ell.name, nodes=_gnd(nodes), L=self.positive(ell, "inductance"),
                    series_R=self.positive(r, "resistance"), temperature=self.temperature(r),
                    origin=ell.shown, line=ell.card.line), i, self.index[r.name])
                break

    def _plain(self) -> None:
        inductors = {e.name for _, e in self.out if isinstance(e, el.Inductor)}
        inductors |= {e.name for i, e in enumerate(self.els) if e.kind == "l" and self.alive[i]}
        coupled: dict[frozenset[str], str] = {}
        for i, e in enumerate(self.els):
            if not self.alive[i]:
                continue
            kw = {"name": e.name, "origin": e.shown, "line": e.card.line}
            nodes = _gnd(self.nodes(e)) if e.kind != "k" else ("", "")
            if e.kind != "k" and nodes[0] == nodes[1]:
                raise e.error(f"both terminals are on node {nodes[0]} (shorted)")
            if e.kind == "r":
                made: Element = el.Resistor(nodes=nodes, R=self.positive(e, "resistance"),
                                       temperature=self.temperature(e), **kw)
            elif e.kind == "c":
                made = el.Capacitor(nodes=nodes, C=self.positive(e, "capacitance"), **kw)
            elif e.kind == "l":
                made = el.Inductor(nodes=nodes, L=self.positive(e, "inductance"), **kw)
            elif e.kind == "k":
                made = self._coupling(e, inductors, coupled, kw)
            elif e.kind == "i":
                src = e.source
                if src.dc == 0 and src.trnoise is None and not src.pwl and self.header is None:
                    self.alive[i] = False
                    self.note(e, "a current source with no dc value or noise (an .ac or .noise "
                              "stimulus) does nothing in the emulator; dropped")
                    continue
                made = self._current(e, nodes, kw)
            elif e.kind == "v":
                raise e.error("voltage sources are not modelled by the emulator (except a bias "
                              "source: a resistor to a dc or pwl source to ground; and a 0 V "
                              "ammeter)")
            elif e.kind == "f":
                raise e.error("controlled sources are not modelled by the emulator")
            else:  # pragma: no cover - deck.element admits no other kind
                raise e.error(f"unexpected element kind {e.kind!r}")
            if "ic" in e.params:
                self.note(e, "ic= (an initial condition) ignored: the emulator starts where "
                          "it is told")
            self.emit(i, made, i)

    def _coupling(self, e: Flat, inductors: set[str], coupled: dict, kw: dict) -> Element:
        for ref in e.refs:
            if ref not in inductors:
                raise e.error(f"no inductor {ref!r} to couple")
        l1, l2 = e.refs
        if l1 == l2:
            raise e.error(f"an inductor cannot couple to itself ({l1})")
        pair = frozenset(e.refs)
        if pair in coupled:
            raise e.error(f"{l1} and {l2} are already coupled by {coupled[pair]}")
        coupled[pair] = e.name
        if not abs(e.value) < 1:
            raise e.error(f"the coupling factor must satisfy |k| < 1, got {e.value:g}")
        return el.MutualInductance(nodes=(), inductors=(l1, l2), k=e.value, **kw)

    def _current(self, e: Flat, nodes: tuple[str, str], kw: dict) -> Element:
        src = e.source
        if src.pwl:
            raise e.error("time-dependent current sources are not modelled by the emulator "
                          "(a current source is dc plus trnoise white noise)")
        psd = 0.0
        if src.trnoise is not None:
            na, nt = src.trnoise
            psd = 2.0 * na * na * nt
        return el.CurrentSource(nodes=nodes, dc=src.dc, noise_psd=psd, **kw)


def _zero(src: Source | None) -> bool:
    """A 0 V (or 0 A) dc source with no waveform or noise."""
    return src is not None and src.dc == 0 and src.trnoise is None and not src.pwl


def _gnd(nodes: tuple[str, ...]) -> tuple[str, str]:
    a, b = (GROUND if n == "0" else n for n in nodes)
    return a, b


def _waveform(v: Flat, sign: float) -> Waveform:
    src = v.source
    if not src.pwl:
        return Waveform(values=(sign * src.dc + 0.0,))
    times = tuple(t for t, _ in src.pwl)
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise v.error("pwl times must increase")
    values = tuple(sign * x + 0.0 for _, x in src.pwl)
    return Waveform(values=values[:1]) if len(values) == 1 else Waveform(times, values)


def _import(deck: Deck) -> ImportResult:
    header = _Header.parse(deck)
    imp = _Importer(deck, header)
    placed = imp.run()
    if not placed:
        raise NetlistError("the deck has no elements the emulator models", deck.file)
    elements = [e for _, e in placed]
    if header is not None:
        netlist = _restore_names(deck, header, imp, elements)
    else:
        nodes: list[str] = []
        seen: set[str] = set()
        for e in elements:
            for n in e.nodes:
                if n != GROUND and n not in seen:
                    seen.add(n)
                    nodes.append(n)
        stem = os.path.splitext(os.path.basename(deck.file))[0]
        netlist = Netlist(
            name=re.sub(r"\s+", "_", stem) or "deck",
            temperature=imp.t0,
            nodes=tuple(nodes),
            cells=(),
            elements=tuple(elements),
            source=deck.file,
            description=f"imported from {os.path.basename(deck.file)}"
            + (f": {deck.title.lstrip('* ').strip()}" if deck.title.strip() else ""),
        )
    from ..circuit.topology import check_topology

    check_topology(netlist)
    exact = None
    if header is not None:
        exact = netlist.digest.startswith(header.digest)
        if not exact:
            imp.notes.append(
                f"{deck.file}: the circuit is not exactly the netlist this deck was exported "
                f"from (digest {netlist.digest[:16]}, header {header.digest}): the deck was "
                "edited, or a value did not survive the deck's number format")
    return ImportResult(netlist, tuple(imp.notes), header is not None, exact)


def _restore_names(deck: Deck, header: _Header, imp: _Importer,
                   elements: list[Element]) -> Netlist:
    """The netlist of an exported deck under its own names (the header's maps); nodes
    and elements the maps do not know (cards added to the deck) keep their SPICE names,
    with a note."""
    extra: list[str] = []
    extra_nodes: list[str] = []
    nodes = dict(header.nodes)  # spice -> netlist, netlist order first

    def node(n: str) -> str:
        if n != GROUND and n not in nodes:
            nodes[n] = n
            extra_nodes.append(n)
        return n if n == GROUND else nodes[n]

    renamed = []
    names = header.elements
    for e in elements:
        changes: dict = {"nodes": tuple(node(n) for n in e.nodes)}
        if isinstance(e, el.MutualInductance):
            changes["inductors"] = tuple(names.get(x, x) for x in e.inductors)
        if not isinstance(e, el.EnergyCoupler):
            if e.name not in names:
                extra.append(e.name)
            changes["name"] = names.get(e.name, e.name)
        renamed.append(dataclasses.replace(e, **changes))
    for what, items in (("elements", extra), ("nodes", extra_nodes)):
        if items:
            imp.notes.append(
                f"{deck.file}: {what} not in the exporter's maps (added to the deck?) kept "
                f"under their SPICE names: {', '.join(items[:12])}"
                + (" …" if len(items) > 12 else ""))
    by_name = {e.name: e for e in renamed}
    cells = tuple(c for c in header.cells if isinstance(by_name.get(f"{c}.C"), el.Capacitor)
                  and by_name[f"{c}.C"].nodes == (c, GROUND))
    if cells != header.cells:
        imp.notes.append(f"{deck.file}: cells without their capacitor {{cell}}.C to ground are "
                         "imported as plain nodes: "
                         + ", ".join(c for c in header.cells if c not in cells))
    used = {n for e in renamed for n in e.nodes}
    return Netlist(
        name=header.name,
        temperature=imp.t0,
        nodes=tuple(n for n in nodes.values() if n in used),
        cells=cells,
        elements=tuple(renamed),
        source=deck.file,
        description=f"imported from {os.path.basename(deck.file)} (exported by spu_emulator)",
        readout=header.readout,
    )


__all__ = ["ImportResult", "import_deck", "import_text", "restore"]
