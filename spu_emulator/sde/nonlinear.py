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
from typing import ClassVar

import numpy as np

from ..errors import InputError
from ..netlist.base import Waveform
from ..units import K_B
from .base import SDE

Array = np.ndarray


#: Matrices the SDE takes from :class:`~spu_emulator.circuit.assemble.NonlinearCircuit`.
_FROM_CIRCUIT = ("J2", "J4", "Jc", "G", "I", "bias_index", "bias_conductance", "bias_waveforms")


@dataclass(frozen=True, eq=False)
class NonlinearSDE(SDE):
    """dq = (−G ∇E(q) + G_b V_b(t) + I) dt + B dW in node charges q (C).

    Shapes: n nodes, p noise sources, k bias sources. ``bias_index`` (k,) node of
    each bias resistor, ``bias_conductance`` (k,), ``bias_waveforms`` (k,). Built by
    :meth:`~spu_emulator.circuit.assemble.NonlinearCircuit.to_sde`.
    """

    quantity: ClassVar[str] = "charge"
    default_method: ClassVar[str] = "euler"

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
    def from_circuit(cls, circuit) -> NonlinearSDE:
        shared = {k: getattr(circuit, k) for k in _FROM_CIRCUIT}
        return cls(nodes=tuple(circuit.nodes), B=circuit.N, temperature=circuit.netlist.temperature,
                   netlist_digest=circuit.netlist.digest, netlist_name=circuit.netlist.name,
                   **shared)

    @property
    def dim(self) -> int:
        return len(self.nodes)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(f"q({n})" for n in self.nodes)

    @property
    def n_voltage(self) -> int:
        return self.dim

    @property
    def node_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.nodes

    @property
    def diffusion(self) -> Array:
        return self.B

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

    def drift(self, q: Array, t: float = 0.0) -> Array:  # noqa: D102
        return -self.voltage(q) @ self.G.T + self.bias_current(t)

    def linearized_rates(self) -> Array:
        """Eigenvalues of the drift's Jacobian at q = 0 (for choosing a step)."""
        H = np.diag(2.0 * self.J2) + self.Jc
        return np.linalg.eigvals(-self.G @ H)

    def default_dt(self, method: str = "euler") -> float:
        """0.01 / (fastest linearized rate at q = 0): Euler's bias in the stationary
        variance of a harmonic well is ≈ h·rate/2, here ≈ 0.5 % (Heun's is smaller);
        but at most a quarter of the largest step Euler is stable at where the charges
        go (:meth:`stiffness`: a stiff quartic or a strong bias can make that smaller)."""
        lam = self.linearized_rates()
        h = float(0.01 / np.max(np.abs(lam)))
        stiff = self.stiffness()
        stable = float(np.min(2.0 * np.abs(stiff.real) / np.maximum(np.abs(stiff) ** 2, 1e-300)))
        return min(h, 0.25 * stable)

    # ---- facts for choosing steps, run lengths and references -------------------

    def thermal_charges(self) -> Array:
        """Thermal charge scale q_s (C) of every node (n,): the root of
        J2 q² + J4 q⁴ = k_B T / 2 (T the bath), i.e. the rms charge of the uncoupled
        well to within a factor of order one. O(n)."""
        kt = K_B * self.temperature
        out = np.empty(self.dim)
        for i, (j2, j4) in enumerate(zip(self.J2, self.J4, strict=True)):
            if j4 > 0:
                x = (-j2 + np.sqrt(j2**2 + 2.0 * j4 * kt)) / (2.0 * j4)
            elif j4 == 0 and j2 > 0:
                x = kt / (2.0 * j2)
            else:
                raise InputError(
                    f"node {self.nodes[i]!r}: its energy J2 q² + J4 q⁴ must be confining "
                    f"(J4 > 0, or J4 = 0 and J2 > 0), got J2={j2:g}, J4={j4:g}"
                )
            out[i] = np.sqrt(x)
        return out

    def eigenvalues(self) -> Array:
        """Eigenvalues of the drift's Jacobian −G H linearized where the charge actually
        is: H = diag(2 J2 + 12 J4 q_s²) + J_c, the energy's Hessian at the thermal charge
        q_s of every node (the quartic stiffens a well several-fold there). O(n³)."""
        q = self.thermal_charges()
        h_eff = np.diag(2.0 * self.J2 + 12.0 * self.J4 * q**2) + self.Jc
        return np.linalg.eigvals(-self.G @ h_eff)

    def stiffness(self, spread: float = 3.0) -> Array:
        """Eigenvalues of the drift's Jacobian −G H(q) where the charges go: H the
        energy's Hessian diag(2 J2 + 12 J4 q²) + J_c at q = the larger of ``spread``
        thermal charges and the charge a node's largest bias pins it to (the root of
        2 J2 q + 4 J4 q³ = |V_b|). The quartic stiffens a well as q²: an explicit step
        stable near q = 0 can diverge out there. O(n³)."""
        q = spread * self.thermal_charges()
        vb = np.zeros(self.dim)
        for k, w in enumerate(self.bias_waveforms):
            i = self.bias_index[k]
            vb[i] = max(vb[i], float(np.max(np.abs(w.values))))
        for i in np.nonzero(vb)[0]:
            roots = np.roots([4.0 * self.J4[i], 0.0, 2.0 * self.J2[i], -vb[i]]) if self.J4[i] \
                else np.array([vb[i] / (2.0 * self.J2[i])])
            qb = float(np.max(np.abs(roots[np.isreal(roots)].real)))
            q[i] = max(q[i], qb)
        h_eff = np.diag(2.0 * self.J2 + 12.0 * self.J4 * q**2) + self.Jc
        return np.linalg.eigvals(-self.G @ h_eff)

    def timescales(self) -> tuple[float, float]:
        """(fastest, slowest) time (s): 1/|λ| of :meth:`eigenvalues` for the fastest,
        and for the slowest the slower of that and of the Jacobian at q = 0 (when the
        Hessian there, diag(2 J2) + J_c, is positive definite). O(n³)."""
        lam = np.abs(self.eigenvalues())
        fastest = float(1.0 / lam.max())
        slowest = float(1.0 / lam.min())
        h0 = np.diag(2.0 * self.J2) + self.Jc
        if np.all(np.linalg.eigvalsh(0.5 * (h0 + h0.T)) > 0):
            slowest = max(slowest, float(1.0 / np.abs(np.linalg.eigvals(-self.G @ h0)).min()))
        return fastest, slowest

    def fastest_time(self) -> float:
        """The fastest time of :meth:`timescales` (s)."""
        return self.timescales()[0]

    def relaxation_time(self) -> float:
        """The slowest time of :meth:`timescales` (s)."""
        return self.timescales()[1]

    def bias_end(self) -> float:
        """Time (s) of the last breakpoint of any time-dependent bias (0 if none): after
        it the drift no longer depends on time."""
        return max((max(w.times) for w in self.bias_waveforms if not w.constant), default=0.0)

    def obeys_fdt(self) -> bool:
        """Whether the noise is the bath's own: B Bᵀ = 2 k_B T G (every resistor at the
        bath temperature, no injected noise), so that the stationary law is Boltzmann."""
        target = 2.0 * K_B * self.temperature * self.G
        scale = max(float(np.abs(target).max()), 1e-300)
        return bool(np.abs(self.B @ self.B.T - target).max() <= 1e-9 * scale)

    def boltzmann_covariance(self, points: int = 161) -> Array | None:
        """Covariance (n, n) of the Boltzmann law exp(−(E(q) − c·q) / k_B T), c = G⁻¹ I(∞)
        (I(∞) = I_dc + G_b V_b(∞), the bias after its protocol), by quadrature on a grid
        of ``points`` per node over ±8 thermal charges. The exact stationary law when
        :meth:`obeys_fdt`; None where it does not, where G is singular, or for n > 3.
        Cost O(pointsⁿ · n)."""
        n = self.dim
        if n > 3 or not self.obeys_fdt():
            return None
        try:
            c = np.linalg.solve(self.G, self.bias_current(np.inf))
        except np.linalg.LinAlgError:
            return None
        qs = self.thermal_charges()
        axes = [np.linspace(-8 * s, 8 * s, points) for s in qs]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
        energy = self.energy(grid) - grid @ c
        w = np.exp(-(energy - energy.min()) / (K_B * self.temperature))
        w /= w.sum()
        flat_q = grid.reshape(-1, n)
        flat_w = w.reshape(-1)
        mean = flat_w @ flat_q
        d = flat_q - mean
        return (d * flat_w[:, None]).T @ d
