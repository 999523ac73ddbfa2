"""Deterministic-input simulation: the circuit driven by prescribed source waveforms.

Instead of white noise, every noise source of the circuit (or any subset) carries a
prescribed waveform u(t) in its own SI unit (amperes for a current source in
parallel with a resistor or an injected-noise source, volts for the noise source in
series with an inductor's series resistance). The state obeys the ODE

    dx/dt = A x + b + B_u u(t),     B_u[:, j] = B[:, j] / sqrt(q_j),

where B is the SDE's noise matrix and q_j the two-sided intensity of source j
(2 k_B T / R for a resistor: its noise is sqrt(q_j) dW/dt). Between samples the
input is linear (piecewise-linear input, SPICE ``pwl``) or held (zero-order hold).
Both are integrated *exactly*: over a step h with u(t) = u_k + (t − t_k) d_k,

    x_{k+1} = F x_k + Γ₁ (b + B_u u_k) + Γ₂ B_u d_k,
    F = e^{A h},  Γ₁ = ∫₀ʰ e^{A s} ds,  Γ₂ = ∫₀ʰ e^{A s} (h − s) ds,

all read off one matrix exponential of the augmented matrix
[[A, I, 0], [0, 0, I], [0, 0, 0]]·h (computed in the SDE's well-scaled energy
coordinates). Cost: one O(n³) exponential per distinct step, then O(T n (n + p)).
Useful on its own (step responses, injected test signals) and as the oracle that
the waveform check of ``spu validate`` compares ngspice against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

Array = np.ndarray


@dataclass(frozen=True, eq=False)
class DrivenTrajectory:
    """States at the input sample times: ``t`` (T,), ``states`` (T, n) in SI units,
    ``inputs`` (T, p) the waveforms that drove them, ``sources`` their labels."""

    t: Array
    states: Array
    inputs: Array
    state_names: tuple[str, ...]
    n_voltage: int
    sources: tuple[str, ...]
    interpolation: str
    meta: dict = field(default_factory=dict)

    @property
    def voltages(self) -> Array:
        return self.states[:, : self.n_voltage]

    node_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, sde: Any, t: Array, states: Array, inputs: Array, sources, interpolation: str,
           meta: dict) -> DrivenTrajectory:
        """The trajectory of ``sde`` (names taken from it)."""
        return cls(t=t, states=states, inputs=inputs, state_names=tuple(sde.state_names),
                   n_voltage=sde.n_voltage, sources=tuple(sources), interpolation=interpolation,
                   meta=meta, node_names=tuple(sde.node_names))

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.node_names


def source_intensities(circuit: Any) -> Array:
    """Two-sided intensity q_j (A²·s or V²·s) of every noise source of an assembled
    circuit, in ``circuit.noise`` order: 2 k_B T / R for resistors, S / 2 for injected
    noise of one-sided PSD S, 2 k_B T R_s for inductor series resistances (computed once,
    at assembly: :class:`~spu_emulator.circuit.assemble.NoiseSpec`)."""
    return circuit.intensities


def input_matrix(circuit: Any, sde: Any | None = None) -> Array:
    """B_u (n, p): state derivative per unit of each noise source's physical input
    (A or V), B_u = M⁻¹ N diag(q)^(-1/2)."""
    sde = sde if sde is not None else circuit.to_sde()
    q = source_intensities(circuit)
    return sde.B / np.sqrt(q)[None, :]


def _checked_inputs(t, inputs, bu, n: int, min_times: int) -> tuple[Array, Array, Array]:
    """(t, u (T, p), B_u (n, p)) as float arrays, or a one-line InputError: t 1-D,
    strictly increasing, at least ``min_times`` (1 or 2) long; one input row per time;
    B_u of shape (n, p); everything finite."""
    t = np.asarray(t, float)
    u = np.asarray(inputs, float)
    Bu = np.asarray(bu, float)
    if t.ndim != 1 or t.size < min_times:
        raise InputError(
            "driven simulation: t must be a non-empty 1-D array of times" if min_times <= 1
            else "driven simulation: t must be a 1-D array of at least two times"
        )
    if u.ndim == 1:
        u = u[:, None]
    if u.shape[0] != t.size:
        raise InputError(f"driven simulation: inputs have {u.shape[0]} rows for {t.size} times")
    if Bu.ndim != 2 or Bu.shape != (n, u.shape[1]):
        raise InputError(
            f"driven simulation: input matrix must be ({n}, {u.shape[1]}), got {Bu.shape}"
        )
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(u))):
        raise InputError("driven simulation: times and inputs must be finite")
    if np.any(np.diff(t) <= 0):
        raise InputError("driven simulation: times must be strictly increasing")
    return t, u, Bu


def simulate_driven(
    sde: Any,
    t: Array,
    inputs: Array,
    *,
    input_matrix: Array,
    x0: Array | None = None,
    interpolation: str = "linear",
    sources: tuple[str, ...] = (),
) -> DrivenTrajectory:
    """Integrate dx/dt = A x + b + B_u u(t) exactly for sampled inputs.

    ``t`` (T,) strictly increasing sample times (the state is returned at each);
    ``inputs`` (T, p) the input values at those times; ``input_matrix`` B_u (n, p)
    (see :func:`input_matrix`, or :func:`drive_circuit` which builds it);
    ``x0`` the state at t[0] (zeros by default); ``interpolation`` ``"linear"``
    (piecewise-linear between samples, exact for SPICE ``pwl``) or ``"hold"``
    (zero-order hold). Exact for that input whatever the step; steps may vary (one
    matrix exponential per distinct step). Cost O(T n (n + p)).
    """
    t, u, Bu = _checked_inputs(t, inputs, input_matrix, sde.dim, min_times=1)
    n = sde.dim
    dts = np.diff(t)
    if interpolation not in ("linear", "hold"):
        raise InputError(f"interpolation must be 'linear' or 'hold', got {interpolation!r}")

    S = sde.scale
    Sinv = np.linalg.inv(S)
    Ay = Sinv @ sde.A @ S
    By = Sinv @ np.concatenate([sde.b[:, None], Bu], axis=1)  # (n, 1 + p)
    p1 = By.shape[1]

    def matrices(h: float) -> tuple[Array, Array, Array]:
        import scipy.linalg as sla  # lazy: scipy's import pulls in argparse

        aug = np.zeros((n + 2 * p1, n + 2 * p1))
        aug[:n, :n] = Ay
        aug[:n, n : n + p1] = By
        aug[n : n + p1, n + p1 :] = np.eye(p1)
        E = sla.expm(aug * h)
        # x(h) = F x0 + E_xu u0 + E_xd d  with u0 (1+p) the input at the step start
        # and d its slope: the augmented states u, d obey u' = d, d' = 0.
        return E[:n, :n], E[:n, n : n + p1], E[:n, n + p1 :]

    cache: dict[float, tuple[Array, Array, Array]] = {}
    uu = np.concatenate([np.ones((t.size, 1)), u], axis=1)  # constant 1 carries b
    T = t.size
    y = np.zeros((T, n))
    y[0] = Sinv @ (np.zeros(n) if x0 is None else np.asarray(x0, float))
    # Group equal steps (to 1e-9 relative) so a uniform grid costs one exponential.
    keys = np.round(dts / dts.max(), 9) if dts.size else dts
    for k in range(T - 1):
        key = float(keys[k])
        if key not in cache:
            cache[key] = matrices(float(dts[k]))
        F, Gu, Gd = cache[key]
        if interpolation == "linear":
            d = (uu[k + 1] - uu[k]) / dts[k]
            d[0] = 0.0
            y[k + 1] = F @ y[k] + Gu @ uu[k] + Gd @ d
        else:
            y[k + 1] = F @ y[k] + Gu @ uu[k]
    return DrivenTrajectory.of(sde, t, y @ S.T, u, sources, interpolation,
                               {"distinct_steps": len(cache)})


def drive_circuit(
    circuit: Any,
    t: Array,
    inputs: Array | dict[str, Array],
    *,
    x0: Array | None = None,
    interpolation: str = "linear",
) -> DrivenTrajectory:
    """Drive an assembled circuit's noise sources with prescribed waveforms.

    ``inputs``: an array (T, p) in ``circuit.noise_sources`` order, or a dict
    {source label: (T,) waveform} naming some of them (the rest carry 0). Units:
    amperes for current sources (a resistor's noise current flows into its first
    node), volts for an inductor's series-resistance noise. The circuit's DC sources
    act as well. See :func:`simulate_driven`.
    """
    sde = circuit.to_sde()
    labels = tuple(circuit.noise_sources)
    t = np.asarray(t, float)
    if isinstance(inputs, dict):
        unknown = sorted(set(inputs) - set(labels))
        if unknown:
            raise InputError(
                f"unknown source(s) {', '.join(unknown)} (noise sources: {', '.join(labels) or 'none'})"
            )
        u = np.zeros((t.size, len(labels)))
        for j, lab in enumerate(labels):
            if lab in inputs:
                u[:, j] = np.asarray(inputs[lab], float)
    else:
        u = np.asarray(inputs, float)
    return simulate_driven(
        sde,
        t,
        u,
        input_matrix=input_matrix(circuit, sde),
        x0=x0,
        interpolation=interpolation,
        sources=labels,
    )


def simulate_driven_nonlinear(
    sde: Any,
    t: Array,
    inputs: Array,
    *,
    input_matrix: Array,
    x0: Array | None = None,
    rtol: float = 1e-10,
    scale: Array | float | None = None,
    sources: tuple[str, ...] = (),
) -> DrivenTrajectory:
    """Integrate a nonlinear SDE's ODE dq/dt = drift(q, t) + B_u u(t) for sampled inputs.

    The deterministic counterpart of :func:`simulate_driven` for
    :class:`~spu_emulator.sde.nonlinear.NonlinearSDE` (any object with ``drift(q, t)``,
    ``dim`` and ``state_names``): ``inputs`` (T, p) are the input values at ``t`` (T,),
    linear in between (SPICE ``pwl``); the SDE's own time dependence (bias waveforms)
    enters through ``drift``. Each interval [t_k, t_k+1] is one call of scipy's
    ``solve_ivp`` (DOP853, relative tolerance ``rtol``, absolute tolerance
    ``rtol · scale``), so the input's kinks fall on interval ends; bias breakpoints
    inside an interval are integrated through by the step-size control. ``scale`` is
    the typical size of each state (default: the largest |state| reachable in one
    interval, estimated as max|B_u u|·(t_T − t_0) / T, floored at 1e-30). Not exact as
    the linear mode is: its error is set by ``rtol`` (≈ rtol relative, measured in
    the tests). Cost: O(T) solver calls, each a few dozen drift evaluations.
    """
    from scipy.integrate import solve_ivp

    t, u, Bu = _checked_inputs(t, inputs, input_matrix, sde.dim, min_times=2)
    n = sde.dim
    if not 0 < rtol < 1:
        raise InputError(f"driven simulation: rtol must be in (0, 1), got {rtol!r}")
    if scale is None:
        drive = np.abs(u @ Bu.T).max(axis=0) * (t[-1] - t[0]) / t.size
        scale = np.maximum(drive, 1e-30)
    atol = rtol * np.broadcast_to(np.asarray(scale, float), (n,))
    Bu_u = u @ Bu.T  # (T, n): the input's contribution to dq/dt at each sample
    y = np.zeros((t.size, n))
    if x0 is not None:
        y[0] = np.asarray(x0, float)
    evals = 0
    for k in range(t.size - 1):
        ta, tb = float(t[k]), float(t[k + 1])
        fa, slope = Bu_u[k], (Bu_u[k + 1] - Bu_u[k]) / (tb - ta)

        def rhs(tt: float, q: Array, fa=fa, slope=slope, ta=ta) -> Array:
            return sde.drift(q, tt) + fa + slope * (tt - ta)

        sol = solve_ivp(rhs, (ta, tb), y[k], method="DOP853", rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover - DOP853 fails only on non-finite drift
            raise InputError(f"driven simulation failed at t={ta:g}: {sol.message}")
        y[k + 1] = sol.y[:, -1]
        evals += int(sol.nfev)
    return DrivenTrajectory.of(sde, t, y, u, sources, "linear", {
        "method": "DOP853 per interval", "rtol": rtol, "drift_evaluations": evals})
