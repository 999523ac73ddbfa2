"""Fixtures of the sweep tests: a real Dask cluster on 127.0.0.1 (sweepcluster.py)."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from sweepcluster import Cluster  # noqa: E402


@pytest.fixture
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c
    finally:
        c.stop()
