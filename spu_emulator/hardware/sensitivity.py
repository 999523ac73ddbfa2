"""Exact sensitivities of a board's stationary state to every component value.

The nominal board satisfies M dx = −K x dt + N dW with Q = N Nᵀ, and its stationary
covariance Σ the generalized Lyapunov equation K Σ M + M Σ Kᵀ = Q. Differentiating
with respect to ln p (a relative change of one component value p):

    K dΣ M + M dΣ Kᵀ = dQ − (dK Σ M + M Σ dKᵀ) − (K Σ dM + dM Σ Kᵀ).

Every parameter enters: C through M (and nothing else), L through M (with the
k √(L_a L_b) mutual terms), R through K (G = 1/R, Kron-reduced) *and* Q (the noise
2 k_B T / R), R_s of an inductor through K and Q (2 k_B T R_s), k through M, an
injected noise level through Q. In energy coordinates y = Rᵀx (M = R Rᵀ, A_y =
−R⁻¹ K R⁻ᵀ) this is one standard Lyapunov equation per parameter,

    A_y dΣ_y + dΣ_y A_yᵀ + [dQ_y − dK_y Σ_y − Σ_y dK_yᵀ + A_y Σ_y dM_y + dM_y Σ_y A_yᵀ] = 0,

with dX_y = R⁻¹ dX R⁻ᵀ, all sharing one real Schur factorization of A_y
(:class:`~spu_emulator.hardware.lyapunov.SchurLyapunov`); dΣ = R⁻ᵀ dΣ_y R⁻¹. The matrix
derivatives dM, dK, dQ come from the board builder itself
(:meth:`~spu_emulator.hardware.family.BoardFamily.matrices`) by the complex step:
it is complex analytic in the values, so Im X(p (1 + i h)) / h with h = 10⁻³⁰ is
∂X/∂ln p to rounding (no difference is taken, so nothing cancels). Mode derivatives
are first-order eigenvalue perturbation, dλ = wᴴ dA_y v / (wᴴ v) with
dA_y = −dK_y − dM_y A_y.

First-order spread. With δ_j = ln(p_j/p₀ⱼ) of covariance C (σ_j² on the diagonal, plus
σ_lot,i σ_lot,j for two values of one class) and mean μ_j = α_j ΔT (temperature
coefficients), a smooth metric m has Var m ≈ gᵀ C g (g = ∂m/∂ln p; without lot
factors Σ_p g_p² σ_p²) and mean shift gᵀ μ. A *deviation* metric (zero on the nominal
board and a norm of the change, e.g. ``inverse_error``) is ≈ ‖Σ_j δ_j D_j‖ / ‖Σ*‖ to
first order, so its rms is √(tr(G (C + μμᵀ))) / ‖Σ*‖ with G_ij = ⟨D_i, D_j⟩_F; its
"derivative" is the one-sided ‖D_j‖ / ‖Σ*‖, the error a +1 relative change of p_j
alone causes per unit.

Cost: O(s³) once, then O(s³) per parameter (the builder's complex step, four products,
one triangular Sylvester solve), in chunks of parameters to bound memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..netlist.schema import Netlist
from .family import BoardFamily, Population
from .spec import METRICS

Array = np.ndarray

#: Complex-step size in ln p.
STEP = 1e-30
#: Working memory a chunk of parameters may take (bytes).
CHUNK_BYTES = 64e6


@dataclass(frozen=True, eq=False)
class MetricSensitivity:
    """∂m/∂ln p of one metric and what each component contributes to its spread.

    ``derivative`` (P,); ``contribution`` (P,) the spread each value's own tolerance
    causes (|g_j| σ_j, or ‖D_j‖ σ_j / ‖Σ*‖ for a deviation metric); ``lot`` the spread
    of each class's common lot factor; ``first_order`` the predicted std (smooth) or rms
    (deviation) over boards; ``mean_shift`` the first-order shift the temperature
    coefficients cause (smooth metrics)."""

    name: str
    nominal: float
    deviation: bool
    derivative: Array
    contribution: Array
    lot: dict[str, float]
    first_order: float
    mean_shift: float = 0.0

    def ranked(self, parameters: tuple[str, ...], limit: int | None = None) -> list[tuple[str, float]]:
        """(parameter or ``lot:<class>``, contribution), largest first."""
        rows = [(p, float(c)) for p, c in zip(parameters, self.contribution, strict=True)]
        rows += [(f"lot:{k}", v) for k, v in self.lot.items() if v > 0]
        rows.sort(key=lambda r: -r[1])
        return rows[:limit] if limit else rows

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": METRICS[self.name].unit, "nominal": self.nominal,
                "kind": "deviation" if self.deviation else "smooth",
                "derivative": self.derivative, "contribution": self.contribution,
                "lot_contribution": self.lot,
                "first_order_rms" if self.deviation else "first_order_std": self.first_order,
                **({} if self.deviation else {"first_order_mean_shift": self.mean_shift})}


@dataclass(frozen=True, eq=False)
class SensitivityResult(Population):
    """Derivatives of one board's stationary state with respect to every component
    value, per relative change (d/d ln p). Shapes: P parameters, n nodes, k modes, d
    user variables (programmed designs)."""

    values: Array
    std: Array
    lot: Array
    drift: Array
    relative_covariance: Array
    nodes: tuple[str, ...]
    voltage_covariance: Array  # (n, n)
    d_voltage_covariance: Array  # (P, n, n)
    mode_frequency: Array  # (k,)
    mode_q: Array  # (k,)
    d_log_frequency: Array  # (P, k)
    d_log_q: Array  # (P, k)
    relaxation_time: float
    d_relaxation_time: Array  # (P,)
    variables: tuple[str, ...] | None = None
    realized_covariance: Array | None = None
    target_covariance: Array | None = None
    d_realized_covariance: Array | None = None  # (P, d, d)
    wall_time: float = 0.0

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(k for k, m in METRICS.items() if self.variables is not None or not m.programmed)

    def _groups(self) -> dict[str, Array]:
        """Parameter indices of each class that has a lot factor."""
        cls = np.array(self.classes)
        return {c: np.flatnonzero((cls == c) & (self.lot > 0)) for c in dict.fromkeys(self.classes)
                if np.any(self.lot[cls == c] > 0)}

    def _lot_terms(self, X: Array) -> dict[str, Array]:
        """Σ_{j ∈ class} σ_lot,j X_j for each class with a lot factor (X: (P, ...))."""
        return {c: np.tensordot(self.lot[j], X[j], axes=1) for c, j in self._groups().items()}

    def _variance(self, X: Array) -> Array:
        """First-order Σ_ij C_ij X_i X_j over the leading axis, from C's structure (σ_j² on
        the diagonal, a rank-one block per lot class): O(P · size), no P × P matrix."""
        var = np.tensordot(self.std**2, X * X, axes=1)
        for v in self._lot_terms(X).values():
            var = var + v * v
        return var

    def first_order_covariance_std(self) -> Array:
        """(n, n) first-order std of every voltage-covariance entry over boards, V²."""
        return np.sqrt(np.maximum(self._variance(self.d_voltage_covariance), 0))

    def _spread(self, g: Array) -> tuple[Array, dict[str, float], float, float]:
        lot = {c: abs(float(v)) for c, v in self._lot_terms(g).items()}
        sd = float(np.sqrt(max(float(self._variance(g)), 0.0)))
        return np.abs(g) * self.std, lot, sd, float(g @ (self.drift - 1))

    def _deviation(self, name: str, D: Array, ref: Array, e0: Array) -> MetricSensitivity:
        """A Frobenius deviation metric ‖X − X*‖ / ‖X*‖ with X's derivatives D (P, ·, ·)."""
        nref = float(np.linalg.norm(ref))
        m0 = float(np.linalg.norm(e0)) / nref
        flat = D.reshape(D.shape[0], -1) / nref
        if m0 > 1e-9:  # not at its minimum: an ordinary smooth metric
            g = flat @ e0.ravel() / (m0 * nref)
            c, lot, sd, shift = self._spread(g)
            return MetricSensitivity(name, m0, False, g, c, lot, sd, shift)
        # E‖Σ_j δ_j D_j‖² = Σ_ij (C + μμᵀ)_ij ⟨D_i, D_j⟩
        shift = np.tensordot(self.drift - 1, flat, axes=1)
        ms = float(np.sum(self._variance(flat))) + float(shift @ shift)
        norms = np.sqrt(np.sum(flat * flat, axis=1))
        lot = {c: float(np.linalg.norm(v)) for c, v in self._lot_terms(flat).items()}
        return MetricSensitivity(name, m0, True, norms, norms * self.std, lot,
                                 float(np.sqrt(max(ms, 0.0))))

    def metric(self, name: str) -> MetricSensitivity:
        """The sensitivity of metric ``name`` (:data:`~spu_emulator.hardware.spec.METRICS`)."""
        if name not in METRICS:
            raise InputError(f"unknown metric {name!r} (known: {', '.join(self.metric_names)})",
                             "metric")
        if name not in self.metric_names:
            raise InputError(f"metric {name!r} needs a programmed design (a netlist with a "
                             "'program:' section, made by `spu program`)", "metric")
        V, D = self.voltage_covariance, self.d_voltage_covariance
        dg = np.diag(V)
        if name == "covariance_error":
            return self._deviation(name, D, V, np.zeros_like(V))
        if name in ("inverse_error", "matrix_error"):
            S0, Ss, Du = self.realized_covariance, self.target_covariance, self.d_realized_covariance
            if name == "inverse_error":
                return self._deviation(name, Du, Ss, S0 - Ss)
            P0, Ps = np.linalg.inv(S0), np.linalg.inv(Ss)
            return self._deviation(name, -(P0 @ Du @ P0), Ps, P0 - Ps)
        if name == "max_variance_shift":
            g = np.max(np.abs(np.diagonal(D, axis1=1, axis2=2) / dg), axis=1)
            return MetricSensitivity(name, 0.0, True, g, g * self.std, {}, float("nan"))
        if name == "max_frequency_shift":
            g = np.max(np.abs(self.d_log_frequency), axis=1, initial=0.0)
            return MetricSensitivity(name, 0.0, True, g, g * self.std, {}, float("nan"))
        if name == "max_voltage_std":
            i = int(np.argmax(dg))
            m0 = float(np.sqrt(dg[i]))
            g = D[:, i, i] / (2 * m0)
        elif name == "min_q":
            k = int(np.argmin(self.mode_q))
            m0 = float(self.mode_q[k])
            g = m0 * self.d_log_q[:, k]
        else:  # relaxation_time
            m0, g = self.relaxation_time, self.d_relaxation_time
        c, lot, sd, shift = self._spread(g)
        return MetricSensitivity(name, m0, False, g, c, lot, sd, shift)

    def summary(self, metric: str | None = None) -> dict[str, Any]:
        """Plain data (the JSON report)."""
        out: dict[str, Any] = {
            "netlist": self.name, "digest": self.digest,
            "parameters": list(self.parameters), "classes": list(self.classes),
            "values": self.values, "relative_std": self.std, "lot": self.lot,
            "nodes": list(self.nodes), "voltage_covariance": self.voltage_covariance,
            "d_voltage_covariance": self.d_voltage_covariance,
            "voltage_covariance_first_order_std": self.first_order_covariance_std(),
            "mode_frequency": self.mode_frequency, "mode_q": self.mode_q,
            "d_log_mode_frequency": self.d_log_frequency, "d_log_mode_q": self.d_log_q,
            "wall_time": self.wall_time,
        }
        if self.variables is not None:
            out["variables"] = list(self.variables)
            out["realized_covariance"] = self.realized_covariance
            out["d_realized_covariance"] = self.d_realized_covariance
            out["d_inverse_error"] = self.metric("inverse_error").derivative
        if metric is not None:
            out["metric"] = self.metric(metric).to_dict()
        return out


