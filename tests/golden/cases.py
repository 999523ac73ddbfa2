"""Reference outputs of the CLI and library on the bundled netlists, as digests.

:func:`produce` runs a fixed set of seeded commands in a scratch directory (with a copy
of ``netlists/``, so no path of this machine enters an output) and returns, for each
output, a SHA-256 digest of its content: for an ``.npz`` / ``.npy`` the dtype, shape and
raw bytes of every array (robust to zip and npy header details, strict on the data);
for text files the UTF-8 bytes. ``reference.json`` beside this file holds the digests
the code produced before the package was restructured (see its ``made_by``); the test
``tests/test_golden.py`` checks that the current code still produces every one, byte for
byte on a machine with the same BLAS kernel and thread count (``machine``), and to 1e-9
relative on the fingerprints elsewhere (another BLAS kernel rounds differently).

Regenerate only for a deliberate change of behaviour, and say so in the commit:
``python -m tests.golden.cases tests/golden/reference.json`` from the repository root.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

#: (output name, argv) run through ``spu_emulator.cli.main`` in the scratch directory.
SIMULATE = [
    ("single_cell_exact.npz", ["netlists/single_cell.yaml", "--duration", "20us", "--chains", "2"]),
    ("single_cell_euler.npz", ["netlists/single_cell.yaml", "--duration", "2us", "--method", "euler"]),
    ("coupled_pair_b1.npz", ["netlists/coupled_pair.yaml", "--duration", "40us"]),
    ("coupled_pair_b1_f32.npz", ["netlists/coupled_pair.yaml", "--duration", "40us", "--float32"]),
    ("spu8_b1.npz", ["netlists/spu8.yaml", "--duration", "30us", "--seed", "3"]),
    ("spu8_b1_f32.npz", ["netlists/spu8.yaml", "--duration", "30us", "--float32", "--seed", "3"]),
    ("spu8_b200.npz", ["netlists/spu8.yaml", "--duration", "2us", "--chains", "200", "--seed", "4"]),
    ("spu8_b7_every.npz", ["netlists/spu8.yaml", "--duration", "20us", "--chains", "7",
                           "--save-every", "3", "--burn-in", "2us", "--seed", "5"]),
    ("spu8_euler.npz", ["netlists/spu8.yaml", "--duration", "300ns", "--method", "euler",
                        "--chains", "3"]),
    ("rc_network.npz", ["netlists/rc_network.yaml", "--duration", "400us", "--chains", "3"]),
    ("rc_network_euler.npz", ["netlists/rc_network.yaml", "--duration", "20us", "--method", "euler"]),
    ("nonequilibrium.npz", ["netlists/nonequilibrium.yaml", "--duration", "40us", "--chains", "3",
                            "--seed", "9"]),
    ("nonlinear_pair.npz", ["netlists/nonlinear_pair.yaml", "--duration", "5ns", "--chains", "4",
                            "--seed", "2"]),
]
LINEAR = ["single_cell", "coupled_pair", "spu8", "rc_network", "nonequilibrium"]


_NUMBER = re.compile(rb"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def fingerprint(values: np.ndarray) -> list[float]:
    """A few numbers that summarize an array: count, sum, sum of |x|, first and last 8
    values (float64). Compared with a tolerance where the BLAS kernel differs."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    return [float(v.size), float(v.sum()), float(np.abs(v).sum()), *v[:8].tolist(), *v[-8:].tolist()]


def digest_bytes(data: bytes) -> dict:
    nums = np.array([float(m) for m in _NUMBER.findall(data)]) if data else np.zeros(0)
    return {"sha256": hashlib.sha256(data).hexdigest(), "fingerprint": fingerprint(nums)}


def digest_file(path: Path) -> dict:
    """{"sha256": ..., "fingerprint": [...]} of an output file (see the module docstring)."""
    if path.suffix not in (".npz", ".npy"):
        return digest_bytes(path.read_bytes())
    h = hashlib.sha256()
    data = np.load(path, allow_pickle=False)
    items = sorted(data.items()) if path.suffix == ".npz" else [("", data)]
    parts = []
    for name, arr in items:
        arr = np.ascontiguousarray(arr)
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
        if np.issubdtype(arr.dtype, np.number):
            parts.append(np.asarray(arr, np.float64).ravel())
    nums = np.concatenate(parts) if parts else np.zeros(0)
    return {"sha256": h.hexdigest(), "fingerprint": fingerprint(nums)}


def _cli(argv: list[str]) -> str:
    from spu_emulator.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"spu {' '.join(argv)} exited {rc}")
    return buf.getvalue()


def _strip_wall_times(obj):
    if isinstance(obj, dict):
        return {k: _strip_wall_times(v) for k, v in obj.items()
                if k not in ("wall_time", "output") and not k.endswith("_seconds")}
    if isinstance(obj, list):
        return [_strip_wall_times(v) for v in obj]
    return obj


