"""A seeded fuzzer for the CLI: mutated bundled netlists and hostile option sets.

Each case runs ``spu_emulator.cli.main`` in-process with its output captured and
classifies the outcome: ``ok`` (exit 0 and every numeric output finite), ``refused``
(exit 2 with exactly one line of at most 300 characters on stderr), or a failure
(anything else: another exit status — 70 is an unexpected exception —, a traceback,
several lines, a non-finite output, or more than ``TIMEOUT`` seconds).

Used by tests/test_fuzz.py (a few hundred cases per run); run by hand for more:
``python3 tests/fuzz.py --cases 2000 --seed 7``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NETLISTS = sorted((ROOT / "netlists").glob("*.yaml"))
TIMEOUT = 20.0
MAX_LINE = 300

NASTY_VALUES = [
    "-1", "0", "1e300", "-1e300", "5e-324", "1e-300", "nan", ".inf", "-.inf", "abc", "1 K",
    "1 f", "1 F", "1 M", "1 MOhm", "300 F", "[]", "{}", "null", "true", "''", "1 nH", "1e-30 F",
    "1e15", "2e44", "-0", "0x10", "1_000", "1e", "1 kkOhm", "[1, 2]", "{pwl: [[0, 1]]}",
    "'1 nF'", "1 µF", "1 meg", "1 g", "999999999999999999999999",
]
NASTY_KEYS = ["R", "C", "L", "value", "name", "type", "nodes", "J2", "J4", "J", "bias",
              "temperature", "between", "dc", "noise_psd", "k", "inductors", "rate", "bits",
              "<<", "!foo x", "x" * 200, "format", "cells", "elements"]
NASTY_CHARS = ["\x00", "\x07", "\t", "{", "}", "[", "]", ":", "&a", "*a", "!!python/object", "%",
               "@", "`", "\ufeff", "é"]


@dataclass
class Outcome:
    kind: str  # ok | refused | fail
    argv: list[str]
    rc: int
    detail: str


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits of a netlist's text."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        if not lines:
            lines = [""]
        i = rng.randrange(len(lines))
        if op == 0:  # delete a line
            del lines[i]
        elif op == 1:  # duplicate a line
            lines.insert(i, lines[i])
        elif op == 2:  # replace a value after a colon
            parts = lines[i].split(": ")
            if len(parts) > 1:
                j = rng.randrange(1, len(parts))
                tail = parts[j]
                cut = min([k for k in (tail.find(","), tail.find("}")) if k >= 0], default=len(tail))
                parts[j] = rng.choice(NASTY_VALUES) + tail[cut:]
                lines[i] = ": ".join(parts)
        elif op == 3:  # rename a key
            lines[i] = lines[i].replace(rng.choice(["R:", "C:", "L:", "name:", "value:", "J2:", "nodes:"]),
                                        rng.choice(NASTY_KEYS) + ":", 1)
        elif op == 4:  # insert a character
            if lines[i]:
                k = rng.randrange(len(lines[i]) + 1)
                lines[i] = lines[i][:k] + rng.choice(NASTY_CHARS) + lines[i][k:]
        elif op == 5:  # truncate the document
            lines = lines[: i + 1]
            if lines and rng.random() < 0.5:
                lines[-1] = lines[-1][: rng.randrange(len(lines[-1]) + 1)]
        elif op == 6:  # change indentation
            lines[i] = (" " * rng.randrange(0, 5)) + lines[i].lstrip()
        elif op == 7:  # add an element with random fields
            lines.append("elements:" if rng.random() < 0.3 else
                         f"  - {{name: z{rng.randrange(9)}, type: {rng.choice(['R', 'C', 'L', 'I', 'K', 'NC', 'RB', 'EC', 'Q'])}, "
                         f"nodes: [{rng.choice(['a', 'b', 'n1', 'gnd', 'x'])}, {rng.choice(['gnd', 'a', 'n2', 'y'])}], "
                         f"value: {rng.choice(NASTY_VALUES + ['1 kOhm', '1 nF'])}}}")
        else:  # swap two lines
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines) + ("\n" if rng.random() < 0.9 else "")


def option_sets(net: str, out: str, rng: random.Random) -> list[list[str]]:
    """Commands with hostile option values (one random pick per call)."""
    dur = rng.choice(["1us", "-1", "0", "1e300", "nan", "1 F", "abc", "1e-30", "5us", "100ns"])
    dt = rng.choice(["1ns", "-1", "0", "1e-30", "1e300", "nan", "10us", "1 K"])
    chains = rng.choice(["1", "0", "-3", "1e9", "3.5", "abc", "4", "1000000000000"])
    seed = rng.choice(["0", "-1", "1e30", "abc", "7", "99999999999999999999999"])
    method = rng.choice(["exact", "euler", "heun", "magic"])
    return [
        ["simulate", net, "--duration", dur, "--out", out],
        ["simulate", net, "--duration", "2us", "--dt", dt, "--out", out],
        ["simulate", net, "--duration", "2us", "--chains", chains, "--out", out],
        ["simulate", net, "--duration", "2us", "--seed", seed, "--out", out],
        ["simulate", net, "--duration", "2us", "--method", method, "--out", out],
        ["simulate", net, "--duration", "2us", "--burn-in", rng.choice(["1ms", "-1", "nan", "1us"]),
         "--out", out],
        ["simulate", net, "--duration", "2us", "--save-every", rng.choice(["0", "-1", "1e9", "3"]),
         "--out", out],
        ["simulate", net, "--duration", "2us", "--out", rng.choice([out, os.path.dirname(out),
                                                                    out + ".txt", "/nonexistent/x.npz"])],
        ["analyze", net, "--json"],
        ["check", net, "--json"],
    ]


def matrices(workdir: Path) -> dict[str, str]:
    """Matrix and vector files for the sampling commands: good, and hostile."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 4))
    A = X @ X.T + 4 * np.eye(4)
    files = {
        "A": A, "Abig": A * 1e300, "Asmall": A * 1e-300, "Anan": np.full((4, 4), np.nan),
        "Anonsym": A + np.triu(np.ones((4, 4)), 1), "Aneg": -A, "Arect": A[:3],
        "Acomplex": A + 0.1j, "b": np.ones(4), "b3": np.ones(3), "bzero": np.zeros(4),
        "Astr": np.array([["a", "b"], ["c", "d"]]), "Aempty": np.zeros((0, 0)),
    }
    out = {}
    for k, v in files.items():
        np.save(workdir / f"{k}.npy", v)
        out[k] = str(workdir / f"{k}.npy")
    (workdir / "A.txt").write_text("1 2\n3 x\n")
    out["Atxt"] = str(workdir / "A.txt")
    return out


