"""``spu train | generate | score | export``: thin CLI wrappers over the library.

Each handler parses, calls library functions and writes its outputs atomically. Bad
input raises :class:`~spu_emulator.errors.SPUError` subclasses, which the main CLI turns
into one line on stderr and exit status 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: --help and --version need none
    import numpy as np

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import dumps_json, save_npy, write_json
from ..resources import Budget
from .options import (
    add_budget_options,
    checkpoint_path,
    nonneg_number,
    out_option,
    positive_int,
    positive_number,
    resume,
    seed,
)
from .progress import BatchProgress


def cmd_train(args: argparse.Namespace) -> int:
    from ..generative.config import PRESETS
    from ..generative.data import load_dataset
    from ..generative.train import train
    from ..generative.trained import TrainedModel

    if args.preset not in PRESETS:
        raise InputError(f"--preset: unknown preset {args.preset!r} (have {', '.join(PRESETS)})")
    cfg = PRESETS[args.preset].replace(dataset=args.dataset)
    # the flags' dests are the Config fields they set (errors name them)
    changes = {k: getattr(args, k) for k in ("n_hidden", "epochs", "seed", "time_bias",
                                             "hidden_drive", "hidden_active", "n_heldout")
               if getattr(args, k) is not None}
    cfg = cfg.replace(**changes)
    out = args.out
    _check_outputs((out, ".npz"))
    ckpt = checkpoint_path(out)
    state = None
    if args.resume:
        state = resume(out, TrainedModel.load)
    dataset = load_dataset(cfg.dataset)
    prog = BatchProgress(args.quiet)
    t0 = time.monotonic()
    try:
        tm = train(cfg, dataset, state, checkpoint=lambda s: s.save(ckpt),
                   checkpoint_every=args.checkpoint_every, on_batch=prog, log=prog.log,
                   budget=Budget(args.max_memory, args.max_chain_steps))
    except InputError as exc:
        if exc.param == "state":  # the checkpoint --resume read
            raise exc.with_name("--resume") from None
        raise
    finally:
        prog.close()
    tm.save(out)
    ckpt.unlink(missing_ok=True)
    n_steps = cfg.protocol.n_steps + cfg.protocol.n_settle
    print(f"wrote {out}: {tm.model.n_visible}+{tm.model.n_hidden} units, {tm.model.n_params} "
          f"parameters, {tm.stats.n_traj} trajectories x {n_steps} steps, "
          f"{time.monotonic() - t0:.1f} s this run")
    return 0


def _png_grid(path: str, images: np.ndarray, lo: float, hi: float) -> None:
    """The first 100 images as a grid (each image at least 48 px a side: an 8×8 digit
    is drawn 6× larger), gray on white with a 1-pixel gap."""
    import numpy as np

    from ..io import atomic_path
    from ..plots import pyplot

    plt = pyplot()
    imgs = images[:100]
    n = int(np.ceil(np.sqrt(len(imgs))))
    h, w = imgs.shape[1:]
    grid = np.full((n * (h + 1) + 1, n * (w + 1) + 1), lo, dtype=float)
    for i, im in enumerate(imgs):
        r, c = divmod(i, n)
        grid[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = im
    scale = max(1, -(-48 // min(h, w)))
    with atomic_path(path) as tmp:
        plt.imsave(tmp, np.kron(grid, np.ones((scale, scale))), cmap="gray_r", vmin=lo, vmax=hi)


def _check_outputs(*paths: tuple[str | None, str]) -> None:
    """Every output path (with its required suffix) checked before any work."""
    from ..io import check_output

    for path, suffix in paths:
        if path is None:
            continue
        if suffix and not path.lower().endswith(suffix):
            raise InputError(f"{path}: this output is written as {suffix}; give a name ending "
                             f"in {suffix}")
        check_output(path)


def cmd_generate(args: argparse.Namespace) -> int:
    import numpy as np

    from ..generative.energy import format_heat, heat_report
    from ..generative.generate import generate
    from ..generative.trained import TrainedModel
    from .progress import TerminalProgress

    _check_outputs((args.out, ".npy"), (args.png, ".png"), (args.x0_out, ".npy"),
                   (args.heat_json, ".json"))
    tm = TrainedModel.load(args.model)
    if args.gen_time is not None:
        tm.config = tm.config.replace(gen_time=args.gen_time)
    if not tm.complete:
        print(f"warning: {args.model} is a checkpoint of an unfinished run "
              f"(epoch {tm.epoch}/{tm.config.epochs})", file=sys.stderr)
    g = generate(tm, args.count, np.random.default_rng(args.seed), method=args.method,
                 progress=TerminalProgress("generating", quiet=args.quiet),
                 budget=Budget(args.max_memory, args.max_chain_steps))
    save_npy(args.out, g.images)
    if args.x0_out:
        from ..generative.circuit import simulate_arguments, to_charges

        scale = _scale(args)
        save_npy(args.x0_out, to_charges(tm, g.x_start, scale))
        sim = simulate_arguments(tm, scale)
        print(f"wrote {args.x0_out}: switch-on node charges (C), shape {g.x_start.shape}; run the "
              f"coupled phase on the circuit with: spu simulate NETLIST --method euler --x0 "
              f"{args.x0_out} --chains {args.count} --dt {sim['dt']:.6g} --duration "
              f"{sim['duration']:.6g} --burn-in {sim['burn_in']:.6g} --out sim.npz")
    if args.png:
        _png_grid(args.png, g.images, tm.lo, tm.hi)
    rep = heat_report(g.heat_kT, args.temperature)
    if args.heat_json:
        write_json(args.heat_json, rep)
    print(f"wrote {args.out}: shape {g.images.shape}, pixels in [{tm.lo:g}, {tm.hi:g}]")
    print(format_heat(rep))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    import numpy as np

    from ..generative.config import PRESETS
    from ..generative.data import load_dataset, split_indices
    from ..generative.metrics import Reference, format_report, full_report
    from ..generative.trained import TrainedModel

    path = Path(args.samples)
    if not path.is_file():
        raise InputError(f"{path}: samples file not found")
    if path.suffix == ".npz":  # a `spu simulate` trajectory of the exported circuit
        from ..generative.circuit import load_trajectory, trajectory_images

        if not args.model:
            raise InputError(f"{path}: scoring a simulated trajectory needs --model (the model "
                             "whose exported netlist was simulated)")
        states, t, names = load_trajectory(path)
        samples = trajectory_images(TrainedModel.load(args.model), states, t, _scale(args), names)
    else:
        try:
            samples = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read a .npy array ({exc})") from None
    if samples.ndim not in (2, 3) or len(samples) < args.k + 1 or not np.issubdtype(samples.dtype, np.number):
        raise InputError(f"{path}: expected a numeric (n, h, w) or (n, d) array with n > k, "
                         f"got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise InputError(f"{path}: samples contain non-finite values (a diverged run?)")
    if args.model:
        tm = TrainedModel.load(args.model)
        ds = load_dataset(tm.config.dataset)
        if ds.digest != tm.dataset_digest:
            raise InputError(f"{args.model}: its training data differ from {tm.config.dataset}")
        tr, ho = tm.train_idx, tm.heldout_idx
    else:
        cfg = PRESETS["digits"].replace(dataset=args.dataset)
        ds = load_dataset(cfg.dataset)
        tr, ho = split_indices(len(ds.images), cfg.n_heldout, cfg.split_seed, cfg.dataset)
    if int(np.prod(samples.shape[1:])) != int(np.prod(ds.shape)):
        raise InputError(f"{path}: samples of shape {samples.shape[1:]} do not match the "
                         f"{ds.shape[0]}x{ds.shape[1]} images of {ds.name}")
    X = ds.flat
    ref = Reference(X[tr], X[ho], None if ds.labels is None else ds.labels[tr], ds.lo, ds.hi, ds.shape)
    rep = full_report(samples, ref, k=args.k, seed=args.seed)
    if args.json:
        sys.stdout.write(dumps_json(rep))
    else:
        print(format_report(rep))
    return 0


def _scale(args: argparse.Namespace):  # -> PhysicalScale
    from ..generative.export import PhysicalScale

    return PhysicalScale(args.temperature, args.capacitance, args.time_unit)


def _scale_options(p: argparse.ArgumentParser, temperature: bool = True) -> None:
    """The circuit's physical scale (must match the one 'spu export' used)."""
    if temperature:
        p.add_argument("--temperature", type=positive_number, default=300.0,
                       help="bath temperature (K)")
    p.add_argument("--capacitance", type=positive_number, default=1e-12,
                   help="C that J2=1 stands for (F)")
    p.add_argument("--time-unit", type=positive_number, default=1e-6,
                   help="seconds per model time unit")


