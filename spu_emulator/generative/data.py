"""Image data: the bundled 8×8 digits, MNIST-format files, the held-out split, and the
map between pixels and the model's units.

Sources (``load_dataset``):

- ``"digits"``: scikit-learn's bundled 8×8 handwritten digits (1797 images, pixels
  0..16, no download; scikit-learn is imported lazily).
- a path to an IDX file (``*-images-idx3-ubyte[.gz]``, labels read from the sibling
  ``*-labels-idx1-ubyte[.gz]`` when present) or an ``.npz`` with ``x_train``/``y_train``
  (and optionally ``x_test``/``y_test``, which are appended), ``images``/``labels`` or
  ``x``/``y`` (28×28 MNIST, or any (n, h, w) stack).

Pixel scaling: a pixel p in the data range [lo, hi] is the target s̃ = 2 (p − lo)/(hi − lo) − 1
in [−1, 1]. Under the noising field a₀ the unit settles at x*(s̃), the root of
2J₂x + 4J₄x³ = a₀ s̃; the readout inverts that map, s̃ = (2J₂x + 4J₄x³)/a₀, and maps back
to pixels (clipped to [lo, hi]), so generated images are in the data's own scale.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingDependencyError

Array = np.ndarray


@dataclass(frozen=True)
class Dataset:
    """Images (n, h, w) as float64 in their own pixel scale, labels (n,) or None."""

    name: str
    images: Array
    labels: Array | None
    lo: float
    hi: float
    digest: str

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.images.shape[1]), int(self.images.shape[2]))

    @property
    def flat(self) -> Array:
        return self.images.reshape(len(self.images), -1)


def _digest(images: Array) -> str:
    return hashlib.sha256(np.ascontiguousarray(images, dtype=np.float64).tobytes()).hexdigest()


def _read_idx(path: Path) -> Array:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise InputError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise InputError(f"{path}: IDX size does not match its header dims {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _from_arrays(name: str, images: Array, labels: Array | None, lo: float | None,
                 hi: float | None) -> Dataset:
    images = np.asarray(images)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise InputError(f"{name}: flat images of {images.shape[1]} pixels are not square")
        images = images.reshape(len(images), side, side)
    if images.ndim != 3 or len(images) < 10:
        raise InputError(f"{name}: expected an (n, h, w) image stack, got shape {images.shape}")
    if labels is not None:
        labels = np.asarray(labels).astype(np.int64).ravel()
        if len(labels) != len(images):
            raise InputError(f"{name}: {len(labels)} labels for {len(images)} images")
    if lo is None or hi is None:
        if images.dtype == np.uint8:
            lo, hi = 0.0, 255.0
        else:
            lo, hi = float(images.min()), float(images.max())
    images = images.astype(np.float64)
    if not np.all(np.isfinite(images)) or hi <= lo:
        raise InputError(f"{name}: images must be finite with a nonzero pixel range")
    return Dataset(name, images, labels, float(lo), float(hi), _digest(images))


def load_dataset(dataset: str) -> Dataset:
    """Load ``"digits"`` or an IDX / npz file (see module docstring)."""
    if dataset == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise MissingDependencyError(
                "the digits dataset needs scikit-learn: pip install scikit-learn"
            ) from None
        d = load_digits()
        return _from_arrays("digits", d.images, d.target, 0.0, 16.0)
    path = Path(dataset)
    if not path.is_file():
        raise InputError(f"{dataset}: not 'digits' and not an existing file", "dataset")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = set(z.files)
                for xk, yk in (("x_train", "y_train"), ("images", "labels"), ("x", "y")):
                    if xk in keys:
                        x = z[xk]
                        y = z[yk] if yk in keys else None
                        if xk == "x_train" and "x_test" in keys:
                            x = np.concatenate([x, z["x_test"]])
                            y = np.concatenate([y, z["y_test"]]) if y is not None and \
                                "y_test" in keys else None
                        return _from_arrays(str(path), x, y, None, None)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read npz ({exc})") from None
        raise InputError(f"{path}: npz has none of the keys x_train, images, x (has {sorted(keys)})")
    images = _read_idx(path)
    labels = None
    lab = path.with_name(path.name.replace("images-idx3", "labels-idx1"))
    if lab != path and lab.is_file():
        labels = _read_idx(lab)
    return _from_arrays(str(path), images, labels, None, None)


def split_indices(n: int, n_heldout: int, seed: int, source: str = "data"
                  ) -> tuple[Array, Array]:
    """Deterministic (train, held-out) index split: a permutation from ``seed``;
    ``source`` (the data set's name or file) heads the error message."""
    if not 0 < n_heldout < n:
        raise InputError(f"{source}: {n} images, so the held-out size ({n_heldout}) must be "
                         f"between 1 and {n - 1}", "n_heldout")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_heldout:]), np.sort(perm[:n_heldout])


def pixels_to_targets(pixels: Array, lo: float, hi: float) -> Array:
    """s̃ = 2 (p − lo)/(hi − lo) − 1 ∈ [−1, 1]."""
    return 2.0 * (np.asarray(pixels, dtype=float) - lo) / (hi - lo) - 1.0


def targets_to_pixels(t: Array, lo: float, hi: float) -> Array:
    """Inverse of :func:`pixels_to_targets`, clipped to [lo, hi]."""
    return np.clip(lo + 0.5 * (np.asarray(t) + 1.0) * (hi - lo), lo, hi)


def settled_position(t: Array, J2: float, J4: float, a0: float) -> Array:
    """x*(s̃): the minimum of J₂x² + J₄x⁴ − a₀ s̃ x, i.e. the real root of
    4J₄x³ + 2J₂x − a₀ s̃ = 0 (Cardano; monotone and odd in s̃)."""
    t = np.asarray(t, dtype=float)
    if J4 == 0:
        return a0 * t / (2 * J2)
    p = 2 * J2 / (4 * J4)
    q = -a0 * t / (4 * J4)
    disc = np.sqrt((q / 2) ** 2 + (p / 3) ** 3)
    return np.cbrt(-q / 2 + disc) + np.cbrt(-q / 2 - disc)


def readout(x: Array, J2: float, J4: float, a0: float, lo: float, hi: float) -> Array:
    """Model units → pixels: s̃ = (2J₂x + 4J₄x³)/a₀, then to [lo, hi] (clipped)."""
    return targets_to_pixels((2 * J2 * x + 4 * J4 * x**3) / a0, lo, hi)
