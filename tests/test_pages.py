"""The checks that read the site's own pages (T3's link to the recurrence evidence, P4's
pointers to the mechanics and the notebooks): they pass on the pages as they are and fail,
through the claims' predicates, when a link goes."""

from __future__ import annotations

import re

import pytest

from attnsheet.evidence.build import input_files
from attnsheet.evidence.render.pitfalls import notebooks as notebooks_table
from attnsheet.evidence.render.transformer import section_links as links_line
from attnsheet.evidence.sections.pitfalls import (
    DEEPER,
    NOTEBOOK_LINKS,
    NOTEBOOKS,
    PAGES,
    SHOWN_IN_CODE,
    pointers,
)
from attnsheet.evidence.sections.transformer import parallel_link
from attnsheet.evidence.spec import HOLDS, NEEDS_HARDWARE, CriterionFailed
from attnsheet.experiments.pages import notebook_links, section, section_links, slugify
from attnsheet.experiments.transformer import block_check

from .helpers import ROOT
from .test_recurrence import FAST, HALVED, SLOW_LONG, r1_data, timing_data


def page_files(patterns=PAGES) -> dict[str, str]:
    """The repository files an experiment with `inputs=patterns` receives, as the build
    reads them: {relative path: text}."""
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
            for p in input_files(tuple(patterns), ROOT)}


def edited(files: dict[str, str], path: str, old: str, new: str) -> dict[str, str]:
    assert old in files[path], f"{path} no longer has {old!r}"
    return {**files, path: files[path].replace(old, new)}


def test_helpers_read_headings_and_sections():
    assert slugify('"Attention replaced neural networks"') == "attention-replaced-neural-networks"
    text = "# Page\n\n## One {#first}\n\nbody\n\n```\n## not a heading\n```\n\n## Two\n\nmore\n"
    assert section(text, "first").strip().endswith("```")  # up to the next real heading
    assert section(text, "two").startswith("## Two")
    assert section(text, "missing") is None


# --- T3: the transformer page links to the recurrence loop -----------------------------------


@pytest.fixture(scope="module")
def one_call():
    return block_check(n=6, d_model=16, n_heads=2, d_ff=32, seed=0)


# T3's measured half is R1's and R2's: timings where both hold, and where R1 needs hardware.
PARALLEL_HERE = r1_data(timing_data(FAST, HALVED))
SLOW_HERE = r1_data(timing_data(SLOW_LONG, HALVED))


def recurrence_link(files):
    return section_links(files=files, page="transformer.md", anchor="why-it-won",
                         required=["recurrence.md#the-loop"])


def test_section_link_check_fails_when_the_link_goes(one_call):
    files = page_files()
    data = recurrence_link(files)
    assert data["links"][0]["code"] == ["recurrence/loop.py"] and data["problems"] == []
    verdict = parallel_link({"t3-recurrence-link": data, "o2-block-check": one_call,
                             **PARALLEL_HERE})
    assert verdict.status == HOLDS
    slow = parallel_link({"t3-recurrence-link": data, "o2-block-check": one_call, **SLOW_HERE})
    assert slow.status == NEEDS_HARDWARE
    assert ("[loop](recurrence.md#the-loop) shows "
            "<code>snippets/<wbr>recurrence/<wbr>loop.py</code>") in links_line(data).parts[""][0]

    gone = recurrence_link(edited(files, "docs/transformer.md", "(recurrence.md#the-loop)",
                                  "(recurrence.md)"))
    assert gone["problems"] == ["transformer.md#why-it-won does not link to "
                                "recurrence.md#the-loop"]
    with pytest.raises(CriterionFailed, match="does not link to recurrence.md#the-loop"):
        parallel_link({"t3-recurrence-link": gone, "o2-block-check": one_call,
                       **PARALLEL_HERE})
    assert "Checked at build, and broken" in links_line(gone).parts[""][0]


def test_section_link_check_fails_when_the_target_shows_no_code(one_call):
    files = edited(page_files(), "docs/recurrence.md", '--8<-- "recurrence/loop.py"', "")
    data = recurrence_link(files)
    assert data["problems"] == ["recurrence.md#the-loop shows no snippet"]
    with pytest.raises(CriterionFailed, match="shows no snippet"):
        parallel_link({"t3-recurrence-link": data, "o2-block-check": one_call,
                       **PARALLEL_HERE})


def test_t3_fails_when_the_block_needs_a_call_per_position(one_call):
    data = recurrence_link(page_files())
    per_position = {**one_call, "one_call": {**one_call["one_call"], "sublayer_calls": {
        name: [1] * 6 for name in one_call["one_call"]["sublayer_calls"]}}}
    with pytest.raises(CriterionFailed, match="did not handle all 6 positions"):
        parallel_link({"t3-recurrence-link": data, "o2-block-check": per_position,
                       **PARALLEL_HERE})


