"""Nonlinear circuits in charge coordinates (the generative model's hardware).

Every state node carries a nonlinear capacitor to ground (energy J2 q² + J4 q⁴ of its
charge q) and the nodes are coupled by signed energy couplers (J q_a q_b), so the
electrostatic energy is

    E(q) = Σ_i (J2_i q_i² + J4_i q_i⁴) + Σ_(a,b) J_ab q_a q_b,   v = ∇E(q).

Resistors between nodes or to ground, resistors to bias voltage sources V_b(t) and
current sources give Kirchhoff's current law at every node:

    dq = (−G ∇E(q) + G_b V_b(t) + I_dc) dt + N dW,

with G the conductance matrix, G_b the bias-resistor map and N the Johnson–Nyquist
(√(2 k_B T / R)) and injected noise. With one mobility μ = 1/R per node this is the
overdamped Langevin dynamics dq = −μ (∂E/∂q − V_b) dt + √(2 μ k_B T) dW of
physics.md §6. Integrate with Euler–Maruyama (additive noise, weak order 1).
Cost per step: O(n² ) for the dense coupling and conductance products.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import TopologyError
from ..netlist.schema import GROUND, Element, Netlist, Waveform
from ..units import K_B

Array = np.ndarray


class NonlinearBuilder:
    """Stamp target for nonlinear netlists (see :class:`NonlinearSDE`)."""

    def __init__(self, netlist: Netlist):
        self.netlist = netlist
        nc = [e for e in netlist.elements if e.TYPE == "NC"]
        self.nodes = [e.nodes[0] for e in nc]
        if len(set(self.nodes)) != len(self.nodes):
            dup = next(n for n in self.nodes if self.nodes.count(n) > 1)
            raise self._err(f"node {dup!r} has two nonlinear capacitors; give each node one", None)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        for n in netlist.nodes:
            if n not in self.index:
                raise self._err(
                    f"node {n!r} has no nonlinear capacitor: in a nonlinear netlist every node "
                    "needs one (a linear capacitor C is type NC with J2 = 1/(2C))",
                    None,
                )
        n = len(self.nodes)
        self.J2 = np.zeros(n)
        self.J4 = np.zeros(n)
        self.Jc = np.zeros((n, n))
        self.G = np.zeros((n, n))
        self.I = np.zeros(n)
        self.noise: list[tuple[dict[str, float], str]] = []
        self.bias: list[tuple[int, float, Waveform, str]] = []

    def _err(self, msg: str, e: Element | None) -> TopologyError:
        return TopologyError(msg, file=self.netlist.source, path=e.origin if e else None)

    def _pair(self, a: str, b: str, val: float) -> None:
        ia, ib = self.index.get(a), self.index.get(b)
        if ia is not None:
            self.G[ia, ia] += val
        if ib is not None:
            self.G[ib, ib] += val
        if ia is not None and ib is not None:
            self.G[ia, ib] -= val
            self.G[ib, ia] -= val

    # -- stamps ---------------------------------------------------------------
    def nonlinear_capacitor(self, e, node, J2, J4) -> None:
        i = self.index[node]
        self.J2[i] += J2
        self.J4[i] += J4

    def energy_coupling(self, e, a, b, J) -> None:
        for n in (a, b):
            if n not in self.index:
                raise self._err(
                    f"energy coupler {e.name!r}: node {n!r} has no nonlinear capacitor", e
                )
        ia, ib = self.index[a], self.index[b]
        self.Jc[ia, ib] += J
        self.Jc[ib, ia] += J

    def conductance(self, e, a, b, r, temperature) -> None:
        self._pair(a, b, 1.0 / r)
        if temperature > 0:
            s = np.sqrt(2.0 * K_B * temperature / r)
            self.noise.append(({a: s, b: -s}, e.name))

    def bias_resistor(self, e, node, other, r, temperature, bias: Waveform) -> None:
        self.conductance(e, node, other, r, temperature)
        self.bias.append((self.index[node], 1.0 / r, bias, e.name))

    def current(self, e, a, b, dc, noise_psd) -> None:
        for node, sign in ((b, 1.0), (a, -1.0)):
            if node in self.index:
                self.I[self.index[node]] += sign * dc
        if noise_psd > 0:
            s = np.sqrt(noise_psd / 2.0)
            self.noise.append(({b: s, a: -s}, e.name))

    def capacitance(self, e, a, b, c) -> None:
        raise self._err(
            f"linear capacitor {e.name!r} in a nonlinear netlist: write it as a nonlinear "
            f"capacitor (type NC, J2 = 1/(2C) = {1 / (2 * c):.6g}) to ground",
            e,
        )

    def inductor(self, e, *args) -> None:
        raise self._err(f"inductor {e.name!r}: nonlinear netlists are overdamped (no inductors)", e)

    def mutual(self, e, *args) -> None:
        self.inductor(e)


@dataclass(frozen=True, eq=False)
class NonlinearSDE:
    """dq = (−G ∇E(q) + G_b V_b(t) + I) dt + B dW in node charges q (C).

    Shapes: n nodes, p noise sources, k bias sources. ``bias_index`` (k,) node of
    each bias resistor, ``bias_conductance`` (k,), ``bias_waveforms`` (k,).
    """

    nodes: tuple[str, ...]
    J2: Array
    J4: Array
    Jc: Array
    G: Array
    I: Array  # noqa: E741
    B: Array
    bias_index: Array
    bias_conductance: Array
    bias_waveforms: tuple[Waveform, ...]
    temperature: float
    netlist_digest: str = ""
    netlist_name: str = ""
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_netlist(cls, netlist: Netlist) -> NonlinearSDE:
        b = NonlinearBuilder(netlist)
        for e in netlist.elements:
            e.stamp(b, netlist.temperature)
        n = len(b.nodes)
        N = np.zeros((n, len(b.noise)))
        for c, (entries, _) in enumerate(b.noise):
            for node, val in entries.items():
                if node != GROUND:
                    N[b.index[node], c] += val
        return cls(
            nodes=tuple(b.nodes),
            J2=b.J2,
            J4=b.J4,
            Jc=b.Jc,
            G=b.G,
            I=b.I,
            B=N,
            bias_index=np.array([i for i, *_ in b.bias], dtype=int),
            bias_conductance=np.array([g for _, g, *_ in b.bias]),
            bias_waveforms=tuple(w for *_, w, _ in b.bias),
            temperature=netlist.temperature,
            netlist_digest=netlist.digest,
            netlist_name=netlist.name,
        )

    @property
    def dim(self) -> int:
        return len(self.nodes)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(f"q({n})" for n in self.nodes)

    @property
    def n_voltage(self) -> int:
        return self.dim

    def energy(self, q: Array) -> Array:
        """E(q) in joules for a batch q (..., n)."""
        return q**2 @ self.J2 + q**4 @ self.J4 + 0.5 * np.einsum("...i,ij,...j->...", q, self.Jc, q)

    def voltage(self, q: Array) -> Array:
        """v = ∇E(q) = 2 J2 q + 4 J4 q³ + Jc q."""
        return 2.0 * self.J2 * q + 4.0 * self.J4 * (q * q * q) + q @ self.Jc

    def _bias_split(self) -> tuple[Array, list[int]]:
        """(constant part of the injected current, indices of time-dependent biases)."""
        cached = self.meta.get("_bias_split")
        if cached is None:
            const = self.I.copy()
            varying = []
            for k, w in enumerate(self.bias_waveforms):
                if w.constant:
                    const[self.bias_index[k]] += self.bias_conductance[k] * w.values[0]
                else:
                    varying.append(k)
            cached = (const, varying)
            self.meta["_bias_split"] = cached
        return cached

    def bias_current(self, t: float) -> Array:
        """I_dc + G_b V_b(t): constant sources are summed once; only piecewise-linear
        ones are interpolated at each call."""
        const, varying = self._bias_split()
        if not varying:
            return const
        out = const.copy()
        for k in varying:
            out[self.bias_index[k]] += self.bias_conductance[k] * self.bias_waveforms[k](t)
        return out

    def drift(self, q: Array, t: float = 0.0) -> Array:
        return -self.voltage(q) @ self.G.T + self.bias_current(t)

    def linearized_rates(self) -> Array:
        """Eigenvalues of the drift's Jacobian at q = 0 (for choosing a step)."""
        H = np.diag(2.0 * self.J2) + self.Jc
        return np.linalg.eigvals(-self.G @ H)

    def default_dt(self) -> float:
        """0.01 / (fastest linearized rate): Euler's bias in the stationary variance of
        a harmonic well is ≈ h·rate/2, here ≈ 0.5 %."""
        lam = self.linearized_rates()
        return float(0.01 / np.max(np.abs(lam)))
