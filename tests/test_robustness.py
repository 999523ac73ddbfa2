"""What a fuzzer and a newcomer broke, one test per failure class: runaway runs, output
locations, loader holes, units read against the user, implausible values, runs that
diverge, signals and file permissions."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spu_emulator.cli import main
from spu_emulator.errors import NetlistError, PlausibilityWarning
from spu_emulator.netlist import loads
from spu_emulator.units import ValueParseError, parse_value

ROOT = Path(__file__).resolve().parent.parent
SPU8 = str(ROOT / "netlists/spu8.yaml")
H = "format: spu-netlist/1\n"
CELL = "cells:\n  - {name: a, C: 1 nF, L: 1 uH, R: 1 kOhm}\n"
RING3 = H + """cells:
  - {name: a, C: 1 nF, L: 2 uH, R: 2 kOhm}
  - {name: b, C: 1.1 nF, L: 2 uH, R: 2 kOhm}
  - {name: c, C: 0.9 nF, L: 2 uH, R: 2 kOhm}
couplers:
  - {between: [a, b], C: 50 pF}
  - {between: [b, c], C: 150 pF}
  - {between: [c, a], C: 100 pF}
"""


def one_line_error(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) <= 300, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# ---- runaway runs: refused up front with the estimate -----------------------------


def test_runaway_euler_run_refused_up_front_with_estimate(tmp_path, capsys):
    f = tmp_path / "ring3.yaml"
    f.write_text(RING3)
    out = tmp_path / "r.npz"
    t0 = time.perf_counter()
    line = one_line_error(capsys, ["simulate", str(f), "--duration", "1ms", "--method", "euler",
                                   "--out", str(out), "--max-memory", "4GB"],
                          "would need about", "GB of memory", "--max-memory", "--duration")
    assert time.perf_counter() - t0 < 10 and not out.exists()
    assert "4.95 GB" in line  # 1e8 samples × 6 states × 8 bytes, plus working memory


@pytest.mark.parametrize("opts,needle", [
    (["--duration", "1e300"], "chain-steps"),
    (["--duration", "1ms", "--dt", "1e-30"], "chain-steps"),
    (["--duration", "1ms", "--chains", "1000000000"], "chain-steps"),
    (["--duration", "1us", "--burn-in", "1ms"], "--burn-in"),
])
def test_impossible_runs_refused(tmp_path, capsys, opts, needle):
    one_line_error(capsys, ["simulate", SPU8, *opts, "--out", str(tmp_path / "a.npz")], needle)
    assert not list(tmp_path.iterdir())


def test_long_run_memory_stays_bounded_by_the_estimate(tmp_path):
    """A run holds about its kept states, not its burn-in (peak RSS of the process,
    VmHWM: ru_maxrss would carry the forking parent's peak)."""
    code = (
        "import sys; from spu_emulator.cli import main; "
        f"rc = main(['simulate', {SPU8!r}, '--duration', '40ms', '--chains', '4', '--burn-in', '38ms', "
        f"'--save-every', '4', '--out', {str(tmp_path / 'a.npz')!r}]); "
        "print(rc, [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    rc, rss_kb = r.stdout.splitlines()[-1].split()
    assert rc == "0", r.stderr
    with np.load(tmp_path / "a.npz") as z:
        kept = z["states"].nbytes
    burn = 4 * (38e-3 / 17e-9) * 16 * 8  # holding the whole burn-in: 1.1 GB
    assert int(rss_kb) * 1024 < 300e6 + 3 * kept < burn / 2


# ---- output locations --------------------------------------------------------------


def test_output_is_a_directory_refused_before_work(tmp_path, capsys):
    d = tmp_path / "d.npz"
    d.mkdir()
    t0 = time.perf_counter()
    one_line_error(capsys, ["simulate", SPU8, "--duration", "100ms", "--out", str(d)],
                   "is a directory")
    assert time.perf_counter() - t0 < 5
    one_line_error(capsys, ["analyze", SPU8, "--out", str(tmp_path)], "is a directory")


def _mount_tmpfs(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def test_read_only_output_location(tmp_path, capsys):
    ro = tmp_path / "ro"
    if _mount_tmpfs(ro, "ro,size=1m"):
        try:
            one_line_error(capsys, ["simulate", SPU8, "--duration", "1us", "--out",
                                    str(ro / "a.npz")], str(ro), "cannot write")
        finally:
            _umount(ro)
    else:  # not root: permission bits do the same job
        ro.mkdir(exist_ok=True)
        ro.chmod(0o555)
        try:
            one_line_error(capsys, ["simulate", SPU8, "--duration", "1us", "--out",
                                    str(ro / "a.npz")], str(ro), "cannot write")
        finally:
            ro.chmod(0o755)


def test_full_disk_refused_before_work_and_mid_write(tmp_path, capsys):
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "size=64k"):
        pytest.skip("needs root to mount a small tmpfs (the size check is unit-tested below)")
    try:
        # the trajectory (~2.6 MB) cannot fit: refused with the sizes, before the run
        one_line_error(capsys, ["simulate", SPU8, "--duration", "100us", "--chains", "2",
                                "--out", str(small / "a.npz")], "only", "free")
        # a write that fills the disk mid-way: one line, no partial file left
        from spu_emulator.io import write_bytes

        with pytest.raises(OSError):
            write_bytes(small / "big.bin", b"x" * 200_000)
        assert not list(small.iterdir())
    finally:
        _umount(small)


def test_disk_estimate_check(tmp_path, monkeypatch):
    from spu_emulator import resources
    from spu_emulator.errors import InputError

    monkeypatch.setattr(resources, "free_disk", lambda path: 1000)
    with pytest.raises(InputError, match="only 1 kB is free"):
        resources.check_disk(tmp_path / "x", 5000, "the output")


# ---- the loader ------------------------------------------------------------------


@pytest.mark.parametrize("text,needle", [
    (H + "cells:\n  - {<<: {R: 1 kOhm}, name: a, C: 1 nF}\n", "merge keys"),
    (H + "cells:\n  - {name: a, C: 1 nF, R: 1k, !foo bar: 1}\n", "tagged keys"),
    (H + "x: " + "[" * 600 + "]" * 600 + "\n", "nesting deeper than 64"),
    (H + "cells:\n  - {name: a, C: 1 nF, R: 5e-324}\n", "accepted range of resistance"),
    (H + "cells:\n  - {name: a, C: 5e-324, R: 1k}\n", "accepted range of capacitance"),
    (H + "cells:\n  - {name: a, C: 1 nF, R: 1e-300}\n", "accepted range of resistance"),
])
def test_loader_holes_give_one_located_line(text, needle):
    with pytest.raises(NetlistError) as e:
        loads(text, "x.yaml")
    msg = str(e.value)
    assert needle in msg and len(msg) <= 300 and msg.startswith("x.yaml:")


def test_format_mapping_and_long_keys_echo_briefly():
    with pytest.raises(NetlistError) as e:
        loads("format: {pwl: [[0, 1]]}\n", "x.yaml")
    assert "Node(" not in str(e.value) and "a mapping" in str(e.value)
    with pytest.raises(NetlistError) as e:
        loads(H + "k" * 200 + ": 1\n", "x.yaml")
    assert str(e.value).count("k" * 20) <= 2 and len(str(e.value)) < 300


def test_control_character_error_has_a_line():
    with pytest.raises(NetlistError) as e:
        loads(H + CELL + "  - {name: b\x07, C: 1 nF, R: 1k}\n", "x.yaml")
    assert str(e.value).startswith("x.yaml:4:")


def test_block_value_error_points_at_its_key():
    with pytest.raises(NetlistError) as e:
        loads(H + "cells:\n  -\n    name: a\n    C:\n      - 1\n    R: 1k\n", "x.yaml")
    assert str(e.value).startswith("x.yaml:5: cells[0].C")


def test_floating_island_error_has_a_line():
    text = H + CELL + "elements:\n  - {name: C1, type: C, nodes: [x, y], value: 1 nF}\n" \
        "  - {name: C2, type: C, nodes: [x, gnd], value: 1 nF}\n"
    with pytest.raises(NetlistError) as e:
        loads(text, "x.yaml")
    assert str(e.value).startswith("x.yaml:5: elements[0]: floating island")


def test_unknown_key_suggests_the_nearest():
    with pytest.raises(NetlistError, match="did you mean 'R'"):
        loads(H + "cells:\n  - {name: a, C: 1 nF, r: 1k}\n")


def test_spice_deck_is_named_as_one(tmp_path, capsys):
    f = tmp_path / "deck.yaml"
    f.write_text("* a deck\nR1 a 0 1k\nC1 a 0 1n\n.tran 1n 1u\n.end\n")
    one_line_error(capsys, ["check", str(f)], "SPICE deck", "spu spice import")


def test_alias_bomb_refused_fast_and_small():
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ) + "format: spu-netlist/1\n"
    assert len(bomb) < 700
    code = (
        "import sys, time; from spu_emulator.netlist import loads; t = time.time()\n"
        "try:\n    loads(sys.stdin.read())\nexcept Exception as e: print(type(e).__name__)\n"
        "print(time.time() - t, [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])"
    )
    r = subprocess.run([sys.executable, "-c", code], input=bomb, capture_output=True, text=True,
                       cwd=ROOT)
    kind, line = r.stdout.splitlines()
    seconds, rss_kb = line.split()
    assert kind == "NetlistError" and float(seconds) < 1.0 and int(rss_kb) < 100_000


def test_loading_grows_linearly_with_the_netlist():
    """Loading 10⁴ cells (with couplers) scales linearly (the builder's membership checks
    were quadratic: 5 s for 10⁴ cells, > 120 s for 10⁵); bench figure in
    docs/benchmarks.md."""

    def text(n):
        cells = "".join(f"  - {{name: c{i}, C: 1 nF, L: 1 uH, R: 1 kOhm}}\n" for i in range(n))
        coup = "".join(f"  - {{between: [c{i}, c{i + 1}], C: 10 pF}}\n" for i in range(n - 1))
        return H + "cells:\n" + cells + "couplers:\n" + coup

    import gc

    def best(n):
        t = text(n)
        out = []
        for _ in range(5):
            gc.collect()  # each run starts from the same heap: no collection debt carried in
            t0 = time.perf_counter()
            loads(t)
            out.append(time.perf_counter() - t0)
        return min(out)

    small, big = best(2500), best(10_000)
    # linear: 4; quadratic: 16 (a loaded machine measured up to 7.6 for linear code)
    assert big / small < 10
    assert big < 5.0


# ---- units and plausibility ------------------------------------------------------------


@pytest.mark.parametrize("value,unit,outcome", [
    ("300 F", "K", "does not fit"),        # farad on a temperature, not femto
    ("1 f", "F", "ambiguous"),             # femto or farad?
    ("1 K", "F", "does not fit"),          # kelvin on a capacitance, not kilo
    ("1 F", "Ohm", "does not fit"),
    ("10 F", "Hz", "does not fit"),
    ("1 fF", "F", 1e-15),
    ("1 k", "F", 1e3),                     # a bare scale is SPICE's reading
    ("300 K", "K", 300.0),
    ("1 kK", "K", 1e3),
    ("1 h", "H", "case-sensitive"),
])
def test_unit_rule(value, unit, outcome):
    if isinstance(outcome, float):
        assert parse_value(value, unit) == outcome
    else:
        with pytest.raises(ValueParseError, match=outcome):
            parse_value(value, unit)


@pytest.mark.parametrize("text,needle", [
    (H + "temperature: 1e300 K\n" + CELL, "accepted range of temperature"),
    (H + "temperature: 1e15 K\n" + CELL, "accepted range of temperature"),
    (H + "cells:\n  - {name: a, C: 1e-300, R: 1k}\n", "accepted range of capacitance"),
    (H + CELL + "elements:\n  - {name: I1, type: I, nodes: [gnd, a], noise_psd: 5}\n",
     "accepted range of current noise PSD"),
    (H + CELL + "elements:\n  - {name: I1, type: I, nodes: [gnd, a], dc: 1e30 A}\n",
     "accepted range of current"),
])
def test_implausible_values_refused_with_range(text, needle):
    with pytest.raises(NetlistError, match=needle):
        loads(text)


@pytest.mark.parametrize("text", [
    H + "cells:\n  - {name: a, C: 5 F, R: 1k}\n",
    H + "cells:\n  - {name: a, C: 1 nF, L: 45 kH, R: 1k}\n",
])
def test_unusual_values_warned_in_one_line(text, tmp_path, capsys):
    with pytest.warns(PlausibilityWarning, match="outside the usual range"):
        loads(text)
    f = tmp_path / "u.yaml"
    f.write_text(text)
    assert main(["check", str(f)]) == 0
    warn = [ln for ln in capsys.readouterr().err.splitlines() if ln]
    assert len(warn) == 1 and warn[0].startswith("spu: warning: ") and "check the unit" in warn[0]


# ---- runs that would produce garbage ------------------------------------------------


def test_stiff_quartic_default_step_is_stable_and_finite(tmp_path, capsys):
    f = tmp_path / "q.yaml"
    f.write_text(H + "elements:\n  - {name: N1, type: NC, nodes: [a, gnd], J2: 5e11, J4: 2e44}\n"
                 "  - {name: R1, type: RB, nodes: [a, gnd], value: 1 kOhm, bias: 0.5 V}\n")
    out = tmp_path / "q.npz"
    assert main(["simulate", str(f), "--duration", "1ns", "--out", str(out)]) == 0
    with np.load(out) as z:
        assert np.all(np.isfinite(z["states"]))
    # a step the run would diverge at is refused with the stable bound
    one_line_error(capsys, ["simulate", str(f), "--duration", "1ns", "--dt", "1e-11", "--out",
                            str(tmp_path / "b.npz")], "--dt", "unstable", "use a step below")


def test_diverging_states_are_never_written(tmp_path):
    from spu_emulator.errors import InstabilityError
    from spu_emulator.integrate.simulate import check_finite

    states = np.ones((2, 5, 3))
    states[1, 3, 0] = np.inf
    with pytest.raises(InstabilityError, match=r"t = 4 s"):
        check_finite(states, np.arange(1.0, 6.0), "euler", 1.0)


# ---- signals and permissions ---------------------------------------------------------


def test_outputs_get_the_permissions_of_a_plain_write(tmp_path):
    from spu_emulator.io import write_text

    old = os.umask(0o022)
    try:
        f = tmp_path / "a.txt"
        write_text(f, "x")
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
        f.chmod(0o600)
        write_text(f, "y")  # overwriting keeps the file's mode, as open(..., "w") does
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    finally:
        os.umask(old)
    old = os.umask(0o077)
    try:
        g = tmp_path / "b.txt"
        write_text(g, "x")
        assert stat.S_IMODE(g.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_sigterm_during_a_run_leaves_nothing(tmp_path):
    out = tmp_path / "a.npz"
    p = subprocess.Popen([sys.executable, "-m", "spu_emulator", "simulate", SPU8, "--duration",
                          "50ms", "--chains", "8", "--out", str(out)], cwd=ROOT,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert err.strip() == "spu: terminated"
    assert not list(tmp_path.iterdir())


# ---- the generative commands --------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from spu_emulator.generative.config import Config
    from spu_emulator.generative.data import load_dataset
    from spu_emulator.generative.train import train

    cfg = Config(n_hidden=6, dt=0.05, t_f=0.5, t_settle=0.25, max_images=30, batch_size=30,
                 epochs=1, gen_time=0.5, heat_samples=0)
    p = tmp_path_factory.mktemp("tm") / "m.npz"
    train(cfg, load_dataset("digits")).save(p)
    return p


def test_model_files_are_reproducible_bytes(tmp_path):
    """Two identical training runs write the same bytes (wall times are not saved)."""
    from sklearn.datasets import load_digits

    data = tmp_path / "small.npz"
    d = load_digits()
    np.savez(data, images=d.images[:530], labels=d.target[:530])
    outs = []
    for k in range(2):
        out = tmp_path / f"m{k}.npz"
        assert main(["train", "--dataset", str(data), "--hidden", "6", "--epochs", "1",
                     "--quiet", "--out", str(out)]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_generate_checks_every_output_before_writing(tiny_model, tmp_path, capsys):
    g = tmp_path / "g.npy"
    one_line_error(capsys, ["generate", str(tiny_model), "--count", "5", "--out", str(g),
                            "--png", str(tmp_path / "nodir" / "x.png")], "does not exist")
    assert not g.exists()
    one_line_error(capsys, ["generate", str(tiny_model), "--count", "5", "--out", str(g),
                            "--png", str(tmp_path / "g.txt")], "ending in .png")
    assert not g.exists()


@pytest.mark.parametrize("opts,needle", [
    (["--count", "1000000000"], "--max-memory"),
    (["--gen-time", "1e9"], "chain-steps"),
    (["--gen-time", "nan"], "--gen-time"),
    (["--temperature", "nan"], "--temperature"),
    (["--seed", "-1"], "--seed"),
])
def test_generate_refuses_impossible_requests(tiny_model, tmp_path, capsys, opts, needle):
    argv = ["generate", str(tiny_model), "--out", str(tmp_path / "g.npy"), *opts]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse refuses bad option values itself
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "g.npy").exists()


def test_score_and_export_and_resume_bad_input(tiny_model, tmp_path, capsys):
    bad = tmp_path / "nan.npy"
    np.save(bad, np.full((20, 8, 8), np.nan))
    one_line_error(capsys, ["score", str(bad), "--model", str(tiny_model)], "non-finite")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04garbage")
    one_line_error(capsys, ["train", "--out", str(broken), "--resume"], "damaged")
    one_line_error(capsys, ["train", "--hidden", "100000000", "--out", str(tmp_path / "t.npz")],
                   "would need about", "--max-memory")
