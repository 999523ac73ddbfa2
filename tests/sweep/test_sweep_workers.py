"""The embedded cluster's workers: one thread of the library's own per worker thread,
no MALLOC_TRIM_THRESHOLD_ (it makes numpy-heavy points ~1.5x slower), and nothing of the
nanny's environment left in this process afterwards."""

import contextlib
import os

from spu_emulator.sweep.engine import _connect, _worker_threads


def _probe():
    return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
            _worker_threads())


def test_local_workers_environment_and_this_process_left_as_it_was(monkeypatch):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with contextlib.ExitStack() as stack:
        client, cluster, _ = _connect(None, 1, stack)
        try:
            trim, omp, threads = client.submit(_probe, pure=False).result()
        finally:
            client.close()
            cluster.close()
    assert trim is None and omp == "1" and threads == 1
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ and "OMP_NUM_THREADS" not in os.environ
    assert _worker_threads() == 1  # outside a worker


def test_spu_threads_caps_the_library_threads(monkeypatch):
    import numpy as np

    from spu_emulator.integrate.noise import NoiseSource
    from spu_emulator.resources import cores

    monkeypatch.setenv("SPU_THREADS", "1")
    assert cores() == 1
    assert NoiseSource(np.random.default_rng(0), 2, 3).threads is False
    monkeypatch.setenv("SPU_THREADS", "3")
    assert cores() == 3
    assert NoiseSource(np.random.default_rng(0), 2, 3).threads is True
    monkeypatch.setenv("SPU_THREADS", "zero")  # not a positive whole number: the CPUs
    assert cores() == len(os.sched_getaffinity(0))
