"""Deterministic-input mode: exact for piecewise-linear and held inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from spu_emulator.circuit.assemble import assemble
from spu_emulator.errors import InputError
from spu_emulator.integrate.driven import drive_circuit, input_matrix, simulate_driven
from spu_emulator.netlist import load, loads

ROOT = Path(__file__).resolve().parents[2]

RC = """
format: spu-netlist/1
cells:
  - {name: a, C: 1 nF, R: 1 kOhm}
"""


def test_rc_step_and_ramp_closed_form():
    """RC cell (τ = 1 µs) driven through its resistor's noise source: a held step
    gives I R (1 − e^{−t/τ}); a ramp I t/T gives I R (t − τ(1 − e^{−t/τ}))/T."""
    c = assemble(loads(RC))
    tau, R, current = 1e-6, 1e3, 1e-6
    t = np.linspace(0, 5e-6, 11)
    held = drive_circuit(c, t, {"a.R": np.full(t.size, current)}, interpolation="hold")
    np.testing.assert_allclose(
        held.voltages[:, 0], current * R * (1 - np.exp(-t / tau)), rtol=1e-12, atol=1e-18
    )
    T = t[-1]
    ramp = drive_circuit(c, t, {"a.R": current * t / T})
    expect = current * R * (t - tau * (1 - np.exp(-t / tau))) / T
    np.testing.assert_allclose(ramp.voltages[:, 0], expect, rtol=1e-11, atol=1e-18)


@pytest.mark.parametrize("name", ["nonequilibrium", "rc_network", "spu8"])
def test_pwl_matches_tight_ode_solver(name):
    """Random PWL input on a non-uniform grid vs a tight DOP853 solution."""
    c = assemble(load(ROOT / "netlists" / f"{name}.yaml"))
    sde = c.to_sde()
    rng = np.random.default_rng(7)
    h = sde.fastest_time() / 4
    t = np.cumsum(np.r_[0.0, rng.uniform(0.5, 1.5, 59) * h])
    q = np.array([1.0] * len(c.noise_sources))
    u = rng.standard_normal((t.size, q.size)) * 1e-7
    tr = drive_circuit(c, t, u)
    Bu = input_matrix(c, sde)

    def f(tt, x):
        return sde.A @ x + sde.b + Bu @ np.array([np.interp(tt, t, u[:, j]) for j in range(q.size)])

    sol = solve_ivp(
        f,
        (0, t[-1]),
        np.zeros(sde.dim),
        t_eval=t,
        method="DOP853",
        rtol=1e-12,
        atol=1e-30,
        max_step=h / 4,
    )
    scale = np.abs(tr.states).max(axis=0)
    assert np.max(np.abs(sol.y.T - tr.states) / scale) < 1e-8
    assert tr.meta["distinct_steps"] > 1


def test_input_matrix_units_are_amperes():
    """A DC current I into a lone RC node settles at I R, whatever the node's
    temperature (the input is in amperes, not noise units)."""
    c = assemble(loads(RC.replace("R: 1 kOhm", "R: 1 kOhm, temperature: 77 K")))
    t = np.linspace(0, 50e-6, 6)
    tr = drive_circuit(c, t, np.full((t.size, 1), 2e-6), interpolation="hold")
    assert tr.voltages[-1, 0] == pytest.approx(2e-3, rel=1e-12)


def test_bad_inputs():
    c = assemble(loads(RC))
    sde = c.to_sde()
    with pytest.raises(InputError, match="strictly increasing"):
        drive_circuit(c, [0.0, 1e-9, 1e-9], np.zeros((3, 1)))
    with pytest.raises(InputError, match="unknown source"):
        drive_circuit(c, [0.0, 1e-9], {"nope": np.zeros(2)})
    with pytest.raises(InputError, match="rows"):
        drive_circuit(c, [0.0, 1e-9], np.zeros((3, 1)))
    with pytest.raises(InputError, match="interpolation"):
        simulate_driven(
            sde, [0.0, 1e-9], np.zeros((2, 1)), input_matrix=np.ones((1, 1)), interpolation="cubic"
        )