def sampling_sets(m: dict[str, str], design: str, out: str, rng: random.Random) -> list[list[str]]:
    mat = rng.choice([m["A"], m["A"], m["Abig"], m["Asmall"], m["Anan"], m["Anonsym"], m["Aneg"],
                      m["Arect"], m["Acomplex"], m["Astr"], m["Aempty"], m["Atxt"], "/nonexistent.npy"])
    vec = rng.choice([m["b"], m["b3"], m["bzero"], m["Anan"]])
    t = rng.choice(["1ms", "-1", "0", "nan", "1e30", "1 K", "abc", "10ms"])
    tol = rng.choice(["0.1", "0", "-1", "nan", "1e-30", "abc", "0.2"])
    return [
        ["program", "--matrix", mat, "-o", design + ".out.yaml"],
        ["program", "--matrix", m["A"], "--c-min", rng.choice(["10nF", "-1", "0.1pF", "abc"]),
         "--c-max", rng.choice(["1nF", "0", "1e300", "nan"]), "-o", design + ".out.yaml"],
        ["program", "--matrix", m["A"], "--bank", rng.choice(["0", "3", "-1", "99", "abc"]),
         "--rounding", rng.choice(["nearest", "stochastic", "x"]), "-o", design + ".out.yaml"],
        ["sample", design, "--samples", rng.choice(["10", "0", "-5", "1e9", "abc", "1000000000"]),
         "--out", out + ".npy"],
        ["sample", design, "--samples", "20", "--rate", rng.choice(["10MHz", "0", "-1", "1 K", "nan"]),
         "--burn-in", rng.choice(["1us", "-1", "nan", "1e300"]), "--out", out + ".npy"],
        ["invert", mat, "--time", t, "--out", out + ".npy"],
        ["invert", m["A"], "--tol", tol, "--roundings", rng.choice(["1", "0", "3", "-2"])],
        ["solve", mat, vec, "--time", "5ms", "--method", rng.choice(["auto", "dc", "inverse", "x"])],
        ["logdet", mat, "--time", t, "--json"],
    ]


