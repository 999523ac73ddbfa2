"""The CLI under a seeded fuzzer (tests/fuzz.py): mutated bundled netlists and hostile
option sets. Every case must end with exit 0 and finite outputs, or exit 2 with one
line of at most 300 characters: never a traceback, a hang or a NaN output."""

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("fuzz", Path(__file__).with_name("fuzz.py"))
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz"] = fuzz  # dataclasses look their module up
_spec.loader.exec_module(fuzz)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_fuzzed_cli_fails_cleanly(tmp_path, seed):
    results = fuzz.fuzz(150, seed, tmp_path)
    bad = [r for r in results if r.kind == "fail"]
    assert not bad, "\n".join(f"{r.argv}: rc {r.rc}: {r.detail[-300:]}" for r in bad[:5])
    kinds = {r.kind for r in results}
    assert kinds == {"ok", "refused"}  # the fuzzer reaches both outcomes


def test_fuzzer_detects_failures(tmp_path, monkeypatch):
    """The classifier is not blind: a traceback-like crash and a multi-line error fail."""
    import spu_emulator.cli as cli

    def boom(argv=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "main", boom)
    with pytest.raises(RuntimeError):
        fuzz.run_case(["check", "x"])

    def two_lines(argv=None):
        import sys

        sys.stderr.write("spu: error: one\nsecond line\n")
        return 2

    monkeypatch.setattr(cli, "main", two_lines)
    assert fuzz.run_case(["check", "x"]).kind == "fail"


@pytest.mark.slow
def test_fuzzed_research_commands_fail_cleanly(tmp_path):
    """spu nn, spu calibrate and --calibration with broken data files (labels missing,
    fractional or out of range, NaN/inf pixels, flat or empty images, non-zip files; samples
    without a time axis, uneven, NaN, reversed, too few, wrong or repeated node names) and
    hostile options: every case ends ok or refused in one line."""
    results = fuzz.fuzz_research(120, 5, tmp_path)
    bad = [r for r in results if r.kind == "fail"]
    assert not bad, "\n".join(f"{r.argv}: rc {r.rc}: {r.detail[-300:]}" for r in bad[:5])
    assert {r.kind for r in results} == {"ok", "refused"}
