"""The exported circuit, run by ``spu simulate``, classifies like ``spu nn predict``:
on 30 digits (one netlist per image, its inputs presented by the bias sources), the two
accuracies agree within binomial error; and the netlist has the expected elements."""

import numpy as np
import pytest

from spu_emulator.cli import main
from spu_emulator.nn.data import load_labeled
from spu_emulator.nn.export import build_netlist, trajectory_prediction
from spu_emulator.nn.trained import TrainedNet


@pytest.mark.slow
def test_exported_netlist_reproduces_predict(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert main(["nn", "train", "--dataset", "digits", "-o", str(model), "--hidden", "12",
                 "--epochs", "4", "--batch-size", "32", "--lr", "0.05", "--quiet"]) == 0
    tm = TrainedNet.load(model)
    test = load_labeled("digits", "test")
    n, M = 30, 4
    sub = tmp_path / "sub.npz"
    np.savez(sub, images=test.pixels[:n].reshape(n, 8, 8), labels=test.labels[:n])
    assert main(["nn", "predict", str(model), "--data", str(sub), "-o", str(tmp_path / "p.npy"),
                 "--trajectories", "1", "--seed", "1", "--quiet"]) == 0
    ref = np.load(tmp_path / "p.npy")
    c = tm.net.config
    circuit = []
    for i in range(n):
        net = tmp_path / f"net{i}.yaml"
        assert main(["nn", "export", str(model), "-o", str(net), "--data", str(sub),
                     "--image", str(i)]) == 0
        sim = tmp_path / f"sim{i}.npz"
        assert main(["simulate", str(net), "--method", "euler", "--dt", f"{c.dt * 1e-6:.12g}",
                     "--duration", f"{c.n_steps * c.dt * 1e-6:.12g}", "--chains", str(M),
                     "--save-every", str(c.n_steps), "--seed", str(i), "--out", str(sim)]) == 0
        with np.load(sim) as z:
            circuit.append(trajectory_prediction(tm, z["states"], [str(s) for s in z["state_names"]]))
    capsys.readouterr()
    circuit = np.concatenate(circuit)  # n·M single-shot answers
    a_ref = np.mean(ref == test.labels[:n])
    a_circ = np.mean(circuit == np.repeat(test.labels[:n], M))
    p = 0.5 * (a_ref + a_circ)
    se = np.sqrt(p * (1 - p) * (1 / n + 1 / (n * M)))
    print(f"predict {a_ref:.3f}, circuit {a_circ:.3f}, se {se:.3f}")
    assert 0.4 < a_ref < 1.0  # a weak model, so the comparison can fail
    assert abs(a_ref - a_circ) <= 3 * se + 1 / n, (a_ref, a_circ, se)


def test_netlist_elements_and_bias_sources(tmp_path):
    from spu_emulator.nn.model import NetConfig, ThermoNet, init_params
    from spu_emulator.nn.trained import TrainedNet, TrainSettings

    cfg = NetConfig(n_in=4, n_hidden=3, n_out=2)
    W, K, b = init_params(cfg, np.random.default_rng(0))
    tm = TrainedNet(ThermoNet(cfg, W, K, b + 0.3), TrainSettings(), 0.0, 1.0, (4,), "", 1)
    nl = build_netlist(tm, np.array([1.0, 0.0, 0.5, 0.2]))
    kinds = [e.TYPE for e in nl.elements]
    assert kinds.count("NC") == 5 and kinds.count("RB") == 5 and kinds.count("EC") == 6
    with pytest.raises(Exception, match="pixels"):
        build_netlist(tm, np.zeros(5))
    rb = [e for e in nl.elements if e.TYPE == "RB"]
    plain = [e for e in build_netlist(tm).elements if e.TYPE == "RB"]
    assert rb[0].bias.values != plain[0].bias.values  # the image moves the hidden sources
    assert rb[-1].bias.values == plain[-1].bias.values  # outputs: no input coupling