def produce(workdir: Path) -> dict[str, dict]:
    """Run every case in ``workdir`` and return {output name: digest}."""
    workdir = Path(workdir)
    shutil.copytree(ROOT / "netlists", workdir / "netlists")
    out: dict[str, str] = {}
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        for name, argv in SIMULATE:
            _cli(["simulate", *argv, "--out", name])
            out[name] = digest_file(workdir / name)
        for net in LINEAR:
            text = _cli(["analyze", f"netlists/{net}.yaml", "--json"])
            out[f"analyze_{net}.json"] = digest_bytes(text.encode())
        for net in [*LINEAR, "nonlinear_pair"]:
            text = _cli(["check", f"netlists/{net}.yaml", "--json"])
            out[f"check_{net}.json"] = digest_bytes(text.encode())

        # sampling layer on a fixed random SPD matrix
        rng = np.random.default_rng(11)
        X = rng.standard_normal((4, 4))
        A = X @ X.T + 4 * np.eye(4)
        np.save("A.npy", A)
        np.save("b.npy", rng.standard_normal(4))
        _cli(["program", "--matrix", "A.npy", "-o", "design.yaml", "--seed", "1"])
        out["program_design.yaml"] = digest_file(workdir / "design.yaml")
        _cli(["program", "--matrix", "A.npy", "-o", "design_bank.yaml", "--bank", "3",
              "--rounding", "stochastic", "--seed", "2"])
        out["program_design_bank.yaml"] = digest_file(workdir / "design_bank.yaml")
        _cli(["sample", "design.yaml", "--samples", "300", "--seed", "3", "--out", "samples.npy"])
        out["sample.npy"] = digest_file(workdir / "samples.npy")
        _cli(["sample", "design.yaml", "--samples", "50", "--chains", "3", "--seed", "4",
              "--out", "samples3.npy"])
        out["sample_chains3.npy"] = digest_file(workdir / "samples3.npy")
        _cli(["invert", "A.npy", "--time", "2ms", "--seed", "5", "--out", "inv.npy"])
        out["invert.npy"] = digest_file(workdir / "inv.npy")
        _cli(["invert", "A.npy", "--time", "10ms", "--seed", "6", "--bank", "3", "--roundings", "3",
              "--out", "inv_mitigated.npy"])
        out["invert_mitigated.npy"] = digest_file(workdir / "inv_mitigated.npy")
        _cli(["solve", "A.npy", "b.npy", "--time", "2ms", "--seed", "7", "--out", "x_dc.npy"])
        out["solve_dc.npy"] = digest_file(workdir / "x_dc.npy")
        _cli(["solve", "A.npy", "b.npy", "--method", "inverse", "--time", "2ms", "--seed", "8",
              "--out", "x_inv.npy"])
        out["solve_inverse.npy"] = digest_file(workdir / "x_inv.npy")
        rep = json.loads(_cli(["logdet", "A.npy", "--time", "2ms", "--seed", "9", "--json"]))
        out["logdet.json"] = digest_bytes(
            json.dumps(_strip_wall_times(rep), sort_keys=True).encode())

        # generative: a tiny trained computer, generation and export
        from spu_emulator.generative.config import Config
        from spu_emulator.generative.data import load_dataset
        from spu_emulator.generative.train import train

        cfg = Config(n_hidden=6, dt=0.05, t_f=0.5, t_settle=0.25, max_images=30, batch_size=30,
                     epochs=1, gen_time=0.5, heat_samples=0)
        tm = train(cfg, load_dataset("digits"))
        params = np.concatenate([np.ravel(tm.model.J), np.ravel(tm.model.b)])
        out["train_params"] = {"sha256": hashlib.sha256(params.tobytes()).hexdigest(),
                               "fingerprint": fingerprint(params)}
        tm.save(workdir / "model.npz")
        for method in ("euler", "heun"):
            _cli(["generate", "model.npz", "--count", "12", "--seed", "3", "--method", method,
                  "--out", f"gen_{method}.npy", "--x0-out", f"x0_{method}.npy"])
            out[f"generate_{method}.npy"] = digest_file(workdir / f"gen_{method}.npy")
            out[f"generate_x0_{method}.npy"] = digest_file(workdir / f"x0_{method}.npy")
        _cli(["export", "model.npz", "-o", "gen.yaml"])
        # the exported circuit, not its formatting: the netlist's content digest
        from spu_emulator.netlist import load

        exported = load("gen.yaml")
        values = [v for e in exported.elements for v in e.params().values()
                  if isinstance(v, float)]
        out["export_generative.netlist"] = {"sha256": exported.digest,
                                            "fingerprint": fingerprint(np.array(values))}
        _cli(["simulate", "gen.yaml", "--duration", "2ns", "--method", "euler", "--x0",
              "x0_euler.npy", "--chains", "12", "--seed", "1", "--out", "gen_sim.npz"])
        out["simulate_generative.npz"] = digest_file(workdir / "gen_sim.npz")
    finally:
        os.chdir(cwd)
    return out


def machine() -> dict:
    """What decides the last bits of floating-point results: the BLAS library, its
    kernel for this CPU and its thread count (reductions are split differently)."""
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS too, as every run does)
    from threadpoolctl import threadpool_info

    blas = sorted(
        ({k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
         for i in threadpool_info() if i.get("user_api") == "blas"),
        key=lambda d: json.dumps(d, sort_keys=True),
    )
    return {"numpy": np.__version__, "blas": blas}


def _made_by() -> str:
    import subprocess

    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    return f"commit {rev}, numpy {np.__version__}, python {sys.version.split()[0]}"


if __name__ == "__main__":
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/golden/reference.json"
    with tempfile.TemporaryDirectory() as tmp:
        digests = produce(Path(tmp))
    text = json.dumps({"made_by": _made_by(), "machine": machine(), "digests": digests},
                      indent=1, sort_keys=True)
    dest.write_text(text + "\n")
    print(f"wrote {dest}: {len(digests)} digests")
