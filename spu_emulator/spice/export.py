"""Netlist → SPICE deck, as plain text (no PySpice, no ngspice needed).

Two kinds of deck, with the same circuit lines: :func:`to_spice` writes the decks the
cross-checks run (analyses as dot cards, ``ngspice -b deck.cir -r out.raw``, read back
from the raw file); :func:`export` writes a deck that runs on its own
(``ngspice -b deck.cir``): a ``.control`` block runs each analysis of
:func:`plan_export` and writes plain data files, and the header carries what
:mod:`.importer` needs to read the netlist back exactly (tested with ngspice 39).
Element by element:

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
deck :func:`export` writes for them is a transient with ``trnoise`` sources. C_aux is a power
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

import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..circuit.assemble import NoiseSpec, assemble
from ..circuit.topology import capacitive_nodes
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
                 sources: TrNoise | PWLInputs | None, *, explicit: bool = False):
        self.names, self.t0, self.caux, self.terms = names, t0, caux, terms
        self.by_element, self.sources = by_element, sources
        #: write ``dtemp=0`` for a temperature given explicitly at the bath's (export)
        self.explicit = explicit

    def node(self, name: str) -> str:
        return self.names.node(name)

    def name(self, element: Element | str) -> str:
        return self.names.elements[element if isinstance(element, str) else element.name]

    def aux(self, element: Element, role: str) -> str:
        return self.names.aux[(element.name, role)]

    def fmt(self, x: float) -> str:
        return fmt(x)

    def temperature(self, t: float | None) -> str:
        """`` dtemp=T−T₀`` (nothing at the deck temperature, `` noisy=0`` at 0 K; with
        ``explicit``, `` dtemp=0`` for a temperature given as the bath's)."""
        if t is not None and t == self.t0 and self.explicit:
            return " dtemp=0"
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


def _circuit(netlist: Netlist, sources: TrNoise | PWLInputs | None, *,
             exact: bool = False) -> tuple[list[str], SpiceNames]:
    """The header comments, ``.options`` and element lines of ``netlist``'s deck (with
    ``exact``: also the cells and readout, and ``dtemp=0`` where a temperature is given
    at the bath's, so that :mod:`.importer` restores the netlist exactly)."""
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
    if exact:
        if netlist.cells:
            lines.append("* cells: " + ", ".join(netlist.cells))
        ro = netlist.readout
        if ro is not None:
            kv = {"rate": ro.rate, "bits": ro.bits, "full_scale": ro.full_scale}
            lines.append("* readout: " + " ".join(
                f"{k}={v if isinstance(v, int) else fmt(v)}" for k, v in kv.items()
                if v is not None))
    t0c = fmt(float(f"{t0 - C_TO_K:.12g}"))
    lines.append(f".options temp={t0c} tnom={t0c}")
    # the noise table (an assembly) is needed only for the transient noise sources
    table = noise_source_table(netlist) if sources is not None else []
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

    deck = DeckWriter(names, t0, caux, terms, by_element, sources, explicit=exact)
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
    return lines, names


def to_spice(
    netlist: Netlist,
    analysis: NoiseAnalysis | TransientAnalysis | None = None,
    sources: TrNoise | PWLInputs | None = None,
    *,
    noise_ref: bool = True,
) -> str:
    """The SPICE deck of ``netlist`` with an optional analysis (as dot cards) and
    transient noise sources: the decks ``spu validate`` runs with ``-r out.raw``. Pure
    function of its arguments (the golden-text tests rely on it).

    ``analysis=None`` gives the circuit only (plus ``.end``); :func:`export` writes the
    decks that run on their own. ``noise_ref`` adds the 0 A reference source
    ``ispuref`` that ``.noise`` needs. O(size of the deck).
    """
    if isinstance(analysis, NoiseAnalysis) and not netlist.is_linear:
        raise InputError(
            f"{netlist.source or netlist.name}: a .noise analysis does not apply to a "
            "nonlinear netlist (export it with a transient analysis)"
        )
    lines, names = _circuit(netlist, sources)
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
        save = _saved(netlist, names, analysis.save)
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


def _saved(netlist: Netlist, names: SpiceNames, nodes: Sequence[str]) -> list[str]:
    """The vectors a transient saves: ``v(node)`` of each node, then the charge nodes'
    ``v(q_node)`` of those that have one (nonlinear netlists)."""
    save = [names.voltage(n) for n in nodes]
    if not netlist.is_linear:
        save += [names.charge(n) for n in nodes if n in names.charges]
    return save


# ---- decks that run on their own ---------------------------------------------------

#: The analyses :func:`export` writes.
ANALYSES = ("noise", "tran")
#: Most time points an exported transient may ask ngspice for (~5-9 µs each).
MAX_TRAN_POINTS = 1e8


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What the deck :func:`export` writes runs (None: chosen from the circuit).

    ``analysis``: ``("noise",)``, ``("tran",)`` or both; by default ``.noise`` for a
    linear netlist, a transient for a nonlinear one or when ``trnoise`` is given.
    ``nodes``: the nodes analysed (noise: one sweep each; tran: the saved voltages),
    ``"all"`` for every netlist node; by default the state nodes (noise) or every node
    (tran). ``points_per_decade``, ``fstart``, ``fstop``: the noise sweep (default:
    whole decades from 10⁻³ of the slowest mode's frequency to 10³ of the fastest's,
    min|λ|/2π and max|λ|/2π). ``trnoise``: the interval NT of the trnoise sources
    (default fastest time / 20); ``stop``: the transient's length (default 20 slowest
    times after the last bias breakpoint)."""

    analysis: tuple[str, ...] | None = None
    nodes: tuple[str, ...] | str | None = None
    points_per_decade: int = 1000
    fstart: float | None = None
    fstop: float | None = None
    trnoise: float | None = None
    stop: float | None = None


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """The analyses of an exported deck and the files it writes (``stem`` + ``_noise_``
    + SPICE node name + ``.dat`` per noise sweep, ``stem_tran.dat`` for the transient)."""

    stem: str
    noise: tuple[NoiseAnalysis, ...] = ()
    noise_files: tuple[str, ...] = ()
    tran: TransientAnalysis | None = None
    tran_file: str | None = None

    @property
    def files(self) -> tuple[str, ...]:
        return self.noise_files + ((self.tran_file,) if self.tran_file else ())


def _positive(value: float | None, param: str) -> float | None:
    if value is not None and not (np.isfinite(value) and value > 0):
        raise InputError(f"must be positive and finite, got {value!r}", param)
    return value


def _decade(x: float, up: bool) -> float:
    e = np.log10(x)
    return float(10.0 ** (np.ceil(e - 1e-9) if up else np.floor(e + 1e-9)))


def plan_export(netlist: Netlist, options: ExportOptions | None = None,
                stem: str | None = None) -> ExportPlan:
    """Resolve :class:`ExportOptions` against the circuit (its time scales, nodes);
    InputError naming the option for a request that does not apply. O(n³) for the
    defaults that need the drift's eigenvalues (the noise band, the transient's NT and
    length); O(size of the netlist) when they are all given."""
    o = options or ExportOptions()
    linear = netlist.is_linear
    analysis = o.analysis or (("tran",) if (not linear or o.trnoise is not None) else ("noise",))
    bad = [a for a in analysis if a not in ANALYSES]
    if bad or len(set(analysis)) != len(analysis):
        raise InputError(f"choose noise, tran or noise,tran, got {','.join(analysis)}",
                         "analysis")
    if "noise" in analysis and not linear:
        raise InputError(
            f"{netlist.name} is nonlinear: .noise linearizes the circuit at its operating point, "
            "which says nothing about its fluctuations; export a transient (tran)", "analysis")
    if o.trnoise is not None and "tran" not in analysis:
        raise InputError("sets the transient's noise interval: it needs the tran analysis",
                         "trnoise")
    if o.stop is not None and "tran" not in analysis:
        raise InputError("is the transient's length: it needs the tran analysis", "stop")
    if not (isinstance(o.points_per_decade, int) and 1 <= o.points_per_decade <= 100_000):
        raise InputError(f"must be a whole number from 1 to 100000, got {o.points_per_decade!r}",
                         "points_per_decade")
    _positive(o.fstart, "fstart")
    _positive(o.fstop, "fstop")
    _positive(o.trnoise, "trnoise")
    _positive(o.stop, "stop")
    if o.nodes == "all":
        chosen: tuple[str, ...] | None = tuple(netlist.nodes)
    elif o.nodes is None:
        chosen = None
    else:
        chosen = tuple(o.nodes)
        unknown = [n for n in chosen if n not in netlist.nodes]
        if unknown or not chosen:
            raise InputError(
                f"{', '.join(map(repr, unknown)) or 'none given'}: not a node of {netlist.name} "
                f"(nodes: {', '.join(netlist.nodes[:12])}{' …' if len(netlist.nodes) > 12 else ''})",
                "nodes")
    cache: dict[str, Any] = {}

    def sde() -> Any:
        if "sde" not in cache:
            cache["sde"] = assemble(netlist).to_sde()
        return cache["sde"]

    names = spice_names(netlist)
    stem = _safe_stem(stem if stem is not None else netlist.name)
    plan = ExportPlan(stem=stem)
    if "noise" in analysis:
        if o.fstart is None or o.fstop is None:
            lam = np.abs(sde().eigenvalues()) / (2 * np.pi)
        fa = o.fstart if o.fstart is not None else _decade(lam.min() / 1e3, up=False)
        fb = o.fstop if o.fstop is not None else _decade(lam.max() * 1e3, up=True)
        if not fa < fb:
            raise InputError(f"the sweep needs fstart < fstop, got {fa:g} and {fb:g}", "fstop")
        states = capacitive_nodes(netlist)  # the state nodes (the others are Kron-reduced)
        nodes = chosen if chosen is not None else tuple(n for n in netlist.nodes if n in states)
        plan = dataclasses.replace(
            plan, noise=tuple(NoiseAnalysis(n, o.points_per_decade, fa, fb) for n in nodes),
            noise_files=tuple(f"{stem}_noise_{names.node(n)}.dat" for n in nodes))
    if "tran" in analysis:
        nt = o.trnoise if o.trnoise is not None else float(f"{sde().fastest_time() / 20.0:.3g}")
        if o.stop is not None:
            stop = o.stop
        else:
            bias_end = sde().bias_end() if not linear else 0.0
            stop = float(f"{bias_end + 20.0 * sde().relaxation_time():.3g}")
        if stop / nt > MAX_TRAN_POINTS:
            raise InputError(
                f"{stop:g} s at a trnoise interval of {nt:g} s is {stop / nt:.3g} time points, "
                f"more than {MAX_TRAN_POINTS:.0e}: shorten `stop` or lengthen `trnoise`", "stop")
        if stop <= nt:
            raise InputError(f"must be longer than the trnoise interval {nt:g} s, got {stop:g}",
                             "stop")
        save = chosen if chosen is not None else tuple(netlist.nodes)
        plan = dataclasses.replace(plan, tran=TransientAnalysis(nt, stop, nt, save=save),
                                   tran_file=f"{stem}_tran.dat")
    return plan


def _safe_stem(stem: str) -> str:
    """A file-name stem ngspice's ``wrdata`` takes as one word."""
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", os.path.basename(stem)).strip("_.") or "deck"


