"""Training loop: resume after an interruption gives bit-identical parameters, the
paper preset runs, generation has the data's shape and pixel scale, heat is finite,
the model file round-trips and the export is a loadable netlist with the same drift."""

import numpy as np
import pytest

from spu_emulator.circuit import assemble
from spu_emulator.generative.config import PRESETS, Config
from spu_emulator.generative.data import load_dataset
from spu_emulator.generative.generate import generate
from spu_emulator.generative.train import Interrupted, train
from spu_emulator.generative.trained import TrainedModel

TINY = Config(n_hidden=8, dt=0.05, t_f=0.5, t_settle=0.25, max_images=40, batch_size=16,
              epochs=2, gen_time=0.5, readout_window=0.1, heat_samples=8, seed=7)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def tiny_model(digits):
    return train(TINY, digits)


@pytest.mark.parametrize("optimizer,time_bias", [("lstsq", "none"), ("gd", "none"),
                                                  ("lstsq", "field"), ("gd", "linear")])
def test_resume_after_kill_gives_identical_parameters(digits, tmp_path, optimizer, time_bias):
    cfg = TINY.replace(optimizer=optimizer, lr=1e-3, time_bias=time_bias)
    full = train(cfg, digits)
    ckpt = tmp_path / "ck.npz"
    with pytest.raises(Interrupted):
        # checkpoint after every batch; "kill" once epoch 1 (0-based) has 2 batches done
        train(cfg, digits, checkpoint=lambda s: s.save(ckpt), checkpoint_every=0.0,
              stop=lambda s: s.epoch == 1 and s.batch == 2)
    state = TrainedModel.load(ckpt)
    assert (state.epoch, state.batch, state.complete) == (1, 2, False)
    resumed = train(cfg, digits, state=state)
    assert np.array_equal(resumed.model.J, full.model.J)
    assert np.array_equal(resumed.model.b, full.model.b)
    assert np.array_equal(resumed.ramp_bias, full.ramp_bias)
    assert resumed.history.loss_after == full.history.loss_after
    assert np.any(full.model.J != 0)
    assert np.any(full.ramp_bias != 0) == (time_bias != "none")


def test_resume_with_other_settings_is_refused(digits, tiny_model):
    from spu_emulator.errors import InputError

    with pytest.raises(InputError, match="different settings"):
        train(TINY.replace(kT=0.2), digits, state=tiny_model)


def test_training_lowers_loss_and_logs_heat(tiny_model):
    h = tiny_model.history
    assert len(h.loss_after) == 2 and h.loss_after[0] < h.loss_before[0]
    assert all(np.isfinite(h.heat_kT))


def test_generate_shape_scale_and_heat(tiny_model):
    g = generate(tiny_model, 30, np.random.default_rng(1))
    assert g.images.shape == (30, 8, 8)
    assert g.images.min() >= 0.0 and g.images.max() <= 16.0
    assert g.images.std() > 0.5  # not a constant image
    assert g.heat_kT.shape == (30,) and np.all(np.isfinite(g.heat_kT))
    again = generate(tiny_model, 30, np.random.default_rng(1))
    assert np.array_equal(again.images, g.images)  # same seed, same bytes


def test_model_file_round_trip(tiny_model, tmp_path):
    p = tmp_path / "m.npz"
    tiny_model.save(p)
    m = TrainedModel.load(p)
    assert m.config == tiny_model.config and m.complete
    assert np.array_equal(m.model.J, tiny_model.model.J)
    assert np.array_equal(m.heldout_idx, tiny_model.heldout_idx)
    assert np.array_equal(m.projection_offset, tiny_model.projection_offset)
    assert np.any(m.projection_offset != 0)  # the default (sparse) drive has thresholds
    x = load_dataset("digits").flat[:5]
    assert np.array_equal(m.targets(x), tiny_model.targets(x))
    assert not set(m.train_idx) & set(m.heldout_idx)
    assert p.read_bytes() == (tmp_path / "m.npz").read_bytes()


