"""The ``spu`` command line: thin wrappers over library functions, all CLI code here.

``main(argv=None) -> int``: each subcommand parses, calls one library function and
writes its output. Every :class:`~spu_emulator.errors.SPUError` becomes one line on
stderr and its exit status (2 for bad input, 1 for a failed cross-check); an
:class:`~spu_emulator.errors.InputError` about a library parameter is shown with the
command-line flag that sets it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from .. import __version__
from ..errors import InputError, SPUError, SPUWarning

#: Modules that contribute subcommands through ``register(subparsers)``.
COMMAND_MODULES = (
    "spu_emulator.cli.core",
    "spu_emulator.cli.spice",
    "spu_emulator.cli.sampling",
    "spu_emulator.cli.generative",
)


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 2 and a one-line message (its default, kept)."""

    def error(self, message: str):  # noqa: D401
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="spu", description="Circuit-level emulator of thermodynamic computers.")
    p.add_argument("--version", action="version", version=f"spu_emulator {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for mod_name in COMMAND_MODULES:
        importlib.import_module(mod_name).register(sub)
    _record_flags(p)
    return p


def _record_flags(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command's namespace a map from parameter name to its flag."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sp in action.choices.values():
                flags = {a.dest: a.option_strings[-1] for a in sp._actions if a.option_strings}
                sp.set_defaults(_flags=flags)
                _record_flags(sp)


def _flag_error(exc: InputError, args: argparse.Namespace) -> InputError:
    """The error naming the flag that sets its parameter (``duration`` → ``--duration``)."""
    flags = getattr(args, "_flags", {}) or {}
    if exc.param and exc.param in flags:
        return exc.with_name(flags[exc.param])
    return exc


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our own warnings as one line on stderr; others as Python shows them."""
    if issubclass(category, SPUWarning):
        sys.stderr.write(f"spu: warning: {message}\n")
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():  # restores the default display afterwards
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except InputError as exc:
        sys.stderr.write(f"spu: error: {_flag_error(exc, args)}\n")
        return exc.exit_code
    except SPUError as exc:
        sys.stderr.write(f"spu: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("spu: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
