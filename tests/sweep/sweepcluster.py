"""A real Dask cluster on 127.0.0.1 for the sweep tests: one ``dask scheduler`` and two
``dask worker`` processes (one thread each, no nanny, so SIGKILL takes a worker away),
started and stopped by the fixture, importing this checkout's spu_emulator."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.pop("DASK_SCHEDULER_ADDRESS", None)
    e.setdefault("OMP_NUM_THREADS", "1")
    e.setdefault("OPENBLAS_NUM_THREADS", "1")
    return e


class Cluster:
    def __init__(self, tmp: Path, workers: int = 2):
        self.tmp = tmp
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(port), "--no-dashboard"],
            env=env(), cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(tmp / "scheduler.log", "w"))
        self.workers = [self.start_worker(i) for i in range(workers)]
        self.wait(workers)

    def start_worker(self, i: int) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
             "--no-nanny", "--host", "127.0.0.1", "--no-dashboard", "--name", f"w{i}"],
            env=env(), cwd=self.tmp, stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"worker{i}.log", "w"))

    def wait(self, n: int, timeout: float = 90.0) -> None:
        from distributed import Client

        deadline = time.monotonic() + timeout
        while True:
            try:
                with Client(self.address, timeout=5, set_as_default=False) as c:
                    c.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


