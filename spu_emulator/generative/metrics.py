"""Quality of generated images, against a held-out split training never saw.

All distances are Euclidean in pixel space (the data's own scale), so the numbers
mean the same for every model and need no learned feature extractor.

- Improved precision / recall (Kynkäänniemi et al., NeurIPS 2019) with k nearest
  neighbours: the real manifold is the union of balls around each held-out image with
  radius its distance to its k-th nearest held-out neighbour; precision is the fraction
  of generated samples inside it. Recall swaps the roles (balls around generated
  samples, fraction of held-out images inside). O(n m d) time.
- Class coverage: a logistic-regression digit classifier trained on the *training*
  split (scikit-learn, imported lazily) labels the generated samples that are on the
  real manifold (inside a precision ball) and confidently classified (p ≥ 0.8); a class
  is covered when at least max(2, 1% of the on-manifold samples) fall in it. Confidence
  alone is not counted: classifiers are confidently wrong on noise.
- Fréchet distance in a fixed PCA space (the top 20 components of the training split):
  ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½).
- Memorization: distance of each sample to its nearest training image, beside the
  same for held-out real images; the fraction of samples closer to a training image
  than the 1st percentile of the held-out distances flags copies.

Every number is also computed for the real held-out images (with the training split
as the "generated" set for precision/recall, same size) and for pure noise (uniform
pixels in the data range), so a reader can calibrate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from ..errors import InputError, MissingDependencyError

Array = np.ndarray


def _pairwise(a: Array, b: Array) -> Array:
    """Euclidean distances (n, m) via ‖a‖² + ‖b‖² − 2ab (clipped at 0)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def knn_radii(x: Array, k: int) -> Array:
    """Distance of each row of x to its k-th nearest other row."""
    if len(x) <= k:
        raise InputError(f"need more than k={k} samples, got {len(x)}")
    d = _pairwise(x, x)
    np.fill_diagonal(d, np.inf)
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def inside_manifold(ref: Array, radii: Array, query: Array) -> Array:
    """Boolean (len(query),): is each query inside some ball (ref_j, radii_j)?"""
    return (_pairwise(query, ref) <= radii[None, :]).any(axis=1)


def precision_recall(real: Array, fake: Array, k: int = 3) -> tuple[float, float, Array]:
    """Improved precision and recall; also the on-manifold mask of ``fake``."""
    on = inside_manifold(real, knn_radii(real, k), fake)
    recall = inside_manifold(fake, knn_radii(fake, k), real).mean()
    return float(on.mean()), float(recall), on


def frechet_distance(a: Array, b: Array) -> float:
    """Fréchet distance between Gaussians fitted to rows of a and b."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2.0 * covmean))


@dataclass
class Reference:
    """The real data a score is computed against: flat images of the training and
    held-out splits (+ labels), the pixel range, and the fitted PCA basis and
    classifier."""

    train: Array
    heldout: Array
    train_labels: Array | None
    lo: float
    hi: float
    shape: tuple[int, int]
    n_pca: int = 20

    def __post_init__(self) -> None:
        self.mean = self.train.mean(0)
        _, _, vt = np.linalg.svd(self.train - self.mean, full_matrices=False)
        self.basis = vt[: self.n_pca].T
        self.classifier = None
        if self.train_labels is not None:
            try:
                from sklearn.linear_model import LogisticRegression
            except ImportError:
                raise MissingDependencyError(
                    "class coverage needs scikit-learn: pip install scikit-learn"
                ) from None
            scale = self.hi - self.lo
            self.classifier = LogisticRegression(max_iter=3000, C=1.0).fit(
                (self.train - self.lo) / scale, self.train_labels)
        nn = _pairwise(self.heldout, self.train).min(1)
        self.heldout_nn = nn

    def pca(self, x: Array) -> Array:
        return (x - self.mean) @ self.basis


def score(samples: Array, ref: Reference, k: int = 3) -> dict[str, Any]:
    """Score a set of images (n, h, w) or (n, d) against the held-out split of ``ref``
    (see module docstring). Cost O(n (n_heldout + n_train) d)."""
    x = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    if x.shape[1] != ref.heldout.shape[1]:
        raise InputError(
            f"samples have {x.shape[1]} pixels per image, the reference data "
            f"{ref.heldout.shape[1]} ({ref.shape[0]}x{ref.shape[1]})")
    real = ref.heldout
    prec, rec, on = precision_recall(real, x, k)
    out: dict[str, Any] = {"n": len(x), "k": k, "precision": prec, "recall": rec}
    out["frechet_pca"] = frechet_distance(ref.pca(x), ref.pca(real))
    if ref.classifier is not None:
        proba = ref.classifier.predict_proba((x - ref.lo) / (ref.hi - ref.lo))
        lab = proba.argmax(1)
        conf = proba.max(1) >= 0.8
        counts = np.bincount(lab[on & conf], minlength=10)
        n_on = int(on.sum())
        threshold = max(2, int(np.ceil(0.01 * n_on)))
        out["on_manifold"] = n_on
        out["class_counts_on_manifold"] = counts.tolist()
        out["classes_covered"] = int((counts >= threshold).sum())
        out["coverage_threshold"] = threshold
        out["confident_fraction"] = float(conf.mean())
    nn = _pairwise(x, ref.train).min(1)
    out["nn_train_median"] = float(np.median(nn))
    out["nn_train_heldout_median"] = float(np.median(ref.heldout_nn))
    out["copy_fraction"] = float((nn < np.percentile(ref.heldout_nn, 1)).mean())
    return out


def full_report(samples: Array, ref: Reference, k: int = 3, seed: int = 0) -> dict[str, Any]:
    """Scores of the samples, of real held-out data and of uniform noise, side by side.

    The real row scores an equal-size subset of the training split against the
    held-out split (two independent real samples); the noise row scores uniform pixels."""
    x = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    rng = np.random.default_rng(seed)
    n = len(x)
    m = min(n, len(ref.train))
    real = ref.train[rng.choice(len(ref.train), m, replace=False)]
    noise = rng.uniform(ref.lo, ref.hi, size=(n, x.shape[1]))
    return {"samples": score(x, ref, k), "real": score(real, ref, k),
            "noise": score(noise, ref, k)}


def format_report(rep: dict[str, Any]) -> str:
    """A small text table of :func:`full_report`."""
    rows = [("precision", "{:.3f}"), ("recall", "{:.3f}"), ("classes_covered", "{}"),
            ("on_manifold", "{}"), ("frechet_pca", "{:.2f}"), ("nn_train_median", "{:.2f}"),
            ("copy_fraction", "{:.3f}")]
    head = f"{'metric':<18}{'samples':>10}{'real':>10}{'noise':>10}"
    lines = [head, "-" * len(head)]
    for key, fmt in rows:
        vals = [rep[c].get(key) for c in ("samples", "real", "noise")]
        lines.append(f"{key:<18}" + "".join(
            f"{(fmt.format(v) if v is not None else '-'):>10}" for v in vals))
    s = rep["samples"]
    lines.append(f"k = {s['k']}, n = {s['n']}; held-out NN-to-train median "
                 f"{s['nn_train_heldout_median']:.2f}")
    if "class_counts_on_manifold" in s:
        lines.append(f"on-manifold confident class counts (0-9): {s['class_counts_on_manifold']}"
                     f" (covered = count >= {s['coverage_threshold']})")
    return "\n".join(lines)