def research_files(w: Path) -> dict[str, Path]:
    """Data files for the research commands: labeled images (good and broken), node-voltage
    samples (good and broken), a matrix, a model and a calibration of spu8."""
    from sklearn.datasets import load_digits

    d = load_digits()
    im, lab = d.images, d.target
    inf = im[:20].copy()
    inf[0, 0, 0] = np.inf
    images = {
        "tr": (im[:120], lab[:120]), "nolab": (im[:20], None), "flab": (im[:20], lab[:20] + 0.5),
        "neglab": (im[:20], -lab[:20] - 1), "biglab": (im[:20], lab[:20] * 1000),
        "inf": (inf, lab[:20]), "flat": (im[:20].reshape(-1), lab[:20]),
        "empty": (np.zeros((0, 8, 8)), np.zeros(0, int)), "one": (im[:1], lab[:1]),
        "str": (np.array([["a"]]), np.array([1])), "const": (np.ones((20, 8, 8)), lab[:20]),
        "28": (np.random.default_rng(0).random((20, 28, 28)), lab[:20]),
    }
    f: dict[str, Path] = {}
    for name, (x, y) in images.items():
        f[name] = w / f"{name}.npz"
        np.savez(f[name], images=x, **({} if y is None else {"labels": y}))
    f["junk"] = w / "junk.npz"
    f["junk"].write_bytes(b"not a zip")
    spu8 = str(ROOT / "netlists" / "spu8.yaml")
    f["s"] = w / "s.npz"
    run_case(["simulate", spu8, "--duration", "20ms", "--dt", "100ns", "-o", str(f["s"])])
    with np.load(f["s"]) as z:
        t, v = z["t"], z["states"][0, :, :8]
    nodes = np.array([f"n{i}" for i in range(1, 9)])
    uneven = t.copy()
    uneven[5] += 1e-9
    nan = v.copy()
    nan[3, 2] = np.nan
    samples = {
        "plain": {}, "not": {"t": None}, "uneven": {"t": uneven}, "nan": {"v": nan},
        "few": {"t": t[:3], "v": v[:3]}, "wrongnodes": {"nodes": np.array([f"x{i}" for i in range(8)])},
        "dupnodes": {"nodes": np.array(["n1"] * 8)}, "badshape": {"v": v[:, :3]},
        "zero": {"v": np.zeros_like(v)}, "huge": {"v": v * 1e30}, "rev": {"t": t[::-1].copy()},
        "1d": {"v": v[:, 0]}, "strnodes": {"nodes": np.arange(1, 9)},
    }
    for name, over in samples.items():
        arrays = {"t": t, "v": v, "nodes": nodes, **over}
        f[name] = w / f"{name}.npz"
        np.savez(f[name], **{k: x for k, x in arrays.items() if x is not None})
    np.save(w / "A.npy", np.eye(8) + 0.25 * (np.eye(8, k=1) + np.eye(8, k=-1)))
    run_case(["nn", "train", "--data", str(f["tr"]), "-o", str(w / "m.npz"), "--hidden", "4",
              "--epochs", "1", "--quiet"])
    run_case(["calibrate", str(f["plain"]), "--design", spu8, "-o", str(w / "cal.yaml")])
    return f


