"""``spu nn train | predict | eval | export``: thermodynamic neural networks.

Thin wrappers over :mod:`spu_emulator.nn`: each parses, calls the library and writes
its outputs atomically; bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import dumps_json, save_npy
from .options import (
    add_max_memory,
    checkpoint_path,
    nonneg_number,
    out_option,
    positive_int,
    positive_number,
    resume,
    seed,
)
from .progress import BatchProgress


def _data_options(p: argparse.ArgumentParser, part: str) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--data", default=None, metavar="FILE",
                   help="npz with 'images' (N x h x w or N x features) and 'labels' (N ints), "
                   "or an MNIST-format IDX images file with its labels file beside it")
    g.add_argument("--dataset", default=None, choices=("digits",),
                   help=f"scikit-learn's 8x8 digits, the {part} part of the fixed split "
                   "(1437 train / 360 test)")


def _load(args: argparse.Namespace, part: str):
    from ..nn.data import load_labeled

    if args.dataset:
        return load_labeled(args.dataset, part)
    return load_labeled(args.data)



def _check_out(path: str | None, suffix: str) -> None:
    from ..io import check_output

    if path is None:
        return
    if suffix and not path.lower().endswith(suffix):
        raise InputError(f"{path}: this output is written as {suffix}; give a name ending in {suffix}")
    check_output(path)


def cmd_train(args: argparse.Namespace) -> int:
    from ..nn.model import NetConfig
    from ..nn.train import train
    from ..nn.trained import TrainedNet, TrainSettings

    _check_out(args.out, ".npz")
    data = _load(args, "train")
    presets: dict[str, dict[str, Any]] = {
        "digits": {"n_hidden": 128}, "paper": {"kT": 1.0, "J2": 1.0, "J4": 1.0, "dt": 1e-3, "t_final": 0.2},
    }
    cfg_kw: dict[str, Any] = dict(presets[args.preset])
    if args.method == "ga":  # a smaller, coarser-stepped network evolves in minutes
        cfg_kw = {**cfg_kw, "n_hidden": 16, "dt": 0.02} if args.preset == "digits" else cfg_kw
    for k in ("n_hidden", "t_final", "kT", "dt", "J2", "J3", "J4", "input_mode"):
        if getattr(args, k) is not None:
            cfg_kw[k] = getattr(args, k)
    n_out = max(10, int(data.labels.max()) + 1)
    cfg = NetConfig(n_in=data.pixels.shape[1], n_out=n_out, hidden_hidden=args.hidden_hidden,
                    input_output=args.input_output, **cfg_kw)
    st_kw = {k: getattr(args, k) for k in ("method", "seed", "epochs", "lr", "batch_size",
                                           "generations", "population", "elite", "mutation")
             if getattr(args, k) is not None}
    if args.method == "ga" and args.batch_size is None:
        st_kw["batch_size"] = 100
    if args.method == "teacher" and args.epochs is None:
        st_kw["epochs"] = 3  # longer teachers saturate the neuron and the student fits worse
    settings = TrainSettings(**st_kw)
    out = args.out
    ckpt = checkpoint_path(out)
    state = None
    if args.resume:
        state = resume(out, TrainedNet.load)
    fmap = None
    if args.dask_address:
        from ..nn.genetic import dask_fitness_map

        fmap = dask_fitness_map(args.dask_address)
    prog = BatchProgress(args.quiet, every=5.0)
    t0 = time.monotonic()
    try:
        tm = train(cfg, settings, data, state, checkpoint=lambda s: s.save(ckpt),
                   checkpoint_every=args.checkpoint_every, on_batch=prog, log=prog.log,
                   fitness_map=fmap)
    except InputError as exc:
        if exc.param == "state":
            raise exc.with_name("--resume") from None
        raise
    finally:
        prog.close()
    tm.save(out)
    ckpt.unlink(missing_ok=True)
    print(f"wrote {out}: {cfg.n_in}-{cfg.n_hidden}-{cfg.n_out} network ({tm.net.n_params} "
          f"parameters) trained by {settings.method} on {len(data.labels)} images, "
          f"{time.monotonic() - t0:.1f} s this run")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from ..nn.dynamics import check_images, predict
    from ..nn.trained import TrainedNet
    from .progress import TerminalProgress

    _check_out(args.out, ".npy")
    tm = TrainedNet.load(args.model)
    data = _load(args, "test")
    u = check_images(tm.net, tm.scale(data.pixels), data.name)
    pred = predict(tm.net, u, np.random.default_rng(args.seed), args.trajectories, args.method,
                   progress=TerminalProgress("predicting", quiet=args.quiet))
    save_npy(args.out, pred)
    acc = float(np.mean(pred == data.labels))
    print(f"wrote {args.out}: {len(pred)} predicted labels (int64); top-1 accuracy {acc:.4f} "
          f"({args.trajectories} trajectories per image)")
    return 0


def _plots(directory: str, rep: dict[str, Any]) -> list[str]:
    import numpy as np

    from ..io import atomic_path
    from ..plots import pyplot

    plt = pyplot()
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        with atomic_path(d / name) as tmp:
            fig.savefig(tmp, dpi=110)
        plt.close(fig)
        written.append(str(d / name))

    for key, x, mark, xlabel, log in (
            ("vs_time", "t", "t_final", "observation time (model units)", False),
            ("vs_kT", "kT", "kT", "kT (model units)", True)):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        curve = rep[key]
        (ax.semilogx if log else ax.plot)(curve[x], curve["top1"], "o-")
        what = "t_f" if mark == "t_final" else "kT"
        ax.axvline(rep[mark], color="gray", ls="--", label=f"trained {what} = {rep[mark]:g}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("top-1 accuracy (single shot)")
        ax.legend()
        save(fig, "accuracy_vs_time.png" if key == "vs_time" else "accuracy_vs_kT.png")
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(np.asarray(rep["confusion"]), cmap="Blues")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    save(fig, "confusion.png")
    return written


def cmd_eval(args: argparse.Namespace) -> int:
    from ..nn.data import load_labeled
    from ..nn.evaluate import evaluate, format_report
    from ..nn.trained import TrainedNet

    tm = TrainedNet.load(args.model)
    data = _load(args, "test")
    train = None
    if not args.no_baselines:
        src = tm.data_name
        if src == "digits":
            tr = load_labeled("digits", "train")
        elif src and Path(src).is_file():
            tr = load_labeled(src)
        else:
            tr = None
            print(f"note: the training data {src!r} is not available: no baselines",
                  file=sys.stderr)
        if tr is not None:
            train = (tr.pixels, tr.labels)
    rep = evaluate(tm, data.pixels, data.labels, args.seed, args.trajectories,
                   temperature=args.temperature, train=train)
    rep["data"] = data.name
    if args.plot:
        rep["plots"] = _plots(args.plot, rep)
    if args.json:
        sys.stdout.write(dumps_json(rep))
    else:
        print(format_report(rep))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..generative.export import PhysicalScale
    from ..nn.export import simulate_arguments, write_netlist
    from ..nn.trained import TrainedNet

    _check_out(args.out, "")
    tm = TrainedNet.load(args.model)
    pixels = None
    if args.data or args.dataset:
        data = _load(args, "test")
        if not 0 <= args.image < len(data.labels):
            raise InputError(f"--image: {data.name} has {len(data.labels)} images, got {args.image}")
        pixels = data.pixels[args.image]
        if pixels.size != tm.net.config.n_in:
            raise InputError(f"{data.name}: images of {pixels.size} pixels do not match the "
                             f"model's {tm.net.config.n_in} inputs")
    scale = PhysicalScale(args.temperature, args.capacitance, args.time_unit)
    netlist = write_netlist(args.out, tm, pixels, scale, name=Path(args.model).stem, tol=args.tol)
    kinds: dict[str, int] = {}
    for e in netlist.elements:
        kinds[e.TYPE] = kinds.get(e.TYPE, 0) + 1
    sim = simulate_arguments(tm, scale)
    print(f"wrote {args.out}: " + ", ".join(f"{v} {k}" for k, v in kinds.items()) +
          ("" if pixels is None else f"; image {args.image} (label {int(data.labels[args.image])}) "
           "presented by the bias sources"))
    print(f"one inference: spu simulate {args.out} --method euler --dt {sim['dt']:.6g} --duration "
          f"{sim['duration']:.6g} --chains M --out sim.npz; the class is argmax of q(o<k>) at the end")
    return 0


def _limited(cmd: Any) -> Any:
    """``cmd`` with its ``--max-memory`` in force for every check below it."""

    def run(args: argparse.Namespace) -> int:
        from ..resources import memory_limit

        with memory_limit(args.max_memory):
            return cmd(args)

    run.__doc__ = cmd.__doc__
    return run


def register(subparsers: Any) -> None:
    """Add ``nn`` (train, predict, eval, export) to the ``spu`` parser."""
    top = subparsers.add_parser("nn", help="thermodynamic neural networks: classify with noisy "
                                "quartic units read at an observation time")
    sub = top.add_subparsers(dest="nn_command", metavar="NN_COMMAND", parser_class=type(top))
    sub.required = True

    p = sub.add_parser("train", help="train a thermodynamic classifier")
    _data_options(p, "train")
    out_option(p, required=True, help="model file (.npz)")
    p.add_argument("--method", default="gradient", choices=("gradient", "teacher", "ga"),
                   help="direct pathwise gradient, teacher-student path likelihood, or "
                   "genetic algorithm")
    p.add_argument("--preset", default="digits", choices=("digits", "paper"),
                   help="digits: 128 hidden, kT 0.1, t_f 0.5, dt 0.005; paper: kT = J2 = J4 = 1, t_f 0.2, dt 1e-3")
    p.add_argument("--hidden", dest="n_hidden", type=positive_int, default=None,
                   help="hidden units (default 128; 64 in the paper preset; 16 for ga)")
    p.add_argument("--t-final", dest="t_final", type=positive_number, default=None,
                   help="observation time t_f (model units; default: the preset's)")
    p.add_argument("--kT", dest="kT", type=positive_number, default=None,
                   help="bath temperature in model energy units (default: the preset's)")
    p.add_argument("--dt", type=positive_number, default=None,
                   help="Euler-Maruyama step (model units; default: the preset's, 0.02 for ga)")
    p.add_argument("--J2", type=float, default=None, help="quadratic unit coefficient (default 1)")
    p.add_argument("--J3", type=float, default=None, help="cubic unit coefficient (default 0)")
    p.add_argument("--J4", type=positive_number, default=None,
                   help="quartic unit coefficient (default 1)")
    p.add_argument("--input-mode", default=None, choices=("clamp", "field"),
                   help="inputs clamped to the pixels, or free units driven by pixel fields "
                   "(default clamp)")
    p.add_argument("--hidden-hidden", action="store_true", help="also couple hidden units together")
    p.add_argument("--input-output", action="store_true", help="also couple inputs to outputs")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="passes over the data (default 40 for gradient, 3 for the teacher)")
    p.add_argument("--lr", type=positive_number, default=None, help="Adam learning rate (default 0.02)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="minibatch size (default 64; GA fitness batch 100)")
    p.add_argument("--generations", type=positive_int, default=None,
                   help="genetic algorithm generations (default 2500)")
    p.add_argument("--population", type=positive_int, default=None,
                   help="genetic algorithm population (default 64)")
    p.add_argument("--elite", type=positive_int, default=None,
                   help="genetic algorithm: networks kept unchanged each generation (default 8)")
    p.add_argument("--mutation", type=positive_number, default=None,
                   help="genetic algorithm: standard deviation of the Gaussian mutations (default 0.05)")
    p.add_argument("--dask-address", default=None, metavar="ADDRESS",
                   help="evaluate GA fitness on this dask.distributed scheduler (optional)")
    p.add_argument("--seed", type=seed, default=None, help="seed of every random choice (default 0)")
    p.add_argument("--resume", action="store_true", help="continue from OUT's checkpoint")
    p.add_argument("--checkpoint-every", type=nonneg_number, default=60.0, metavar="SECONDS",
                   help="checkpoint period; 0: after every batch (also at every epoch end)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_max_memory(p)
    p.set_defaults(func=_limited(cmd_train))

    p = sub.add_parser("predict", help="predicted labels of images (int array)")
    p.add_argument("model", help="a model file written by 'spu nn train'")
    _data_options(p, "test")
    out_option(p, required=True, help="predicted labels (.npy, int64)")
    p.add_argument("--trajectories", type=positive_int, default=1, metavar="M",
                   help="average the outputs of M trajectories per image (1: single shot)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the noise")
    p.add_argument("--method", default="euler", choices=("euler", "heun"), help="integrator")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_max_memory(p)
    p.set_defaults(func=_limited(cmd_predict))

    p = sub.add_parser("eval", help="accuracy, curves against t and kT, energy, baselines")
    p.add_argument("model", help="a model file written by 'spu nn train'")
    _data_options(p, "test")
    p.add_argument("--trajectories", type=positive_int, default=16, metavar="M",
                   help="trajectories averaged per image")
    p.add_argument("--seed", type=seed, default=0, help="seed of the noise")
    p.add_argument("--temperature", type=positive_number, default=300.0,
                   help="bath temperature (K) for the energy in joules")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plot", default=None, metavar="DIR",
                   help="write accuracy_vs_time.png, accuracy_vs_kT.png, confusion.png here")
    p.add_argument("--no-baselines", action="store_true",
                   help="skip logistic regression and the MLP")
    add_max_memory(p)
    p.set_defaults(func=_limited(cmd_eval))

    p = sub.add_parser("export", help="write the trained network as a spu-netlist/1 circuit")
    p.add_argument("model", help="a model file written by 'spu nn train'")
    out_option(p, required=True, help="netlist (.yaml)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--data", default=None, metavar="FILE", help="present an image of this file "
                   "(npz or IDX) through the bias sources")
    g.add_argument("--dataset", default=None, choices=("digits",),
                   help="present an image of the digits test part")
    p.add_argument("--image", type=int, default=0, help="index of the presented image")
    p.add_argument("--temperature", type=positive_number, default=300.0, help="bath temperature (K)")
    p.add_argument("--capacitance", type=positive_number, default=1e-12,
                   help="C that J2=1 stands for (F)")
    p.add_argument("--time-unit", type=positive_number, default=1e-6,
                   help="seconds per model time unit")
    p.add_argument("--tol", type=nonneg_number, default=0.0, help="drop couplings with |K| <= tol")
    p.set_defaults(func=cmd_export)