def _matrix_derivatives(fam: BoardFamily, js: Array) -> tuple[Array, Array, Array]:
    """(dM, dK, dQ) / d ln p_j for parameters ``js``, each (len(js), s, s): complex step."""
    V = np.tile(fam.nominal.astype(complex), (js.size, 1))
    V[np.arange(js.size), js] *= 1 + 1j * STEP
    return tuple(X.imag / STEP for X in fam.matrices(V))  # type: ignore[return-value]


def sensitivity(source: Any, *, target: Array | None = None, chunk: int | None = None) -> SensitivityResult:
    """Derivatives of the nominal board's stationary covariance (and modes, and for a
    programmed design its user-variable covariance) with respect to the log of every
    component value (module docstring). ``source``: a linear
    :class:`~spu_emulator.netlist.schema.Netlist` or a programmed
    :class:`~spu_emulator.hardware.design.Design`; ``target``: as in
    :func:`~spu_emulator.hardware.montecarlo.monte_carlo`. Tolerances are optional
    (without them every spread is zero)."""
    import scipy.linalg as sla  # lazy: scipy's import pulls in argparse

    from .lyapunov import SchurLyapunov
    from .montecarlo import _hurwitz, check_nominal, target_covariance

    t0 = time.perf_counter()
    design = None if isinstance(source, Netlist) else source
    netlist = source if design is None else design.netlist
    fam = BoardFamily(netlist)
    s, n, P = fam.dim, fam.n, len(fam.parameters)
    M, K, Q = (X[0] for X in fam.matrices(fam.nominal[None]))
    R = np.linalg.cholesky(M)
    Ri = sla.solve_triangular(R, np.eye(s), lower=True)
    Ay = -(Ri @ K @ Ri.T)
    Qy = Ri @ Q @ Ri.T
    lyap = SchurLyapunov(Ay)
    Sy = lyap.solve(0.5 * (Qy + Qy.T))
    Sx = Ri.T @ Sy @ Ri
    lam, wl, vr = sla.eig(Ay, left=True, right=True)
    check_nominal(netlist, 0 if _hurwitz(lam[None])[0] else 4)
    order = np.argsort(np.abs(lam), kind="stable")
    keep = order[lam[order].imag >= 0]
    lk, wk, vk = lam[keep], wl[:, keep], vr[:, keep]
    norm = np.sum(wk.conj() * vk, axis=0)
    slow = int(np.argmax(lam.real))
    T = None if design is None else design.program.readout_matrix(fam.state_names)

    dV = np.empty((P, n, n))
    dU = None if T is None else np.empty((P, T.shape[0], T.shape[0]))
    dlam = np.empty((P, keep.size), complex)
    dslow = np.empty(P, complex)
    if chunk is None:
        chunk = int(max(1, min(P, CHUNK_BYTES // (8.0 * 16 * s * s + 1))))
    for j0 in range(0, P, chunk):
        js = np.arange(j0, min(P, j0 + chunk))
        dM, dK, dQ = _matrix_derivatives(fam, js)
        dMy, dKy, dQy = (Ri @ X @ Ri.T for X in (dM, dK, dQ))
        SdK = Sy @ dKy.swapaxes(-1, -2)
        AS = Ay @ Sy
        rhs = dQy - SdK.swapaxes(-1, -2) - SdK + AS @ dMy + (AS @ dMy).swapaxes(-1, -2)
        dSy = lyap.solve(rhs)
        dSx = Ri.T @ dSy @ Ri
        dV[js] = dSx[:, :n, :n]
        if T is not None:
            dU[js] = T @ dSx @ T.T
        dA = -dKy - dMy @ Ay
        dlam[js] = np.sum(wk.conj() * (dA @ vk), axis=1) / norm
        dslow[js] = (dA @ vr[:, slow]) @ wl[:, slow].conj() / (wl[:, slow].conj() @ vr[:, slow])
    mag = np.abs(lk)
    dlogf = (np.conj(lk) * dlam).real / mag**2
    dlogq = dlogf - dlam.real / lk.real
    tau = float(-1.0 / lam[slow].real)
    Sx0 = None if T is None else 0.5 * (T @ Sx @ T.T + (T @ Sx @ T.T).T)
    Sstar = None
    if T is not None:
        Sstar = Sx0 if target is None else target_covariance(design.program, target)
    return SensitivityResult(
        name=netlist.name, digest=netlist.digest, parameters=fam.names, classes=fam.classes,
        values=fam.nominal.copy(), std=fam.std, lot=fam.lot.copy(), drift=fam.drift.copy(),
        relative_covariance=fam.relative_covariance(), nodes=fam.nodes,
        voltage_covariance=0.5 * (Sx[:n, :n] + Sx[:n, :n].T), d_voltage_covariance=dV,
        mode_frequency=mag / (2 * np.pi), mode_q=mag / (2 * np.abs(lk.real)),
        d_log_frequency=dlogf, d_log_q=dlogq, relaxation_time=tau,
        d_relaxation_time=tau * tau * dslow.real,
        variables=None if design is None else tuple(v.name for v in design.program.variables),
        realized_covariance=Sx0, target_covariance=Sstar, d_realized_covariance=dU,
        wall_time=time.perf_counter() - t0,
    )


__all__ = ["MetricSensitivity", "SensitivityResult", "sensitivity"]
