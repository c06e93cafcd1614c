"""The claim registry, the cache and the ledger logic of the evidence pipeline."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from attnsheet.evidence import CLAIMS, EVIDENCE, Evidence, EvidenceError, build
from attnsheet.evidence import cache
from attnsheet.evidence.build import Paths, in_dependency_order, item_key, with_reads
from attnsheet.evidence.ledger import page_url, statuses

from .helpers import DOCS, ROOT, run_python

SHARED_CLAIMS = ROOT.parent / "shared" / "CLAIMS.md"


def test_registry_has_every_claim_of_claims_md():
    if not SHARED_CLAIMS.exists():
        pytest.skip(f"{SHARED_CLAIMS} is not beside this checkout")
    ids = re.findall(r"^- \*\*([A-Z]\d+)\*\*", SHARED_CLAIMS.read_text(), re.MULTILINE)
    assert len(ids) >= 20
    assert [claim.id for claim in CLAIMS] == ids


def test_claims_and_evidence_are_consistent():
    claim_ids = [claim.id for claim in CLAIMS]
    assert len(set(claim_ids)) == len(claim_ids)
    names = [item.name for item in EVIDENCE]
    assert len(set(names)) == len(names)
    for item in EVIDENCE:
        assert set(item.claims) <= set(claim_ids), item.name
        for claim_id in item.claims:  # evidence for a claim is evidence the claim needs
            claim = next(c for c in CLAIMS if c.id == claim_id)
            assert item.name in claim.needs, f"{item.name} is not in {claim_id}.needs"
        if item.notebook:  # its page is the executed notebook, rendered
            assert (ROOT / item.notebook).is_file(), item.notebook
            assert item.page == f"notebooks/{Path(item.notebook).stem}.ipynb", item.page
        else:
            assert (DOCS / item.page.split("#")[0]).is_file(), item.page
    for claim in CLAIMS:
        assert (DOCS / claim.page).is_file(), claim.page


def test_evidence_needs_one_producer():
    with pytest.raises(ValueError, match="exactly one of snippet=, builder= or notebook="):
        Evidence("x", (), "index.md", "nothing")


def test_status_counts_what_the_build_produced():
    claim = CLAIMS[0]
    first, *rest = claim.needs
    assert rest, "the test needs a claim with two or more needed items"
    registered = tuple(Evidence(n, (claim.id,), "index.md", n, snippet=f"{n}.py")
                       for n in claim.needs)
    none = statuses((claim,), registered, {})
    some = statuses((claim,), registered, {first: {}})
    every = statuses((claim,), registered, {n: {} for n in claim.needs})
    assert (none[claim.id], some[claim.id], every[claim.id]) == ("missing", "partial", "proved")


def test_reads_are_built_first_and_keyed_in():
    first = Evidence("first", (), "index.md", "", builder="attnsheet.evidence.attention:heatmap",
                     params={"seed": 0, "d": 4})
    second = Evidence("second", (), "index.md", "", builder="attnsheet.evidence.ledger:statuses",
                      reads=("first",))
    assert [i.name for i in in_dependency_order([second, first])] == ["first", "second"]
    assert with_reads({"second"}, (first, second)) == {"first", "second"}
    paths = Paths(ROOT, ROOT / "build" / "evidence")
    key = item_key(second, paths, {"first": "a"})
    assert item_key(second, paths, {"first": "a"}) == key
    assert item_key(second, paths, {"first": "b"}) != key  # its input changed: rebuild it


def test_reads_must_exist_and_not_form_a_cycle():
    a = Evidence("a", (), "index.md", "", builder="m:f", reads=("b",))
    b = Evidence("b", (), "index.md", "", builder="m:f", reads=("a",))
    with pytest.raises(EvidenceError, match="cycle"):
        in_dependency_order([a, b])
    with pytest.raises(EvidenceError, match="not built"):
        in_dependency_order([a])
    with pytest.raises(ValueError, match="are for builders only"):
        Evidence("c", (), "index.md", "", snippet="c.py", reads=("a",))


def test_registered_reads_are_registered_builders():
    names = {item.name for item in EVIDENCE}
    for item in EVIDENCE:
        assert set(item.reads) <= names, item.name
    in_dependency_order(list(EVIDENCE))  # no cycle


def test_page_url_follows_directory_urls():
    assert page_url("attention.md#all-at-once") == "attention/#all-at-once"
    assert page_url("index.md") == ""


def test_key_follows_imports_inside_the_package():
    files = {p.name for p in cache.source_files("attnsheet.evidence.attention")}
    # The heatmap builder imports the library's attention, which imports the input checks.
    assert {"attention.py", "_checks.py", "figures.py"} <= files


def test_key_changes_with_code_and_params(tmp_path):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    key = cache.key_for([source], {"seed": 0})
    assert cache.key_for([source], {"seed": 0}) == key
    assert cache.key_for([source], {"seed": 1}) != key
    source.write_text("x = 2\n")
    assert cache.key_for([source], {"seed": 0}) != key


@pytest.fixture
def tiny_repo(tmp_path):
    """A repository with two snippets and no docs: enough to exercise the build."""
    for name, body in {"a/one.py": "print('one')", "a/two.py": "print('two')"}.items():
        path = tmp_path / "snippets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body + "\n")
    return tmp_path


def built_names(log: list[str]) -> set[str]:
    return {m.split()[2] for m in log if m.startswith("evidence: built ")}


def test_build_runs_only_what_changed(tiny_repo):
    # evidence=(): only the tiny repo's snippets, none of the registered builders.
    out = tiny_repo / "build"
    log: list[str] = []
    build(tiny_repo, out, log=log.append, evidence=())
    assert built_names(log) == {"snippet:a/one.py", "snippet:a/two.py"}
    assert (out / "include/outputs/a/one.txt").read_text() == "one\n"

    log.clear()
    build(tiny_repo, out, log=log.append, evidence=())
    assert log == ["evidence: all cached"]

    (tiny_repo / "snippets/a/two.py").write_text("print('two, edited')\n")
    log.clear()
    build(tiny_repo, out, log=log.append, evidence=())
    assert built_names(log) == {"snippet:a/two.py"}
    assert (out / "include/outputs/a/two.txt").read_text() == "two, edited\n"

    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest) == {"snippet:a/one.py", "snippet:a/two.py"}
    rows = json.loads((out / "site/evidence.json").read_text())
    assert {row["id"] for row in rows} == {claim.id for claim in CLAIMS}


def test_a_failing_snippet_fails_the_build_and_names_itself(tiny_repo):
    (tiny_repo / "snippets/a/bad.py").write_text(textwrap.dedent("""\
        assert 1 + 1 == 3, "arithmetic is broken"
    """))
    with pytest.raises(EvidenceError, match=r"(?s)a/bad\.py.*arithmetic is broken"):
        build(tiny_repo, tiny_repo / "build", log=lambda message: None, evidence=())


def test_cached_evidence_build_does_not_import_torch():
    # A prose edit under `mkdocs serve` reruns the evidence build; torch's import alone would
    # take seconds of the rebuild budget.
    done = run_python("import sys, attnsheet.evidence, attnsheet; "
                      "assert sorted(attnsheet.__all__) == sorted(attnsheet._HOME); "
                      "print('torch' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_two_clean_builds_are_byte_identical(tmp_path):
    # A fast subset: every builder that measures no time, and two quick snippets. The one
    # that reads the notebooks is left out: executing them is slow, and test_notebooks.py
    # checks that a second run of each prints what the build's run printed.
    notebooks = {item.name for item in EVIDENCE if item.notebook}
    subset = {item.name for item in EVIDENCE
              if item.builder and not item.timing and not notebooks & set(item.reads)}
    subset |= {"attention-loop-snippet", "one-line-snippet"}
    outputs = []
    for run in ("first", "second"):
        out = tmp_path / run
        manifest = build(ROOT, out, force=True, log=lambda message: None, only=subset)
        assert set(manifest) == subset
        files = sorted(f for entry in manifest.values() for f in entry["files"])
        outputs.append({f: (out / f).read_bytes() for f in files})
    first, second = outputs
    assert first.keys() == second.keys()
    differing = [f for f in first if first[f] != second[f]]
    assert not differing, f"not reproducible: {differing}"


# --- checks that read the site's own pages ---------------------------------------------------


@pytest.fixture
def page_copy(tmp_path):
    """A copy of docs/ and snippets/: the page checks may be run on edited pages."""
    import shutil

    for folder in ("docs", "snippets"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_section_link_check_fails_when_the_link_goes(page_copy, tmp_path):
    from attnsheet.evidence.pages import section_links

    def check():
        return section_links(tmp_path / "site", tmp_path / "include", root=page_copy,
                             page="transformer.md", anchor="why-it-won",
                             required=["recurrence.md#the-loop"], data="t")

    assert json.loads(check()[0].read_text())[0]["code"] == ["recurrence/loop.py"]
    page = page_copy / "docs" / "transformer.md"
    page.write_text(page.read_text().replace("(recurrence.md#the-loop)", "(recurrence.md)"))
    with pytest.raises(ValueError, match="does not link to recurrence.md#the-loop"):
        check()


def test_builder_inputs_join_the_cache_key(tiny_repo):
    from attnsheet.evidence.build import Paths, item_key

    (tiny_repo / "docs").mkdir()
    page = tiny_repo / "docs" / "page.md"
    page.write_text("# One\n")
    item = Evidence("x", (), "index.md", "x", builder="attnsheet.evidence.attention:heatmap",
                    inputs=("docs/*.md",))
    paths = Paths(tiny_repo, tiny_repo / "build")
    key = item_key(item, paths)
    page.write_text("# Two\n")
    assert item_key(item, paths) != key
    with pytest.raises(ValueError, match="inputs= and reads= are for builders only"):
        Evidence("y", (), "index.md", "y", snippet="a.py", inputs=("docs/*.md",))
