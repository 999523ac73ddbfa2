"""Training/generation settings as one value object, and the named presets.

``PRESETS["paper"]`` reproduces Whitelam's settings (arXiv 2506.15121, as his released
code runs them): J₂ = J₄ = 1, kT = 0.1, μ = 1, Δt = 1e-3, t_f = 2.5, 512 hidden units
(784 visible for 28×28 MNIST; the visible count follows the data), hidden unit k driven
by pixel k, hidden biases only, parameters from zero, plain gradient descent with step
Δt/t_f, one trajectory per update, three training images, generation for t_f.

``PRESETS["digits"]`` is the default for the bundled 8×8 digits, chosen by measurement
(docs/generative.md): lower bath temperature (the single-snapshot readout noise at
kT = 0.1 alone caps precision near 0.6 even for a perfect reverse process): kT = 0.05,
Δt = 0.01; 512 hidden units with the "sparse" drive (each pinned to a saturated,
thresholded random feature of the image that is on for 35% of the training images);
visible biases, hidden–hidden couplings, every training image noised once per epoch,
exact least-squares solve of the accumulated normal equations after every epoch,
coupled generation for 14 (5.6 t_f) with the visible units averaged over the last 1.5
(an integrating readout; chosen by score, docs/generative.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .noising import TIME_BIAS, Protocol


@dataclass(frozen=True)
class Config:
    """Everything that defines a training run (and how its model generates).

    Physics: ``J2``, ``J4``, ``kT``, ``mu``; protocol: ``dt``, ``t_f``, ``a0``,
    ``ramp_fraction``, ``t_settle``; model: ``n_hidden``, ``hidden_hidden``,
    ``visible_bias``, ``hidden_drive`` ("sparse": s̃_h = clip(g (u − θ)/σ, −1, 1) with u
    the projection of the centred image on a random direction, θ its (1 − ``hidden_active``)
    quantile over the training images and σ its spread, so that each hidden unit is on
    for a fraction ``hidden_active`` of the images (train.sparse_drive); "projection":
    s̃_h = clip(g P s̃_v, −1, 1) with P Gaussian/sqrt(n_v); g = ``projection_gain``;
    "pixel": s̃_h = s̃_v[h mod n_v]);
    optimizer: "lstsq" (exact solve of the normal equations accumulated over all
    trajectories so far, ridge ``ridge``) or "gd" (gradient step ``lr`` per batch);
    data: ``dataset``, ``n_heldout``, ``split_seed``, ``max_images`` (0 = all);
    schedule: ``epochs`` × ``trajectories_per_image`` noising trajectories per image in
    batches of ``batch_size``; generation: ``gen_time`` (coupled time, default t_f),
    ``readout_window`` (time-average of the visible units over the last window; 0 =
    snapshot), ``readout`` ("linear": pixel ∝ x/x*(1), or "cubic": exact inverse of the
    settled map); ``heat_samples`` chains per epoch for the heat log; time-dependent
    biases: ``time_bias`` ("none", or the ramp φ of b + b′φ(t): "linear" φ = t/t_f or
    "field" φ = 1 − a(t)/a₀, see noising.ramp_points) and ``ramp_stretch`` (generation
    runs the reversed ramp this many times slower than noising).
    """

    preset: str = "digits"
    dataset: str = "digits"
    n_hidden: int = 512
    hidden_hidden: bool = True
    visible_bias: bool = True
    hidden_drive: str = "sparse"
    hidden_active: float = 0.35
    projection_gain: float = 2.0
    J2: float = 1.0
    J4: float = 1.0
    kT: float = 0.05
    mu: float = 1.0
    dt: float = 0.01
    t_f: float = 2.5
    a0: float = 2.0
    ramp_fraction: float = 0.75
    t_settle: float | None = None
    optimizer: str = "lstsq"
    ridge: float = 1e-4
    lr: float = 0.0
    epochs: int = 3
    trajectories_per_image: int = 1
    batch_size: int = 256
    seed: int = 0
    split_seed: int = 0
    n_heldout: int = 500
    max_images: int = 0
    gen_time: float | None = 14.0
    readout_window: float = 1.5
    readout: str = "linear"
    heat_samples: int = 64
    time_bias: str = "none"
    ramp_stretch: float = 1.0

    def __post_init__(self) -> None:
        checks = [
            ("n_hidden", self.n_hidden >= 0, ">= 0"),
            *((k, getattr(self, k) > 0, "> 0") for k in ("kT", "mu", "dt", "t_f")),
            ("J4", self.J4 >= 0, ">= 0"),
            ("epochs", self.epochs >= 1, ">= 1"),
            ("batch_size", self.batch_size >= 1, ">= 1"),
            ("trajectories_per_image", self.trajectories_per_image >= 1, ">= 1"),
            ("optimizer", self.optimizer in ("lstsq", "gd"), "lstsq or gd"),
            ("hidden_drive", self.hidden_drive in ("sparse", "projection", "pixel"),
             "sparse, projection or pixel"),
            ("hidden_active", 0 < self.hidden_active < 1, "in (0, 1)"),
            ("readout", self.readout in ("linear", "cubic"), "linear or cubic"),
            ("time_bias", self.time_bias in TIME_BIAS, f"one of {', '.join(TIME_BIAS)}"),
            ("readout_window", self.readout_window >= 0, ">= 0"),
            ("ramp_fraction", 0 < self.ramp_fraction <= 1, "in (0, 1]"),
            ("ridge", self.ridge >= 0, ">= 0"),
            ("ramp_stretch", self.ramp_stretch > 0, "> 0"),
            ("gen_time", self.gen_time is None or self.gen_time > 0, "> 0 (or None: t_f)"),
        ]
        for name, ok, want in checks:
            if not ok:
                raise InputError(f"training config: must be {want}, got {getattr(self, name)!r}", name)

    @property
    def protocol(self) -> Protocol:
        return Protocol(self.dt, self.t_f, self.a0, self.ramp_fraction, self.t_settle)

    @property
    def n_time_features(self) -> int:
        return 0 if self.time_bias == "none" else 1

    @property
    def generation_time(self) -> float:
        return self.t_f if self.gen_time is None else self.gen_time

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputError(f"model file: unknown config keys {sorted(unknown)}")
        return cls(**d)

    def resume_key(self) -> dict[str, Any]:
        """Fields that must match to resume a run (everything but the epoch count)."""
        d = self.to_dict()
        d.pop("epochs")
        return d


PRESETS: dict[str, Config] = {
    "digits": Config(),
    "paper": Config(
        preset="paper", n_hidden=512, hidden_hidden=True, visible_bias=False,
        hidden_drive="pixel", kT=0.1, dt=1e-3, t_f=2.5, optimizer="gd", lr=1e-3 / 2.5,
        ridge=0.0, epochs=33, batch_size=1, max_images=3, gen_time=None,
        readout_window=0.0, readout="linear", heat_samples=16,
    ),
}
