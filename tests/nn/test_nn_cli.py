"""spu nn train / predict / eval through the CLI: outputs, reproducibility by seed, and
bad input (one line, exit 2, nothing written)."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

from spu_emulator.cli import main
from spu_emulator.nn.trained import TrainedNet


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("nn")
    dig = load_digits()
    np.savez(d / "train.npz", images=dig.images[:300], labels=dig.target[:300])
    np.savez(d / "test.npz", images=dig.images[1500:1560], labels=dig.target[1500:1560])
    model = d / "m.npz"
    assert main(["nn", "train", "--data", str(d / "train.npz"), "-o", str(model), "--hidden",
                 "16", "--epochs", "8", "--batch-size", "32", "--lr", "0.05", "--quiet"]) == 0
    return d, model


def test_train_predict_eval(small, capsys):
    d, model = small
    tm = TrainedNet.load(model)
    assert tm.complete and tm.epoch == 8 and tm.net.config.n_hidden == 16
    assert tm.history["accuracy"][-1] > tm.history["accuracy"][0]
    p1, p2, p3 = (d / f"p{i}.npy" for i in range(3))
    for path, s in ((p1, "4"), (p2, "4"), (p3, "5")):
        assert main(["nn", "predict", str(model), "--data", str(d / "test.npz"), "-o", str(path),
                     "--seed", s, "--trajectories", "2", "--quiet"]) == 0
    a, b, c = (np.load(p) for p in (p1, p2, p3))
    assert a.dtype == np.int64 and a.shape == (60,)
    assert np.array_equal(a, b) and p1.read_bytes() == p2.read_bytes()
    assert not np.array_equal(a, c)  # another seed, other noise
    labels = load_digits().target[1500:1560]
    assert np.mean(a == labels) > 0.5  # trained 8 short epochs on 300 images
    capsys.readouterr()
    assert main(["nn", "eval", str(model), "--data", str(d / "test.npz"), "--json",
                 "--trajectories", "4", "--no-baselines"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["images"] == 60 and len(rep["confusion"]) == 10
    assert sum(map(sum, rep["confusion"])) == 60
    assert rep["single_shot"]["top2"]["accuracy"] >= rep["single_shot"]["top1"]["accuracy"]
    assert rep["energy"]["heat_run_kT"] > 0
    # the plots: accuracy against observation time and kT, and the confusion matrix
    figs = d / "figs"
    assert main(["nn", "eval", str(model), "--data", str(d / "test.npz"), "--json",
                 "--trajectories", "2", "--no-baselines", "--plot", str(figs)]) == 0
    capsys.readouterr()
    for name in ("accuracy_vs_time.png", "accuracy_vs_kT.png", "confusion.png"):
        assert (figs / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def _bad(tmp_path, capsys, argv, *words):
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse rejects the value
        rc = exc.code
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def test_bad_input(small, tmp_path, capsys):
    d, model = small
    dig = load_digits()
    np.savez(tmp_path / "nolabels.npz", images=dig.images[:20])
    np.savez(tmp_path / "short.npz", images=dig.images[:20], labels=dig.target[:19])
    nan = dig.images[:20].copy()
    nan[3, 2, 2] = np.nan
    np.savez(tmp_path / "nan.npz", images=nan, labels=dig.target[:20])
    np.savez(tmp_path / "big.npz", images=np.zeros((20, 10, 10)), labels=dig.target[:20])
    out = tmp_path / "o.npz"
    for name, words in (("nolabels", ("nolabels.npz", "labels", "missing")),
                        ("short", ("short.npz", "labels", "19 entries for 20")),
                        ("nan", ("nan.npz", "images", "NaN"))):
        _bad(tmp_path, capsys, ["nn", "train", "--data", str(tmp_path / f"{name}.npz"), "-o",
                                str(out), "--quiet"], *words)
    _bad(tmp_path, capsys, ["nn", "predict", str(model), "--data", str(tmp_path / "big.npz"),
                            "-o", str(tmp_path / "p.npy")], "big.npz", "100", "64")
    _bad(tmp_path, capsys, ["nn", "train", "--dataset", "digits", "-o", str(out), "--t-final",
                            "0"], "--t-final")
    _bad(tmp_path, capsys, ["nn", "train", "--dataset", "digits", "-o", str(out), "--t-final",
                            "-1"], "--t-final")
    _bad(tmp_path, capsys, ["nn", "train", "--dataset", "digits", "-o", str(out), "--t-final",
                            "0.001", "--dt", "0.01"], "--t-final")
    _bad(tmp_path, capsys, ["nn", "predict", str(tmp_path / "none.npz"), "--dataset", "digits",
                            "-o", str(tmp_path / "p.npy")], "none.npz")
    assert not out.exists() and not (tmp_path / "p.npy").exists()


def test_runs_too_large_for_memory_are_refused_up_front(small, tmp_path, capsys):
    """An estimate before any work, one line naming the option to change; nothing written."""
    d, model = small
    err = _bad(tmp_path, capsys, ["nn", "predict", str(model), "--data", str(d / "test.npz"),
                                  "-o", str(tmp_path / "p.npy"), "--trajectories", "100000000"],
               "6,000,000,000 trajectories", "TB of memory", "--trajectories", "--max-memory")
    assert not (tmp_path / "p.npy").exists(), err
    _bad(tmp_path, capsys, ["nn", "train", "--data", str(d / "train.npz"), "-o",
                            str(tmp_path / "big.npz"), "--hidden", "1000000", "--quiet"],
         "64-1000000-10 network", "--hidden", "--max-memory")
    assert not (tmp_path / "big.npz").exists()
    _bad(tmp_path, capsys, ["nn", "eval", str(model), "--data", str(d / "test.npz"),
                            "--no-baselines", "--max-memory", "1kB"], "more than the 1 kB")