def research_sets(f: dict[str, Path], w: Path, k: int, rng: random.Random) -> list[list[str]]:
    """Hostile option sets and files for spu nn, spu calibrate and --calibration."""
    o = str(w / f"o{k}")
    data = rng.choice(["tr", "tr", "nolab", "flab", "neglab", "biglab", "inf", "flat", "empty", "one", "str", "const", "28", "junk"])
    model = str(w / "m.npz")

    def val(*choices: str) -> str:
        return rng.choice(choices)

    samp = rng.choice(["s", "plain", "plain", "not", "uneven", "nan", "few", "wrongnodes", "dupnodes", "badshape", "zero", "huge", "rev", "1d", "strnodes"])
    design = str(ROOT / "netlists" / rng.choice(["spu8.yaml", "spu8.yaml", "coupled_pair.yaml", "nonlinear_pair.yaml", "rc_network.yaml", "single_cell.yaml"]))
    return [
        ["nn", "train", "--data", str(f[data]), "-o", o + ".npz", "--hidden", val("4", "0", "-1", "abc", "8"), "--epochs", "1", "--quiet"],
        ["nn", "train", "--data", str(f["tr"]), "-o", o + ".npz", "--hidden", "4", "--epochs", val("0", "1", "-1", "1e9"), "--t-final", val("0.1", "0", "-1", "nan", "1e6", "inf"), "--quiet"],
        ["nn", "train", "--data", str(f["tr"]), "-o", o + ".npz", "--hidden", "4", "--epochs", "1", "--kT", val("0", "-1", "nan", "1e9", "1", "1e-12"), "--dt", val("0.005", "0", "10", "-1", "1e-9", "nan"), "--quiet"],
        ["nn", "train", "--data", str(f["tr"]), "-o", o + ".npz", "--method", val("ga", "teacher", "x"), "--hidden", "4", "--generations", val("2", "0", "-1"), "--population", val("4", "1", "0", "2"), "--elite", val("1", "0", "5", "-1"), "--epochs", "1", "--quiet"],
        ["nn", "train", "--data", str(f["tr"]), "-o", o + ".npz", "--hidden", "4", "--epochs", "1", "--J2", val("1", "0", "-1", "nan"), "--J4", val("1", "0", "-1"), "--J3", val("0", "5", "-5", "nan"), "--lr", val("0.02", "0", "-1", "1e9", "nan"), "--batch-size", val("8", "0", "1", "100000"), "--quiet"],
        ["nn", "predict", model, "--data", str(f[data]), "-o", o + ".npy", "--trajectories", val("1", "0", "-1", "abc", "3"), "--seed", val("0", "-1", "abc", "1e30")],
        ["nn", "eval", model, "--data", str(f[data]), "--json", "--no-baselines", "--trajectories", val("2", "0", "-1")],
        ["nn", "export", model, "-o", o + ".yaml", "--data", str(f[data]), "--image", val("0", "-1", "19", "100000", "abc")],
        ["nn", "predict", str(f[data]), "--data", str(f["tr"]), "-o", o + ".npy"],
        ["calibrate", str(f[samp]), "--design", design, "-o", o + ".yaml", "--json"],
        ["calibrate", str(f["plain"]), "--design", val(design, "/nonexistent.yaml", str(f["tr"])), "-o", val(o + ".yaml", str(w), "/nonexistent/x.yaml"), "--json"],
        ["program", "--matrix", str(w / "A.npy"), "--calibration", val(o + "_none.yaml", str(f["tr"]), str(w / "cal.yaml"), design), "-o", o + ".yaml"],
        ["invert", str(w / "A.npy"), "--calibration", val(str(w / "cal.yaml"), str(f["plain"])), "--time", val("1ms", "0", "-1", "nan")],
    ]


