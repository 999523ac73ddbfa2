"""Assemble a linear netlist into circuit matrices and a linear SDE.

State x = (v, i_L): voltages of the capacitive nodes (netlist node order) and the
inductor currents (netlist element order). Kirchhoff's current law at every node and
L di/dt = (voltage across each inductor) give

    C_N dv   = (−G v − A_L i_L + u_v) dt + N_v dW
    L   di_L = (A_Lᵀ v − R_L i_L) dt     + N_i dW

i.e. M dx = (−K x + u) dt + N dW with M = blkdiag(C_N, L). Purely resistive nodes
without capacitance are eliminated by Kron reduction (Schur complement of G), which
also maps their injected DC and noise currents onto the remaining nodes.
Cost: O(n³) for n nodes, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InstabilityError, TopologyError
from ..netlist.schema import Element, Netlist
from ..units import K_B

Array = np.ndarray


class CircuitBuilder:
    """Stamp target: elements call these while the circuit is assembled."""

    def __init__(self, nodes: list[str]):
        self.index = {n: i for i, n in enumerate(nodes)}
        n = len(nodes)
        self.C = np.zeros((n, n))
        self.G = np.zeros((n, n))
        self.u = np.zeros(n)
        #: (node -> injected amplitude, bath temperature or nan for injected noise, label)
        self.noise_cols: list[tuple[dict[str, float], float, str]] = []
        self.inductors: list[tuple[Element, str, str, float, float, float]] = []
        self.mutuals: list[tuple[Element, str, str, float]] = []

    def _pair(self, mat: Array, a: str, b: str, val: float) -> None:
        ia, ib = self.index.get(a), self.index.get(b)
        if ia is not None:
            mat[ia, ia] += val
        if ib is not None:
            mat[ib, ib] += val
        if ia is not None and ib is not None:
            mat[ia, ib] -= val
            mat[ib, ia] -= val

    def capacitance(self, element: Element, a: str, b: str, c: float) -> None:
        self._pair(self.C, a, b, c)

    def conductance(self, element: Element, a: str, b: str, r: float, temperature: float) -> None:
        self._pair(self.G, a, b, 1.0 / r)
        if temperature > 0:
            s = np.sqrt(2.0 * K_B * temperature / r)  # two-sided intensity of 4kT/R
            self.noise_cols.append(({a: s, b: -s}, temperature, element.name))

    def inductor(self, element, a, b, inductance, series_r, temperature) -> None:
        self.inductors.append((element, a, b, inductance, series_r, temperature))

    def mutual(self, element: Element, l1: str, l2: str, k: float) -> None:
        self.mutuals.append((element, l1, l2, k))

    def current(self, element: Element, a: str, b: str, dc: float, noise_psd: float) -> None:
        for node, sign in ((b, 1.0), (a, -1.0)):
            if node in self.index:
                self.u[self.index[node]] += sign * dc
        if noise_psd > 0:
            s = np.sqrt(noise_psd / 2.0)  # one-sided PSD S -> two-sided intensity S/2
            self.noise_cols.append(({b: s, a: -s}, float("nan"), element.name))


@dataclass(frozen=True, eq=False)
class Circuit:
    """Assembled circuit matrices (SI units) of a linear netlist.

    Shapes: n voltage states, m inductors, p noise sources.
    ``C`` (n,n) Maxwell capacitance; ``G`` (n,n) Kron-reduced conductance; ``L`` (m,m)
    inductance with mutual terms; ``A_L`` (n,m) inductor incidence (+1 at the node the
    current leaves); ``R_L`` (m,) series resistances; ``u`` (n+m,) DC input;
    ``N`` (n+m, p) noise input (columns labelled by ``noise_sources``).
    """

    netlist: Netlist
    nodes: tuple[str, ...]
    reduced_nodes: tuple[str, ...]
    inductors: tuple[str, ...]
    C: Array
    G: Array
    L: Array
    A_L: Array
    R_L: Array
    u: Array
    N: Array
    noise_sources: tuple[str, ...]
    temperatures: tuple[float, ...] = field(default=())

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(f"v({n})" for n in self.nodes) + tuple(f"i({l})" for l in self.inductors)  # noqa: E741

    @property
    def M(self) -> Array:
        n, m = len(self.nodes), len(self.inductors)
        out = np.zeros((n + m, n + m))
        out[:n, :n] = self.C
        out[n:, n:] = self.L
        return out

    @property
    def K(self) -> Array:
        n, m = len(self.nodes), len(self.inductors)
        out = np.zeros((n + m, n + m))
        out[:n, :n] = self.G
        out[:n, n:] = self.A_L
        out[n:, :n] = -self.A_L.T
        out[n:, n:] = np.diag(self.R_L)
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


def assemble(netlist: Netlist) -> Circuit:
    """Stamp every element and Kron-reduce capacitance-free nodes. O(n³)."""
    if not netlist.is_linear:
        bad = next(e for e in netlist.elements if not e.LINEAR)
        raise TopologyError(
            f"element {bad.name!r} ({bad.TYPE}) is nonlinear: use the nonlinear SDE "
            "(spu_emulator.sde.nonlinear) and the euler method",
            file=netlist.source,
            path=bad.origin,
        )
    all_nodes = list(netlist.nodes)
    b = CircuitBuilder(all_nodes)
    for e in netlist.elements:
        e.stamp(b, netlist.temperature)

    n_all = len(all_nodes)
    state = [i for i, _ in enumerate(all_nodes) if b.C[i, i] > 0]
    red = [i for i, _ in enumerate(all_nodes) if b.C[i, i] <= 0]

    # Inductors: incidence, inductance matrix, series resistance and its noise.
    ind_names = [e.name for e, *_ in b.inductors]
    m = len(ind_names)
    A_full = np.zeros((n_all, m))
    Lmat = np.zeros((m, m))
    R_L = np.zeros(m)
    ind_noise: list[tuple[int, float, str, float]] = []
    for j, (e, na, nb, ind, rs, t) in enumerate(b.inductors):
        if na in b.index:
            A_full[b.index[na], j] = 1.0
        if nb in b.index:
            A_full[b.index[nb], j] = -1.0
        Lmat[j, j] = ind
        R_L[j] = rs
        if rs > 0 and t > 0:
            ind_noise.append((j, np.sqrt(2.0 * K_B * t * rs), e.name, t))
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

    # Noise columns over all nodes, then Kron reduction onto the state nodes.
    p_res = len(b.noise_cols)
    N_nodes = np.zeros((n_all, p_res + len(ind_noise)))
    for c, (entries, _, _) in enumerate(b.noise_cols):
        for node, val in entries.items():
            if node in b.index:
                N_nodes[b.index[node], c] += val
    labels = [lab for _, _, lab in b.noise_cols] + [
        f"{name}.series_R" for _, _, name, _ in ind_noise
    ]
    temperatures = [t for _, t, _ in b.noise_cols] + [t for *_, t in ind_noise]

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
        G_red = G.copy()
        u_v = u.copy()
        N_v = N_nodes
    C_s = C[np.ix_(state, state)]
    A_L = A_full[state, :]
    n = len(state)
    N = np.zeros((n + m, N_v.shape[1]))
    N[:n] = N_v
    for c, (j, s, _, _) in enumerate(ind_noise):
        N[n + j, p_res + c] = s
    try:
        np.linalg.cholesky(C_s)
    except np.linalg.LinAlgError:
        raise InstabilityError(
            f"{netlist.source or '<netlist>'}: the capacitance matrix is not positive definite"
        ) from None
    return Circuit(
        netlist=netlist,
        nodes=tuple(all_nodes[i] for i in state),
        reduced_nodes=tuple(all_nodes[i] for i in red),
        inductors=tuple(ind_names),
        C=C_s,
        G=G_red,
        L=Lmat,
        A_L=A_L,
        R_L=R_L,
        u=np.concatenate([u_v, np.zeros(m)]),
        N=N,
        noise_sources=tuple(labels),
        temperatures=tuple(temperatures),
    )
