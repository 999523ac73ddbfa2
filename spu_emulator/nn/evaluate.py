"""Accuracy, observation-time and temperature curves, energy per inference, and the
digital baselines of a trained classifier.

- top-1 / top-2 accuracy single shot (one trajectory per image) and averaged (argmax of
  the mean output over M trajectories), each with its binomial standard error
  sqrt(p(1 − p)/n); the single-shot confusion matrix;
- accuracy against the observation time t (read at t instead of the trained t_f, the
  same runs continued to 3 t_f) and against the bath temperature (kT × factors);
- heat per inference (:func:`heat_per_inference`) in kT and joules;
- logistic regression and a one-hidden-layer MLP (scikit-learn, fixed seeds) trained
  on the same training images, scored on the same test images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..units import K_B
from .dynamics import check_images, outputs_at
from .model import ThermoNet
from .trained import TrainedNet

Array = np.ndarray
TIME_FACTORS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
KT_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def topk(outputs: Array, labels: Array, k: int) -> Array:
    """Whether each label is among the k largest outputs (B, C) → (B,) bool."""
    part = np.argsort(-outputs, axis=1, kind="stable")[:, :k]
    return np.any(part == labels[:, None], axis=1)


def acc(hits: Array) -> dict[str, float]:
    p = float(np.mean(hits))
    return {"accuracy": p, "stderr": float(np.sqrt(p * (1 - p) / max(len(hits), 1)))}


def heat_per_inference(net: ThermoNet, u: Array, y_final: Array) -> dict[str, Array]:
    """Heat released to the bath per inference (model units), from the free units'
    states at t_f, y_final (B, M, n_free), having started at y₀ with the couplings and
    fields switched on:

    - ``run``: Q = V(y₀; u) − V(y(t_f); u) (no work is done during the run);
    - ``cycle``: the run, then switching couplings and fields off at y(t_f) (work
      V_units(y) − V(y)) and relaxing back: the total heat of the cycle is minus the
      coupling and field energy at t_f (for y₀ = 0).
    """
    c = net.config
    F = net.fields(u)[:, None, :]
    V = net.energy(y_final, F)
    y0 = np.full(c.n_free, float(c.x0))
    V0 = net.energy(y0[None, None, :], F)
    y2 = y_final * y_final
    units = (c.J2 * y2 + c.J3 * y2 * y_final + c.J4 * y2 * y2).sum(axis=-1)
    y02 = y0 * y0
    units0 = float((c.J2 * y02 + c.J3 * y02 * y0 + c.J4 * y02 * y02).sum())
    return {"run": V0 - V, "cycle": (V0 - units0) - (V - units)}


def baselines(train_u: Array, train_y: Array, test_u: Array, test_y: Array, hidden: int
              ) -> dict[str, Any]:
    """Logistic regression and an MLP (one hidden layer of ``hidden`` ReLU units) from
    scikit-learn, fixed seeds, on the same split."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = LogisticRegression(max_iter=2000).fit(train_u, train_y)
        mlp = MLPClassifier(hidden_layer_sizes=(max(hidden, 1),), max_iter=1000,
                            random_state=0).fit(train_u, train_y)
    for name, m, params in (
        ("logistic_regression", lr, lr.coef_.size + lr.intercept_.size),
        ("mlp", mlp, sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_)),
    ):
        proba = m.predict_proba(test_u)
        cls = m.classes_
        full = np.zeros((len(test_u), int(max(cls.max(), test_y.max())) + 1))
        full[:, cls] = proba
        out[name] = {"top1": acc(topk(full, test_y, 1)), "top2": acc(topk(full, test_y, 2)),
                     "params": int(params)}
    return out