def export(netlist: Netlist, options: ExportOptions | None = None, *,
           stem: str | None = None) -> str:
    """The deck ``spu spice export`` writes, which runs on its own (``ngspice -b
    deck.cir``): the circuit and its noise (as :func:`to_spice`, plus what
    :mod:`.importer` needs to restore the netlist exactly: cells, readout, explicit
    bath temperatures as ``dtemp=0``), then a ``.control`` block that runs each
    analysis of :func:`plan_export` and writes plain data files in ngspice's working
    directory, named after ``stem`` (default: the netlist's name):

    - ``<stem>_noise_<node>.dat`` per node: frequency (Hz) and onoise_spectrum, the
      output noise V/sqrt(Hz) (one-sided: S(f) = onoise², ∫₀^∞ S df = the variance);
      the variance over the sweep (trapezoid) is echoed;
    - ``<stem>_tran.dat``: time (s) and the saved voltages (V) on the uniform grid of
      the trnoise interval (``linearize``); a nonlinear netlist's charge q of node n is
      C_aux·v(q_n) (the header's charge-node map).

    ``wrdata`` writes a header line of names then columns (16 digits). With ``-r FILE``
    the analyses' plots also go to a raw file. O(size of the deck) after the plan."""
    plan = plan_export(netlist, options, stem)
    sources = TrNoise(plan.tran.step) if plan.tran is not None else None
    lines, names = _circuit(netlist, sources, exact=True)
    noise = [(f"v({names.node(an.output)})", file,
              f"noise v({names.node(an.output)}) ispuref dec {an.points_per_decade} "
              f"{fmt(an.fstart)} {fmt(an.fstop)}")
             for an, file in zip(plan.noise, plan.noise_files, strict=True)]
    tran = save = None
    if plan.tran is not None:
        tr = plan.tran
        tran = f"tran {fmt(tr.step)} {fmt(tr.stop)} 0 {fmt(tr.max_step)} uic"
        save = _saved(netlist, names, tr.save)
    lines.append(f"* analyses (the control block runs them and writes {', '.join(plan.files)} "
                 "where ngspice runs; the dot cards state them for other tools)")
    if noise:
        lines.append(f"ispuref 0 {names.node(plan.noise[0].output)} dc 0 ac 1")
    lines += [f".{cmd}" for _, _, cmd in noise] + ([f".{tran}"] if tran else [])
    lines += [".control", "set wr_vecnames", "set wr_singlescale", "set numdgt=15"]
    plots = []
    for out, file, cmd in noise:
        plots.append(f"spu_plot{len(plots) + 1}")
        lines += [
            cmd,
            "setplot previous",
            f'set {plots[-1]} = "$curplot"',
            f"wrdata {file} onoise_spectrum",
            "let spu_int = integ(onoise_spectrum*onoise_spectrum)",
            "let spu_var = spu_int[length(spu_int)-1]",
            f'echo "wrote {file}: frequency (Hz), onoise_spectrum (V/sqrt(Hz)) of {out}, '
            'variance over the sweep $&spu_var V^2"',  # (no ';': a comment, even quoted)
        ]
    if tran is not None and save is not None:
        plots.append(f"spu_plot{len(plots) + 1}")
        lines += [
            "save " + " ".join(save),  # control lines take no + continuation
            tran,
            f'set {plots[-1]} = "$curplot"',
            "linearize " + " ".join(save),
            f"wrdata {plan.tran_file} " + " ".join(save),
            f'echo "wrote {plan.tran_file}: time (s) every {fmt(plan.tran.step)} s and '
            f'{len(save)} voltage{"s" if len(save) > 1 else ""} (V), from rest with trnoise '
            'sources"',
        ]
        if names.charges:
            caux = charge_capacitances(netlist)
            lines.append('echo "charges: ' + ", ".join(
                f"q({n}) = {fmt(caux[n])}*v({q})" for n, q in names.charges.items()) + '"')
    lines += ["if $?rawfile", "write $rawfile " + " ".join(f"{{${p}}}.all" for p in plots),
              "end", "quit", ".endc", ".end"]
    return "\n".join(lines) + "\n"


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
    "ANALYSES",
    "ExportOptions",
    "ExportPlan",
    "NoiseAnalysis",
    "NoiseSourceSpec",
    "PWLInputs",
    "SpiceNames",
    "TrNoise",
    "TransientAnalysis",
    "export",
    "fmt",
    "noise_source_table",
    "plan_export",
    "pwl_inputs",
    "spice_names",
    "to_spice",
]
