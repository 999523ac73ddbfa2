"""Option types shared by the subcommands (argparse ``type=`` callables): each
rejects a bad value with a one-line message, which argparse reports with exit 2; and
the checkpoint / ``--resume`` convention of the training commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError


def positive_float(text: str) -> float:
    import numpy as np

    from ..units import ValueParseError, parse_value

    try:
        x = parse_value(text, "s")
    except ValueParseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (np.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return x


def nonneg_float(text: str) -> float:
    import numpy as np

    from ..units import ValueParseError, parse_value

    try:
        x = parse_value(text, "s")
    except ValueParseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (np.isfinite(x) and x >= 0):
        raise argparse.ArgumentTypeError(f"must be non-negative, got {text!r}")
    return x


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {v}")
    if v > 2**62:
        raise argparse.ArgumentTypeError(f"is too large, got {v}")
    return v


#: Seeds are non-negative integers below 2^63 (what numpy's SeedSequence takes whole).
SEED_MAX = 2**63 - 1


def seed(text: str) -> int:
    """A random seed: an integer from 0 to 2^63 − 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if not 0 <= v <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2^63-1, got {text}")
    return v


def nbytes(text: str) -> float:
    """A memory size: a number of bytes, or with kB, MB, GB or TB (powers of 1000)."""
    import re

    import numpy as np

    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([kKMGT]?B)?\s*", text)
    scale = {None: 1, "B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
    try:
        v = float(m.group(1)) * scale[m.group(2)] if m else float("nan")
    except (ValueError, KeyError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a size like 4GB or 500MB, got {text!r}")
    return v


def positive_count(text: str) -> float:
    """A positive number, possibly written 1e12."""
    import numpy as np
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return v


def add_max_memory(p: Any, what: str = "the run may plan to use") -> None:
    """``--max-memory SIZE``: the memory limit a run is checked against before it starts
    (:class:`spu_emulator.resources.Budget`)."""
    p.add_argument("--max-memory", type=nbytes, default=None, metavar="SIZE",
                   help=f"memory {what}, e.g. 8GB (default: 80%% of the available memory)")


def add_budget_options(p: argparse.ArgumentParser) -> None:
    """``--max-memory`` and ``--max-chain-steps``: the limits a run is checked against
    before it starts (see :class:`spu_emulator.resources.Budget`)."""
    g = p.add_argument_group("limits")
    add_max_memory(g)
    g.add_argument("--max-chain-steps", type=positive_count, default=1e11, metavar="N",
                   help="integration steps x chains allowed (default: %(default)g, ~3 h)")


def out_option(p: argparse.ArgumentParser, *, required: bool = False, help: str,
               dest: str = "out") -> None:
    """The output file option, spelled the same way by every command: ``-o``,
    ``--out`` or ``--output``."""
    p.add_argument("-o", "--out", "--output", dest=dest, required=required, help=help,
                   metavar="FILE")


def positive_number(text: str) -> float:
    """A positive, finite number (plain, no unit)."""
    import numpy as np
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be positive and finite, got {text!r}")
    return v


def nonneg_number(text: str) -> float:
    """A non-negative, finite number (plain, no unit)."""
    import numpy as np
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be non-negative and finite, got {text!r}")
    return v


def checkpoint_path(out: str) -> Path:
    """Where a training run writes its checkpoint: beside ``out`` (model.ckpt.npz)."""
    p = Path(out)
    return p.with_name(p.stem + ".ckpt" + (p.suffix or ".npz"))


def resume(out: str, load: Callable[[Path], Any]) -> Any:
    """``--resume``: the checkpoint beside ``out`` (else ``out`` itself, a finished or
    interrupted model) loaded with ``load``, with a line saying where it resumes."""
    ckpt = checkpoint_path(out)
    src = ckpt if ckpt.is_file() else Path(out)
    if not src.is_file():
        raise InputError(f"--resume: neither {ckpt} nor {out} exists; start without --resume")
    state = load(src)
    print(f"resuming {src} at epoch {state.epoch}, batch {state.batch}", file=sys.stderr)
    return state
