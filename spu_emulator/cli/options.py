"""Option types shared by the subcommands (argparse ``type=`` callables): each
rejects a bad value with a one-line message, which argparse reports with exit 2."""

from __future__ import annotations

import argparse

import numpy as np


def positive_float(text: str) -> float:
    from ..units import ValueParseError, parse_value

    try:
        x = parse_value(text, "s")
    except ValueParseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not (np.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return x


def nonneg_float(text: str) -> float:
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
    return v
