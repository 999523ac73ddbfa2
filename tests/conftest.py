import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NETLISTS = ROOT / "netlists"


@pytest.fixture
def netlist_dir() -> Path:
    return NETLISTS


@pytest.fixture(autouse=True)
def _no_tty_progress(monkeypatch):
    monkeypatch.setenv("COLUMNS", os.environ.get("COLUMNS", "100"))
