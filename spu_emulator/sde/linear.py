"""Linear time-invariant SDEs: dx = (A x + b) dt + B dW.

Everything here is exact linear algebra: the stationary covariance from the
continuous Lyapunov equation, the exact one-step transition (Van Loan), modes and
power spectral densities from the transfer function.

Numerics are done in *energy coordinates* y = Rᵀ x, where M = R Rᵀ is the Cholesky
factor of the circuit's mass matrix blkdiag(C_N, L): there the Boltzmann covariance
is k_B T · I and every entry is O(1), whatever the SI scales of volts and amperes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import InstabilityError
from ..units import K_B
from .base import SDE

Array = np.ndarray


@dataclass(frozen=True, eq=False)
class LinearSDE(SDE):
    """dx = (A x + b) dt + B dW, x ∈ ℝⁿ, W a p-dimensional Wiener process.

    ``scale`` (n,n) is a well-conditioning change of variables x = scale @ y used
    internally (identity when unknown). ``n_voltage`` counts the leading voltage
    states, the voltages of ``node_names``; ``temperature`` is the common bath
    temperature when the circuit is in thermal equilibrium (else None).
    """

    A: Array
    b: Array
    B: Array
    state_names: tuple[str, ...]
    n_voltage: int
    scale: Array
    temperature: float | None = None
    mass: Array | None = None
    netlist_digest: str = ""
    netlist_name: str = ""
    meta: dict = field(default_factory=dict)
    node_names: tuple[str, ...] = ()

    linear: ClassVar[bool] = True
    quantity: ClassVar[str] = "voltage"
    default_method: ClassVar[str] = "exact"

    @classmethod
    def from_circuit(cls, circuit) -> LinearSDE:
        M, K, N = circuit.M, circuit.K, circuit.N
        R = np.linalg.cholesky(M)  # M = R Rᵀ
        A = -np.linalg.solve(M, K)
        B = np.linalg.solve(M, N)
        b = np.linalg.solve(M, circuit.u)
        sde = cls(
            A=A,
            b=b,
            B=B,
            state_names=circuit.state_names,
            n_voltage=circuit.n_nodes,
            scale=np.linalg.inv(R.T),  # x = R⁻ᵀ y
            temperature=circuit.equal_temperature,
            mass=M,
            netlist_digest=circuit.netlist.digest,
            netlist_name=circuit.netlist.name,
            node_names=tuple(circuit.nodes),
        )
        sde.check_stable(circuit.netlist.source)
        return sde

    @property
    def dim(self) -> int:
        return self.A.shape[0]

    @property
    def voltage_names(self) -> tuple[str, ...]:
        return self.node_names

    @property
    def diffusion(self) -> Array:
        return self.B

    # ---- scaled coordinates ---------------------------------------------
    def _scaled(self) -> tuple[Array, Array, Array, Array]:
        """(A_y, B_y, S, S⁻¹) with y = S⁻¹ x (cached)."""
        cached = self.meta.get("_scaled")
        if cached is None:
            S = self.scale
            Sinv = np.linalg.inv(S)
            cached = (Sinv @ self.A @ S, Sinv @ self.B, S, Sinv)
            self.meta["_scaled"] = cached
        return cached

    def drift(self, x: Array, t: float = 0.0) -> Array:
        """A x + b for a batch x of shape (..., n) (time-invariant)."""
        return x @ self.A.T + self.b

    def default_dt(self, method: str = "exact") -> float:
        """A sensible step: for the exact method, 1/16 of the shortest oscillation
        period or 1/4 of the fastest decay time (it is exact for any step; this only
        sets the time resolution of the output). For Euler–Maruyama and Heun, small
        enough that Euler's stationary-variance bias h ω²/(2γ) stays ≈ 1% on every
        mode and h|λ| ≤ 0.05."""
        lam = self.eigenvalues()
        rates, omegas = -lam.real, np.abs(lam.imag)
        if method == "exact":
            cands = [0.25 / np.max(rates)]
            if np.any(omegas > 0):
                cands.append(2 * np.pi / np.max(omegas) / 16)
            return float(min(cands))
        with np.errstate(divide="ignore"):
            bias = np.where(omegas > 0, 0.02 * rates / np.maximum(omegas**2, 1e-300), np.inf)
        return float(min(0.05 / np.max(np.abs(lam)), np.min(bias)))

    def stationary_sample(self, chains: int, rng: np.random.Generator) -> Array:
        """μ + L z with L Lᵀ the equilibrium covariance (eigen-factored: robust when
        it is singular), z ~ N(0, I) from ``rng``: shape (chains, n)."""
        w, V = np.linalg.eigh(self.equilibrium_covariance())
        Lw = V * np.sqrt(np.clip(w, 0, None))
        return self.stationary_mean() + rng.standard_normal((chains, self.dim)) @ Lw.T

    def exact_covariance(self) -> Array:
        return self.stationary_covariance()

    def stiffness(self) -> Array:
        return self.eigenvalues()

    # ---- stability and equilibrium -------------------------------------
    def eigenvalues(self) -> Array:
        """Eigenvalues of A (computed once, O(n³), then cached)."""
        lam = self.meta.get("_eigenvalues")
        if lam is None:
            lam = np.linalg.eigvals(self.A)
            self.meta["_eigenvalues"] = lam
        return lam

    def check_stable(self, source: str | None = None) -> None:
        """Raise InstabilityError unless A is Hurwitz (every Re λ < 0)."""
        lam = self.eigenvalues()
        scale = np.max(np.abs(lam)) if lam.size else 1.0
        bad = lam[lam.real >= -1e-11 * scale]
        if bad.size:
            raise InstabilityError(
                f"{source or '<netlist>'}: the drift is not Hurwitz: {bad.size} mode(s) with "
                f"Re(λ) ≥ 0 (e.g. λ = {bad[0]:.4g} 1/s), so there is no equilibrium: a mode "
                "is undamped or unstable; check that resistors reach every mode"
            )

    def stationary_mean(self) -> Array:
        """μ = −A⁻¹ b."""
        return -np.linalg.solve(self.A, self.b)

    def stationary_covariance(self) -> Array:
        """Σ solving A Σ + Σ Aᵀ + B Bᵀ = 0 (Bartels–Stewart in energy coordinates). O(n³)."""
        import scipy.linalg as sla  # lazy: scipy's import pulls in argparse

        Ay, By, S, _ = self._scaled()
        Sy = sla.solve_continuous_lyapunov(Ay, -By @ By.T)
        Sy = 0.5 * (Sy + Sy.T)
        return S @ Sy @ S.T

    def equilibrium_covariance(self) -> Array:
        """The stationary covariance by the cheapest exact route: k_B T M⁻¹ at one
        temperature, else the Lyapunov solution. Computed once, then cached (read-only)."""
        cached = self.meta.get("_equilibrium_cov")
        if cached is None:
            cached = self.boltzmann_covariance()
            if cached is None:
                cached = self.stationary_covariance()
            cached.flags.writeable = False
            self.meta["_equilibrium_cov"] = cached
        return cached

    def boltzmann_covariance(self) -> Array | None:
        """k_B T M⁻¹ when the circuit is at one temperature (the FDT oracle), else None."""
        if self.temperature is None or self.mass is None:
            return None
        return K_B * self.temperature * np.linalg.inv(self.mass)

    def transition(self, h: float) -> tuple[Array, Array]:
        """Exact one-step transition over time h: x' = F x + c + w, w ~ N(0, Q).

        Returns (F, Q). Van Loan's block exponential expm([[−A, BBᵀ], [0, Aᵀ]] h) on a
        step small enough that the block exponential stays well conditioned, then
        doubling F₂ = F², Q₂ = F Q Fᵀ + Q (sums of PSD terms: no cancellation).
        Exact for any h and any (non-normal) A. O(n³ log(h‖A‖)).
        """
        import scipy.linalg as sla  # lazy: scipy's import pulls in argparse

        Ay, By, S, Sinv = self._scaled()
        n = Ay.shape[0]
        # Spectral radius (similarity-invariant: the cached eigenvalues of A), bounded
        # by ‖A_y‖₁ so that a non-normal drift cannot make the sub-step too large.
        rho = max(float(np.max(np.abs(self.eigenvalues()))), 1e-300)
        rho = max(rho, 0.25 * float(np.linalg.norm(Ay, 1)))
        doublings = max(0, int(np.ceil(np.log2(rho * h / 0.5)))) if rho * h > 0.5 else 0
        h0 = h / 2**doublings
        blk = np.zeros((2 * n, 2 * n))
        blk[:n, :n] = -Ay
        blk[:n, n:] = By @ By.T
        blk[n:, n:] = Ay.T
        E = sla.expm(blk * h0)
        F = E[n:, n:].T
        Q = F @ E[:n, n:]
        Q = 0.5 * (Q + Q.T)
        for _ in range(doublings):
            Q = F @ Q @ F.T + Q
            Q = 0.5 * (Q + Q.T)
            F = F @ F
        Fx = S @ F @ Sinv
        Qx = S @ Q @ S.T
        return Fx, 0.5 * (Qx + Qx.T)

    def boltzmann_factor(self) -> Array | None:
        """L with L Lᵀ = k_B T M⁻¹ (the Boltzmann covariance) at one temperature, else
        None: √(k_B T) R⁻ᵀ with M = R Rᵀ."""
        if self.temperature is None or self.mass is None:
            return None
        return np.sqrt(K_B * float(self.temperature)) * self.scale

    def equilibrium_transition(self, h: float) -> tuple[Array, Array, Array] | None:
        """(F, Lq, Lz) at one temperature: the exact transition x' = F x + Lq z over h,
        and Lz with Lz Lzᵀ = k_B T M⁻¹ (the Boltzmann covariance, for equilibrium
        starts); None if the circuit is not at one temperature.

        In energy coordinates z = Rᵀ x (M = R Rᵀ) the stationary covariance is
        k_B T · I, so F_z = exp(A_z h) and Q_z = k_B T (I − F_z F_zᵀ) exactly: one n × n
        exponential, no Lyapunov solve and no 2n × 2n Van Loan block (8× fewer flops).
        A_z + A_zᵀ ⪯ 0, so ‖F_z‖ ≤ 1 and Q_z ⪰ 0; the subtraction loses only
        ~ε / (1 − e^{−2h/τ}) relative accuracy."""
        import scipy.linalg as sla  # lazy: scipy's import pulls in argparse

        if self.temperature is None or self.mass is None:
            return None
        kT = K_B * float(self.temperature)
        S = self.scale  # x = S z, z = Rᵀ x energy coordinates, S = R⁻ᵀ
        R = np.linalg.cholesky(self.mass)
        Az = R.T @ self.A @ S
        Fz = sla.expm(Az * h)
        Qz = np.eye(self.dim) - Fz @ Fz.T
        Qz = 0.5 * (Qz + Qz.T)
        try:
            Lqz = np.linalg.cholesky(Qz)
        except np.linalg.LinAlgError:  # h ≪ the fastest time: nearly singular, factor robustly
            w, V = np.linalg.eigh(Qz)
            keep = w > 1e-13 * max(float(w.max(initial=0.0)), 1e-300)
            Lqz = V[:, keep] * np.sqrt(w[keep])
        F = S @ Fz @ R.T
        return F, np.sqrt(kT) * (S @ Lqz), np.sqrt(kT) * S

    def transition_offset(self, F: Array) -> Array:
        """c = (I − F) μ, the exact DC contribution over a step with transition F."""
        mu = self.stationary_mean()
        return mu - F @ mu

    # ---- modes and spectra ---------------------------------------------
    def modes(self) -> list[dict]:
        """Eigenmodes: frequency (Hz), decay rate (1/s), quality factor Q, one per
        conjugate pair (or real mode), slowest first."""
        lam = self.eigenvalues()
        out = []
        seen = np.zeros(lam.size, bool)
        order = np.argsort(-lam.real)
        for i in order:
            if seen[i]:
                continue
            seen[i] = True
            li = lam[i]
            if abs(li.imag) > 1e-12 * abs(li):
                j = int(np.argmin(np.where(seen, np.inf, np.abs(lam - np.conj(li)))))
                seen[j] = True
            rate = -li.real
            omega = abs(li.imag)
            out.append(
                {
                    "frequency": omega / (2 * np.pi),
                    "decay_rate": rate,
                    "time_constant": 1.0 / rate,
                    # Q = |λ| / (2 |Re λ|) for a damped oscillator; None for a real mode.
                    "quality_factor": float(np.hypot(rate, omega) / (2 * rate))
                    if omega > 0
                    else None,
                    "oscillatory": bool(omega > 0),
                }
            )
        return out

    def relaxation_time(self) -> float:
        """Slowest decay time 1 / min(−Re λ) (s)."""
        return float(1.0 / np.min(-self.eigenvalues().real))

    def fastest_time(self) -> float:
        """1 / max|λ|: the shortest time scale (s)."""
        return float(1.0 / np.max(np.abs(self.eigenvalues())))

    def psd(self, freqs: Array, outputs: Array | None = None) -> Array:
        """Two-sided cross power spectral density matrix of y = C x (C = I by default).

        S₂(f) = C H B Bᵀ Hᴴ Cᵀ with H = (2πif I − A)⁻¹, so that ∫ S₂ df over ℝ equals the
        stationary covariance. Returns complex (len(freqs), k, k), units²/Hz.
        O(len(freqs) n³).
        """
        freqs = np.atleast_1d(np.asarray(freqs, float))
        n = self.dim
        Cout = np.eye(n) if outputs is None else np.atleast_2d(outputs)
        s = 2j * np.pi * freqs
        H = np.linalg.inv(s[:, None, None] * np.eye(n) - self.A)
        CHB = Cout @ H @ self.B
        return CHB @ np.conj(np.swapaxes(CHB, -1, -2))

    def node_psd(self, freqs: Array) -> Array:
        """One-sided PSD (V²/Hz) of every voltage state, shape (len(freqs), n_voltage):
        2 S₂(f), the convention of SPICE `.noise` (which prints its square root)."""
        freqs = np.atleast_1d(np.asarray(freqs, float))
        n = self.dim
        s = 2j * np.pi * freqs
        H = np.linalg.inv(s[:, None, None] * np.eye(n) - self.A)[:, : self.n_voltage, :]
        HB = H @ self.B
        return 2.0 * np.sum(np.abs(HB) ** 2, axis=-1)

    def sampled_node_psd(self, freqs: Array, dt: float) -> Array:
        """One-sided PSD (V²/Hz) of the voltage states *sampled* every dt, aliasing
        included: the exact discrete-time spectrum of x_{k+1} = F x_k + w_k,

            S(f) = 2 dt [(I − F z⁻¹)⁻¹ Q (I − F z⁻¹)⁻ᴴ]_vv,  z = e^{2πi f dt},

        for 0 ≤ f ≤ 1/(2 dt). This is what a Welch estimate of simulated (or ADC)
        samples converges to. Shape (len(freqs), n_voltage)."""
        freqs = np.atleast_1d(np.asarray(freqs, float))
        F, Q = self.transition(dt)
        n = self.dim
        zinv = np.exp(-2j * np.pi * freqs * dt)
        H = np.linalg.inv(np.eye(n) - zinv[:, None, None] * F)[:, : self.n_voltage, :]
        w, V = np.linalg.eigh(Q)
        Lq = V * np.sqrt(np.clip(w, 0, None))
        HL = H @ Lq
        return 2.0 * dt * np.sum(np.abs(HL) ** 2, axis=-1)
