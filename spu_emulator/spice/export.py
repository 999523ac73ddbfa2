"""Netlist → SPICE deck, as plain text (no PySpice, no ngspice needed).

The deck runs unmodified in ngspice (tested with ngspice 39, batch mode
``ngspice -b deck.cir -r out.raw``). Element by element:

==========================  =====================================================
netlist                     SPICE
==========================  =====================================================
resistor R at T             ``R… a b R dtemp=T−T₀`` (``noisy=0`` at 0 K); T₀ is the
                            deck temperature ``.options temp tnom`` = netlist bath
capacitor                   ``C… a b C``
inductor L, series_R R_s    ``L… a x L`` + ``R… x b R_s dtemp=…`` (x internal)
mutual inductance k         ``K… L1 L2 k``
current source dc, S        ``I… a b dc I`` and, for ``.noise``, S as the short-circuit
                            noise of a resistor R_S = 4 k_B T₀ / S sensed by a 0 V
                            source and copied into (a, b) by a CCCS ``F…`` (gain 1)
bias resistor RB R, V_b(t)  ``R… a x R dtemp=…`` + ``V… x 0 dc V_b`` (``pwl(…)`` when
                            the bias is time-dependent)
nonlinear capacitor NC      charge node ``q_a`` with ``C… q_a 0 C_aux`` integrating the
(J2, J4) at node a          capacitor's current (sensed by ``V… a y 0``, copied by
                            ``F… 0 q_a V… 1``), so q = C_aux·v(q_a); the node voltage
                            is imposed by ``B… y 0 v=2J2·q + 4J4·q³ + Σ_b J_ab·q_b``
energy coupler EC (J)       the J·q_b terms of the two nodes' B sources (no element)
==========================  =====================================================

Nonlinear netlists (any NC, EC or time-dependent RB) have no ``.noise`` analysis: the
deck :func:`export` writes is a transient with ``trnoise`` sources. C_aux is a power
of ten chosen per node (:func:`charge_capacitances`) so that the thermal charge reads
as ~0.1 V on the charge node, far above ngspice's voltage tolerance.

Transient decks add explicit noise sources (``noise_sources``), one per emulator
noise column, in :class:`~spu_emulator.circuit.assemble.Circuit.noise_sources` order:
a current source in parallel with each noisy resistor or injected source, and a
voltage source in series with each noisy inductor series resistance. Their
waveforms are either ngspice ``trnoise`` (white noise of the same two-sided
intensity q: amplitude sqrt(q / NT) every NT) or ``pwl`` (a prescribed sequence,
for the waveform check). ngspice 39 resistors make no noise in transient analysis,
so these sources are the only noise there.

Names: ngspice lower-cases everything, so node and element names are mapped to
safe lower-case identifiers (:class:`SpiceNames`) and the mapping is written into
the deck header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..circuit.assemble import NoiseSpec, assemble
from ..errors import InputError
from ..netlist.base import GROUND_NAMES, Element
from ..netlist.schema import EnergyCoupler, Netlist, NonlinearCapacitor

Array = np.ndarray

C_TO_K = 273.15  # ngspice's CONSTCtoK


#: One noise input of the emulator's SDE (the circuit's own record of it).
NoiseSourceSpec = NoiseSpec


def noise_source_table(netlist: Netlist) -> list[NoiseSpec]:
    """The emulator's noise sources in SDE column order (:attr:`Circuit.noise`, computed
    once at assembly): resistors and bias resistors above 0 K and injected current
    noise in element order, then inductor series resistances above 0 K."""
    return list(assemble(netlist).noise)


@dataclass(frozen=True, slots=True)
class SpiceNames:
    """Netlist name → SPICE identifier, for nodes and elements (ground is ``0``)."""

    nodes: dict[str, str]
    elements: dict[str, str]
    #: auxiliary names per (element, role): internal nodes and helper elements
    aux: dict[tuple[str, str], str]
    #: nonlinear netlists: netlist node → its SPICE charge node (q = C_aux · v(charge))
    charges: dict[str, str] = field(default_factory=dict)

    def node(self, name: str) -> str:
        return "0" if name in GROUND_NAMES else self.nodes[name]

    def charge(self, node: str) -> str:
        """The raw-file variable of a node's charge-node voltage, e.g. ``v(q_a)``."""
        return f"v({self.charges[node]})"

    def voltage(self, node: str) -> str:
        """The raw-file variable of a node voltage, e.g. ``v(n1)``."""
        return f"v({self.node(node)})"


