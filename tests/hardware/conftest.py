"""Shared netlists for the Monte Carlo and sensitivity tests."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
if str(TESTS) not in sys.path:  # tests/randnet.py, the random netlist generator
    sys.path.insert(0, str(TESTS))
