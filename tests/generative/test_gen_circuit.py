"""Generation really runs on the circuit: the exported netlist, simulated by the
emulator's nonlinear SDE (``spu simulate --method euler``) from the switch-on charges of
``spu generate``, gives images with the same per-pixel statistics as ``spu generate``
(means and variances within 5 standard errors of the sample size), also with
time-dependent biases (piecewise-linear bias sources); the CLI path
(generate --x0-out → simulate → score sim.npz) works end to end."""

import json

import numpy as np
import pytest

from spu_emulator.analysis import run_simulation
from spu_emulator.circuit import assemble
from spu_emulator.cli import main
from spu_emulator.errors import InputError
from spu_emulator.generative.circuit import (
    simulate_arguments,
    state_names,
    to_charges,
    trajectory_images,
)
from spu_emulator.generative.config import Config
from spu_emulator.generative.data import load_dataset
from spu_emulator.generative.export import PhysicalScale, write_netlist
from spu_emulator.generative.generate import generate
from spu_emulator.generative.train import train
from spu_emulator.netlist import load

CFG = Config(n_hidden=8, dt=0.05, t_f=0.5, t_settle=0.25, max_images=40, batch_size=40,
             epochs=1, gen_time=1.0, readout_window=0.25, heat_samples=0, seed=3)
N = 2000


@pytest.fixture(scope="module", params=["none", "field"])
def setup(tmp_path_factory, request):
    """A small trained model (time-independent, and with time-dependent biases b + b′φ(t)
    exported as piecewise-linear bias sources) and its netlist."""
    d = tmp_path_factory.mktemp("circ")
    stretch = 1.0 if request.param == "none" else 1.5  # generation ramp 1.5x slower than noising
    tm = train(CFG.replace(time_bias=request.param, ramp_stretch=stretch), load_dataset("digits"))
    tm.save(d / "m.npz")
    write_netlist(d / "c.yaml", tm.model, PhysicalScale(), **tm.netlist_ramp())
    if request.param != "none":
        assert np.abs(tm.ramp_bias).max() > 0
        assert "pwl" in (d / "c.yaml").read_text()
    return tm, d


def _agree(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Largest |z| of per-pixel mean and variance differences (SEs from the samples,
    fourth moments for the variance; a small floor for pixels clipped in both)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    ma, mb, va, vb = a.mean(0), b.mean(0), a.var(0, ddof=1), b.var(0, ddof=1)
    zm = (ma - mb) / np.sqrt(va / len(a) + vb / len(b) + 1e-12)
    m4a, m4b = ((a - ma) ** 4).mean(0), ((b - mb) ** 4).mean(0)
    se_v = np.sqrt(np.maximum(m4a - va**2, 0) / len(a) + np.maximum(m4b - vb**2, 0) / len(b))
    zv = (va - vb) / (se_v + 1e-12)
    return float(np.abs(zm).max()), float(np.abs(zv).max())


def test_simulated_circuit_matches_generate_statistics(setup):
    tm, d = setup
    scale = PhysicalScale()
    g = generate(tm, N, np.random.default_rng(1))
    sim = simulate_arguments(tm, scale)
    traj = run_simulation(load(d / "c.yaml"), sim["duration"], dt=sim["dt"], chains=N, seed=2,
                          method="euler", burn_in=sim["burn_in"], x0=to_charges(tm, g.x_start, scale))
    assert list(traj.state_names) == state_names(tm)
    assert len(traj.t) == round(CFG.readout_window / CFG.dt)  # exactly the readout window
    circ = trajectory_images(tm, traj.states, traj.t, scale, list(traj.state_names))
    zm, zv = _agree(g.images, circ)
    assert zm < 5 and zv < 5, (zm, zv)
    # the check has power: the switch-on noise read out as images is far from both
    noise = tm.to_pixels(g.x_start[:, : tm.n_visible])
    assert _agree(g.images, noise)[0] > 20


def test_circuit_path_equals_model_path_for_the_same_noise(setup):
    """Stronger than statistics: the circuit's Euler–Maruyama run (netlist → NonlinearSDE →
    simulate) driven by the same normals is the model's own Euler path to rounding, also
    with time-dependent (piecewise-linear) bias sources."""
    from spu_emulator.generative.noising import generation_feature
    from spu_emulator.integrate.base import NoiseSource
    from spu_emulator.integrate.simulate import simulate

    tm, d = setup
    c, m, scale = tm.config, tm.model, PhysicalScale()
    q0, tau = scale.charge_unit(m.kT), scale.time_unit
    chains, n = 20, round(c.generation_time / c.dt)
    x0 = generate(tm, chains, np.random.default_rng(5)).x_start
    sde = assemble(load(d / "c.yaml")).to_sde()
    tr = simulate(sde, "euler", 0.0, n * c.dt * tau, c.dt * tau, np.random.default_rng(9),
                  chains=chains, x0=q0 * x0, threads=False)
    gen = np.random.default_rng(9)  # the same streams simulate() draws its normals from
    gen.bit_generator.seed_seq.spawn(1)
    z = NoiseSource(gen, chains, m.n_units, threads=False).draw(n)
    f, x, sigma = m.drift(), x0, np.sqrt(2 * m.mu * m.kT * c.dt)
    bp = tm.ramp_bias if c.n_time_features else np.zeros(m.n_units)
    for k in range(n):
        phi = generation_feature(c.time_bias, c.protocol, k * c.dt, c.ramp_stretch) \
            if c.n_time_features else 0.0
        x = x + c.dt * (f(x) - m.mu * phi * bp) + sigma * z[k]
        if k in (0, n // 2):
            np.testing.assert_allclose(tr.states[:, k] / q0, x, rtol=0, atol=1e-11)
    np.testing.assert_allclose(tr.states[:, -1] / q0, x, rtol=0, atol=1e-11)
    assert np.abs(x - x0).max() > 0.1  # it moved


def test_cli_generate_simulate_score(setup, tmp_path, capsys):
    tm, d = setup
    x0, samples, simf = tmp_path / "x0.npy", tmp_path / "s.npy", tmp_path / "sim.npz"
    assert main(["generate", str(d / "m.npz"), "--count", "30", "--seed", "4", "--out",
                 str(samples), "--x0-out", str(x0)]) == 0
    out = capsys.readouterr().out
    assert "spu simulate" in out and np.load(x0).shape == (30, tm.model.n_units)
    sim = simulate_arguments(tm, PhysicalScale())
    assert main(["simulate", str(d / "c.yaml"), "--method", "euler", "--x0", str(x0),
                 "--chains", "30", "--dt", repr(sim["dt"]), "--duration", repr(sim["duration"]),
                 "--burn-in", repr(sim["burn_in"]), "--out", str(simf)]) == 0
    capsys.readouterr()
    assert main(["score", str(simf), "--model", str(d / "m.npz"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["samples"]["n"] == 30


def test_trajectory_checks(setup):
    tm, _ = setup
    scale = PhysicalScale()
    t = np.arange(1, 6) * CFG.dt * scale.time_unit
    with pytest.raises(InputError, match="states"):
        trajectory_images(tm, np.zeros((2, 5, 3)), t, scale)
    with pytest.raises(InputError, match="shorter than the readout"):
        trajectory_images(tm, np.zeros((2, 2, tm.model.n_units)), t[:2], scale)
    with pytest.raises(InputError, match="order"):
        trajectory_images(tm, np.zeros((2, 5, tm.model.n_units)), t, scale,
                          state_names(tm)[::-1])
