"""Resume after a real kill: ``python -m spu_emulator nn train`` is SIGKILLed as soon as
its first checkpoint exists, resumed with ``--resume``, and its final parameters are
compared with an uninterrupted run of the same seed (gradient and ga)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import spu_emulator
from spu_emulator.nn.trained import TrainedNet

ROOT = Path(spu_emulator.__file__).resolve().parents[1]


def _train(data, out, method, *extra):
    more = ["--epochs", "4", "--batch-size", "16"] if method == "gradient" else \
        ["--generations", "12", "--population", "8", "--elite", "2", "--batch-size", "32"]
    return [sys.executable, "-m", "spu_emulator", "nn", "train", "--data", str(data), "--out",
            str(out), "--method", method, "--hidden", "8", "--seed", "3", "--checkpoint-every",
            "0", "--quiet", *more, *extra]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("method", ["gradient", "ga"])
def test_sigkill_then_resume_gives_identical_parameters(tmp_path, method):
    from sklearn.datasets import load_digits

    data = tmp_path / "small.npz"
    d = load_digits()
    np.savez(data, images=d.images[:200], labels=d.target[:200])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    full = tmp_path / "full.npz"
    subprocess.run(_train(data, full, method), check=True, env=env, timeout=300,
                   capture_output=True, cwd=tmp_path)
    out = tmp_path / "killed.npz"
    ckpt = tmp_path / "killed.ckpt.npz"
    proc = subprocess.Popen(_train(data, out, method), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300
        while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        assert proc.poll() is None, "training ended before its first checkpoint could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    assert not TrainedNet.load(ckpt).complete
    r = subprocess.run(_train(data, out, method, "--resume"), env=env, timeout=300,
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr and not ckpt.exists()
    a, b = TrainedNet.load(full), TrainedNet.load(out)
    assert a.complete and b.complete
    for x, y in zip(a.net.params(), b.net.params(), strict=True):
        np.testing.assert_array_equal(x, y)
    assert full.read_bytes() == out.read_bytes()