def _safe(name: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return s or "x"


def spice_names(netlist: Netlist) -> SpiceNames:
    """Deterministic, collision-free lower-case SPICE names for every node and element."""
    used: set[str] = {"0"}

    def claim(base: str) -> str:
        cand, k = base, 2
        while cand in used:
            cand, k = f"{base}_{k}", k + 1
        used.add(cand)
        return cand

    nodes = {n: claim(_safe(n)) for n in netlist.nodes}
    elements: dict[str, str] = {}
    for e in netlist.elements:
        if e.SPICE_PREFIX is None:
            if type(e).spice is Element.spice:
                raise InputError(f"element {e.name!r} of type {e.TYPE} has no SPICE equivalent")
            continue  # e.g. an energy coupler: terms of other elements' lines
        elements[e.name] = claim(f"{e.SPICE_PREFIX.lower()}_{_safe(e.name)}")
    aux: dict[tuple[str, str], str] = {}
    charges: dict[str, str] = {}
    for e in netlist.elements:
        base = _safe(e.name)
        for role in e.SPICE_ROLES:
            head, _, tail = role.rpartition("_")
            aux[(e.name, role)] = claim(
                f"{head}_{base}_{tail}" if head else f"{elements[e.name]}_{role}"
            )
        if isinstance(e, NonlinearCapacitor) and e.nodes[0] not in charges:
            charges[e.nodes[0]] = claim(f"q_{_safe(e.nodes[0])}")
    return SpiceNames(nodes=nodes, elements=elements, aux=aux, charges=charges)


#: Target voltage of the thermal charge on a SPICE charge node (V).
CHARGE_NODE_VOLTS = 0.1


def charge_capacitances(netlist: Netlist) -> dict[str, float]:
    """C_aux (F) of every charge node of a nonlinear netlist: the power of ten nearest
    q_s / 0.1 V, q_s the node's thermal charge
    (:meth:`~spu_emulator.sde.nonlinear.NonlinearSDE.thermal_charges`), so the
    node's thermal charge reads as ~0.1 V (ngspice's default vntol is 1 µV)."""
    sde = assemble(netlist).to_sde()
    return {
        n: float(10.0 ** np.round(np.log10(q / CHARGE_NODE_VOLTS)))
        for n, q in zip(sde.nodes, sde.thermal_charges(), strict=True)
    }


def fmt(x: float) -> str:
    """A number as SPICE reads it back exactly (shortest round-trip repr, no suffix)."""
    x = float(x)
    if x == 0.0:
        return "0"
    return repr(x).replace("e+", "e")


# ---- analyses and transient source waveforms ---------------------------------------


@dataclass(frozen=True, slots=True)
class NoiseAnalysis:
    """``.noise v(output) <ref> dec points fstart fstop``: the one-sided output noise
    spectrum at one node (ngspice plot ``noise1``, variable ``onoise_spectrum``,
    V/sqrt(Hz))."""

    output: str
    points_per_decade: int = 100
    fstart: float = 1e3
    fstop: float = 1e10
    #: extra ``.noise … lin points fstart fstop`` sweeps (each its own ngspice plot),
    #: e.g. to resolve sharp resonances the log grid would step over
    linear_sweeps: tuple[tuple[int, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class TransientAnalysis:
    """``.tran step stop tstart max_step uic`` starting from zero state (all
    capacitor voltages and inductor currents 0), saving the listed nodes' voltages
    (every node when ``save`` is empty). With ``linearize`` set, a ``.control`` block
    resamples the saved voltages onto the uniform ``step`` grid before writing them
    (for long statistical runs; the deck then writes ``out.raw`` itself)."""

    step: float
    stop: float
    max_step: float
    start: float = 0.0
    save: tuple[str, ...] = ()
    linearize: bool = False


@dataclass(frozen=True, slots=True)
class TrNoise:
    """ngspice transient noise for every emulator noise source: ``trnoise(NA NT 0 0)``
    with NA = sqrt(q / NT), independent N(0, NA²) values every NT, linearly
    interpolated. ngspice 39 cannot seed it (``.options seed`` and ``set rndseed``
    were measured to have no effect on trnoise), so every run differs."""

    interval: float


@dataclass(frozen=True, eq=False)
class PWLInputs:
    """Prescribed waveforms for every emulator noise source (``pwl``): ``values``
    (T, p) in each source's SI unit (A or V), at times ``t`` (T,), columns in
    :func:`noise_source_table` order; linear between points, held after the last."""

    t: Array
    values: Array


def _tran_value(spec: NoiseSpec, j: int, sources: TrNoise | PWLInputs) -> str:
    if isinstance(sources, TrNoise):
        na = np.sqrt(spec.intensity / sources.interval)
        return f"dc 0 trnoise({fmt(na)} {fmt(sources.interval)} 0 0)"
    col = sources.values[:, j]
    pairs = " ".join(f"{fmt(t)} {fmt(v)}" for t, v in zip(sources.t, col, strict=True))
    return f"dc 0 pwl({pairs})"


def _wrap(line: str, width: int = 100) -> list[str]:
    """Split a long SPICE line into continuation lines (``+ ...``)."""
    if len(line) <= width:
        return [line]
    out, cur = [], ""
    for tok in line.split(" "):
        if cur and len(cur) + 1 + len(tok) > width:
            out.append(cur)
            cur = "+ " + tok
        else:
            cur = f"{cur} {tok}" if cur else tok
    out.append(cur)
    return out


class DeckWriter:
    """The :class:`~spu_emulator.netlist.base.SpiceDeck` elements write their lines
    through: SPICE names, number format, temperature parameters, charge nodes and
    couplings (nonlinear decks), and the transient noise source of a series
    resistance."""

    def __init__(self, names: SpiceNames, t0: float, caux: dict[str, float],
                 terms: dict[str, list[tuple[str, float]]],
                 by_element: dict[str, list[tuple[int, NoiseSpec]]],
                 sources: TrNoise | PWLInputs | None):
        self.names, self.t0, self.caux, self.terms = names, t0, caux, terms
        self.by_element, self.sources = by_element, sources

    def node(self, name: str) -> str:
        return self.names.node(name)

    def name(self, element: Element | str) -> str:
        return self.names.elements[element if isinstance(element, str) else element.name]

    def aux(self, element: Element, role: str) -> str:
        return self.names.aux[(element.name, role)]

    def fmt(self, x: float) -> str:
        return fmt(x)

    def temperature(self, t: float | None) -> str:
        """`` dtemp=T−T₀`` (nothing at the deck temperature, `` noisy=0`` at 0 K)."""
        t = self.t0 if t is None else t
        if t <= 0:
            return " noisy=0"
        return "" if t == self.t0 else f" dtemp={fmt(float(f'{t - self.t0:.12g}'))}"

    def wrap(self, line: str) -> list[str]:
        return _wrap(line)

    def charge_node(self, node: str) -> str:
        return self.names.charges[node]

    def charge_capacitance(self, node: str) -> float:
        return self.caux[node]

    def couplings(self, node: str) -> list[tuple[str, float]]:
        return self.terms.get(node, [])

    def noise_input(self, element: Element, kind: str) -> str | None:
        """The transient waveform of ``element``'s noise source of ``kind`` (``"voltage"``
        for a series resistance, ``"filtered"`` for a band-limited source's white input),
        or None (no transient sources in this deck)."""
        if self.sources is None:
            return None
        found = [s for s in self.by_element.get(element.name, ()) if s[1].kind == kind]
        if not found:
            return None
        j, spec = found[0]
        return _tran_value(spec, j, self.sources)

    def series_noise(self, element: Element) -> str | None:
        return self.noise_input(element, "voltage")


def to_spice(
    netlist: Netlist,
    analysis: NoiseAnalysis | TransientAnalysis | None = None,
    sources: TrNoise | PWLInputs | None = None,
    *,
    noise_ref: bool = True,
) -> str:
    """The SPICE deck of ``netlist`` with an optional analysis and transient noise
    sources. Pure function of its arguments (the golden-text tests rely on it).

    ``analysis=None`` gives the circuit only (plus ``.end``); :func:`export` adds the
    default ``.noise`` analysis at the first cell. ``noise_ref`` adds the 0 A
    reference source ``ispuref`` that ``.noise`` needs. O(size of the deck).
    """
    names = spice_names(netlist)
    t0 = netlist.temperature
    if t0 <= 0:
        raise InputError(
            f"{netlist.source or '<netlist>'}: the bath temperature must be > 0 K for SPICE export"
        )
    title = f"* spu_emulator export: {netlist.name} (netlist digest {netlist.digest[:16]})"
    lines = [title]
    lines.append(
        "* node map (netlist -> spice): " + ", ".join(f"{k}->{v}" for k, v in names.nodes.items())
    )
    lines.append("* element map: " + ", ".join(f"{k}->{v}" for k, v in names.elements.items()))
    nonlinear = not netlist.is_linear
    caux: dict[str, float] = {}
    terms: dict[str, list[tuple[str, float]]] = {}  # node -> [(other node, J)]
    if nonlinear:
        if isinstance(analysis, NoiseAnalysis):
            raise InputError(
                f"{netlist.source or netlist.name}: a .noise analysis does not apply to a "
                "nonlinear netlist (export it with a transient analysis)"
            )
        charged = {e.nodes[0] for e in netlist.elements if isinstance(e, NonlinearCapacitor)}
        for e in netlist.elements:
            if isinstance(e, NonlinearCapacitor) and e.nodes[1] not in GROUND_NAMES:
                raise InputError(f"nonlinear capacitor {e.name!r} must go to ground (gnd)")
            if isinstance(e, EnergyCoupler):
                a, b = e.nodes
                if a not in charged or b not in charged:
                    raise InputError(
                        f"energy coupler {e.name!r}: both nodes need a nonlinear capacitor"
                    )
                terms.setdefault(a, []).append((b, e.J))
                terms.setdefault(b, []).append((a, e.J))
        caux = charge_capacitances(netlist)
        lines.append(
            "* charge nodes (q = C_aux*v): "
            + ", ".join(f"{n}->{names.charges[n]} (C_aux {fmt(c)})" for n, c in caux.items())
        )
        ecs = [e for e in netlist.elements if isinstance(e, EnergyCoupler)]
        if ecs:
            lines.append(
                "* energy couplers (terms of the B sources): "
                + ", ".join(f"{e.name} {e.nodes[0]}-{e.nodes[1]} J={fmt(e.J)}" for e in ecs)
            )
    t0c = fmt(float(f"{t0 - C_TO_K:.12g}"))
    lines.append(f".options temp={t0c} tnom={t0c}")
    table = noise_source_table(netlist)
    by_element: dict[str, list[tuple[int, NoiseSpec]]] = {}
    for j, spec in enumerate(table):
        by_element.setdefault(spec.element, []).append((j, spec))
    if isinstance(sources, PWLInputs):
        vals = np.asarray(sources.values, float)
        if vals.ndim != 2 or vals.shape[1] != len(table) or vals.shape[0] != len(sources.t):
            raise InputError(
                f"pwl inputs must have shape (len(t), {len(table)}) "
                f"(sources: {', '.join(s.label for s in table)}), got {vals.shape}"
            )

    deck = DeckWriter(names, t0, caux, terms, by_element, sources)
    for e in netlist.elements:
        lines.extend(e.spice(deck))
        if sources is not None:
            for j, spec in by_element.get(e.name, ()):
                if spec.kind == "current":
                    p, q = (names.node(n) for n in spec.nodes)
                    lines.extend(
                        _wrap(
                            f"{names.aux[(e.name, 'i_n')]} {p} {q} {_tran_value(spec, j, sources)}"
                        )
                    )

    if isinstance(analysis, NoiseAnalysis):
        if analysis.output not in names.nodes:
            raise InputError(f"noise output {analysis.output!r} is not a node of {netlist.name!r}")
        out = names.node(analysis.output)
        if noise_ref:
            lines.append(f"ispuref 0 {out} dc 0 ac 1")
        lines.append(
            f".noise v({out}) ispuref dec {int(analysis.points_per_decade)} "
            f"{fmt(analysis.fstart)} {fmt(analysis.fstop)}"
        )
        for npts, fa, fb in analysis.linear_sweeps:
            lines.append(f".noise v({out}) ispuref lin {int(npts)} {fmt(fa)} {fmt(fb)}")
    elif isinstance(analysis, TransientAnalysis):
        save = [names.voltage(n) for n in analysis.save]
        if nonlinear:
            save += [names.charge(n) for n in analysis.save if n in names.charges]
        if save:
            lines.append(".save " + " ".join(save))
        lines.append(
            f".tran {fmt(analysis.step)} {fmt(analysis.stop)} {fmt(analysis.start)} "
            f"{fmt(analysis.max_step)} uic"
        )
        if analysis.linearize:
            lines += [
                ".control",
                "run",
                "linearize " + " ".join(save or ["all"]),
                "write out.raw " + " ".join(save or ["all"]),
                "quit",
                ".endc",
            ]
    elif analysis is not None:
        raise InputError(f"unknown analysis {analysis!r}")
    lines.append(".end")
    return "\n".join(lines) + "\n"


def export(netlist: Netlist, *, transient_noise: TrNoise | None = None) -> str:
    """The deck ``spu spice export`` writes: the circuit, its noise, and a ``.noise``
    analysis of the first cell's voltage (1 kHz – 10 GHz, 100 points per decade).
    With ``transient_noise``, ngspice ``trnoise`` sources for every noise source are
    included too (they are inert in ``.noise``).

    A nonlinear netlist gets a transient instead (``.noise`` does not apply): trnoise
    sources at interval NT (``transient_noise``, default fastest time / 20), 20
    slowest times plus the bias protocol, saving every node voltage and charge node
    (:meth:`~spu_emulator.sde.nonlinear.NonlinearSDE.timescales`)."""
    if not netlist.is_linear:
        sde = assemble(netlist).to_sde()
        fastest, slowest = sde.timescales()
        nt = transient_noise.interval if transient_noise else float(f"{fastest / 20.0:.3g}")
        stop = float(f"{sde.bias_end() + 20.0 * slowest:.3g}")
        an = TransientAnalysis(nt, stop, nt, save=tuple(netlist.nodes))
        return to_spice(netlist, an, TrNoise(nt))
    first = netlist.cells[0] if netlist.cells else netlist.nodes[0]
    return to_spice(netlist, NoiseAnalysis(output=first), transient_noise)


def pwl_inputs(t: Sequence[float] | Array, values: Array) -> PWLInputs:
    """Validated :class:`PWLInputs` (strictly increasing t ≥ 0, finite values)."""
    t = np.asarray(t, float)
    v = np.asarray(values, float)
    if t.ndim != 1 or np.any(np.diff(t) <= 0) or t[0] < 0:
        raise InputError("pwl times must be a strictly increasing 1-D array starting at t ≥ 0")
    if not np.all(np.isfinite(v)):
        raise InputError("pwl values must be finite")
    return PWLInputs(t=t, values=v)


__all__ = [
    "NoiseAnalysis",
    "NoiseSourceSpec",
    "PWLInputs",
    "SpiceNames",
    "TrNoise",
    "TransientAnalysis",
    "export",
    "fmt",
    "noise_source_table",
    "pwl_inputs",
    "spice_names",
    "to_spice",
]
