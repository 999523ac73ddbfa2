"""Time the identification of 10^5 samples of the 8-cell SPU (52 parameters).

    PYTHONPATH=. python bench/bench_calibration.py [--samples N] [--repeat R]

Simulates one as-built spu8 board (3.5% capacitor, 1% L and R deviations, seed 11),
reads N samples at the design's 10 MHz, and times ``calibrate`` (band averaging, the
Fisher-scoring iterations, the standard errors and the goodness-of-fit test). Writes
bench/results/calibration.json. Target: ≤ 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from spu_emulator.calibration.estimate import calibrate  # noqa: E402
from spu_emulator.calibration.samples import from_arrays  # noqa: E402
from spu_emulator.circuit.assemble import assemble  # noqa: E402
from spu_emulator.hardware.family import BoardFamily  # noqa: E402
from spu_emulator.integrate.simulate import simulate  # noqa: E402
from spu_emulator.netlist import load  # noqa: E402
from spu_emulator.netlist.tolerance import Tolerance, Tolerances  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    nl = load(os.path.join(ROOT, "netlists", "spu8.yaml"))
    tol = Tolerances(classes={"C": Tolerance(0.035), "L": Tolerance(0.01), "R": Tolerance(0.01)})
    fam = BoardFamily(nl.replace(tolerances=tol))
    values = fam.draw(11, 0, 1)[0]
    sde = assemble(fam.netlist_for(values)).to_sde()
    h = 1.0 / nl.readout.rate
    tr = simulate(sde, "exact", 0.0, a.samples * h, h, 12, chains=1, x0="stationary")
    s = from_arrays(tr.t, tr.states[..., :8], sde.node_names)
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        cal = calibrate(s, nl)
        times.append(time.perf_counter() - t0)
    z = (np.log(values / cal.nominal) - cal.theta) / cal.theta_se
    out = {
        "design": "spu8", "parameters": len(cal.names), "samples": a.samples, "chains": 1,
        "seconds": times, "best_seconds": min(times), "target_seconds": 60.0,
        "iterations": cal.fit["iterations"], "bands": cal.fit["bands"],
        "frequencies_per_band": cal.fit["frequencies_per_band"],
        "within_3se": float(np.mean(np.abs(z) < 3)), "within_1se": float(np.mean(np.abs(z) < 1)),
        "median_relative_stderr": float(np.median(cal.theta_se)),
        "goodness_of_fit_p": cal.fit["goodness_of_fit"]["p_value"],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "note": "2 cores shared with other jobs"},
    }
    path = os.path.join(ROOT, "bench", "results", "calibration.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
