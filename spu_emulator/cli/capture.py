"""Run an ``spu`` command in this process with its output captured: what a sweep's
worker does for each point (no subprocess per point).

``run_captured(argv) -> (status, stdout, stderr)`` runs :func:`spu_emulator.cli.main`
with ``sys.stdout`` and ``sys.stderr`` redirected into buffers; the parser is built once
per process. Redirecting is process-wide, so calls are serialized by a lock: a worker
runs one point at a time (start workers with one thread each).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import threading
from collections.abc import Sequence

_LOCK = threading.Lock()
_PARSER: argparse.ArgumentParser | None = None


def parser() -> argparse.ArgumentParser:
    """The ``spu`` parser, built once per process (building it takes ~10 ms)."""
    global _PARSER
    if _PARSER is None:
        from . import build_parser

        _PARSER = build_parser()
    return _PARSER


def subcommand(tokens: Sequence[str]) -> tuple[argparse.ArgumentParser | None, int]:
    """The (sub)parser the leading ``tokens`` name (``["spice", "export", ...]`` → the
    parser of ``spu spice export``) and how many tokens named it; (None, 0) when the
    first token is not a command."""
    p: argparse.ArgumentParser = parser()
    n = 0
    while n < len(tokens):
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or tokens[n] not in subs[0].choices:
            break
        p = subs[0].choices[tokens[n]]
        n += 1
    return (p, n) if n else (None, 0)


def has_option(p: argparse.ArgumentParser, flag: str) -> bool:
    return any(flag in a.option_strings for a in p._actions)


def parse_error(argv: Sequence[str]) -> str | None:
    """The one-line message argparse gives for ``argv`` (``spu analyze: error: ...``),
    or None when it parses."""
    from . import _join_negative_values

    err = io.StringIO()
    with _LOCK, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser().parse_args(_join_negative_values(list(argv)))
        except SystemExit as exc:
            if exc.code:
                lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
                return lines[-1] if lines else "the command does not parse"
    return None


def run_captured(argv: Sequence[str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``spu ARGV`` run in this process."""
    from . import main

    out, err = io.StringIO(), io.StringIO()
    with _LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv), parser=parser())
        except SystemExit as exc:  # argparse refusing the arguments
            status = exc.code if isinstance(exc.code, int) else 2
    return status, out.getvalue(), err.getvalue()


__all__ = ["has_option", "parse_error", "parser", "run_captured", "subcommand"]
