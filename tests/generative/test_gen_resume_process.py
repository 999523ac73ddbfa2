"""Resume after a real kill: ``python -m spu_emulator train`` is started as a subprocess,
SIGKILLed as soon as its first checkpoint file exists, resumed with ``--resume``, and its
final parameters are compared with an uninterrupted run of the same seed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import spu_emulator
from spu_emulator.generative.trained import TrainedModel

#: The directory holding the spu_emulator package under test: the subprocesses run it,
#: from any working directory and whatever package an installation points at.
ROOT = Path(spu_emulator.__file__).resolve().parents[1]

ARGS = ["--hidden", "8", "--epochs", "3", "--seed", "5", "--checkpoint-every", "0", "--quiet"]


def _train(data, out, *extra):
    return [sys.executable, "-m", "spu_emulator", "train", "--dataset", str(data), "--out",
            str(out), *ARGS, *extra]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_after_checkpoint_then_resume_is_bit_identical(tmp_path):
    # 530 digits as an npz dataset (500 held out, 30 trained on): each run takes seconds
    from sklearn.datasets import load_digits

    data = tmp_path / "small.npz"
    d = load_digits()
    np.savez(data, images=d.images[:530], labels=d.target[:530])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    full = tmp_path / "full.npz"
    subprocess.run(_train(data, full), check=True, env=env, timeout=300, capture_output=True,
                   cwd=tmp_path)

    out = tmp_path / "killed.npz"
    ckpt = tmp_path / "killed.ckpt.npz"
    proc = subprocess.Popen(_train(data, out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300
        while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "training ended before its first checkpoint could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    killed_at = TrainedModel.load(ckpt)
    assert not killed_at.complete

    r = subprocess.run(_train(data, out, "--resume"), env=env, timeout=300, capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr and not ckpt.exists()
    a, b = TrainedModel.load(full), TrainedModel.load(out)
    assert a.complete and b.complete and a.epoch == b.epoch == 3
    np.testing.assert_array_equal(a.model.J, b.model.J)
    np.testing.assert_array_equal(a.model.b, b.model.b)
    np.testing.assert_array_equal(a.stats.C, b.stats.C)
