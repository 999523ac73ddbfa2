"""Labelled image data for the classifier.

Sources:

- ``--dataset digits``: scikit-learn's bundled 8×8 digits (1797 images, pixels 0..16),
  split once and for all into 1437 training and 360 test images by the permutation of
  ``numpy.random.default_rng(0)`` (:data:`DIGITS_TEST` test images; the same split
  function as the generative computer's held-out set). Training reads the training part
  only; ``predict`` and ``eval`` read the test part.
- an ``.npz`` with ``images`` (N × h × w or N × features) and ``labels`` (N ints);
- an MNIST-format IDX images file (``*-images-idx3-ubyte[.gz]``) with its sibling
  ``*-labels-idx1-ubyte[.gz]``, read as ``spu train`` reads it.

Pixels map to [0, 1] by u = (p − lo)/(hi − lo): uint8 data have (0, 255), digits
(0, 16), float data in [0, 1] keep it, other data their training min/max. A model
stores its (lo, hi), so test images are read on the training scale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

Array = np.ndarray
DIGITS_TEST = 360
DIGITS_SPLIT_SEED = 0
PARTS = ("train", "test", "all")


@dataclass(frozen=True)
class Labeled:
    """Images as flat pixels (N, n_in) in their own scale, labels (N,) int64."""

    name: str
    pixels: Array
    labels: Array
    shape: tuple[int, ...]
    lo: float
    hi: float

    @property
    def digest(self) -> str:
        h = hashlib.sha256(np.ascontiguousarray(self.pixels, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        return h.hexdigest()

    def scaled(self, lo: float | None = None, hi: float | None = None) -> Array:
        """u = (p − lo)/(hi − lo) with this data's scale, or the given one (a model's)."""
        lo = self.lo if lo is None else lo
        hi = self.hi if hi is None else hi
        return (self.pixels - lo) / (hi - lo)

    def subset(self, idx: Array) -> Labeled:
        return Labeled(self.name, self.pixels[idx], self.labels[idx], self.shape, self.lo, self.hi)


def digits_split() -> tuple[Array, Array]:
    """(train, test) indices of the fixed digits split."""
    from ..generative.data import split_indices

    return split_indices(1797, DIGITS_TEST, DIGITS_SPLIT_SEED, "digits")


def _scale(images: Array) -> tuple[float, float]:
    if images.dtype == np.uint8:
        return 0.0, 255.0
    lo, hi = float(np.min(images)), float(np.max(images))
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return lo, hi if hi > lo else lo + 1.0


def _checked(name: str, images: Array, labels: Array | None, keys: str = "") -> Labeled:
    images = np.asarray(images)
    if labels is None:
        raise InputError(f"{name}: labels: missing{keys}; give an npz with 'images' and "
                         "'labels' (or an IDX file with its labels file beside it)", "data")
    if images.ndim < 2 or len(images) == 0 or not np.issubdtype(images.dtype, np.number):
        raise InputError(f"{name}: images: expected a numeric (N, h, w) or (N, features) "
                         f"array, got shape {images.shape} of {images.dtype}", "data")
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(images):
        raise InputError(f"{name}: labels: {labels.size} entries for {len(images)} images "
                         "(need one label per image)", "data")
    if not np.issubdtype(labels.dtype, np.number) or not np.all(np.isfinite(labels)) \
            or np.any(labels < 0) or np.any(labels != np.round(labels)):
        raise InputError(f"{name}: labels: must be non-negative integers", "data")
    flat = images.reshape(len(images), -1)
    if not np.all(np.isfinite(flat)):
        bad = int(np.argmax(~np.all(np.isfinite(flat), axis=1)))
        raise InputError(f"{name}: images: NaN or infinite pixels (first in image {bad})", "data")
    lo, hi = _scale(images)
    return Labeled(name, flat.astype(np.float64), labels.astype(np.int64),
                   tuple(int(s) for s in images.shape[1:]), lo, hi)


def load_labeled(source: str, part: str = "all") -> Labeled:
    """``"digits"`` (``part`` of the fixed split) or a file (all of it)."""
    if part not in PARTS:
        raise InputError(f"must be one of {', '.join(PARTS)}, got {part!r}", "part")
    if source == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        lab = Labeled("digits", d.images.reshape(len(d.images), -1).astype(np.float64),
                      d.target.astype(np.int64), (8, 8), 0.0, 16.0)
        if part == "all":
            return lab
        tr, te = digits_split()
        return lab.subset(tr if part == "train" else te)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source}: data file not found", "data")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                if "images" not in keys:
                    raise InputError(f"{path}: images: missing (the file has "
                                     f"{', '.join(sorted(keys)) or 'no arrays'})", "data")
                images = z["images"]
                labels = z["labels"] if "labels" in keys else None
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read npz ({exc})", "data") from None
        return _checked(str(path), images, labels,
                        f" (the file has {', '.join(sorted(keys))})")
    from ..generative.data import _read_idx

    images = _read_idx(path)
    lab_path = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    labels = _read_idx(lab_path) if lab_path != path and lab_path.is_file() else None
    return _checked(str(path), images, labels, f" (no {lab_path.name} beside it)")


__all__ = ["DIGITS_SPLIT_SEED", "DIGITS_TEST", "Labeled", "digits_split", "load_labeled"]
