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
import os
import re
import signal
import sys
import threading
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
    "spu_emulator.cli.hardware",
    "spu_emulator.cli.sweep",
    "spu_emulator.cli.calibration",
    "spu_emulator.cli.nn",
)


class HelpFormatter(argparse.HelpFormatter):
    """Shows every option's default after its help text (unless the text already says
    it, or there is none to show)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower() or action.required:
            return text
        d = action.default
        if d is None or d is False or d is argparse.SUPPRESS or isinstance(action, (
                argparse._HelpAction, argparse._VersionAction)) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 2, a one-line message (its default, kept) and option
    defaults in the help."""

    def __init__(self, *a, **kw):
        kw.setdefault("formatter_class", HelpFormatter)
        super().__init__(*a, **kw)

    def error(self, message: str):  # noqa: D401
        self.exit(2, f"{self.prog}: error: {message}\n")


_NEGATIVE = re.compile(r"^-(\d|\.\d)")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--duration -1ms`` as ``--duration=-1ms``: argparse takes a token that starts with
    '-' and is not a plain number for an option, and would say 'expected one argument'
    instead of checking the value."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if (a.startswith("--") and "=" not in a and i + 1 < len(argv)
                and _NEGATIVE.match(argv[i + 1])):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


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
                flags = {a.dest: next((o for o in a.option_strings if o.startswith("--")),
                                      a.option_strings[0])
                         for a in sp._actions if a.option_strings}
                sp.set_defaults(_flags=flags)
                _record_flags(sp)


def _flag_error(exc: InputError, args: argparse.Namespace) -> str:
    """The error's line with parameters shown as the flags that set them: the prefix
    (``duration: …`` → ``--duration: …``) and every parameter in backticks."""
    flags = getattr(args, "_flags", {}) or {}

    def flag(name: str) -> str:
        return flags.get(name, name)

    text = str(exc.with_name(flag(exc.param)) if exc.param else exc)
    return re.sub(r"`([A-Za-z_][A-Za-z0-9_]*)`", lambda m: flag(m.group(1)), text)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Every warning as one line on stderr (ours as they are; others with their kind)."""
    text = " ".join(str(message).split())
    if issubclass(category, SPUWarning):
        sys.stderr.write(f"spu: warning: {text}\n")
    else:
        sys.stderr.write(f"spu: warning: {category.__name__}: {text}\n")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that partial outputs are cleaned up."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def _os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}" if where else reason


def main(argv: Sequence[str] | None = None, *,
         parser: argparse.ArgumentParser | None = None) -> int:
    """Run ``spu ARGV``; ``parser`` reuses a parser from :func:`build_parser` (a sweep's
    worker builds it once for all its points)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv in (["--version"], ["-V"]):  # answered before anything heavy is imported
        sys.stdout.write(f"spu_emulator {__version__}\n")
        return 0
    if parser is None:
        parser = build_parser()
    args = parser.parse_args(_join_negative_values(argv))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
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
    except Terminated:
        sys.stderr.write("spu: terminated\n")
        return 143
    except KeyboardInterrupt:
        sys.stderr.write("spu: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # an output location that cannot be written, a full disk, ...
        sys.stderr.write(f"spu: error: {_os_error(exc)}\n")
        return 2
    except MemoryError:
        sys.stderr.write("spu: error: out of memory: the run needs more memory than this "
                         "machine has; make it smaller\n")
        return 2
    except Exception as exc:  # a bug: one line, the traceback on request
        if os.environ.get("SPU_DEBUG"):
            raise
        msg = " ".join(str(exc).split())[:200]
        sys.stderr.write(f"spu: internal error: {type(exc).__name__}: {msg} (run with "
                         "SPU_DEBUG=1 for the traceback, and please report it)\n")
        return 70
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
