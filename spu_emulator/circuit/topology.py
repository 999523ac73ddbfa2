"""Structural topology checks, run by the loader on every netlist (union–find over the
elements: linear in the size of the circuit).

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

from ..errors import TopologyError
from ..netlist.base import GROUND, Element
from ..netlist.schema import Netlist


def _err(netlist: Netlist, message: str, element: Element | None = None) -> TopologyError:
    return TopologyError(message, file=netlist.source, path=element.origin if element else None,
                         line=element.line if element else None)


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
    def first_touching(comp) -> Element | None:
        return next((e for e in els if any(n in comp for n in e.nodes)), None)

    conduct = _Components(netlist.nodes, [e.nodes[:2] for e in els if e.CONDUCTIVE])
    for comp in conduct.without(GROUND):
        raise _err(
            netlist,
            f"floating island: node(s) {_fmt(comp)} have no resistive or inductive path to "
            "ground, so their charge never relaxes and there is no unique equilibrium; "
            "add a resistor to ground",
            first_touching(comp),
        )

    # 3. dissipation: every piece (ground removed) must contain a resistor.
    pieces = _Components(netlist.nodes, [e.nodes[:2] for e in els
                                         if e.nodes[0] != GROUND and e.nodes[1] != GROUND])
    lossy = {pieces.find(n) for e in els if e.lossy for n in e.nodes if n != GROUND}
    for comp in pieces.groups():
        if pieces.find(next(iter(comp))) not in lossy:
            raise _err(
                netlist,
                f"no dissipative path: node(s) {_fmt(comp)} reach no resistor, so their "
                "oscillations never damp and noise never reaches them; add a resistor",
                first_touching(comp),
            )

    # 4. capacitive path to ground for every capacitive node (C_N positive definite).
    capacitive = _Components(sorted(cap), [e.nodes[:2] for e in els if e.CAPACITIVE])
    for comp in capacitive.without(GROUND):
        raise _err(
            netlist,
            f"node(s) {_fmt(comp)} have no capacitive path to ground: the capacitance "
            "matrix is singular; add a capacitor to ground",
            first_touching(comp),
        )

    # 5. loops of loss-free inductors (a union that joins two joined nodes closes a loop).
    loops = _Components([], [])
    for e in els:
        if e.lossless_inductor and not loops.union(*e.nodes[:2]):
            _inductor_loop(netlist, [x for x in els if x.lossless_inductor])


class _Components:
    """Connected components of nodes joined by edges (union–find with path halving):
    O((n + m) α(n)), where the networkx graphs took seconds for 10⁴ cells."""

    def __init__(self, nodes, edges) -> None:
        self.parent: dict[str, str] = {n: n for n in nodes}
        for a, b in edges:
            self.union(a, b)

    def find(self, x: str) -> str:
        parent = self.parent
        if x not in parent:
            parent[x] = x
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: str, b: str) -> bool:
        """Join a and b; False if they were joined already."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True

    def groups(self) -> list[set[str]]:
        out: dict[str, set[str]] = {}
        for n in list(self.parent):
            out.setdefault(self.find(n), set()).add(n)
        return list(out.values())

    def without(self, anchor: str) -> list[set[str]]:
        """The components that do not contain ``anchor`` (e.g. ground)."""
        root = self.find(anchor)
        return [g for g in self.groups() if self.find(next(iter(g))) != root]


def _inductor_loop(netlist: Netlist, inductors: list[Element]) -> None:
    """Name the loop (networkx, only on this error path) and raise."""
    import networkx as nx

    g = nx.MultiGraph()
    for e in inductors:
        g.add_edge(*e.nodes[:2], name=e.name, element=e)
    cycle = nx.find_cycle(g)
    names = [g.edges[u, v, k]["name"] for u, v, k in cycle]
    raise _err(
        netlist,
        f"inductor-only loop {' - '.join(names)}: its flux is conserved and there is no "
        "unique equilibrium; break the loop or give an inductor a series_R",
        g.edges[cycle[0]]["element"],
    )
