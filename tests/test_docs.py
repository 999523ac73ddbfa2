"""docs/netlist-format.md is checked against the parser so the two never drift."""

import re
from pathlib import Path

import pytest

from spu_emulator.netlist import load as load_mod_api  # noqa: F401
from spu_emulator.netlist import loads
from spu_emulator.netlist.reader import ELEMENT_PARSERS, SECTION_PARSERS, TOP_KEYS, _load_extensions

ROOT = Path(__file__).resolve().parent.parent

DOC = open(ROOT / "docs/netlist-format.md").read()
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def test_doc_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_doc_examples_load(i):
    nl = loads(BLOCKS[i], f"docs/netlist-format.md#example{i}")
    assert nl.elements


def test_every_element_type_and_top_key_is_documented():
    _load_extensions()
    for t in ELEMENT_PARSERS:
        assert re.search(rf"\| `{t}` \|", DOC), f"element type {t} undocumented"
    for k in (*TOP_KEYS, *SECTION_PARSERS):
        assert re.search(rf"\| `{k}` \|", DOC), f"top-level key {k} undocumented"


def test_bundled_netlists_are_documented():
    import glob
    import os

    doc = open(ROOT / "docs/netlists.md").read()
    for f in glob.glob(f"{ROOT}/netlists/*.yaml"):
        assert os.path.basename(f) in doc, f
