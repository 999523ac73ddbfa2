"""Assemble any netlist into circuit matrices and its noise sources: the one path
Netlist → Circuit → SDE.

Every element stamps itself into one :class:`CircuitBuilder`; the builder records
every noise source once, with its two-sided intensity (:class:`NoiseSpec`), and the
circuit carries that table to the SDE, the driven simulation and the SPICE deck.

Linear netlists give a :class:`Circuit`. State x = (v, i_L): voltages of the
capacitive nodes (netlist node order) and the inductor currents (netlist element
order). Kirchhoff's current law at every node and L di/dt = (voltage across each
inductor) give

    C_N dv   = (−G v − A_L i_L + u_v) dt + N_v dW
    L   di_L = (A_Lᵀ v − R_L i_L) dt     + N_i dW

i.e. M dx = (−K x + u) dt + N dW with M = blkdiag(C_N, L). Purely resistive nodes
without capacitance are eliminated by Kron reduction (Schur complement of G), which
also maps their injected DC and noise currents onto the remaining nodes.

Nonlinear netlists (a nonlinear capacitor, an energy coupler or a time-dependent
bias) give a :class:`NonlinearCircuit` in node charges q: every node carries one
nonlinear capacitor (energy J2 q² + J4 q⁴), couplers add J q_a q_b, and

    dq = (−G ∇E(q) + G_b V_b(t) + I_dc) dt + N dW.

Cost: O(n³) for n nodes, once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InstabilityError, TopologyError
from ..netlist.base import Element, Waveform
from ..netlist.schema import Netlist
from ..units import K_B

Array = np.ndarray


@dataclass(frozen=True, slots=True)
class NoiseSpec:
    """One white-noise input of the circuit, in SDE column order.

    ``kind`` is ``"current"`` (amperes injected into ``nodes[1]``, drawn from
    ``nodes[0]``: a resistor's noise or an injected source), ``"voltage"`` (volts in
    series with inductor ``element``, aiding its current: a series resistance's noise)
    or ``"filtered"`` (the white current driving a band-limited source's low-pass
    filter, whose output flows into ``nodes[1]``).
    ``intensity`` q is the two-sided white-noise intensity (A²·s or V²·s): the source
    is √q dW/dt, i.e. 2 k_B T / R for a resistor, S / 2 for a one-sided PSD S,
    2 k_B T R_s for a series resistance. ``temperature`` is the source's temperature
    (nan for injected noise, which has none)."""

    label: str
    kind: str
    element: str
    nodes: tuple[str, str]
    intensity: float
    temperature: float

    @property
    def amplitude(self) -> float:
        """√q: the source per unit white noise."""
        return float(np.sqrt(self.intensity))

    @property
    def unit(self) -> str:
        return "A" if self.kind == "current" else "V"


class CircuitBuilder:
    """Stamp target: elements call these while the circuit is assembled.

    ``nodes`` are the rows of the node matrices; ``linear`` says which kind of circuit
    is being built (a linear stamp in a nonlinear circuit, or the reverse, is a
    located :class:`TopologyError`)."""

    def __init__(self, netlist: Netlist, nodes: list[str], linear: bool):
        self.netlist = netlist
        self.linear = linear
        self.index = {n: i for i, n in enumerate(nodes)}
        n = len(nodes)
        self.C = np.zeros((n, n))
        self.G = np.zeros((n, n))
        self.u = np.zeros(n)
        #: noise sources in stamp order (resistors, injected), then series resistances
        self.noise: list[NoiseSpec] = []
        self.series_noise: list[NoiseSpec] = []
        self.inductors: list[tuple[Element, str, str, float, float, float]] = []
        self.mutuals: list[tuple[Element, str, str, float]] = []
        #: band-limited sources: (element, from, into, corner angular frequency)
        self.filters: list[tuple[Element, str, str, float]] = []
        self.filter_noise: list[NoiseSpec] = []
        # nonlinear circuits
        self.J2 = np.zeros(n)
        self.J4 = np.zeros(n)
        self.Jc = np.zeros((n, n))
        self.bias: list[tuple[int, float, Waveform, str]] = []

    def _err(self, msg: str, e: Element | None) -> TopologyError:
        return TopologyError(msg, file=self.netlist.source, path=e.origin if e else None,
                             line=e.line if e else None)

    def _pair(self, mat: Array, a: str, b: str, val: float) -> None:
        ia, ib = self.index.get(a), self.index.get(b)
        if ia is not None:
            mat[ia, ia] += val
        if ib is not None:
            mat[ib, ib] += val
        if ia is not None and ib is not None:
            mat[ia, ib] -= val
            mat[ib, ia] -= val

    # ---- linear and nonlinear ---------------------------------------------------
    def conductance(self, element: Element, a: str, b: str, r: float, temperature: float) -> None:
        self._pair(self.G, a, b, 1.0 / r)
        if temperature > 0:  # two-sided intensity of 4kT/R; current injected into a
            q = 2.0 * K_B * temperature / r
            self.noise.append(NoiseSpec(element.name, "current", element.name, (b, a), q, temperature))

    def current(self, element: Element, a: str, b: str, dc: float, noise_psd: float) -> None:
        for node, sign in ((b, 1.0), (a, -1.0)):
            if node in self.index:
                self.u[self.index[node]] += sign * dc
        if noise_psd > 0:  # one-sided PSD S -> two-sided intensity S/2
            self.noise.append(
                NoiseSpec(element.name, "current", element.name, (a, b), noise_psd / 2.0, math.nan)
            )

    def bias_resistor(self, element, node, other, r, temperature, bias: Waveform) -> None:
        self.conductance(element, node, other, r, temperature)
        if self.linear:  # a constant source: its Norton equivalent V_b/R beside R
            self.current(element, other, node, bias.values[0] / r, 0.0)
        else:
            self.bias.append((self.index[node], 1.0 / r, bias, element.name))

    # ---- linear only --------------------------------------------------------------
    def capacitance(self, element: Element, a: str, b: str, c: float) -> None:
        if not self.linear:
            raise self._err(
                f"linear capacitor {element.name!r} in a nonlinear netlist: write it as a "
                f"nonlinear capacitor (type NC, J2 = 1/(2C) = {1 / (2 * c):.6g}) to ground",
                element,
            )
        self._pair(self.C, a, b, c)

    def inductor(self, element, a, b, inductance, series_r, temperature) -> None:
        if not self.linear:
            raise self._err(
                f"inductor {element.name!r}: nonlinear netlists are overdamped (no inductors)",
                element,
            )
        self.inductors.append((element, a, b, inductance, series_r, temperature))
        if series_r > 0 and temperature > 0:
            self.series_noise.append(NoiseSpec(
                f"{element.name}.series_R", "voltage", element.name, (a, b),
                2.0 * K_B * temperature * series_r, temperature,
            ))

    def filtered_noise(self, element: Element, a: str, b: str, psd: float, bandwidth: float
                       ) -> None:
        """Band-limited current noise into b (out of a): white noise of one-sided PSD
        ``psd`` through a first-order low-pass of corner ``bandwidth`` (one state s:
        ds = −ω_c s dt + ω_c √(psd/2) dW, ω_c = 2π·bandwidth). Its white input is a
        current of two-sided intensity psd/2 into the filter (the NoiseSpec)."""
        if not self.linear:
            raise self._err(f"band-limited noise source {element.name!r}: nonlinear netlists "
                            "take white noise sources only", element)
        self.filters.append((element, a, b, 2.0 * math.pi * bandwidth))
        self.filter_noise.append(NoiseSpec(element.name, "filtered", element.name, (a, b),
                                           psd / 2.0, math.nan))

    def mutual(self, element: Element, l1: str, l2: str, k: float) -> None:
        if not self.linear:
            self.inductor(element, "", "", 0.0, 0.0, 0.0)
        self.mutuals.append((element, l1, l2, k))

    # ---- nonlinear only -----------------------------------------------------------
    def nonlinear_capacitor(self, element, node, J2, J4) -> None:
        i = self.index[node]
        self.J2[i] += J2
        self.J4[i] += J4

    def energy_coupling(self, element, a, b, J) -> None:
        for n in (a, b):
            if n not in self.index:
                raise self._err(
                    f"energy coupler {element.name!r}: node {n!r} has no nonlinear capacitor",
                    element,
                )
        ia, ib = self.index[a], self.index[b]
        self.Jc[ia, ib] += J
        self.Jc[ib, ia] += J

    # ---- results ------------------------------------------------------------------
    @property
    def all_noise(self) -> tuple[NoiseSpec, ...]:
        return tuple(self.noise) + tuple(self.series_noise) + tuple(self.filter_noise)

    def noise_columns(self, specs: list[NoiseSpec]) -> Array:
        """(nodes, len(specs)): each current source's √q into its node, out of the other."""
        N = np.zeros((len(self.index), len(specs)))
        for c, spec in enumerate(specs):
            s = np.sqrt(spec.intensity)
            frm, into = spec.nodes
            for node, val in ((into, s), (frm, -s)):
                if node in self.index:
                    N[self.index[node], c] += val
        return N


@dataclass(frozen=True, eq=False)
class CircuitBase:
    """What every assembled circuit has: its netlist, state nodes and noise table."""

    netlist: Netlist
    nodes: tuple[str, ...]
    noise: tuple[NoiseSpec, ...]

    linear: bool = field(default=True, init=False)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def noise_sources(self) -> tuple[str, ...]:
        """Labels of the noise sources, in SDE column order."""
        return tuple(s.label for s in self.noise)

    @property
    def temperatures(self) -> tuple[float, ...]:
        return tuple(s.temperature for s in self.noise)

    @property
    def intensities(self) -> Array:
        """Two-sided intensity q_j of every noise source (A²·s or V²·s), column order."""
        return np.array([s.intensity for s in self.noise], dtype=float)

    def to_sde(self) -> Any:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What ``spu check`` reports beyond the netlist's own counts."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Circuit(CircuitBase):
    """Assembled circuit matrices (SI units) of a linear netlist.

    Shapes: n voltage states, m inductors, p noise sources.
    ``C`` (n,n) Maxwell capacitance; ``G`` (n,n) Kron-reduced conductance; ``L`` (m,m)
    inductance with mutual terms; ``A_L`` (n,m) inductor incidence (+1 at the node the
    current leaves); ``R_L`` (m,) series resistances; ``u`` (n+m,) DC input;
    ``N`` (n+m, p) noise input (columns: ``noise``).
    """

    reduced_nodes: tuple[str, ...] = ()
    inductors: tuple[str, ...] = ()
    #: band-limited noise sources: one filter state each, after the inductor currents
    filters: tuple[str, ...] = ()
    F_in: Array = field(default_factory=lambda: np.zeros((0, 0)))  # (n, f) injection map
    F_rate: Array = field(default_factory=lambda: np.zeros(0))  # (f,) corner ω_c
    C: Array = field(default_factory=lambda: np.zeros((0, 0)))
    G: Array = field(default_factory=lambda: np.zeros((0, 0)))
    L: Array = field(default_factory=lambda: np.zeros((0, 0)))
    A_L: Array = field(default_factory=lambda: np.zeros((0, 0)))
    R_L: Array = field(default_factory=lambda: np.zeros(0))
    u: Array = field(default_factory=lambda: np.zeros(0))
    N: Array = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def state_names(self) -> tuple[str, ...]:
        return (tuple(f"v({n})" for n in self.nodes) + tuple(f"i({l})" for l in self.inductors)  # noqa: E741
                + tuple(f"s({f})" for f in self.filters))

    @property
    def M(self) -> Array:
        n, m, f = len(self.nodes), len(self.inductors), len(self.filters)
        out = np.zeros((n + m + f, n + m + f))
        out[:n, :n] = self.C
        out[n : n + m, n : n + m] = self.L
        out[n + m :, n + m :] = np.eye(f)
        return out

    @property
    def K(self) -> Array:
        n, m, f = len(self.nodes), len(self.inductors), len(self.filters)
        out = np.zeros((n + m + f, n + m + f))
        out[:n, :n] = self.G
        out[:n, n : n + m] = self.A_L
        out[n : n + m, :n] = -self.A_L.T
        out[n : n + m, n : n + m] = np.diag(self.R_L)
        if f:  # C dv = ... + F_in s dt;  ds = −ω_c s dt + ...
            out[:n, n + m :] = -self.F_in
            out[n + m :, n + m :] = np.diag(self.F_rate)
        return out

    @property
    def equal_temperature(self) -> float | None:
        """The common temperature T if every dissipative element is a resistor at T and
        there is no injected noise (then the stationary state is Boltzmann,
        Cov = k_B T M⁻¹); else None. Noiseless (0 K) resistors break equality."""
        ts = set(self.temperatures)
        n_res = sum(1 for e in self.netlist.elements if e.DISSIPATIVE) + int(
            np.count_nonzero(self.R_L)
        )
        if len(ts) == 1 and len(self.temperatures) == n_res:
            t = ts.pop()
            return t if np.isfinite(t) else None
        return None

    def to_sde(self):
        """The linear SDE dx = (A x + b) dt + B dW with A = −M⁻¹K, B = M⁻¹N."""
        from ..sde.linear import LinearSDE

        return LinearSDE.from_circuit(self)

    def describe(self, sde: Any = None) -> dict[str, Any]:
        sde = self.to_sde() if sde is None else sde
        return {
            "state_nodes": list(self.nodes),
            "reduced_nodes": list(self.reduced_nodes),
            "states": len(sde.state_names),
            "noise_sources": len(self.noise),
            "equilibrium": self.equal_temperature is not None,
            "modes": sde.modes(),
            "relaxation_time": sde.relaxation_time(),
        }


@dataclass(frozen=True, eq=False)
class NonlinearCircuit(CircuitBase):
    """Assembled nonlinear circuit in node charges (see the module docstring).

    Shapes: n nodes (one nonlinear capacitor each, in element order), p noise
    sources, k bias sources. ``J2``, ``J4`` (n,) the capacitors' energy coefficients;
    ``Jc`` (n,n) symmetric energy couplings; ``G`` (n,n) conductance; ``I`` (n,) DC
    current; ``N`` (n,p) noise input; ``bias_index`` (k,) node of each bias resistor,
    ``bias_conductance`` (k,), ``bias_waveforms`` (k,).
    """

    J2: Array = field(default_factory=lambda: np.zeros(0))
    J4: Array = field(default_factory=lambda: np.zeros(0))
    Jc: Array = field(default_factory=lambda: np.zeros((0, 0)))
    G: Array = field(default_factory=lambda: np.zeros((0, 0)))
    I: Array = field(default_factory=lambda: np.zeros(0))  # noqa: E741
    N: Array = field(default_factory=lambda: np.zeros((0, 0)))
    bias_index: Array = field(default_factory=lambda: np.zeros(0, int))
    bias_conductance: Array = field(default_factory=lambda: np.zeros(0))
    bias_waveforms: tuple[Waveform, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "linear", False)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(f"q({n})" for n in self.nodes)

    def to_sde(self):
        """The nonlinear SDE dq = (−G ∇E(q) + G_b V_b(t) + I) dt + N dW."""
        from ..sde.nonlinear import NonlinearSDE

        return NonlinearSDE.from_circuit(self)

    def describe(self, sde: Any = None) -> dict[str, Any]:
        sde = self.to_sde() if sde is None else sde
        return {
            "state_nodes": list(self.nodes),
            "states": sde.dim,
            "noise_sources": len(self.noise),
            "bias_sources": len(self.bias_index),
            "default_dt": sde.default_dt(),
        }


def assemble(netlist: Netlist) -> Circuit | NonlinearCircuit:
    """Stamp every element: a :class:`Circuit` for a linear netlist (with Kron
    reduction of capacitance-free nodes), a :class:`NonlinearCircuit` otherwise. O(n³)."""
    if netlist.is_linear:
        return _assemble_linear(netlist)
    return _assemble_nonlinear(netlist)


def _assemble_nonlinear(netlist: Netlist) -> NonlinearCircuit:
    src = netlist.source
    nc = [e for e in netlist.elements if e.TYPE == "NC"]
    nodes = [e.nodes[0] for e in nc]
    seen: set[str] = set()
    for n in nodes:
        if n in seen:
            raise TopologyError(f"node {n!r} has two nonlinear capacitors; give each node one",
                                file=src)
        seen.add(n)
    for n in netlist.nodes:
        if n not in seen:
            raise TopologyError(
                f"node {n!r} has no nonlinear capacitor: in a nonlinear netlist every node "
                "needs one (a linear capacitor C is type NC with J2 = 1/(2C))",
                file=src,
            )
    b = CircuitBuilder(netlist, nodes, linear=False)
    for e in netlist.elements:
        e.stamp(b, netlist.temperature)
    return NonlinearCircuit(
        netlist=netlist,
        nodes=tuple(nodes),
        noise=b.all_noise,
        J2=b.J2,
        J4=b.J4,
        Jc=b.Jc,
        G=b.G,
        I=b.u,
        N=b.noise_columns(b.noise),
        bias_index=np.array([i for i, *_ in b.bias], dtype=int),
        bias_conductance=np.array([g for _, g, *_ in b.bias]),
        bias_waveforms=tuple(w for *_, w, _ in b.bias),
    )


def _assemble_linear(netlist: Netlist) -> Circuit:
    all_nodes = list(netlist.nodes)
    b = CircuitBuilder(netlist, all_nodes, linear=True)
    for e in netlist.elements:
        e.stamp(b, netlist.temperature)

    n_all = len(all_nodes)
    state = [i for i, _ in enumerate(all_nodes) if b.C[i, i] > 0]
    red = [i for i, _ in enumerate(all_nodes) if b.C[i, i] <= 0]

    # Inductors: incidence, inductance matrix with mutual terms, series resistance.
    ind_names = [e.name for e, *_ in b.inductors]
    m = len(ind_names)
    A_full = np.zeros((n_all, m))
    Lmat = np.zeros((m, m))
    R_L = np.zeros(m)
    for j, (_, na, nb, ind, rs, _) in enumerate(b.inductors):
        if na in b.index:
            A_full[b.index[na], j] = 1.0
        if nb in b.index:
            A_full[b.index[nb], j] = -1.0
        Lmat[j, j] = ind
        R_L[j] = rs
    pos = {name: j for j, name in enumerate(ind_names)}
    for _, l1, l2, k in b.mutuals:
        i1, i2 = pos[l1], pos[l2]
        mval = k * np.sqrt(Lmat[i1, i1] * Lmat[i2, i2])
        Lmat[i1, i2] = Lmat[i2, i1] = mval
    if m:
        try:
            np.linalg.cholesky(Lmat)
        except np.linalg.LinAlgError:
            ks = ", ".join(e.name for e, *_ in b.mutuals)
            raise InstabilityError(
                f"{netlist.source or '<netlist>'}: the inductance matrix is not positive "
                f"definite: the mutual couplings {ks} are jointly too strong"
            ) from None

    # Noise columns over all nodes (series-resistance columns zero there), then Kron
    # reduction onto the state nodes.
    p_res = len(b.noise)
    N_nodes = np.zeros((n_all, p_res + len(b.series_noise)))
    N_nodes[:, :p_res] = b.noise_columns(b.noise)
    G, C, u = b.G, b.C, b.u
    if red:
        G_rr = G[np.ix_(red, red)]
        G_sr = G[np.ix_(state, red)]
        try:
            X = np.linalg.solve(G_rr, np.eye(len(red)))
        except np.linalg.LinAlgError:
            names = [all_nodes[i] for i in red]
            raise TopologyError(
                f"resistive nodes {names} cannot be eliminated (singular conductance block)",
                file=netlist.source,
            ) from None
        T = np.zeros((len(state), n_all))
        T[:, state] = np.eye(len(state))
        T[:, red] = -G_sr @ X
        G_red = G[np.ix_(state, state)] - G_sr @ X @ G_sr.T
        G_red = 0.5 * (G_red + G_red.T)
        u_v = T @ u
        N_v = T @ N_nodes
    else:
        T = None
        G_red = G.copy()
        u_v = u.copy()
        N_v = N_nodes
    C_s = C[np.ix_(state, state)]
    A_L = A_full[state, :]
    n = len(state)
    f = len(b.filters)
    N = np.zeros((n + m + f, N_v.shape[1] + f))
    N[:n, : N_v.shape[1]] = N_v
    for c, spec in enumerate(b.series_noise):
        N[n + pos[spec.element], p_res + c] = np.sqrt(spec.intensity)
    # band-limited sources: each filter state's injection (through the Kron map) and noise
    F_in = np.zeros((n, f))
    F_rate = np.zeros(f)
    if f:
        inj = np.zeros((n_all, f))
        for k, (_, frm, into, wc) in enumerate(b.filters):
            for node, sign in ((into, 1.0), (frm, -1.0)):
                if node in b.index:
                    inj[b.index[node], k] += sign
            F_rate[k] = wc
            N[n + m + k, N_v.shape[1] + k] = wc * np.sqrt(b.filter_noise[k].intensity)
        F_in = T @ inj if red else inj
    try:
        np.linalg.cholesky(C_s)
    except np.linalg.LinAlgError:
        raise InstabilityError(
            f"{netlist.source or '<netlist>'}: the capacitance matrix is not positive definite"
        ) from None
    return Circuit(
        netlist=netlist,
        nodes=tuple(all_nodes[i] for i in state),
        noise=b.all_noise,
        reduced_nodes=tuple(all_nodes[i] for i in red),
        inductors=tuple(ind_names),
        filters=tuple(e.name for e, *_ in b.filters),
        F_in=F_in,
        F_rate=F_rate,
        C=C_s,
        G=G_red,
        L=Lmat,
        A_L=A_L,
        R_L=R_L,
        u=np.concatenate([u_v, np.zeros(m + f)]),
        N=N,
    )


__all__ = ["Circuit", "CircuitBase", "CircuitBuilder", "NoiseSpec", "NonlinearCircuit", "assemble"]
