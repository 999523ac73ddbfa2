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


SWEEP = """sweep: spu-sweep/1
netlist: {net}
command: [analyze, --json]
seed: 3
set:
  "cells[0].C": ["1 nF", "1.2 nF"]
  "couplers[2].C": ["0.1 nF", "0.2 nF"]
zip:
  temperature: ["300 K", "310 K"]
  "cells[1].R": ["1 kOhm", "2 kOhm"]
random:
  count: 3
  draw:
    "cells[2].L": {{uniform: ["1 uH", "2 uH"]}}
    "cells[3].C": {{normal: ["1 nF", "0.01 nF"]}}
montecarlo: {{boards: 2, seed: 1}}
seeds: 2
plot: {{y: [relaxation_time]}}
"""


def test_fuzzed_sweep_files_fail_cleanly(tmp_path):
    """Mutated sweep files: read, enumerated and their first points' netlists built without
    work on a cluster; every problem is one SPUError line (a point whose path cannot be
    applied is that point's ValueError, recorded as its error when the sweep runs)."""
    import random

    from spu_emulator.errors import SPUError
    from spu_emulator.sweep.points import montecarlo_seed, netlist_text, points
    from spu_emulator.sweep.spec import load_sweep

    net = tmp_path / "spu8.yaml"
    net.write_text((fuzz.ROOT / "netlists" / "spu8.yaml").read_text() + "tolerances: {C: 2%}\n")
    base = SWEEP.format(net=net)
    rng = random.Random(3)
    kinds = set()
    for k in range(300):
        f = tmp_path / f"s{k}.yaml"
        f.write_text(fuzz.mutate(base, rng), encoding="utf-8", errors="surrogatepass")
        try:
            spec = load_sweep(f)
            for p in points(spec)[:2]:
                netlist_text(spec.netlist_text, p, montecarlo_seed(spec))
            kinds.add("ok")
        except SPUError as exc:
            assert "\n" not in str(exc) and len(str(exc)) <= fuzz.MAX_LINE, str(exc)
            kinds.add("refused")
        except ValueError:
            kinds.add("point error")
    assert {"ok", "refused"} <= kinds
