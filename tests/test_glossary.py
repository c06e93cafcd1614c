"""The glossary (W1): each term's definition links to a section that shows its code."""

from __future__ import annotations

import pytest

from attnsheet.evidence.render.common import path_code
from attnsheet.evidence.render.glossary import code_links as code_links_text
from attnsheet.evidence.sections.glossary import TERMS, terms_link_to_code
from attnsheet.evidence.spec import HOLDS, CriterionFailed
from attnsheet.experiments.glossary import ENTRY, code_links

from .helpers import DOCS
from .test_pages import edited, page_files


def test_every_term_is_defined_once():
    text = (DOCS / "glossary.md").read_text(encoding="utf-8")
    defined = [match["term"].strip() for match in ENTRY.finditer(text)]
    assert sorted(defined) == sorted(TERMS)


def test_glossary_check_passes_on_the_site_and_fails_without_a_link():
    files = page_files()
    data = code_links(files=files, terms=TERMS)
    assert terms_link_to_code({"w1-code-links": data}).status == HOLDS
    table = code_links_text(data).parts[""][1]
    for path in ("snippets/transformer/layer.py", "snippets/cost/double_n.py"):
        assert path_code(path) in table  # breakable after each slash

    broken = code_links(files=edited(files, "docs/glossary.md", "(transformer.md#one-layer)",
                                     "(transformer.md#no-such-section)"), terms=TERMS)
    assert broken["problems"][0].startswith("Transformer: transformer.md has no section")
    with pytest.raises(CriterionFailed, match="Transformer: transformer.md has no section"):
        terms_link_to_code({"w1-code-links": broken})


def test_glossary_check_fails_on_a_term_defined_twice_or_missing():
    files = page_files()
    twice = edited(files, "docs/glossary.md", "## The terms in code",
                   "Attention\n:   Again.\n\n    In code: [one layer](transformer.md#one-layer)."
                   "\n\n## The terms in code")
    with pytest.raises(CriterionFailed, match="the glossary defines"):
        terms_link_to_code({"w1-code-links": code_links(files=twice, terms=TERMS)})
    missing = code_links(files=files, terms=TERMS + ["Token"])
    with pytest.raises(CriterionFailed, match="'Token' is not defined on the glossary page"):
        terms_link_to_code({"w1-code-links": missing})


def test_w1_fails_on_a_hand_made_dict_without_code():
    data = {"terms": TERMS, "defined": list(TERMS), "problems": [],
            "links": [{"term": t, "label": t, "to": "x.md#y", "code": ["a.py"]}
                      for t in TERMS[:-1]]}
    with pytest.raises(CriterionFailed, match="terms without a link to code"):
        terms_link_to_code({"w1-code-links": data})
    data["links"].append({"term": TERMS[-1], "label": "z", "to": "z.md", "code": ["z.py"]})
    assert terms_link_to_code({"w1-code-links": data}).status == HOLDS
