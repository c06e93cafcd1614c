"""The glossary (W1): each term's definition links to a section that shows its code."""

from __future__ import annotations

import shutil

import pytest

from attnsheet.evidence.glossary import ENTRY, code_links

from .helpers import DOCS, ROOT

TERMS = ("Attention", "Transformer", "Context window")


@pytest.fixture
def page_copy(tmp_path):
    """A copy of docs/ and snippets/, so the check can be run on an edited glossary."""
    for folder in ("docs", "snippets"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_every_term_is_defined_once():
    text = (DOCS / "glossary.md").read_text(encoding="utf-8")
    defined = [match["term"].strip() for match in ENTRY.finditer(text)]
    assert sorted(defined) == sorted(TERMS)


def test_glossary_check_passes_on_the_site_and_fails_without_a_link(page_copy, tmp_path):
    files = code_links(tmp_path / "site", tmp_path / "include", root=page_copy, terms=TERMS)
    table = next(f for f in files if f.suffix == ".md").read_text()
    assert "snippets/transformer/layer.py" in table and "snippets/cost/double_n.py" in table

    glossary = page_copy / "docs" / "glossary.md"
    glossary.write_text(glossary.read_text().replace("(transformer.md#one-layer)",
                                                     "(transformer.md#no-such-section)"))
    with pytest.raises(ValueError, match="Transformer: transformer.md has no section"):
        code_links(tmp_path / "site", tmp_path / "include", root=page_copy, terms=TERMS)
