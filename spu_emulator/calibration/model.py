"""The sampled board as a parametric model: component values → linear SDE → the exact
discrete-time process at the sampling interval → its spectral density.

Parameters. Every component value of the design that a tolerance can act on (the
:class:`~spu_emulator.hardware.family.BoardFamily` parameters: cells' C, L, R, couplers,
parasitics, injected noise levels) is one parameter, estimated as θ_j = ln(p_j / p₀ⱼ)
(a mutual coupling factor k, which may be of either sign, as θ = k / k₀ − 1). So θ is
the relative deviation of the as-built value, and its standard error the relative one.

Model. For values p the board obeys M dx = −K x dt + N dW (N Nᵀ = Q, the noise of
every resistor at the design's temperature: 2 k_B T / R, fixed by the design, not
estimated): dx = A x dt + B dW with A = −M⁻¹K, BBᵀ = M⁻¹ Q M⁻¹. Sampled every h,

    x_{k+1} = F x_k + w_k,  F = e^{A h},  w_k ~ N(0, Q_d),  Q_d = ∫₀ʰ e^{As} BBᵀ e^{Aᵀs} ds,

(Van Loan's block exponential, on a sub-step with ρ h ≤ ½ then doubled, as
:meth:`~spu_emulator.sde.linear.LinearSDE.transition`), and the readings are
y_k = H x_k + e_k with H selecting the read node voltages and e_k white readout noise
of variance σ_n² + Δ²/12 (the converter's noise and its quantization step Δ). The
spectral density of the readings at ω ∈ (0, π) (radians per sample) is exact:

    S(ω) = H G(ω) Q_d G(ω)ᴴ Hᵀ + R,   G(ω) = (I − e^{−iω} F)⁻¹,

so that the periodogram of N readings converges to it (aliasing included). Its
derivative in θ_j is dS_j = z H G dF_j G Q_d Gᴴ Hᵀ + (…)ᴴ + H G dQ_j Gᴴ Hᵀ (z = e^{−iω}).

Derivatives. The board builder is complex analytic in the values, and so are the solve,
the block exponential and the doubling, so one complex-step batch (P + 1 boards, value
p₀ e^{θ + i ε e_j}) gives (F, Q_d) and all P derivatives to rounding: no differences
are taken. Cost O(P s³) per evaluation for s states (one batched exponential of
(P + 1) blocks 2s × 2s), then O(B P o s²) for the spectra of B frequency bands.

Coordinates. States are scaled by σ_j = √(k_B T / M₀,jj) (volts and amperes of thermal
size) so that every matrix entry is O(1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..hardware.family import BoardFamily
from ..netlist.schema import GROUND, Netlist
from ..units import K_B

Array = np.ndarray

#: Complex step in θ (relative): far below rounding of any real part.
STEP = 1e-20


def display_names(family: BoardFamily) -> tuple[str, ...]:
    """Element names as the error messages use them: cells' values ``n1.C``, ``n1.L``,
    ``n1.R``; a two-terminal coupler between two nodes by the pair it joins and its kind
    (``n1-n2.C``); anything else by its element name (``couplers[3].switch``, ``K1``)."""
    nl = family.netlist
    cells = set(nl.cells)
    out: list[str] = []
    for p in family.parameters:
        e = nl.element(p.element)
        name = p.name
        nodes = getattr(e, "nodes", ())
        if (p.field == p.cls == e.TYPE and len(nodes) == 2 and GROUND not in nodes
                and not name.startswith(tuple(f"{c}." for c in cells))
                and ".C_ground" not in name and not name.endswith(".switch")):
            name = f"{nodes[0]}-{nodes[1]}.{e.TYPE}"
        out.append(name)
    if len(set(out)) != len(out):  # two elements on one pair: keep the element names
        seen: dict[str, int] = {}
        for n in out:
            seen[n] = seen.get(n, 0) + 1
        out = [p.name if seen[n] > 1 else n for p, n in zip(family.parameters, out, strict=True)]
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Discrete:
    """(F, Q_d) of the scaled sampled process and, if asked, their derivatives
    dF, dQ (P, s, s) in θ."""

    F: Array
    Q: Array
    dF: Array | None = None
    dQ: Array | None = None


class BoardModel:
    """The parametric sampled model of a design read at ``nodes`` every ``h`` seconds
    with white readout variance ``readout_variance`` (V², per reading)."""

    def __init__(self, netlist: Netlist, h: float, nodes: tuple[str, ...] | None = None,
                 readout_variance: float = 0.0):
        if not netlist.is_linear:
            raise InputError(f"{netlist.source or netlist.name}: calibration needs a linear "
                             "design (no NC, EC or time-dependent bias)", "design")
        self.family = BoardFamily(netlist)
        fam = self.family
        self.netlist = netlist
        self.h = float(h)
        self.parameters = fam.parameters
        self.names = display_names(fam)
        self.element_names = fam.names
        self.classes = fam.classes
        self.nominal = fam.nominal.copy()
        self.P = len(self.parameters)
        self.additive = np.array([c == "K" for c in self.classes], bool)
        all_nodes = tuple(fam.nodes)
        self.nodes = all_nodes if nodes is None else tuple(nodes)
        idx = {n: i for i, n in enumerate(all_nodes)}
        self.obs = np.array([idx[n] for n in self.nodes], int)
        self.temperature = fam.temperature
        kT = K_B * float(fam.temperature if fam.temperature is not None else netlist.temperature)
        self.kT = kT
        M0, _, _ = fam.matrices(self.nominal[None, :])
        self.sigma = np.sqrt(kT / np.diag(M0[0]))  # state scales
        self.s = fam.dim
        self.o = len(self.obs)
        self.H = np.zeros((self.o, self.s))
        self.H[np.arange(self.o), self.obs] = 1.0
        self.readout_variance = float(readout_variance)
        #: white readout variance in scaled units, per channel
        self.R = self.readout_variance / self.sigma[self.obs] ** 2

    # ---- parameters -------------------------------------------------------------
    def values(self, theta: Array) -> Array:
        """Component values (…, P) for θ (…, P), real or complex."""
        theta = np.asarray(theta)
        return np.where(self.additive, self.nominal * (1.0 + theta), self.nominal * np.exp(theta))

    def theta_of(self, values: Array) -> Array:
        values = np.asarray(values, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.additive, values / self.nominal - 1.0, np.log(values / self.nominal))

    # ---- continuous and discrete model -------------------------------------------
    def drift(self, theta: Array) -> tuple[Array, Array]:
        """(A, BBᵀ) in scaled coordinates for θ (B, P) real or complex: (B, s, s) each."""
        M, K, Q = self.family.matrices(self.values(theta))
        A = -np.linalg.solve(M, K)
        X = np.linalg.solve(M, Q)                       # M⁻¹ Q
        BB = np.linalg.solve(M, X.swapaxes(-1, -2))     # M⁻¹ (M⁻¹ Q)ᵀ = M⁻¹ Q M⁻¹
        sg = self.sigma
        A = A * (1.0 / sg)[:, None] * sg[None, :]
        BB = BB / np.outer(sg, sg)
        return A, 0.5 * (BB + BB.swapaxes(-1, -2))

    def _van_loan(self, A: Array, BB: Array) -> tuple[Array, Array]:
        """Batched exact (F, Q_d) over h: block exponential on h / 2^k (ρ h/2^k ≤ ½),
        then k doublings F ← F², Q ← F Q Fᵀ + Q. Analytic (no conjugates)."""
        import scipy.linalg as sla  # lazy: scipy's import pulls in argparse

        n = A.shape[-1]
        rho = float(np.max(np.abs(np.linalg.eigvals(A[0].real))))
        rho = max(rho, 0.25 * float(np.max(np.sum(np.abs(A[0].real), axis=0))), 1e-300)
        k = max(0, int(np.ceil(np.log2(rho * self.h / 0.5)))) if rho * self.h > 0.5 else 0
        h0 = self.h / 2**k
        blk = np.zeros(A.shape[:-2] + (2 * n, 2 * n), dtype=A.dtype)
        blk[..., :n, :n] = -A
        blk[..., :n, n:] = BB
        blk[..., n:, n:] = A.swapaxes(-1, -2)
        E = sla.expm(blk * h0)
        F = E[..., n:, n:].swapaxes(-1, -2)
        Q = F @ E[..., :n, n:]
        Q = 0.5 * (Q + Q.swapaxes(-1, -2))
        for _ in range(k):
            Q = F @ Q @ F.swapaxes(-1, -2) + Q
            Q = 0.5 * (Q + Q.swapaxes(-1, -2))
            F = F @ F
        return F, Q

    def discrete(self, theta: Array, derivatives: bool = True) -> Discrete:
        """(F, Q_d) at θ (P,) and, with ``derivatives``, dF/dθ_j, dQ_d/dθ_j (complex step)."""
        theta = np.asarray(theta, float)
        if not derivatives:
            A, BB = self.drift(theta[None, :])
            F, Q = self._van_loan(A, BB)
            return Discrete(F[0], Q[0])
        batch = np.repeat(theta[None, :].astype(complex), self.P + 1, axis=0)
        batch[1 + np.arange(self.P), np.arange(self.P)] += 1j * STEP
        A, BB = self.drift(batch)
        F, Q = self._van_loan(A, BB)
        return Discrete(F[0].real, Q[0].real, F[1:].imag / STEP, Q[1:].imag / STEP)

    def eigenvalues(self, theta: Array | None = None) -> Array:
        """Eigenvalues of the continuous drift A (1/s)."""
        th = np.zeros(self.P) if theta is None else np.asarray(theta, float)
        A, _ = self.drift(th[None, :])
        return np.linalg.eigvals(A[0])

    # ---- spectra --------------------------------------------------------------------
    def spectra(self, d: Discrete, omega: Array, derivatives: bool = True
                ) -> tuple[Array, Array | None]:
        """S(ω_b) (B, o, o) of the scaled readings and, if asked and ``d`` has them,
        dS/dθ (B, P, o, o)."""
        s = self.s
        z = np.exp(-1j * np.asarray(omega, float))
        G = np.linalg.inv(np.eye(s) - z[:, None, None] * d.F)        # (B, s, s)
        Pb = G[:, self.obs, :]                                          # H G: (B, o, s)
        PbH = np.conj(Pb.swapaxes(-1, -2))                              # (B, s, o)
        W = G @ (d.Q @ PbH)                                             # G Q Gᴴ Hᵀ (B, s, o)
        S = Pb @ d.Q @ PbH
        S[:, np.arange(self.o), np.arange(self.o)] += self.R
        S = 0.5 * (S + np.conj(S.swapaxes(-1, -2)))
        if not derivatives or d.dF is None:
            return S, None
        X = ((Pb * z[:, None, None])[:, None] @ d.dF[None]) @ W[:, None]  # (B, P, o, o)
        dS = X + np.conj(X.swapaxes(-1, -2)) + (Pb[:, None] @ d.dQ[None]) @ PbH[:, None]
        return S, dS

    def whitened(self, d: Discrete, omega: Array) -> tuple[Array, Array, Array]:
        """(S, L, Ã) at the bands: S = L Lᴴ (Cholesky) and the whitened derivatives
        Ã_j = L⁻¹ dS_j L⁻ᴴ (B, P, o, o), Hermitian, so that
        tr(S⁻¹ dS_i S⁻¹ dS_j) = Σ Ã_i ⊙ conj(Ã_j). Built with one GEMM per term:
        Ã_j = z P̃ dF_j W̃ + (…)ᴴ + P̃ dQ_j P̃ᴴ, P̃ = L⁻¹ H G, W̃ = G Q_d Gᴴ Hᵀ L⁻ᴴ."""
        s, o, P = self.s, self.o, self.P
        B = len(omega)
        z = np.exp(-1j * np.asarray(omega, float))
        G = np.linalg.inv(np.eye(s) - z[:, None, None] * d.F)
        Pb = G[:, self.obs, :]
        PbH = np.conj(Pb.swapaxes(-1, -2))
        S = Pb @ d.Q @ PbH
        S[:, np.arange(o), np.arange(o)] += self.R
        S = 0.5 * (S + np.conj(S.swapaxes(-1, -2)))
        L = np.linalg.cholesky(S)
        Li = np.linalg.inv(L)
        Pt = Li @ Pb                                   # (B, o, s)
        PtH = np.conj(Pt.swapaxes(-1, -2))
        Wt = G @ (d.Q @ PtH)                            # (B, s, o)
        dF = d.dF.transpose(1, 0, 2).reshape(s, P * s)  # [i, (p, k)]
        dQ = d.dQ.transpose(1, 0, 2).reshape(s, P * s)
        Pz = (Pt * z[:, None, None]).reshape(B * o, s)
        X = (Pz @ dF).reshape(B, o * P, s) @ Wt         # (B, o·P, o): [b, (k, p), l]
        Y = (Pt.reshape(B * o, s) @ dQ).reshape(B, o * P, s) @ PtH
        X = X.reshape(B, o, P, o).transpose(0, 2, 1, 3)
        Y = Y.reshape(B, o, P, o).transpose(0, 2, 1, 3)
        At = X + np.conj(X.swapaxes(-1, -2)) + Y
        return S, L, At

    def autocovariances(self, d: Discrete, lags: int) -> Array:
        """Γ(τ) = H F^τ Σ Hᵀ (+ R at τ = 0) for τ = 0 … lags − 1, scaled units:
        (lags, o, o). Σ solves Σ = F Σ Fᵀ + Q_d."""
        import scipy.linalg as sla  # lazy: scipy's import pulls in argparse

        Sig = sla.solve_discrete_lyapunov(d.F, d.Q)
        Sig = 0.5 * (Sig + Sig.T)
        out = np.empty((lags, self.o, self.o))
        X = Sig[:, self.obs]
        for t in range(lags):
            out[t] = X[self.obs]
            X = d.F @ X
        out[0][np.arange(self.o), np.arange(self.o)] += self.R
        return out


__all__ = ["BoardModel", "Discrete", "display_names"]