def evaluate(tm: TrainedNet, pixels: Array, labels: Array, seed: int = 0, M: int = 16,
             time_factors: tuple[float, ...] = TIME_FACTORS,
             kT_factors: tuple[float, ...] = KT_FACTORS, temperature: float = 300.0,
             energy_per_op: float = 1e-12, train: tuple[Array, Array] | None = None,
             progress=None) -> dict[str, Any]:
    """The full report (a JSON-able dict). Randomness: the single-shot and averaged runs
    from ``seed`` (streams (seed, 0) and (seed, 1)), the temperature runs from
    (seed, 2, i). Cost: (1 + M) B trajectories to 3 t_f plus B per temperature."""
    net = tm.net
    c = net.config
    u = check_images(net, tm.scale(pixels))
    labels = np.asarray(labels, dtype=np.int64)
    T = c.n_steps
    steps = sorted({max(1, int(round(f * T))) for f in time_factors} | {T})
    # single shot: one trajectory per image, read at every observation time
    single = outputs_at(net, u, np.random.default_rng([seed, 0]), 1, steps)[:, :, 0]
    full = outputs_at(net, u, np.random.default_rng([seed, 1]), M, [T], all_units=True)[0]
    avg = full[:, :, c.out_slice].mean(axis=1)
    iT = steps.index(T)
    s1 = single[iT]
    pred = np.argmax(s1, axis=1)
    n_cls = max(c.n_out, int(labels.max()) + 1)
    conf = np.zeros((n_cls, n_cls), dtype=np.int64)
    np.add.at(conf, (labels, pred), 1)
    rep: dict[str, Any] = {
        "images": len(labels), "trajectories": M, "seed": seed, "t_final": c.t_final,
        "kT": c.kT, "method": tm.settings.method,
        "single_shot": {"top1": acc(topk(s1, labels, 1)), "top2": acc(topk(s1, labels, 2))},
        "averaged": {"top1": acc(topk(avg, labels, 1)), "top2": acc(topk(avg, labels, 2))},
        "confusion": conf.tolist(),
        "vs_time": {"t": [s * c.dt for s in steps],
                    "top1": [float(np.mean(topk(single[i], labels, 1))) for i in range(len(steps))]},
    }
    kts, accs = [], []
    for i, f in enumerate(kT_factors):
        n2 = ThermoNet(c.replace(kT=c.kT * f), net.W, net.K, net.b)
        o = outputs_at(n2, u, np.random.default_rng([seed, 2, i]), 1)[0][:, 0]
        kts.append(c.kT * f)
        accs.append(float(np.mean(topk(o, labels, 1))))
    rep["vs_kT"] = {"kT": kts, "top1": accs}
    heat = heat_per_inference(net, u, full)
    run_kT = heat["run"] / c.kT
    cyc_kT = heat["cycle"] / c.kT
    kTJ = K_B * temperature
    rep["energy"] = {
        "heat_run_kT": float(run_kT.mean()), "heat_run_kT_sem": float(run_kT.std() / np.sqrt(run_kT.size)),
        "heat_cycle_kT": float(cyc_kT.mean()),
        "heat_run_J": float(run_kT.mean() * kTJ), "heat_cycle_J": float(cyc_kT.mean() * kTJ),
        "temperature_K": temperature,
        "assumptions": [
            "one inference = one trajectory from y0 with couplings and input fields switched on at t = 0",
            "heat_run = V(y0) - V(y(t_f)): heat to the bath during the run (no work done in it)",
            "heat_cycle = run + switching couplings/fields off at t_f + relaxing back: minus the "
            "coupling and field energy at t_f",
            f"model energies in units of the bath's kT (model kT = {c.kT:g}); joules at "
            f"{temperature:g} K (1 kT = {kTJ:.4g} J)",
            "excluded: clamping the inputs, control, readout, static power",
        ],
    }
    if train is not None:
        tr_u = tm.scale(train[0])
        base = baselines(tr_u, np.asarray(train[1]), u, labels, c.n_hidden)
        for b in base.values():
            b["energy_J"] = 2.0 * b["params"] * energy_per_op
        rep["baselines"] = base
        rep["energy"]["digital_energy_per_op_J"] = energy_per_op
        rep["energy"]["assumptions"].append(
            f"digital: 2 ops per weight per inference at {energy_per_op:g} J/op")
    return rep


def format_report(rep: dict[str, Any]) -> str:
    def a(d):
        return f"{d['accuracy']:.4f} ± {d['stderr']:.4f}"

    lines = [f"{rep['images']} images, model trained by {rep['method']}, t_f = {rep['t_final']:g}, "
             f"kT = {rep['kT']:g}",
             f"single shot: top-1 {a(rep['single_shot']['top1'])}, top-2 {a(rep['single_shot']['top2'])}",
             f"averaged over {rep['trajectories']}: top-1 {a(rep['averaged']['top1'])}, "
             f"top-2 {a(rep['averaged']['top2'])}"]
    for name, b in rep.get("baselines", {}).items():
        lines.append(f"{name} ({b['params']} weights): top-1 {a(b['top1'])}, top-2 {a(b['top2'])}")
    vt = rep["vs_time"]
    lines.append("top-1 vs observation time: " + ", ".join(
        f"{t:.3g}:{x:.3f}" for t, x in zip(vt["t"], vt["top1"], strict=True)))
    vk = rep["vs_kT"]
    lines.append("top-1 vs kT: " + ", ".join(f"{t:.3g}:{x:.3f}" for t, x in zip(vk["kT"], vk["top1"], strict=True)))
    e = rep["energy"]
    lines.append(f"heat per inference: run {e['heat_run_kT']:.4g} kT = {e['heat_run_J']:.3g} J, "
                 f"cycle {e['heat_cycle_kT']:.4g} kT = {e['heat_cycle_J']:.3g} J")
    if "baselines" in rep:
        lines.append(f"digital MLP: {rep['baselines']['mlp']['energy_J']:.3g} J per inference")
    lines.append("assumptions:")
    lines += [f"  - {x}" for x in e["assumptions"]]
    lines.append("confusion (rows true, columns predicted):")
    lines += ["  " + " ".join(f"{v:4d}" for v in row) for row in rep["confusion"]]
    return "\n".join(lines)


__all__ = ["baselines", "evaluate", "format_report", "heat_per_inference", "topk"]
