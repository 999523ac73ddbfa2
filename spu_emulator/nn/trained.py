"""A trained classifier and its model file.

The file is an ``.npz`` (no pickles, format ``spu-nn/1``): the network's config and
parameters, the training settings and seed, the pixel scale (lo, hi) and image shape,
the digest of the training data, the position (epoch, batch), the optimizer's state
(Adam moments, or the genetic algorithm's population) and the per-epoch history. It is
written atomically (:func:`~spu_emulator.io.save_npz`), so a checkpoint is either the
old file or the new one, and the same run gives the same bytes.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import save_npz
from .model import NetConfig, ThermoNet

Array = np.ndarray
FORMAT = "spu-nn/1"
METHODS = ("gradient", "teacher", "ga")


@dataclass(frozen=True)
class TrainSettings:
    """How a classifier is trained (see :mod:`.train`).

    gradient: ``epochs`` passes of Adam (``lr``) over minibatches of ``batch_size``,
    loss = cross-entropy of ``logit_scale``·y_out(t_f), ``weight_decay`` an L2 term;
    teacher: a digital teacher trained ``epochs`` epochs, then one exact solve with
    ``ridge``; ga: ``generations`` generations of ``population`` networks, ``elite``
    kept, Gaussian mutations of relative size ``mutation``, fitness on minibatches of
    ``batch_size`` images."""

    method: str = "gradient"
    epochs: int = 40
    batch_size: int = 64
    lr: float = 0.02
    logit_scale: float = 1.0
    weight_decay: float = 0.0
    init_scale: float = 1.0
    seed: int = 0
    ridge: float = 1e-3
    teacher_trajectories: int = 4
    population: int = 64
    elite: int = 8
    mutation: float = 0.05
    generations: int = 2500
    fitness: str = "xent"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"must be one of {', '.join(METHODS)}, got {self.method!r}",
                             "method")
        if self.fitness not in ("xent", "accuracy"):
            raise InputError(f"must be xent or accuracy, got {self.fitness!r}", "fitness")
        if self.method == "ga" and not 0 < self.elite < self.population:
            raise InputError(f"must be between 1 and population - 1 ({self.population - 1}), "
                             f"got {self.elite}", "elite")

    def replace(self, **kw: Any) -> TrainSettings:
        from dataclasses import replace

        return replace(self, **kw)


@dataclass
class TrainedNet:
    """A classifier plus everything to use, resume and reproduce it."""

    net: ThermoNet
    settings: TrainSettings
    lo: float
    hi: float
    image_shape: tuple[int, ...]
    data_digest: str
    n_train: int
    epoch: int = 0
    batch: int = 0
    complete: bool = False
    opt_step: int = 0
    opt_m: list[Array] | None = None
    opt_v: list[Array] | None = None
    population: Array | None = None  # GA: (P, n_params) flat parameter vectors
    history: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "accuracy": []})
    extra: dict[str, Array] = field(default_factory=dict)  # method-specific arrays
    data_name: str = ""  # "digits" or the training file, for the baselines of ``eval``

    def scale(self, pixels: Array) -> Array:
        return (np.asarray(pixels, dtype=float) - self.lo) / (self.hi - self.lo)

    def resume_key(self) -> dict[str, Any]:
        return {"config": self.net.config.to_dict(), "settings": asdict(self.settings)}

    def save(self, path: str | Path) -> None:
        meta = {
            "format": FORMAT, "config": self.net.config.to_dict(), "settings": asdict(self.settings),
            "lo": self.lo, "hi": self.hi, "image_shape": list(self.image_shape),
            "data_digest": self.data_digest, "n_train": self.n_train, "epoch": self.epoch,
            "batch": self.batch, "complete": self.complete, "opt_step": self.opt_step,
            "history": self.history, "data_name": self.data_name,
        }
        arrays: dict[str, Any] = {"W": self.net.W, "K": self.net.K, "b": self.net.b,
                                  "meta": np.array(json.dumps(meta, sort_keys=True))}
        if self.opt_m is not None and self.opt_v is not None:
            for i, (m, v) in enumerate(zip(self.opt_m, self.opt_v, strict=True)):
                arrays[f"adam_m{i}"] = m
                arrays[f"adam_v{i}"] = v
        if self.population is not None:
            arrays["population"] = self.population
        for k, v in self.extra.items():
            arrays[f"extra_{k}"] = v
        save_npz(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> TrainedNet:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: model file not found", "model")
        try:
            with np.load(path, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: not a model file ({exc})", "model") from None
        try:
            meta = json.loads(str(a["meta"]))
            if meta.get("format") != FORMAT:
                raise KeyError("format")
            known = {f.name for f in fields(TrainSettings)}
            cfg = NetConfig(**meta["config"])
            settings = TrainSettings(**{k: v for k, v in meta["settings"].items() if k in known})
            net = ThermoNet(cfg, a["W"], a["K"], a["b"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: not a {FORMAT} model file (missing {exc})", "model") from None
        n_adam = sum(1 for k in a if k.startswith("adam_m"))
        tm = cls(net, settings, float(meta["lo"]), float(meta["hi"]), tuple(meta["image_shape"]),
                 meta["data_digest"], int(meta["n_train"]), int(meta["epoch"]), int(meta["batch"]),
                 bool(meta["complete"]), int(meta["opt_step"]),
                 [a[f"adam_m{i}"] for i in range(n_adam)] if n_adam else None,
                 [a[f"adam_v{i}"] for i in range(n_adam)] if n_adam else None,
                 a.get("population"), {k: list(map(float, v)) for k, v in meta["history"].items()},
                 {k[6:]: v for k, v in a.items() if k.startswith("extra_")},
                 str(meta.get("data_name", "")))
        return tm


__all__ = ["FORMAT", "METHODS", "TrainSettings", "TrainedNet"]
