"""The waveform check: the same prescribed noise into ngspice and the emulator.

A seeded standard-normal sequence z (T, p), one column per noise source, becomes
input waveforms u_j = z_j sqrt(q_j / h) on a grid of step h (default fastest time / 8);
each side converts z with its own intensities q_j (the deck from its resistor values
and temperatures, the emulator from its circuit's noise table), so amplitudes are
checked too. ngspice runs the deck with ``pwl`` sources (tight tolerances, maximum
step h); both start from the zero state. The state compared is the SDE's own: node
voltages of a linear circuit, node charges of a nonlinear one.

The emulator side integrates dx/dt = drift(x, t) + B_u u(t), B_u = B diag(q)^(-1/2)
(:func:`~spu_emulator.integrate.driven.input_matrix`): exactly for a linear circuit
(piecewise-linear input, :func:`~spu_emulator.integrate.driven.simulate_driven`),
by DOP853 per input interval for a nonlinear one
(:func:`~spu_emulator.integrate.driven.simulate_driven_nonlinear`, rtol 1e-8: 2e-9
relative RMS from a rtol 1e-12 solution on nonlinear_pair; the bias sources follow
their own waveforms). Metric: relative RMS difference of each node's state.
Cost: O(T n (n + p)) linear, O(T) ODE solves nonlinear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import CrossCheckError, InputError
from ...integrate.driven import input_matrix, simulate_driven, simulate_driven_nonlinear
from ...netlist.schema import Netlist
from ..export import PWLInputs, TransientAnalysis, noise_source_table, to_spice
from .base import Array, Check, CheckData, CheckResult, Runner, node_states
from .options import ValidateOptions

#: Tight ngspice tolerances of the waveform deck (node voltages are µV-scale, far below
#: the default vntol of 1 µV; a nonlinear deck's charge nodes hold ~1e-17 C).
WAVEFORM_OPTIONS = ".options reltol=1e-6 trtol=0.1 vntol=1e-15 abstol=1e-20 chgtol=1e-25"
NONLINEAR_WAVEFORM_OPTIONS = ".options reltol=1e-6 trtol=0.1 vntol=1e-15 abstol=1e-20 chgtol=1e-30"

#: Relative tolerance of the emulator's nonlinear ODE solve (its error, ~2e-9, is far
#: below ngspice's ~1e-5).
EMULATOR_RTOL = 1e-8


@dataclass(frozen=True, eq=False)
class WaveformData(CheckData):
    """ngspice states ``v`` (T, k) (voltages, or charges of a nonlinear netlist) at the
    input grid ``t`` (T,) for the state ``nodes``, driven by the normalized sequence
    ``z`` (T, p)."""

    t: Array
    z: Array
    v: Array
    nodes: tuple[str, ...]
    commands: tuple[str, ...] = ()

    def to_npz(self) -> tuple[dict[str, Array], dict[str, Any]]:
        return ({"waveform_t": self.t, "waveform_z": self.z, "waveform_v": self.v},
                {"waveform_nodes": list(self.nodes)})

    @classmethod
    def from_npz(cls, arrays: dict[str, Array], meta: dict[str, Any]) -> WaveformData | None:
        if "waveform_t" not in arrays:
            return None
        return cls(arrays["waveform_t"], arrays["waveform_z"], arrays["waveform_v"],
                   tuple(meta["waveform_nodes"]))


@dataclass(frozen=True, eq=False)
class WaveformPlan:
    """The input grid ``t`` (T,), the sequence ``z`` (T, p) and the state ``nodes``."""

    t: Array
    z: Array
    nodes: tuple[str, ...]


def deck_options(netlist: Netlist) -> str:
    """The ``.options`` line of a waveform deck."""
    return WAVEFORM_OPTIONS if netlist.is_linear else NONLINEAR_WAVEFORM_OPTIONS


def waveform_errors(
    v: Array, ref: Array, nodes: Sequence[str], tol: float
) -> tuple[Array, list[dict[str, Any]], int, bool]:
    """Relative RMS error of ngspice's ``v`` (T, k) against the emulator's ``ref``
    per node: (errors (k,), one row per node, index of the worst, all within tol)."""
    err = v - ref
    rel = np.sqrt(np.mean(err**2, axis=0) / np.mean(ref**2, axis=0))
    rows = [
        {
            "node": n,
            "rel_rms_error": float(rel[k]),
            "rms_emulator": float(np.sqrt(np.mean(ref[:, k] ** 2))),
            "max_abs_error": float(np.max(np.abs(err[:, k]))),
            "passed": bool(rel[k] <= tol),
        }
        for k, n in enumerate(nodes)
    ]
    return rel, rows, int(np.argmax(rel)), bool(np.all(rel <= tol))


def emulator_response(circuit: Any, t: Array, z: Array) -> tuple[Array, str]:
    """(states (T, n), how they were computed): the emulator driven by
    u = z sqrt(q / h) with its own intensities q (``circuit.intensities``)."""
    sde = circuit.to_sde()
    if z.shape[1] != len(circuit.noise):
        raise CrossCheckError(
            f"the input sequence has {z.shape[1]} columns, the emulator {len(circuit.noise)} "
            "noise sources"
        )
    h = float(t[1] - t[0])
    u = z * np.sqrt(circuit.intensities / h)[None, :]
    bu = input_matrix(circuit, sde)
    if sde.linear:
        tr = simulate_driven(sde, t, u, input_matrix=bu, interpolation="linear",
                             sources=circuit.noise_sources)
        return tr.states, "exact PWL emulator"
    tr = simulate_driven_nonlinear(sde, t, u, input_matrix=bu, rtol=EMULATOR_RTOL,
                                   scale=sde.thermal_charges())
    return tr.states, f"emulator ODE by DOP853 (rtol {EMULATOR_RTOL:g})"


class WaveformCheck(Check):
    """Sample-by-sample comparison of every node's state (module docstring)."""

    name = "waveform"
    data_type = WaveformData

    def plan(self, circuit: Any, options: ValidateOptions) -> WaveformPlan:
        """Step h = fastest time / 8 (or ``waveform_step``), 4 significant digits; the
        sequence from the seed (its first row 0: both sides start from rest)."""
        opts = options.waveform
        h = opts.waveform_step if opts.waveform_step is not None else (
            circuit.to_sde().fastest_time() / 8.0)
        h = float(f"{h:.4g}")
        T = int(opts.waveform_samples)
        if T < 10:
            raise InputError(f"must be ≥ 10, got {T}", "waveform_samples")
        rng = np.random.default_rng(np.random.SeedSequence([int(options.seed), 0x5F1CE]))
        z = rng.standard_normal((T, len(circuit.noise)))
        z[0] = 0.0
        return WaveformPlan(np.arange(T) * h, z, tuple(circuit.nodes))

    def decks(self, plan: WaveformPlan, netlist: Netlist) -> dict[str, str]:
        """The ``pwl`` transient deck: u_j = z_j sqrt(q_j / h) with this netlist's q_j."""
        table = noise_source_table(netlist)
        if len(table) != plan.z.shape[1]:
            raise CrossCheckError(
                f"the deck's netlist has {len(table)} noise sources, the emulator {plan.z.shape[1]}"
            )
        t = plan.t
        h = float(t[1] - t[0])
        q = np.array([s.intensity for s in table])
        u = plan.z * np.sqrt(q / h)[None, :]
        an = TransientAnalysis(h, float(t[-1]), h, save=plan.nodes)
        deck = to_spice(netlist, an, PWLInputs(t, u))
        return {"waveform": deck.replace("\n.tran ", f"\n{deck_options(netlist)}\n.tran ", 1)}

    def run(self, plan: WaveformPlan, decks: dict[str, str], netlist: Netlist,
            runner: Runner) -> WaveformData:
        res = runner(decks["waveform"])
        tt, x = node_states(netlist, res.plot("transient"), plan.nodes)
        v = np.stack([np.interp(plan.t, tt, x[:, k]) for k in range(x.shape[1])], axis=1)
        return WaveformData(t=plan.t, z=plan.z, v=v, nodes=plan.nodes,
                            commands=("ngspice -b deck.cir -r out.raw",))

    def compare(self, circuit: Any, data: WaveformData, options: ValidateOptions) -> CheckResult:
        tol = options.waveform.waveform_tol
        states, how = emulator_response(circuit, data.t, data.z)
        idx = [circuit.nodes.index(n) for n in data.nodes]
        ref = states[:, idx]
        rel, rows, k, passed = waveform_errors(data.v, ref, data.nodes, tol)
        h = float(data.t[1] - data.t[0])
        what = "" if circuit.linear else " of the charge"
        node = data.nodes[k]
        summary = (
            f"{f'all {len(rows)} nodes agree' if passed else 'FAIL at node ' + node}: "
            f"worst relative RMS error{what} {rel[k]:.2e} (tol {tol:g}) at node {node}; "
            f"{len(data.t)} samples, step {h:.4g} s, {data.z.shape[1]} pwl sources, {how}"
        )
        info = {
            "samples": len(data.t),
            "step": h,
            "sources": list(circuit.noise_sources),
            "quantity": "voltage (V)" if circuit.linear else "charge (C)",
            "ngspice_options": deck_options(circuit.netlist),
        }
        arrays = {"t": data.t, "v_ngspice": data.v, "v_emulator": ref}
        return self.result(passed, float(rel[k]), tol, f"node {node}", summary, rows, info, arrays)
