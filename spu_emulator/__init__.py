"""spu_emulator: a circuit-level emulator of thermodynamic computers.

YAML → Netlist → Circuit → SDE → Trajectory → estimates / samples / models::

    import spu_emulator as spu

    netlist = spu.load("netlists/spu8.yaml")       # validated, immutable netlist
    circuit = spu.assemble(netlist)                 # matrices and noise sources
    sde = circuit.to_sde()                          # dx = (A x + b) dt + B dW
    report = spu.analyze(netlist)                   # exact stationary state (Lyapunov)
    traj = spu.simulate(sde, "exact", 0.0, 1e-4, 5e-8, rng=1, chains=8)
    x_inv, info = spu.inv(A)                        # A⁻¹ on an emulated SPU, with its error bar

The names below are imported on first use, so ``import spu_emulator`` stays light
(no scipy, yaml, matplotlib or PySpice until a function needs them). docs/api.md
describes each.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    CrossCheckError,
    InputError,
    InstabilityError,
    NetlistError,
    SPUError,
    TopologyError,
)
from .units import K_B

__version__ = "0.1.0"

#: Public name -> (module, attribute), resolved lazily (PEP 562).
_API: dict[str, tuple[str, str]] = {
    # netlists
    "load": ("spu_emulator.netlist.reader", "load"),
    "loads": ("spu_emulator.netlist.reader", "loads"),
    "dumps": ("spu_emulator.netlist.dump", "dumps"),
    "Netlist": ("spu_emulator.netlist.schema", "Netlist"),
    "register_element": ("spu_emulator.netlist.base", "register_element"),
    # circuits and SDEs
    "assemble": ("spu_emulator.circuit.assemble", "assemble"),
    "Circuit": ("spu_emulator.circuit.assemble", "Circuit"),
    "NonlinearCircuit": ("spu_emulator.circuit.assemble", "NonlinearCircuit"),
    "SDE": ("spu_emulator.sde.base", "SDE"),
    "LinearSDE": ("spu_emulator.sde.linear", "LinearSDE"),
    "NonlinearSDE": ("spu_emulator.sde.nonlinear", "NonlinearSDE"),
    "LangevinSDE": ("spu_emulator.sde.base", "LangevinSDE"),
    # analysis and simulation
    "analyze": ("spu_emulator.analysis", "analyze"),
    "summary": ("spu_emulator.analysis", "summary"),
    "run_simulation": ("spu_emulator.analysis", "run_simulation"),
    "simulate": ("spu_emulator.integrate.simulate", "simulate"),
    "Stepper": ("spu_emulator.integrate.simulate", "Stepper"),
    "SaveAt": ("spu_emulator.integrate.simulate", "SaveAt"),
    "Trajectory": ("spu_emulator.integrate.simulate", "Trajectory"),
    "Exact": ("spu_emulator.integrate.exact", "Exact"),
    "EulerMaruyama": ("spu_emulator.integrate.euler", "EulerMaruyama"),
    "Heun": ("spu_emulator.integrate.euler", "Heun"),
    # sampling layer and thermodynamic linear algebra
    "sample": ("spu_emulator.sampling.gaussian", "sample"),
    "inv": ("spu_emulator.sampling.linalg", "inv"),
    "solve": ("spu_emulator.sampling.linalg", "solve"),
    "logdet": ("spu_emulator.sampling.linalg", "logdet"),
    "RunBudget": ("spu_emulator.sampling.options", "RunBudget"),
    "BoardOptions": ("spu_emulator.sampling.options", "BoardOptions"),
    "Quantization": ("spu_emulator.sampling.options", "Quantization"),
    "compile_matrix": ("spu_emulator.hardware.compiler", "compile_matrix"),
    "load_design": ("spu_emulator.hardware.design", "load_design"),
    # real boards: Monte Carlo, yield, sensitivity
    "monte_carlo": ("spu_emulator.hardware.montecarlo", "monte_carlo"),
    "sensitivity": ("spu_emulator.hardware.sensitivity", "sensitivity"),
    # calibration of a built board, and compensation
    "load_samples": ("spu_emulator.calibration.samples", "load_samples"),
    "calibrate": ("spu_emulator.calibration.estimate", "calibrate"),
    "load_calibration": ("spu_emulator.calibration.report", "load_calibration"),
    "compile_compensated": ("spu_emulator.calibration.compensate", "compile_compensated"),
    # thermodynamic neural networks
    "NetConfig": ("spu_emulator.nn.model", "NetConfig"),
    "TrainSettings": ("spu_emulator.nn.trained", "TrainSettings"),
    "TrainedNet": ("spu_emulator.nn.trained", "TrainedNet"),
    "train_network": ("spu_emulator.nn.train", "train"),
    "load_labeled": ("spu_emulator.nn.data", "load_labeled"),
    "predict_labels": ("spu_emulator.nn.dynamics", "predict"),
    # sweeps on Dask
    "sweep": ("spu_emulator.sweep.engine", "sweep"),
    "load_sweep": ("spu_emulator.sweep.spec", "load_sweep"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _API[name]
    except KeyError:
        raise AttributeError(f"module 'spu_emulator' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


__all__ = [
    "K_B",
    "SPUError",
    "NetlistError",
    "TopologyError",
    "InstabilityError",
    "InputError",
    "CrossCheckError",
    "__version__",
    *_API,
]