@pytest.mark.parametrize("active", [0.1, 0.3, 0.6])
def test_sparse_hidden_drive_is_on_for_the_requested_fraction(digits, active):
    """Each hidden unit of the sparse drive is on (target > 0) for a fraction `active` of
    the training images (up to the quantile's resolution), saturated for most of them,
    and the targets stay in [−1, 1]; the projection drive has no thresholds."""
    from spu_emulator.generative.train import initial_model

    cfg = Config(n_hidden=64, hidden_active=active, max_images=400)
    tm = initial_model(cfg, digits)
    h = tm.targets(digits.flat[tm.train_idx])[:, tm.n_visible:]
    assert h.min() >= -1 and h.max() <= 1
    on = (h > 0).mean(axis=0)
    np.testing.assert_allclose(on, active, atol=2 / len(tm.train_idx))
    assert (np.abs(h) == 1).mean() > 0.5
    off = initial_model(cfg.replace(hidden_drive="projection"), digits)
    assert np.all(off.projection_offset == 0)


@pytest.mark.slow
def test_paper_preset_smoke(digits):
    """The paper's settings (Δt = 1e-3, 2 × 2500 steps, 64 + 512 units), one epoch."""
    cfg = PRESETS["paper"].replace(epochs=1, heat_samples=2)
    assert (cfg.J2, cfg.J4, cfg.kT, cfg.mu, cfg.dt, cfg.t_f, cfg.n_hidden) == \
        (1.0, 1.0, 0.1, 1.0, 1e-3, 2.5, 512)
    tm = train(cfg, digits)
    assert tm.model.n_units == 64 + 512 and len(tm.train_idx) == 3
    assert np.all(tm.model.b[:64] == 0)  # paper: hidden biases only
    assert np.any(tm.model.J != 0)
    assert tm.history.loss_after[0] < tm.history.loss_before[0]


def test_export_netlist_loads_and_has_the_model_drift(tiny_model, tmp_path):
    from spu_emulator.generative.export import PhysicalScale, write_netlist
    from spu_emulator.netlist import load

    scale = PhysicalScale(temperature=300.0, capacitance=1e-12, time_unit=1e-6)
    path = tmp_path / "c.yaml"
    write_netlist(path, tiny_model.model, scale)
    sde = assemble(load(path)).to_sde()
    m = tiny_model.model
    q0, tau = scale.charge_unit(m.kT), scale.time_unit
    x = np.random.default_rng(3).normal(scale=0.5, size=(5, m.n_units))
    # dq/dt = (q0 / tau) dx/dt_model
    np.testing.assert_allclose(sde.drift(q0 * x), (q0 / tau) * m.drift()(x), rtol=1e-9,
                               atol=1e-12 * q0 / tau)
    # noise: sqrt(2 kB T / R) per node = q0 sqrt(2 mu kT / tau)
    np.testing.assert_allclose(np.sqrt((sde.B**2).sum(1)), q0 * np.sqrt(2 * m.mu * m.kT / tau),
                               rtol=1e-9)


def test_export_writer_round_trips_through_yaml(tiny_model, tmp_path):
    """The exported file (netlist.dump's writer) reads back (yaml.safe_load) as exactly the
    netlist's entries, and through the netlist loader as the same netlist, tricky
    scalars included (YAML 1.1 floats without a dot, words YAML reads as booleans);
    time-dependent biases included."""
    import yaml

    from spu_emulator.generative.export import PhysicalScale, build_netlist, write_netlist
    from spu_emulator.netlist import load
    from spu_emulator.netlist.dump import flow

    for v in [1e-12, -3e300, 2.5, -0.0, 7, "gnd", "yes", "Off", "a b", "x: y", "1e3", "",
              {"pwl": [[0.0, 1e-7], [2.5e-6, -0.25]]}, [1.0, "NC_v0"]]:
        r = yaml.safe_load(flow(v))
        assert r == v and type(r) is type(v), (v, flow(v), r)
    with pytest.raises(ValueError):
        flow(float("inf"))  # a netlist holds finite values only
    path = tmp_path / "c.yaml"
    ramp = ((0.0, 1.0, 2.0), (1.0, 0.5, 0.0))
    rb = np.linspace(-1, 1, tiny_model.model.n_units)
    net = write_netlist(path, tiny_model.model, PhysicalScale(), ramp_bias=rb, ramp=ramp)
    doc = yaml.safe_load(path.read_text())
    assert doc["elements"] == [e.yaml_entry() for e in net.elements]
    assert {k: doc[k] for k in ("format", "name", "description", "temperature")} == \
        {"format": "spu-netlist/1", "name": net.name, "description": net.description,
         "temperature": net.temperature}
    assert any("pwl" in str(e["bias"]) for e in doc["elements"] if e["type"] == "RB")
    back = load(path)
    assert back == net and back.digest == net.digest
    assert net == build_netlist(tiny_model.model, PhysicalScale(), ramp_bias=rb, ramp=ramp)
