"""Direct (pathwise) gradient of the classification loss through the noisy dynamics.

With the normals fixed (reparameterization), the Euler–Maruyama run

    y_{k+1} = y_k + h f(y_k) + σ√h ξ_k,   f(y) = −μ (φ′(y) + c + y K),   c = b + F(u),

(φ(y) = J₂y² + J₃y³ + J₄y⁴ per unit) is a differentiable function of θ = (W, K, b).
The loss is the mean softmax cross-entropy of the logits z = β·y_out(t_f) (β the
``logit_scale``; argmax, hence the prediction, does not depend on it). The adjoint
a_k = ∂L/∂y_k runs backwards from a_T = ∂L/∂y_T:

    a_k = a_{k+1} − hμ (a_{k+1} ⊙ φ″(y_k) + a_{k+1} K),

and the parameter gradients collect along the path

    ∂L/∂c = −hμ Σ_k a_{k+1}  (per chain),  ∂L/∂b = Σ_chains ∂L/∂c,  ∂L/∂W = uᵀ ∂L/∂c,
    ∂L/∂K_ij (pair i<j) = G_ij + G_ji with G = −hμ Σ_k y_kᵀ a_{k+1}.

(field inputs: F = −g u on the input units, no W). It is written out in numpy: the
model is one matrix product per step, so the hand adjoint costs one more product per
step, needs no dependency (an autodiff library would add a large one for two lines) and
lets the forward pass stay the project's own stepping loop. Cost: forward and backward
O(T B n_free²) each, memory (T + 1) B n_free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dynamics import path
from .model import ThermoNet

Array = np.ndarray


def softmax_xent(logits: Array, labels: Array) -> tuple[float, Array, Array]:
    """(mean cross-entropy, ∂/∂logits, probabilities) for logits (B, C), labels (B,)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    B = len(labels)
    loss = float(-np.mean(np.log(np.maximum(p[np.arange(B), labels], 1e-300))))
    g = p.copy()
    g[np.arange(B), labels] -= 1.0
    return loss, g / B, p


@dataclass(frozen=True)
class Batch:
    """Loss, accuracy (single shot) and gradient (gW, gK, gb) on one minibatch."""

    loss: float
    accuracy: float
    gW: Array
    gK: Array
    gb: Array


def loss_and_grad(net: ThermoNet, u: Array, labels: Array, rng: np.random.Generator,
                  logit_scale: float = 1.0, M: int = 1) -> Batch:
    """Cross-entropy of β·y_out(t_f) over M trajectories per image (each trajectory one
    sample of the loss) and its exact pathwise gradient for the normals ``rng`` draws."""
    c = net.config
    Y = path(net, u, rng, M)  # (T+1, BM, n)
    lab = np.repeat(np.asarray(labels, dtype=np.int64), M)
    logits = logit_scale * Y[-1][:, c.out_slice]
    loss, gz, p = softmax_xent(logits, lab)
    acc = float(np.mean(np.argmax(logits, axis=1) == lab))
    a = np.zeros_like(Y[-1])
    a[:, c.out_slice] = logit_scale * gz
    hmu = c.dt * c.mu
    K = net.K
    gc = np.zeros_like(a)
    G = np.zeros_like(K)
    for k in range(Y.shape[0] - 2, -1, -1):
        # a holds a_{k+1}
        gc -= hmu * a
        G -= hmu * (Y[k].T @ a)
        a = a - hmu * (a * net.unit_curvature(Y[k]) + a @ K)
    Wm, Km = net.masks
    gK = np.where(Km, G + G.T, 0.0)
    gcu = gc.reshape(len(u), M, -1).sum(axis=1)
    gb = gcu.sum(axis=0)
    gW = np.where(Wm, np.asarray(u, dtype=float).T @ gcu, 0.0) if c.input_mode == "clamp" \
        else np.zeros_like(net.W)
    return Batch(loss, acc, gW, gK, gb)


def loss_only(net: ThermoNet, u: Array, labels: Array, rng: np.random.Generator,
              logit_scale: float = 1.0, M: int = 1) -> float:
    """The loss of :func:`loss_and_grad` without the backward pass."""
    c = net.config
    Y = path(net, u, rng, M)
    lab = np.repeat(np.asarray(labels, dtype=np.int64), M)
    return softmax_xent(logit_scale * Y[-1][:, c.out_slice], lab)[0]


@dataclass
class Adam:
    """Adam on a list of arrays (β₁, β₂, ε as usual); the moments are state to save."""

    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    step_count: int = 0
    m: list | None = None
    v: list | None = None

    def update(self, params: list[Array], grads: list[Array]) -> list[Array]:
        if self.m is None or self.v is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.step_count += 1
        t = self.step_count
        out = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g * g
            mh = self.m[i] / (1 - self.beta1 ** t)
            vh = self.v[i] / (1 - self.beta2 ** t)
            out.append(p - self.lr * mh / (np.sqrt(vh) + self.eps))
        return out


__all__ = ["Adam", "Batch", "loss_and_grad", "loss_only", "softmax_xent"]
