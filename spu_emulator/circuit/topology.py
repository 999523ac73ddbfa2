"""Structural topology checks (networkx), run by the loader on every netlist.

Each rule raises :class:`~spu_emulator.errors.TopologyError` naming the offending
nodes or elements:

- a node with no capacitance is algebraic: allowed (and later Kron-reduced) only if
  it is purely resistive; a capacitance-free node touched by an inductor or only by
  sources is rejected;
- every node needs a conducting (R or L) path to ground, else its charge is
  conserved and there is no unique equilibrium (a floating island);
- every connected piece of the circuit needs a dissipative element (a resistor);
- capacitive nodes need a capacitive path to ground (else C_N is singular);
- loops made only of loss-free inductors are degenerate (a conserved flux).
"""

from __future__ import annotations

import networkx as nx

from ..errors import TopologyError
from ..netlist.base import GROUND, Element
from ..netlist.schema import Netlist


def _err(netlist: Netlist, message: str, element: Element | None = None) -> TopologyError:
    return TopologyError(message, file=netlist.source, path=element.origin if element else None)


def _fmt(nodes) -> str:
    nodes = sorted(nodes)
    return ", ".join(nodes[:8]) + (f" (+{len(nodes) - 8} more)" if len(nodes) > 8 else "")


def capacitive_nodes(netlist: Netlist) -> set[str]:
    return {n for e in netlist.elements if e.CAPACITIVE for n in e.nodes if n != GROUND}


def check_topology(netlist: Netlist) -> None:
    """Raise TopologyError for circuits with no unique equilibrium."""
    els = [e for e in netlist.elements if e.nodes]
    cap = capacitive_nodes(netlist)
    touching: dict[str, list[Element]] = {n: [] for n in netlist.nodes}
    for e in els:
        for n in e.nodes:
            if n != GROUND:
                touching[n].append(e)

    # 1. capacitance-free nodes must be purely resistive.
    for n in netlist.nodes:
        if n in cap:
            continue
        kinds = {e.TYPE for e in touching[n]}
        if not any(e.DISSIPATIVE for e in touching[n]):
            raise _err(
                netlist,
                f"node {n!r} has no capacitance and no resistor (only {', '.join(sorted(kinds))}): "
                "it has no state and no defined voltage; add a capacitor to it",
                touching[n][0] if touching[n] else None,
            )
        reactive = [e for e in touching[n] if not e.DISSIPATIVE and not e.SOURCE]
        if reactive:
            raise _err(
                netlist,
                f"node {n!r} has no capacitance but is touched by {reactive[0].TYPE} element "
                f"{reactive[0].name!r}: only purely resistive nodes can be eliminated; "
                "add a capacitor to the node",
                reactive[0],
            )

    # 2. floating islands: every node needs an R/L path to ground.
    g = nx.MultiGraph()
    g.add_nodes_from(netlist.nodes)
    g.add_node(GROUND)
    for e in els:
        if e.CONDUCTIVE:
            g.add_edge(*e.nodes[:2])

    def first_touching(comp) -> Element | None:
        return next((e for e in els if any(n in comp for n in e.nodes)), None)

    for comp in nx.connected_components(g):
        if GROUND not in comp:
            raise _err(
                netlist,
                f"floating island: node(s) {_fmt(comp)} have no resistive or inductive path to "
                "ground, so their charge never relaxes and there is no unique equilibrium; "
                "add a resistor to ground",
                first_touching(comp),
            )

    # 3. dissipation: every piece (ground removed) must contain a resistor.
    g2 = nx.MultiGraph()
    g2.add_nodes_from(netlist.nodes)
    for e in els:
        a, b = e.nodes[:2]
        if a != GROUND and b != GROUND:
            g2.add_edge(a, b)
    for comp in nx.connected_components(g2):
        if not any(e.lossy for n in comp for e in touching[n]):
            raise _err(
                netlist,
                f"no dissipative path: node(s) {_fmt(comp)} reach no resistor, so their "
                "oscillations never damp and noise never reaches them; add a resistor",
                first_touching(comp),
            )

    # 4. capacitive path to ground for every capacitive node (C_N positive definite).
    g3 = nx.MultiGraph()
    g3.add_nodes_from(cap)
    g3.add_node(GROUND)
    for e in els:
        if e.CAPACITIVE:
            g3.add_edge(*e.nodes[:2])
    for comp in nx.connected_components(g3):
        if GROUND not in comp:
            raise _err(
                netlist,
                f"node(s) {_fmt(comp)} have no capacitive path to ground: the capacitance "
                "matrix is singular; add a capacitor to ground",
                first_touching(comp),
            )

    # 5. loops of loss-free inductors.
    g4 = nx.MultiGraph()
    for e in els:
        if e.lossless_inductor:
            g4.add_edge(*e.nodes[:2], name=e.name, element=e)
    try:
        cycle = nx.find_cycle(g4)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        names = [g4.edges[u, v, k]["name"] for u, v, k in cycle]
        raise _err(
            netlist,
            f"inductor-only loop {' - '.join(names)}: its flux is conserved and there is no "
            "unique equilibrium; break the loop or give an inductor a series_R",
            g4.edges[cycle[0]]["element"],
        )
