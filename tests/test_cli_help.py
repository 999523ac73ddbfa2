"""Every subcommand's options have help text and show their default; -o/--out/--output
are one spelling everywhere; --help and --version work without the numerics."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from spu_emulator.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _subparsers(parser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sp in action.choices.items():
                yield (*prefix, name), sp
                yield from _subparsers(sp, (*prefix, name))


COMMANDS = list(_subparsers(build_parser()))


@pytest.mark.parametrize("path,parser", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_has_help_and_shows_its_default(path, parser):
    help_text = parser.format_help()
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = a.option_strings[0] if a.option_strings else a.dest
        assert a.help and a.help.strip(), f"spu {' '.join(path)}: {name} has no help"
        if a.option_strings and not a.required and a.default not in (None, False, argparse.SUPPRESS):
            formatted = parser._get_formatter()._get_help_string(a) % {**vars(a), "default": a.default}
            assert "default" in formatted.lower(), f"spu {' '.join(path)}: {name} hides its default"
    assert "usage:" in help_text


@pytest.mark.parametrize("path,parser", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_output_option_spelled_one_way(path, parser):
    outs = [a for a in parser._actions if set(a.option_strings) & {"-o", "--out", "--output"}]
    for a in outs:
        assert {"-o", "--out", "--output"} <= set(a.option_strings), (path, a.option_strings)


def test_version_and_help_start_without_numerics():
    code = ("import sys; from spu_emulator.cli import main; rc = main(['--version']); "
            "print([m for m in ('numpy', 'scipy', 'yaml') if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.splitlines()[-1] == "[]", r.stdout
    r = subprocess.run([sys.executable, "-m", "spu_emulator", "--help"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0 and "simulate" in r.stdout
    # building the whole parser (every subcommand module registers) imports no numerics
    code = ("import sys; from spu_emulator.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print([m for m in ('numpy', 'scipy', 'yaml') if m in sys.modules], file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stderr.splitlines()[-1] == "[]", r.stderr


def test_cli_check_names_match_the_checks_package():
    from spu_emulator.cli.spice import CHECK_NAMES
    from spu_emulator.spice.checks import CHECK_NAMES as REAL

    assert tuple(CHECK_NAMES) == tuple(REAL)
