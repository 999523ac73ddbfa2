"""Metrics sanity (real held-out scores high, noise low) and the CLI: outputs, and bad
input → exit status 2 with a one-line message."""

import numpy as np
import pytest

from spu_emulator.cli import main
from spu_emulator.generative.config import Config
from spu_emulator.generative.data import load_dataset, split_indices
from spu_emulator.generative.metrics import Reference, full_report
from spu_emulator.generative.train import train


@pytest.fixture(scope="module")
def reference():
    ds = load_dataset("digits")
    tr, ho = split_indices(len(ds.images), 500, 0)
    X = ds.flat
    return Reference(X[tr], X[ho], ds.labels[tr], ds.lo, ds.hi, ds.shape)


def test_metrics_real_high_noise_low(reference):
    rep = full_report(reference.train[:500], reference, k=3, seed=0)
    real, noise = rep["real"], rep["noise"]
    assert real["precision"] > 0.8 and real["recall"] > 0.8 and real["classes_covered"] == 10
    assert noise["precision"] < 0.05 and noise["recall"] < 0.05 and noise["classes_covered"] == 0
    assert noise["frechet_pca"] > 10 * real["frechet_pca"]
    # a set of 20 copies of 5 training images: precision high, recall ~0, flagged as copies
    copies = np.repeat(reference.train[:5], 20, axis=0)
    s = full_report(copies, reference)["samples"]
    assert s["recall"] < 0.1 and s["copy_fraction"] == 1.0


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    cfg = Config(n_hidden=6, dt=0.05, t_f=0.5, t_settle=0.25, max_images=30, batch_size=30,
                 epochs=1, gen_time=0.5, heat_samples=0)
    p = tmp_path_factory.mktemp("m") / "model.npz"
    train(cfg, load_dataset("digits")).save(p)
    return p


def test_cli_generate_score_export(model_file, tmp_path, capsys):
    out, png, yml = tmp_path / "s.npy", tmp_path / "g.png", tmp_path / "c.yaml"
    assert main(["generate", str(model_file), "--count", "20", "--seed", "3", "--out", str(out),
                 "--png", str(png)]) == 0
    s = np.load(out)
    assert s.shape == (20, 8, 8) and png.stat().st_size > 0
    assert "heat per sample" in capsys.readouterr().out
    assert main(["score", str(out), "--model", str(model_file), "--json"]) == 0
    import json

    rep = json.loads(capsys.readouterr().out)
    assert set(rep) == {"samples", "real", "noise"} and rep["samples"]["n"] == 20
    assert main(["export", str(model_file), "-o", str(yml)]) == 0
    import yaml

    doc = yaml.safe_load(yml.read_text())
    types = [e["type"] for e in doc["elements"]]
    assert doc["format"] == "spu-netlist/1"
    assert types.count("NC") == 70 and types.count("RB") == 70 and "EC" in types


@pytest.mark.parametrize("argv_fn, needle", [
    (lambda d: ["generate", str(d / "missing.npz"), "--out", str(d / "x.npy")], "not found"),
    (lambda d: ["score", str(d / "bad.npy")], "do not match"),
    (lambda d: ["score", str(d / "missing.npy")], "not found"),
    (lambda d: ["export", str(d / "bad.npy"), "-o", str(d / "c.yaml")], "not a generative model"),
    (lambda d: ["train", "--dataset", str(d / "nope.idx"), "--out", str(d / "m.npz")], "nope.idx"),
    (lambda d: ["train", "--resume", "--out", str(d / "m.npz")], "--resume"),
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, argv_fn, needle):
    np.save(tmp_path / "bad.npy", np.zeros((10, 5, 5)))
    assert main(argv_fn(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("spu: error:") and err.count("\n") == 1 and needle in err


def test_cli_mnist_format_train_generate_28x28(tmp_path, capsys):
    """MNIST-format data end to end through the CLI with the default (sparse) drive: an
    IDX file of 28×28 uint8 images trains, and `spu generate` writes (count, 28, 28)
    arrays in the data's 0..255 scale; --heldout makes small files usable."""
    import struct

    rng = np.random.default_rng(2)
    imgs = np.zeros((40, 28, 28), dtype=np.uint8)
    imgs[:, 8:20, 10:18] = rng.integers(100, 256, size=(40, 12, 8))  # blobs on a dark field
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", *imgs.shape) + imgs.tobytes())
    m, out = tmp_path / "m.npz", tmp_path / "s.npy"
    assert main(["train", "--dataset", str(f), "--hidden", "16", "--epochs", "1",
                 "--heldout", "10", "--out", str(m), "--quiet"]) == 0
    assert main(["generate", str(m), "--count", "6", "--seed", "1", "--out", str(out)]) == 0
    s = np.load(out)
    assert s.shape == (6, 28, 28) and s.min() >= 0 and s.max() <= 255
    assert s[:, 8:20, 10:18].mean() > s[:, :4].mean() + 20  # it learned where the blobs are
    capsys.readouterr()
    assert main(["train", "--dataset", str(f), "--out", str(m)]) == 2  # 500 held out of 40
    err = capsys.readouterr().err
    assert "held-out size" in err and str(f) in err and err.count("\n") == 1
