"""Demonstration: calibrate a board with hidden deviations from its own samples, then
reprogram it, and compare the 8x8 inversion error before and after.

    PYTHONPATH=. python bench/demo_calibration.py [--out DIR] [--samples N] [--seed S]

1. The "real" board: spu8 with hidden as-built deviations drawn by the tolerance
   machinery (5% on every capacitor, 1% on inductors and resistors).
2. Its node voltages read as from hardware (exact simulation of the as-built board,
   the design's 12-bit ADC), saved as a plain samples file with the design's digest.
3. ``spu calibrate`` on those samples; identified vs hidden values.
4. ``spu program --matrix A --cells-from spu8.yaml`` with and without ``--calibration``;
   both programs run on the as-built board; exact covariance errors and the error of an
   emulated inversion of the same duration (equal sampling time).
Writes DIR/samples.npz, DIR/board-cal.yaml, PNGs, and DIR/demo.json (the figures in
docs/img/ and bench/results/demo_calibration.json come from the defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from spu_emulator.calibration.compensate import as_built  # noqa: E402
from spu_emulator.calibration.report import load_calibration  # noqa: E402
from spu_emulator.circuit.assemble import assemble  # noqa: E402
from spu_emulator.cli import main  # noqa: E402
from spu_emulator.hardware.design import load_design  # noqa: E402
from spu_emulator.hardware.family import BoardFamily  # noqa: E402
from spu_emulator.integrate.simulate import simulate  # noqa: E402
from spu_emulator.io import save_npz  # noqa: E402
from spu_emulator.netlist import load  # noqa: E402
from spu_emulator.netlist.tolerance import Tolerance, Tolerances  # noqa: E402
from spu_emulator.sampling.readout import Adc  # noqa: E402

DESIGN = os.path.join(ROOT, "netlists", "spu8.yaml")


def hidden_board(netlist, seed: int, c: float = 0.05, lr: float = 0.01):
    tol = Tolerances(classes={"C": Tolerance(c), "L": Tolerance(lr), "R": Tolerance(lr)})
    fam = BoardFamily(netlist.replace(tolerances=tol))
    values = fam.draw(seed, 0, 1)[0]
    return fam, values, fam.netlist_for(values)


def read_board(board, design, n: int, chains: int, seed: int):
    """Samples of the as-built board's node voltages through the design's ADC."""
    sde = assemble(board).to_sde()
    h = 1.0 / design.readout.rate
    tr = simulate(sde, "exact", 0.0, n * h, h, seed, chains=chains, x0="stationary")
    v = tr.states[..., : sde.n_voltage]
    adc = Adc.from_netlist(design)
    if adc is not None:
        v, _ = adc.quantize(np.ascontiguousarray(v))
    return tr.t, v, sde.node_names


def target_matrix(d: int, seed: int) -> np.ndarray:
    """A random SPD M-matrix (what a capacitive program realizes exactly)."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.0, 1.0, (d, d)) * (rng.uniform(size=(d, d)) < 0.7)
    W = np.triu(W, 1)
    W = W + W.T
    return np.diag(W.sum(1) + rng.uniform(0.5, 1.5, d)) - W


def covariance_errors(design_path: str, matrix: np.ndarray, truth, duration: float, seed: int
                      ) -> tuple[float, float]:
    """(exact, emulated) covariance error of the program run on the as-built board (the
    positions carry the hidden deviations ``truth``): the exact stationary covariance,
    and the sample covariance of an emulated run of ``duration`` at the ADC rate."""
    des = load_design(design_path)
    sde = assemble(as_built(des.netlist, truth)).to_sde()
    R = des.program.readout_matrix(sde.state_names)
    S = np.linalg.inv(matrix)
    exact = R @ sde.equilibrium_covariance() @ R.T
    h = 1.0 / des.netlist.readout.rate
    tr = simulate(sde, "exact", 0.0, duration, h, seed, chains=1, x0="stationary")
    x = tr.states[0] @ R.T
    emp = np.cov(x.T)
    norm = np.linalg.norm(S)
    return float(np.linalg.norm(exact - S) / norm), float(np.linalg.norm(emp - S) / norm)


class _Ideal:
    """No deviations: the design itself."""

    source = "ideal"

    def by_position(self):
        return {}