# --- P4: the pointer section and the notebooks -----------------------------------------------


def p4_data(files):
    return {
        "p4-deeper-links": section_links(files=files, page="pitfalls.md",
                                         anchor="the-full-mechanics", required=SHOWN_IN_CODE),
        "p4-notebooks": notebook_links(files=files, notebooks=NOTEBOOKS, index=DEEPER,
                                       deepens=NOTEBOOK_LINKS),
    }


def test_p4_holds_and_the_table_lists_the_notebooks_in_reading_order():
    data = p4_data(page_files(PAGES + ("notebooks/*.py",)))
    verdict = pointers(data)
    assert verdict.status == HOLDS and verdict.numbers["notebooks"] == len(NOTEBOOKS)
    table = notebooks_table(data["p4-notebooks"]).parts[""][0]
    assert [row.split("](notebooks/")[1].split(".")[0] for row in
            table.splitlines()[2:]] == NOTEBOOKS
    assert all(book["code_cells"] > 0 for book in data["p4-notebooks"]["notebooks"])


def test_the_link_check_fails_when_a_page_stops_linking():
    files = page_files(PAGES + ("notebooks/*.py",))
    data = p4_data(edited(files, "docs/attention.md", "(notebooks/qkv.ipynb)", "(index.md)"))
    assert data["p4-notebooks"]["problems"] == [
        "attention.md does not link to notebooks/qkv.ipynb"]
    with pytest.raises(CriterionFailed, match="attention.md does not link to notebooks/qkv"):
        pointers(data)


def test_the_link_check_fails_when_the_pointer_section_loses_a_notebook_or_code():
    files = page_files(PAGES + ("notebooks/*.py",))
    no_book = p4_data(edited(files, "docs/pitfalls.md", "(notebooks/positions.ipynb)",
                             "(index.md)"))
    with pytest.raises(CriterionFailed, match="the-full-mechanics does not link to "
                                              "notebooks/positions.ipynb"):
        pointers(no_book)
    no_code = p4_data(edited(files, "docs/pitfalls.md", "(attention.md#score-weigh-blend);",
                             "(attention.md);"))
    with pytest.raises(CriterionFailed, match="does not link to attention.md#score-weigh-blend"):
        pointers(no_code)


def test_the_link_check_fails_when_a_notebook_source_is_missing():
    files = page_files(PAGES + ("notebooks/*.py",))
    del files["notebooks/qkv.py"]
    with pytest.raises(CriterionFailed, match="notebook notebooks/qkv.py does not exist"):
        pointers(p4_data(files))


def test_p4_fails_on_a_hand_made_dict_that_hides_a_missing_link():
    # Even with no problem listed, a link missing from what was found fails the claim.
    data = p4_data(page_files(PAGES + ("notebooks/*.py",)))
    data["p4-notebooks"]["linked"]["transformer.md"] = ["multi_head"]
    with pytest.raises(CriterionFailed, match="notebook links missing"):
        pointers(data)


def test_every_reference_is_a_primary_source_cited_from_a_section_page():
    text = (ROOT / "docs" / "references.md").read_text(encoding="utf-8")
    entries = re.findall(r"\n\n(?P<entry>(?:.+\n)+?)\{ #(?P<id>[a-z0-9-]+) \}", text)
    assert len(entries) >= 10
    for entry, anchor in entries:
        assert re.search(r"\]\(https://(arxiv\.org/abs|doi\.org)/", entry), anchor
    pages = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md")
             if p.name != "references.md"}
    uncited = [anchor for _, anchor in entries
               if not any(f"references.md#{anchor})" in page for page in pages.values())]
    assert not uncited, f"sources no section page cites: {uncited}"


def test_each_claims_section_is_where_its_page_shows_the_verdict():
    """The badge of a claim (short version on top of its page) links to `claim.section`: the
    section, up to its next heading of any level, that includes the claim's verdict note."""
    from attnsheet.evidence import CLAIMS

    for claim in CLAIMS:
        page, _, anchor = claim.verdict_target.partition("#")
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        part = section(text, anchor)
        assert part is not None, f"{claim.id}: no heading {anchor!r} on {page}"
        own = re.split(r"\n#{1,6} ", part)[0]  # the heading's own text, before any subsection
        assert f'"verdicts/{claim.id}.md"' in own, (
            f"{claim.id}: its verdict note is not in {claim.verdict_target}")
