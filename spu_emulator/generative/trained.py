"""A trained generative computer and its model file: :class:`TrainedModel` (the
quartic network plus everything needed to use, resume and reproduce it) and
:class:`History` (the per-epoch log).

The model file is an ``.npz`` archive (no pickles, format ``spu-generative/1``): θ, the
masks, the hidden drive, the data scale and split, the running and current-epoch loss
statistics, the position (epoch, batch) and the history; it is written atomically, so a
checkpoint is either the old or the new one. Training (:mod:`.train`) produces it,
generation (:mod:`.generate`), export and scoring read it.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import save_npz
from . import data as gdata
from .config import Config
from .model import QuarticModel
from .noising import Stats, generation_ramp_points

Array = np.ndarray
FORMAT = "spu-generative/1"


@dataclass
class History:
    """Per-epoch log: loss (mean −ln P̃ per unit and step, constant dropped; a perfect
    reverse model of pure noise gives 0.5) of that epoch's trajectories before and after
    its update, mean heat per generated sample (kT), and the wall time. The wall times
    are logged, not saved: a model file is the same bytes for the same seed and data."""

    loss_before: list[float] = field(default_factory=list)
    loss_after: list[float] = field(default_factory=list)
    heat_kT: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def arrays(self) -> dict[str, Array]:
        return {f"hist_{k}": np.asarray(v, dtype=float) for k, v in vars(self).items()
                if k != "seconds"}

    @classmethod
    def from_arrays(cls, z: dict[str, Array]) -> History:
        return cls(*(list(map(float, z.get(f"hist_{k}", ()))) for k in
                     ("loss_before", "loss_after", "heat_kT", "seconds")))


@dataclass
class TrainedModel:
    """A generative computer plus everything needed to use and reproduce it: the
    config, the hidden-drive projection, the data scale and shape, the deterministic
    train/held-out split, the training state (statistics, position) and history."""

    config: Config
    model: QuarticModel
    projection: Array  # (n_hidden, n_visible)
    image_shape: tuple[int, int]
    lo: float
    hi: float
    dataset_digest: str
    train_idx: Array
    heldout_idx: Array
    stats: Stats
    epoch_stats: Stats
    epoch: int = 0  # epochs completed
    batch: int = 0  # batches completed in the current epoch
    history: History = field(default_factory=History)
    complete: bool = False
    ramp_bias: Array | None = None  # b′ (N,) of the time-dependent biases b + b′φ(t)
    projection_offset: Array | None = None  # c (n_hidden,): hidden targets clip(P s̃ + c)

    def __post_init__(self) -> None:
        if self.ramp_bias is None:
            self.ramp_bias = np.zeros(self.model.n_units)
        if self.projection_offset is None:
            self.projection_offset = np.zeros(self.model.n_hidden)

    def bias_columns(self) -> Array:
        """b (N,), or [b | b′] (N, 2) with a time-dependent bias (the solver's layout)."""
        if self.config.n_time_features == 0:
            return self.model.b
        return np.stack([self.model.b, self.ramp_bias], axis=1)

    def set_params(self, J: Array, b: Array) -> None:
        """Set θ from the solver's layout (see :meth:`bias_columns`)."""
        b = np.asarray(b)
        if b.ndim == 1:
            self.model = self.model.with_params(J, b)
        else:
            self.model = self.model.with_params(J, b[:, 0])
            self.ramp_bias = np.where(self.model.bias_mask, b[:, 1], 0.0)

    def netlist_ramp(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~.export.write_netlist` for the time-dependent
        biases (empty for a time-independent model)."""
        if self.config.n_time_features == 0:
            return {}
        return {"ramp_bias": self.ramp_bias,
                "ramp": generation_ramp_points(self.config.time_bias, self.config.protocol,
                                               self.config.ramp_stretch)}

    @property
    def n_visible(self) -> int:
        return self.model.n_visible

    def targets(self, pixels: Array) -> Array:
        """Noising targets (B, N) for flat images (B, n_visible) in pixel scale."""
        s = gdata.pixels_to_targets(pixels, self.lo, self.hi)
        if self.config.hidden_drive == "pixel":
            h = s[:, np.arange(self.model.n_hidden) % self.n_visible]
        else:
            h = np.clip(s @ self.projection.T + self.projection_offset, -1.0, 1.0)
        return np.concatenate([s, h], axis=1)

    def to_pixels(self, xv: Array) -> Array:
        """Visible states (B, n_visible) → images (B, h, w) in the data's pixel scale."""
        c = self.config
        if c.readout == "cubic":
            p = gdata.readout(xv, c.J2, c.J4, c.a0, self.lo, self.hi)
        else:
            x1 = float(gdata.settled_position(1.0, c.J2, c.J4, c.a0))
            p = gdata.targets_to_pixels(xv / x1, self.lo, self.hi)
        return p.reshape(len(xv), *self.image_shape)

    # ---- persistence -------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write atomically to ``path`` (npz, no pickles)."""
        meta = {
            "format": FORMAT, "config": self.config.to_dict(), "image_shape": list(self.image_shape),
            "lo": self.lo, "hi": self.hi, "dataset_digest": self.dataset_digest,
            "epoch": self.epoch, "batch": self.batch, "complete": self.complete,
            "n_traj": self.stats.n_traj, "epoch_n_traj": self.epoch_stats.n_traj,
            "n_steps": self.stats.n_steps,
        }
        save_npz(
            path, meta=np.array(json.dumps(meta)), J=self.model.J, b=self.model.b,
            coupling_mask=self.model.coupling_mask, bias_mask=self.model.bias_mask,
            projection=self.projection, train_idx=self.train_idx, heldout_idx=self.heldout_idx,
            stats_S=np.array(self.stats.S), stats_D=self.stats.D, stats_C=self.stats.C,
            epoch_S=np.array(self.epoch_stats.S), epoch_D=self.epoch_stats.D,
            epoch_C=self.epoch_stats.C, ramp_bias=self.ramp_bias,
            projection_offset=self.projection_offset, **self.history.arrays(),
        )

    @classmethod
    def load(cls, path: str | Path) -> TrainedModel:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{p}: model file not found")
        try:
            zf = np.load(p, allow_pickle=False)
            if not isinstance(zf, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an npz archive")
            with zf:
                z = {k: zf[k] for k in zf.files}
            meta = json.loads(str(z["meta"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
                json.JSONDecodeError) as exc:
            reason = " ".join(str(exc).split())[:120]
            raise InputError(f"{p}: not a generative model file, or a damaged one ({reason})") from None
        if meta.get("format") != FORMAT:
            raise InputError(f"{p}: format {meta.get('format')!r}, expected {FORMAT}")
        cfg = Config.from_dict(meta["config"])
        nv = int(np.prod(meta["image_shape"]))
        model = QuarticModel(nv, cfg.n_hidden, cfg.J2, cfg.J4, cfg.kT, cfg.mu, z["J"], z["b"],
                             z["coupling_mask"], z["bias_mask"])
        T = int(meta["n_steps"])
        return cls(
            cfg, model, z["projection"], tuple(meta["image_shape"]), float(meta["lo"]),
            float(meta["hi"]), meta["dataset_digest"], z["train_idx"], z["heldout_idx"],
            Stats(float(z["stats_S"]), z["stats_D"], z["stats_C"], int(meta["n_traj"]), T),
            Stats(float(z["epoch_S"]), z["epoch_D"], z["epoch_C"], int(meta["epoch_n_traj"]), T),
            int(meta["epoch"]), int(meta["batch"]), History.from_arrays(z), bool(meta["complete"]),
            z.get("ramp_bias"), z.get("projection_offset"),
        )


__all__ = ["FORMAT", "History", "TrainedModel"]