def run_case(argv: list[str]) -> Outcome:
    from spu_emulator.cli import main

    err, outb = io.StringIO(), io.StringIO()

    def alarm(signum, frame):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(outb):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse
                rc = exc.code if isinstance(exc.code, int) else 2
    except TimeoutError:
        return Outcome("fail", argv, -1, f"no answer within {TIMEOUT:g} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    lines = [ln for ln in err.getvalue().splitlines() if not ln.startswith("spu: warning:")]
    if rc == 0:
        text = outb.getvalue()
        if "--json" in argv and text.strip():
            try:
                json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
            except ValueError as exc:
                return Outcome("fail", argv, rc, f"JSON output not finite/valid: {exc}")
        for a in argv:
            if a.endswith(".npy") and os.path.isfile(a) and "/o" in a:
                v = np.load(a)
                if np.issubdtype(v.dtype, np.floating) and not np.all(np.isfinite(v)):
                    return Outcome("fail", argv, rc, f"non-finite values in {a}")
            if a.endswith(".npz") and os.path.isfile(a):
                with np.load(a) as z:
                    for k in z.files:
                        v = z[k]
                        if np.issubdtype(v.dtype, np.floating) and not np.all(np.isfinite(v)):
                            return Outcome("fail", argv, rc, f"non-finite array {k} in {a}")
        return Outcome("ok", argv, rc, "")
    if rc == 2 and len(lines) == 1 and len(lines[0]) <= MAX_LINE and "Traceback" not in err.getvalue():
        return Outcome("refused", argv, rc, lines[0])
    return Outcome("fail", argv, rc, err.getvalue()[-800:])


def fuzz(cases: int, seed: int, workdir: Path) -> list[Outcome]:
    """``cases`` seeded cases: mutated netlists through check/analyze/simulate, and
    hostile option sets on the bundled netlists."""
    rng = random.Random(seed)
    out: list[Outcome] = []
    texts = {p: p.read_text() for p in NETLISTS}
    mats = matrices(workdir)
    design = str(workdir / "design.yaml")
    run_case(["program", "--matrix", mats["A"], "-o", design])
    for k in range(cases):
        src = rng.choice(NETLISTS)
        npz = str(workdir / f"o{k}.npz")
        if rng.random() < 0.2:
            cmd = rng.choice(sampling_sets(mats, design, str(workdir / f"o{k}"), rng))
        elif rng.random() < 0.6:
            f = workdir / f"m{k}.yaml"
            f.write_text(mutate(texts[src], rng), encoding="utf-8", errors="surrogatepass")
            cmd = rng.choice([["check", str(f)], ["analyze", str(f), "--json"],
                              ["simulate", str(f), "--duration", "1us", "--out", npz]])
        else:
            cmd = rng.choice(option_sets(str(src), npz, rng))
        out.append(run_case(cmd))
        for p in workdir.glob(f"o{k}.npz"):
            p.unlink()
    return out


def fuzz_research(cases: int, seed: int, workdir: Path) -> list[Outcome]:
    """``cases`` seeded cases of spu nn, spu calibrate and --calibration with hostile
    files and options."""
    rng = random.Random(seed)
    f = research_files(workdir)
    out = []
    for k in range(cases):
        out.append(run_case(rng.choice(research_sets(f, workdir, k, rng))))
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = fuzz(a.cases, a.seed, Path(tmp))
    kinds = {k: sum(r.kind == k for r in res) for k in ("ok", "refused", "fail")}
    print(kinds)
    for r in res:
        if r.kind == "fail":
            print("FAIL", r.rc, r.argv, "\n   ", r.detail.replace("\n", "\n    ")[-600:])
    sys.exit(1 if kinds["fail"] else 0)