def cmd_export(args: argparse.Namespace) -> int:
    from ..generative.export import write_netlist
    from ..generative.trained import TrainedModel

    _check_outputs((args.out, ""))
    tm = TrainedModel.load(args.model)
    scale = _scale(args)
    netlist = write_netlist(args.out, tm.model, scale, name=Path(args.model).stem,
                            tol=args.tol, **tm.netlist_ramp())
    kinds: dict[str, int] = {}
    for e in netlist.elements:
        kinds[e.TYPE] = kinds.get(e.TYPE, 0) + 1
    print(f"wrote {args.out}: " + ", ".join(f"{v} {k}" for k, v in kinds.items()))
    print(f"scales: charge unit {scale.charge_unit(tm.model.kT):.4g} C, "
          f"energy unit {scale.energy_unit(tm.model.kT):.4g} J, R {scale.resistance(tm.model.kT, tm.model.mu):.4g} Ohm, "
          f"time unit {scale.time_unit:g} s, {scale.temperature:g} K")
    return 0


def register(subparsers: Any) -> None:
    """Add ``train``, ``generate``, ``score`` and ``export`` to the ``spu`` parser."""
    p = subparsers.add_parser("train", help="train a generative thermodynamic computer (denoising)")
    p.add_argument("--dataset", default="digits", help="'digits' (bundled 8x8) or an IDX / npz file")
    p.add_argument("--preset", default="digits", help="digits or paper (Whitelam's settings)")
    p.add_argument("--hidden", dest="n_hidden", type=positive_int, default=None,
                   help="number of hidden units (default: the preset's)")
    p.add_argument("--hidden-drive", default=None, choices=("sparse", "projection", "pixel"),
                   help="what pins the hidden units during noising (default: the preset's)")
    p.add_argument("--hidden-active", type=positive_number, default=None, metavar="F",
                   help="sparse drive: fraction of training images each hidden unit is on for "
                   "(default: the preset's)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs, noising passes over the data (default: the preset's)")
    p.add_argument("--heldout", dest="n_heldout", type=positive_int, default=None, metavar="N",
                   help="images held out for scoring, never trained on (default 500)")
    p.add_argument("--seed", type=seed, default=None, help="seed of every random choice (default 0)")
    p.add_argument("--time-bias", default=None, choices=("none", "linear", "field"),
                   help="time-dependent biases b + b'phi(t) with this ramp phi (default: the preset's)")
    out_option(p, required=True, help="model file (.npz)")
    p.add_argument("--resume", action="store_true", help="continue from OUT's checkpoint")
    p.add_argument("--checkpoint-every", type=nonneg_number, default=180.0, metavar="SECONDS",
                   help="checkpoint period; 0: after every batch (also at every epoch end)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_budget_options(p)
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("generate", help="generate images with a trained computer")
    p.add_argument("model", help="a model file written by 'spu train'")
    p.add_argument("--count", type=positive_int, default=100, help="images to generate")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    out_option(p, required=True, help="samples (.npy, shape (count, h, w))")
    p.add_argument("--png", default=None, help="also write a grid of the first 100 as PNG")
    p.add_argument("--method", default="euler", choices=("euler", "heun"),
                   help="integrator of the circuit's dynamics")
    p.add_argument("--gen-time", type=positive_number, default=None,
                   help="coupled generation time (model units; default: the model's)")
    p.add_argument("--temperature", type=positive_number, default=300.0,
                   help="bath temperature (K) for the heat in joules")
    p.add_argument("--heat-json", default=None, help="write the heat/energy report as JSON")
    p.add_argument("--x0-out", default=None, help="also write the switch-on states as node "
                   "charges (.npy, C) for 'spu simulate --x0' on the exported netlist")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_budget_options(p)
    _scale_options(p, temperature=False)
    p.set_defaults(func=cmd_generate)

    p = subparsers.add_parser("score", help="quality metrics of generated images vs held-out data")
    p.add_argument("samples", help=".npy of shape (n, h, w) or (n, h*w), or a 'spu simulate' "
                   ".npz of the exported netlist (needs --model)")
    p.add_argument("--model", default=None, help="use this model's dataset and held-out split")
    p.add_argument("--dataset", default="digits", help="the data to score against without --model")
    p.add_argument("--k", type=positive_int, default=3, help="neighbours of the k-NN precision/recall")
    p.add_argument("--seed", type=seed, default=0, help="seed of the real/noise reference rows")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _scale_options(p)
    p.set_defaults(func=cmd_score)

    p = subparsers.add_parser("export", help="write a trained computer as a spu-netlist/1 circuit")
    p.add_argument("model", help="a model file written by 'spu train'")
    out_option(p, required=True, help="netlist (.yaml)")
    _scale_options(p)
    p.add_argument("--tol", type=nonneg_number, default=0.0, help="drop couplings with |J| <= tol")
    p.set_defaults(func=cmd_export)
