"""The thermodynamic classifier: quartic units coupled in layers, read at t_f.

Free units y (hidden, outputs; and the inputs themselves when they are applied as
fields) follow overdamped Langevin dynamics in the potential

    V(y; u) = Σ_i (J₂ y_i² + J₃ y_i³ + J₄ y_i⁴) + Σ_i (b_i + F_i(u)) y_i + ½ yᵀ K y,
    dy = −μ ∂V/∂y dt + sqrt(2 μ kT) dW,   y(0) = y₀ (the stated initial state),

for an image u (pixels mapped to [0, 1]). ``K`` is symmetric with a zero diagonal and
nonzero only on the allowed pairs (``coupling_mask``: hidden–output, optionally
hidden–hidden and, for field inputs, input–hidden and input–output). The inputs enter
either

- clamped (``input_mode="clamp"``): input unit i is held at u_i, so its couplings
  W_ij u_i y_j act on the free units as the field F(u) = u W (W is (n_in, n_free),
  nonzero on input–hidden and optionally input–output pairs); or
- as fields (``input_mode="field"``): input unit i is a free unit of its own with the
  bias field F_i = −g·u_i (g = ``field_gain``), coupled to the others through K.

The class is argmax of the outputs at t_f (one trajectory, or the mean of M). Energies
are in model units, the bath has ``kT``; time in model units (μ = 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputError

Array = np.ndarray
INPUT_MODES = ("clamp", "field")


@dataclass(frozen=True)
class NetConfig:
    """Architecture and physics of a thermodynamic classifier (model units)."""

    n_in: int
    n_hidden: int = 64
    n_out: int = 10
    J2: float = 1.0
    J3: float = 0.0
    J4: float = 1.0
    kT: float = 0.1
    mu: float = 1.0
    dt: float = 0.005
    t_final: float = 0.5
    input_mode: str = "clamp"
    hidden_hidden: bool = False
    input_output: bool = False
    field_gain: float = 1.0
    x0: float = 0.0  # initial state of every free unit

    def __post_init__(self) -> None:
        for name in ("n_in", "n_hidden", "n_out"):
            if int(getattr(self, name)) < (0 if name == "n_hidden" else 1):
                raise InputError(f"must be a positive count, got {getattr(self, name)!r}", name)
        for name in ("kT", "mu", "dt", "t_final", "J4"):
            v = getattr(self, name)
            if name == "J4" and v == 0 and self.J2 > 0 and self.J3 == 0:
                continue
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"must be positive, got {v!r}", name)
        if self.input_mode not in INPUT_MODES:
            raise InputError(f"must be one of {', '.join(INPUT_MODES)}, got {self.input_mode!r}",
                             "input_mode")
        if self.t_final < self.dt:
            raise InputError(f"must be at least one step (dt = {self.dt:g}), got {self.t_final!r}",
                             "t_final")

    def replace(self, **kw: Any) -> NetConfig:
        return replace(self, **kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def n_steps(self) -> int:
        """Euler steps to t_f."""
        return max(1, int(round(self.t_final / self.dt)))

    @property
    def n_field_inputs(self) -> int:
        """Input units that are free units (field mode) or 0 (clamped)."""
        return self.n_in if self.input_mode == "field" else 0

    @property
    def n_free(self) -> int:
        return self.n_field_inputs + self.n_hidden + self.n_out

    @property
    def hidden_slice(self) -> slice:
        a = self.n_field_inputs
        return slice(a, a + self.n_hidden)

    @property
    def out_slice(self) -> slice:
        a = self.n_field_inputs + self.n_hidden
        return slice(a, a + self.n_out)

    @property
    def sigma(self) -> float:
        """Noise amplitude sqrt(2 μ kT)."""
        return float(np.sqrt(2.0 * self.mu * self.kT))


def masks(cfg: NetConfig) -> tuple[Array, Array]:
    """(W mask (n_in, n_free), K mask (n_free, n_free) symmetric, zero diagonal)."""
    nf = cfg.n_free
    Wm = np.zeros((cfg.n_in, nf), dtype=bool)
    Km = np.zeros((nf, nf), dtype=bool)
    hs, os_ = cfg.hidden_slice, cfg.out_slice
    first = hs if cfg.n_hidden else os_
    if cfg.input_mode == "clamp":
        Wm[:, first] = True
        if cfg.input_output:
            Wm[:, os_] = True
    else:
        ins = slice(0, cfg.n_in)
        Km[ins, first] = True
        if cfg.input_output:
            Km[ins, os_] = True
    if cfg.n_hidden:
        Km[hs, os_] = True
        if cfg.hidden_hidden:
            Km[hs, hs] = True
    Km = Km | Km.T
    np.fill_diagonal(Km, False)
    return Wm, Km


@dataclass(frozen=True, eq=False)
class ThermoNet:
    """A classifier: its :class:`NetConfig` and parameters W (n_in, n_free),
    K (n_free, n_free) symmetric with zero diagonal, b (n_free,), zero outside the
    masks (biases of field inputs are trainable too)."""

    config: NetConfig
    W: Array = field(default=None, repr=False)  # type: ignore[assignment]
    K: Array = field(default=None, repr=False)  # type: ignore[assignment]
    b: Array = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        c = self.config
        Wm, Km = masks(c)
        W = np.zeros(Wm.shape) if self.W is None else np.asarray(self.W, dtype=float)
        K = np.zeros(Km.shape) if self.K is None else np.asarray(self.K, dtype=float)
        b = np.zeros(c.n_free) if self.b is None else np.asarray(self.b, dtype=float)
        if W.shape != Wm.shape or K.shape != Km.shape or b.shape != (c.n_free,):
            raise InputError(f"parameter shapes {W.shape}, {K.shape}, {b.shape} do not match the "
                             f"network ({c.n_in} inputs, {c.n_free} free units)", "model")
        K = 0.5 * (K + K.T)
        object.__setattr__(self, "W", np.where(Wm, W, 0.0))
        object.__setattr__(self, "K", np.where(Km, K, 0.0))
        object.__setattr__(self, "b", b)

    @property
    def masks(self) -> tuple[Array, Array]:
        return masks(self.config)

    @property
    def n_params(self) -> int:
        Wm, Km = self.masks
        return int(Wm.sum() + np.triu(Km, 1).sum() + self.config.n_free)

    def with_params(self, W: Array, K: Array, b: Array) -> ThermoNet:
        return ThermoNet(self.config, W, K, b)

    def params(self) -> tuple[Array, Array, Array]:
        return self.W, self.K, self.b

    def fields(self, u: Array) -> Array:
        """Constant part of ∂V/∂y for images u (B, n_in): b + F(u) → (B, n_free)."""
        c = self.config
        u = np.asarray(u, dtype=float)
        if c.input_mode == "clamp":
            return u @ self.W + self.b
        F = np.tile(self.b, (len(u), 1))
        F[:, : c.n_in] -= c.field_gain * u
        return F

    def unit_force(self, y: Array) -> Array:
        """∂/∂y of Σ (J₂y² + J₃y³ + J₄y⁴), elementwise."""
        c = self.config
        y2 = y * y
        out = 2.0 * c.J2 * y + 4.0 * c.J4 * y2 * y
        if c.J3:
            out = out + 3.0 * c.J3 * y2
        return out

    def unit_curvature(self, y: Array) -> Array:
        c = self.config
        out = 2.0 * c.J2 + 12.0 * c.J4 * y * y
        if c.J3:
            out = out + 6.0 * c.J3 * y
        return out

    def energy(self, y: Array, fields: Array) -> Array:
        """V(y; u) for states y (..., n_free) with ``fields`` = :meth:`fields` broadcast."""
        c = self.config
        y2 = y * y
        units = (c.J2 * y2 + c.J3 * y2 * y + c.J4 * y2 * y2).sum(axis=-1)
        return units + (fields * y).sum(axis=-1) + 0.5 * ((y @ self.K) * y).sum(axis=-1)

    def drift_from_fields(self, fields: Array):
        """f(y, t) = −μ (unit forces + fields + y K) for chains whose constant fields are
        ``fields`` (B, n_free). Cost O(B n_free²) per call."""
        mu, K = self.config.mu, self.K.copy()
        Fc = np.array(fields, dtype=float, copy=True)

        def f(y: Array, t: float = 0.0) -> Array:
            return -mu * (self.unit_force(y) + Fc + y @ K)

        return f


def init_params(cfg: NetConfig, rng: np.random.Generator, scale: float = 1.0
                ) -> tuple[Array, Array, Array]:
    """Random initial (W, K, b): entries N(0, scale²/fan-in) on the masks, b = 0."""
    from ..resources import Budget

    # W and K, their masks, gradients, Adam moments and a checkpoint copy: ~8 of each
    need = 8.0 * 8 * (cfg.n_in * cfg.n_free + cfg.n_free**2)
    Budget().check_memory(need, f"a {cfg.n_in}-{cfg.n_hidden}-{cfg.n_out} network",
                          "use fewer `n_hidden` units")
    Wm, Km = masks(cfg)
    W = rng.standard_normal(Wm.shape) * scale / np.sqrt(max(cfg.n_in, 1))
    fan = max(cfg.n_hidden, 1)
    K = rng.standard_normal(Km.shape) * scale / np.sqrt(fan)
    K = np.triu(K, 1)
    K = K + K.T
    return np.where(Wm, W, 0.0), np.where(Km, K, 0.0), np.zeros(cfg.n_free)


__all__ = ["INPUT_MODES", "NetConfig", "ThermoNet", "init_params", "masks"]
