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


USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: p.name)
def test_docs_link_only_inside_the_repository(doc):
    """README and docs/ stand alone: no web links, no paths out of the repository, and
    every relative link or docs/ reference points at a file that exists."""
    text = doc.read_text()
    assert not re.search(r"https?://", text), "web link"
    assert "../" not in text, "path out of the repository"
    for target in re.findall(r"\]\(([^)#\s]+)", text):  # markdown links
        assert (doc.parent / target).exists(), target
    for target in re.findall(r"\b(docs/[\w.-]+\.md)\b", text):
        assert (ROOT / target).exists(), target


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: p.name)
def test_docs_speak_to_users(doc):
    """No word of issues, sessions or scratch scripts in what users read."""
    text = doc.read_text().lower()
    for word in (r"\bissues?\b", r"\bsessions?\b", r"scratch", r"scripts? not kept"):
        assert not re.search(word, text), word


def test_physics_reference_exists():
    text = (ROOT / "docs/physics.md").read_text()
    for needle in ("4 k_B T / R", "Lyapunov", "Van Loan", "k_B T C_N⁻¹", "Kron"):
        assert needle in text
