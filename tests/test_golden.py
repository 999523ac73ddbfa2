"""Same seeds, same bytes: the CLI and library still produce the outputs the code wrote
before the package was restructured (tests/golden/reference.json, made by
tests/golden/cases.py at the commit it names).

Byte-identical where the BLAS library, its CPU kernel and thread count match the ones
that made the reference; elsewhere the last bits of a matrix product may differ, so the
outputs' fingerprints (sums and end values) must agree to 1e-9 relative instead.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_cases", HERE / "cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
REFERENCE = json.loads((HERE / "reference.json").read_text())


@pytest.fixture(scope="module")
def produced(tmp_path_factory):
    return cases.produce(tmp_path_factory.mktemp("golden"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCE["digests"]))
def test_output_unchanged(produced, name):
    ref = REFERENCE["digests"][name]
    got = produced[name]
    if cases.machine() == REFERENCE["machine"]:
        assert got["sha256"] == ref["sha256"], f"{name}: bytes differ from the reference"
    else:
        np.testing.assert_allclose(got["fingerprint"], ref["fingerprint"], rtol=1e-9, atol=0,
                                   err_msg=f"{name}: values differ from the reference")


def test_every_case_is_in_the_reference(produced):
    assert sorted(produced) == sorted(REFERENCE["digests"])