def plot_compare(out, est, se, values, names, before, after, ideal):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.4), dpi=110,
                           gridspec_kw={"width_ratios": [3, 1]})
    x = np.arange(len(names))
    ax[0].errorbar(x, 100 * (est / values - 1), yerr=100 * se / values, fmt="o", ms=3)
    ax[0].axhline(0, color="k", lw=0.5)
    ax[0].set_xticks(x)
    ax[0].set_xticklabels(names, rotation=90, fontsize=6)
    ax[0].set_ylabel("identified / hidden − 1 (%)")
    ax[1].bar(["uncalibrated", "calibrated", "ideal board"], [100 * before, 100 * after, 100 * ideal],
              color=["C3", "C2", "0.6"])
    ax[1].set_ylabel("8x8 inversion error (%)")
    ax[1].tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "calibration_demo.png"))
    plt.close(fig)


class _Truth:
    """The hidden board as a 'calibration' (ratios by position): what the hardware is."""

    def __init__(self, netlist, values, fam):
        self.source = "hidden"
        self.entries = {}
        for p, v in zip(fam.parameters, values, strict=True):
            e = netlist.element(p.element)
            self.entries[p.name] = {"class": p.cls, "position": list(e.nodes), "nominal": p.nominal,
                                    "estimate": float(v)}

    def ratio(self, name):
        e = self.entries[name]
        return e["estimate"] / e["nominal"]

    def by_position(self):
        return {(e["class"], frozenset(e["position"])): n for n, e in self.entries.items()
                if len(e["position"]) == 2}


def run(out: str, n: int, chains: int, seed: int) -> dict:
    os.makedirs(out, exist_ok=True)
    design = load(DESIGN)
    fam, values, board = hidden_board(design, seed)
    t, v, nodes = read_board(board, design, n, chains, seed + 1)
    samples = os.path.join(out, "samples.npz")
    save_npz(samples, t=t, v=v, nodes=np.array(nodes), design_digest=np.array(design.digest))
    cal_path = os.path.join(out, "board-cal.yaml")
    rc = main(["calibrate", samples, "--design", DESIGN, "-o", cal_path, "--plot", out, "--quiet"])
    assert rc == 0
    cal = load_calibration(cal_path)
    est = np.array([cal.entries[nm]["estimate"] for nm in cal.names])
    se = np.array([cal.entries[nm]["stderr"] for nm in cal.names])
    z = (est - values) / se
    A = target_matrix(8, seed + 2)
    mpath = os.path.join(out, "A.npy")
    np.save(mpath, A)
    plain, comp = os.path.join(out, "program.yaml"), os.path.join(out, "program-cal.yaml")
    assert main(["program", "--matrix", mpath, "--cells-from", DESIGN, "-o", plain, "--json"]) == 0
    assert main(["program", "--matrix", mpath, "--cells-from", DESIGN, "--calibration", cal_path,
                 "-o", comp, "--json"]) == 0
    truth = _Truth(design, values, fam)
    duration = 0.5  # the inversion's sampling time, equal for both programs
    before, before_run = covariance_errors(plain, A, truth, duration, seed + 3)
    after, after_run = covariance_errors(comp, A, truth, duration, seed + 3)
    ideal = covariance_errors(plain, A, _Ideal(), duration, seed + 3)[1]
    from spu_emulator.calibration.compensate import compile_compensated
    from spu_emulator.hardware.compiler import CompileOptions

    rep = compile_compensated(A, "matrix", calibration=cal,
                              options=CompileOptions(cells_from=design)).program.report["compensation"]
    plot_compare(out, est, se, values, cal.names, before_run, after_run, ideal)
    result = {
        "design": "spu8", "seed": seed, "samples_per_chain": n, "chains": chains,
        "interval": float(t[1] - t[0]), "hidden": {"C": 0.05, "L": 0.01, "R": 0.01},
        "within_1se": float(np.mean(np.abs(z) < 1)), "within_3se": float(np.mean(np.abs(z) < 3)),
        "max_abs_z": float(np.max(np.abs(z))),
        "median_relative_stderr": float(np.median(se / est)),
        "inversion_time": duration,
        "covariance_error_exact": {"uncalibrated": before, "calibrated": after},
        "inversion_error": {"uncalibrated": before_run, "calibrated": after_run,
                            "ideal_board": ideal},
        "improvement": before_run / after_run,
        "calibration_uncertainty": rep["calibration_uncertainty"],
    }
    with open(os.path.join(out, "demo.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "spu_demo_calibration"),
                    help="directory for the samples (67 MB), calibration, programs and PNGs")
    ap.add_argument("--samples", type=int, default=65_536)
    ap.add_argument("--chains", type=int, default=16)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    print(json.dumps(run(a.out, a.samples, a.chains, a.seed), indent=2))
