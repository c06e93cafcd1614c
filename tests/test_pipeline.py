"""The evidence pipeline: registry consistency, the two cache levels, verdicts, the ledger."""

from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
from dataclasses import replace

import pytest

from attnsheet.evidence import CLAIMS, EVIDENCE, EXPERIMENTS, REGISTRY, EvidenceError, build
from attnsheet.evidence import cache, stage
from attnsheet.evidence.build import in_dependency_order
from attnsheet.evidence.urls import page_url
from attnsheet.evidence.registry import Registry
from attnsheet.evidence.spec import (FAILS_HERE, HOLDS, NEEDS_HARDWARE, Claim, Evidence,
                                     Experiment, Verdict, must)

from .helpers import DOCS, EVIDENCE_OUT, ROOT, run_python

CLAIMS_SPEC = ROOT / "CLAIMS.md"
INCLUDE = re.compile(r'--8<--\s+"evidence/(?P<name>[\w-]+)(?:\.(?P<part>[\w-]+))?\.md"')


# --- the registry ----------------------------------------------------------------------------


def test_registry_has_every_claim_of_the_spec():
    ids = re.findall(r"^- \*\*([A-Z]\d+)\*\*", CLAIMS_SPEC.read_text(), re.MULTILINE)
    assert len(ids) >= 20
    assert [claim.id for claim in CLAIMS] == ids


def test_names_are_unique_and_every_reference_resolves():
    for names in ([c.id for c in CLAIMS], [e.name for e in EVIDENCE],
                  [e.name for e in EXPERIMENTS]):
        assert len(set(names)) == len(names)
    evidence = {item.name for item in EVIDENCE}
    experiments = {e.name for e in EXPERIMENTS}
    for claim in CLAIMS:
        assert set(claim.evidence) <= evidence, claim.id
        assert (DOCS / claim.page).is_file(), claim.page
    for item in EVIDENCE:
        assert set(item.data) <= experiments, item.name
        if item.notebook:  # its page is the executed notebook, rendered
            assert (ROOT / item.notebook).is_file(), item.notebook
            assert item.page == f"notebooks/{item.notebook.split('/')[-1][:-3]}.ipynb"
        else:
            assert (DOCS / item.page_file).is_file(), item.page
    for experiment in EXPERIMENTS:
        assert set(experiment.reads) <= experiments, experiment.name
    in_dependency_order(list(EXPERIMENTS))  # no cycle


def test_every_evidence_item_backs_a_claim_and_every_claim_can_fail():
    named = {name for claim in CLAIMS for name in claim.evidence}
    assert {item.name for item in EVIDENCE} <= named
    for claim in CLAIMS:
        assert claim.criterion and claim.predicate, f"{claim.id} has no criterion"


def test_every_included_fragment_sits_on_the_page_the_registry_names():
    pages = {item.name: item.page_file for item in EVIDENCE if item.render}
    included = {}
    for page in DOCS.glob("*.md"):
        for match in INCLUDE.finditer(page.read_text(encoding="utf-8")):
            assert match["name"] in pages, f"{page.name} includes unknown {match['name']}"
            assert pages[match["name"]] == page.name, (
                f"{match['name']} is registered for {pages[match['name']]}, "
                f"included on {page.name}")
            included[match["name"]] = page.name
    assert set(included) == set(pages), f"never included: {set(pages) - set(included)}"


def test_evidence_needs_one_kind_and_data_goes_with_a_renderer():
    with pytest.raises(ValueError, match="exactly one of snippet=, notebook= or render="):
        Evidence("x", "index.md", "nothing")
    with pytest.raises(ValueError, match="render= and data= go together"):
        Evidence("x", "index.md", "x", render="m:f")


def test_experiment_reads_must_exist_and_not_form_a_cycle():
    a = Experiment("a", "m:f", reads=("b",))
    b = Experiment("b", "m:f", reads=("a",))
    with pytest.raises(EvidenceError, match="cycle"):
        in_dependency_order([a, b])
    with pytest.raises(EvidenceError, match="not registered"):
        in_dependency_order([a])
    assert [e.name for e in in_dependency_order([a, Experiment("b", "m:f")])] == ["b", "a"]


# --- measuring and showing are separate ------------------------------------------------------


def imports(path) -> set[str]:
    """Every module name a file imports (absolute; relative ones resolved by cache)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


SHARED = ("measure.py", "__init__.py")


def test_no_module_both_measures_and_draws():
    """Experiments import no matplotlib and nothing of the pipeline or the renderers;
    renderers import no experiment (so a caption edit cannot change a measurement's key)
    and no torch."""
    for experiment in EXPERIMENTS:
        module = experiment.function.partition(":")[0]
        for path in cache.source_files(module):
            assert "evidence" not in path.parts, f"{module} imports {path.name}"
            names = imports(path)
            assert not {n for n in names if n.split(".")[0] == "matplotlib"}, path
            assert not {n for n in names if n.startswith("attnsheet.evidence")}, path
    for item in EVIDENCE:
        if item.render:
            module = item.render.partition(":")[0]
            for path in cache.source_files(module):
                # measure.py's pure helpers (the one fit) are shared; no section's experiments
                assert "experiments" not in path.parts or path.name in SHARED, (
                    f"{module} imports {path.name}")
                if path.name not in SHARED:  # measure.py imports torch only when measuring
                    assert not {n for n in imports(path) if n.split(".")[0] == "torch"}, path


def test_nothing_outside_the_adapter_imports_the_site_generator():
    pattern = re.compile(r"^\s*(from|import)\s+(mkdocs|material|bs4)\b", re.MULTILINE)
    adapter = ROOT / "src" / "attnsheet" / "adapter"
    for path in (ROOT / "src").rglob("*.py"):
        if adapter not in path.parents:
            assert not pattern.search(path.read_text(encoding="utf-8")), path


# --- a toy pipeline: two cache levels, verdicts that can fail --------------------------------

TOY_EXPERIMENT = '''
CALLS = []

def count(*, n):
    return {"n": n, "squares": [i * i for i in range(n)]}
'''

TOY_RENDERER = '''
from attnsheet.evidence.spec import Rendered

def show(data):
    return Rendered(parts={"": f"CAPTION: {len(data['squares'])} squares\\n"})
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A repository with one snippet, one experiment module and one renderer module."""
    (tmp_path / "snippets" / "a").mkdir(parents=True)
    (tmp_path / "snippets" / "a" / "one.py").write_text("print('one')\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "toy_experiment.py").write_text(TOY_EXPERIMENT)
    (code / "toy_renderer.py").write_text(TOY_RENDERER)
    monkeypatch.syspath_prepend(str(code))
    yield tmp_path
    for name in ("toy_experiment", "toy_renderer"):
        sys.modules.pop(name, None)


def toy_registry(predicate=None, timing=False) -> Registry:
    experiment = Experiment("squares", "toy_experiment:count", {"n": 4}, timing=timing)
    shown = Evidence("squares-shown", "index.md#x", "Squares.", render="toy_renderer:show",
                     data=("squares",))
    claim = Claim("X1", "index.md", "Squares are counted.", ("squares-shown",),
                  "four squares", predicate or (lambda data: Verdict(
                      HOLDS, {"count": len(data["squares"]["squares"])}, "four of them")))
    return Registry((experiment,), (shown,), (claim,))


def built(log: list[str]) -> set[str]:
    return {m.split()[2] for m in log if m.startswith("evidence: built ")}


def test_build_runs_only_what_changed_and_a_caption_edit_never_measures(toy):
    out, log = toy / "build", []
    build(toy, out, log=log.append, registry=toy_registry())
    assert built(log) == {"snippet:a/one.py", "data:squares", "squares-shown"}
    assert json.loads((out / "site/data/squares.json").read_text())["n"] == 4
    assert (out / "include/evidence/squares-shown.md").read_text() == "CAPTION: 4 squares\n"

    log.clear()
    build(toy, out, log=log.append, registry=toy_registry())
    assert log == ["evidence: all cached"]

    renderer = toy / "code" / "toy_renderer.py"
    renderer.write_text(TOY_RENDERER.replace("CAPTION", "Caption"))
    sys.modules.pop("toy_renderer", None)
    log.clear()
    build(toy, out, log=log.append, registry=toy_registry())
    assert built(log) == {"squares-shown"}, "a caption edit re-rendered, and only that"
    assert (out / "include/evidence/squares-shown.md").read_text() == "Caption: 4 squares\n"

    experiment = toy / "code" / "toy_experiment.py"
    experiment.write_text(TOY_EXPERIMENT + "\n# an edit that changes no number\n")
    sys.modules.pop("toy_experiment", None)
    log.clear()
    build(toy, out, log=log.append, registry=toy_registry())
    # The experiment re-ran; its data hash did not change, so nothing re-rendered.
    assert built(log) == {"data:squares"}


def test_a_figure_shown_on_two_pages_is_drawn_once(toy):
    (toy / "code" / "toy_renderer.py").write_text(TOY_RENDERER + "CALLS = []\n" + """
def counted(data):
    CALLS.append(1)
    return show(data)
""")
    registry = toy_registry()
    twice = tuple(Evidence(name, "index.md#x", "Squares.", render="toy_renderer:counted",
                           data=("squares",)) for name in ("shown-here", "shown-there"))
    registry = Registry(registry.experiments, twice, (replace(
        registry.claims[0], evidence=("shown-here", "shown-there")),))
    out = toy / "build"
    build(toy, out, log=lambda _: None, registry=registry)
    assert sys.modules["toy_renderer"].CALLS == [1]
    for name in ("shown-here", "shown-there"):
        assert (out / f"include/evidence/{name}.md").read_text() == "CAPTION: 4 squares\n"


def test_the_ledger_shows_criterion_verdict_and_numbers(toy):
    out = toy / "build"
    build(toy, out, log=lambda m: None, registry=toy_registry())
    row, = json.loads((out / "site/evidence.json").read_text())
    assert (row["criterion"], row["verdict"], row["numbers"]) == ("four squares", "holds",
                                                                  {"count": 4})
    ledger = (out / "include/ledger.md").read_text()
    assert "four squares" in ledger and "count = 4" in ledger and "ledger-holds" in ledger
    assert row["by_construction"] is False and "By construction" not in ledger


def test_the_ledger_marks_a_criterion_that_holds_by_construction(toy):
    registry = toy_registry()
    registry = Registry(registry.experiments, registry.evidence,
                        (replace(registry.claims[0], by_construction=True),))
    out = toy / "build"
    build(toy, out, log=lambda m: None, registry=registry)
    row, = json.loads((out / "site/evidence.json").read_text())
    assert row["by_construction"] is True
    assert "By construction" in (out / "include/ledger.md").read_text()


def failing(data):
    return Verdict(FAILS_HERE, {"count": len(data["squares"]["squares"])}, "too few")


def test_a_measured_criterion_that_fails_is_published(toy):
    out = toy / "build"
    build(toy, out, log=lambda m: None, registry=toy_registry(failing, timing=True))
    row, = json.loads((out / "site/evidence.json").read_text())
    assert row["verdict"] == "does not hold here" and row["reason"] == "too few"


def test_a_deterministic_criterion_that_fails_stops_the_build(toy):
    with pytest.raises(EvidenceError, match="claim X1 does not hold"):
        build(toy, toy / "build", log=lambda m: None, registry=toy_registry(failing))

    def wrong_count(data):
        must(len(data["squares"]["squares"]) == 5, "expected five squares")
        return Verdict(HOLDS, {}, "")

    with pytest.raises(EvidenceError, match="claim X1 fails its criterion: expected five"):
        build(toy, toy / "build", log=lambda m: None,
              registry=toy_registry(wrong_count, timing=True))


def test_a_failing_snippet_fails_the_build_and_names_itself(toy):
    (toy / "snippets/a/bad.py").write_text(textwrap.dedent("""\
        assert 1 + 1 == 3, "arithmetic is broken"
    """))
    with pytest.raises(EvidenceError, match=r"(?s)a/bad\.py.*arithmetic is broken"):
        build(toy, toy / "build", log=lambda message: None, registry=Registry())


def test_data_refuses_what_json_cannot_carry():
    with pytest.raises(ValueError, match="non-finite"):
        stage.json_text({"x": float("nan")})
    assert stage.json_text({"b": 1 / 3, "a": [2]}) == '{\n "a": [2],\n "b": 0.333333\n}\n'
    # a list of plain values on one line; nested lists and dicts one item per line
    assert stage.json_text({"m": [[1, 2], {"t": ["x", None]}]}) == (
        '{\n "m": [\n  [1, 2],\n  {\n   "t": ["x", null]\n  }\n ]\n}\n')


# --- keys ------------------------------------------------------------------------------------


def test_page_url_follows_directory_urls():
    assert page_url("attention.md#all-at-once") == "attention/#all-at-once"
    assert page_url("index.md") == ""
    assert page_url("notebooks/qkv.ipynb") == "notebooks/qkv/"


def test_key_follows_imports_inside_the_package():
    files = {p.name for p in cache.source_files("attnsheet.transformer")}
    assert {"transformer.py", "attention.py", "_checks.py"} <= files


def test_key_changes_with_code_and_params(tmp_path):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    key = cache.key_for([source], {"seed": 0})
    assert cache.key_for([source], {"seed": 0}) == key
    assert cache.key_for([source], {"seed": 1}) != key
    source.write_text("x = 2\n")
    assert cache.key_for([source], {"seed": 0}) != key


def test_experiment_inputs_join_the_cache_key(toy):
    from attnsheet.evidence.build import Paths, experiment_key

    (toy / "docs").mkdir()
    page = toy / "docs" / "page.md"
    page.write_text("# One\n")
    experiment = Experiment("x", "toy_experiment:count", inputs=("docs/*.md",))
    paths = Paths(toy, toy / "build")
    key = experiment_key(experiment, paths, {})
    page.write_text("# Two\n")
    assert experiment_key(experiment, paths, {}) != key


def test_cached_evidence_build_does_not_import_torch():
    # A prose edit under `mkdocs serve` reruns the evidence build; torch's import alone would
    # take seconds of the rebuild budget.
    done = run_python("import sys, attnsheet.evidence, attnsheet; "
                      "from attnsheet.evidence import registry, ledger, stage; "
                      "assert sorted(attnsheet.__all__) == sorted(attnsheet._HOME); "
                      "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"


def test_a_clean_build_reproduces_the_sessions_evidence(built_site, tmp_path):
    """Every experiment that measures no time (training included), and its renderings, built
    again from scratch: byte for byte what the session's site build published. (One fresh
    run, compared with the build's; the notebooks are left out: test_notebooks.py re-runs
    each and compares.)"""
    timing = {e.name for e in EXPERIMENTS if e.timing}
    subset = {e.name for e in EXPERIMENTS if not e.timing}
    subset |= {item.name for item in EVIDENCE if item.render and not timing & set(item.data)}
    subset |= {"attention-loop-snippet", "one-line-snippet"}
    fresh = build(ROOT, tmp_path, force=True, log=lambda message: None, only=subset)
    published = json.loads((EVIDENCE_OUT / "manifest.json").read_text())
    assert set(fresh) <= set(published)
    differing = []
    for name, entry in fresh.items():
        assert published[name]["key"] == entry["key"], f"{name}: the session built other code"
        differing += [f for f in entry["files"]
                      if (tmp_path / f).read_bytes() != (EVIDENCE_OUT / f).read_bytes()]
    assert not differing, f"not reproducible: {differing}"


def test_the_real_registry_loads_in_section_order():
    pages = [claim.page for claim in REGISTRY.claims]
    order = ["idea.md", "recurrence.md", "attention.md", "transformer.md", "cost.md",
             "pitfalls.md", "glossary.md", "one-line.md"]
    assert sorted(pages, key=order.index) == pages


def test_the_watcher_rebuilds_after_an_edit_saved_during_a_build(tmp_path):
    from attnsheet.evidence.watch import watch
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text("first")
    builds = []

    def build(root, out):  # the first build sees an edit saved while it runs
        builds.append(page.read_text())
        if len(builds) == 1:
            page.write_text("edited during the build")
        return True

    watch(tmp_path, tmp_path / "out", poll_s=0, rounds=4, build=build, pages_delay_s=0)
    assert builds == ["first", "edited during the build"]


def test_every_claim_shows_its_verdict_note_beside_its_evidence():
    """Where the data disagrees with a claim, the page with its evidence says so: each claim's
    note is included on a page that shows the claim's evidence (empty while it holds)."""
    by_name = {item.name: item for item in EVIDENCE}
    for claim in CLAIMS:
        pages = {by_name[name].page.partition("#")[0] for name in claim.evidence}
        texts = [(DOCS / page).read_text(encoding="utf-8") for page in pages
                 if page.endswith(".md")]
        assert any(f'--8<-- "{stage.verdict_file(claim.id)}"' in t for t in texts), claim.id


def test_a_verdict_note_says_what_failed_and_links_the_ledger():
    from attnsheet.evidence.ledger import verdict_note
    claim = CLAIMS[0]
    assert verdict_note(claim, Verdict(HOLDS, {}, "fine")) == ""
    note = verdict_note(claim, Verdict(FAILS_HERE, {"x": 1}, "too slow here"))
    assert note.startswith(f"**{claim.id} does not hold on the machine that built this page:** "
                           "too slow here.")
    assert f"(evidence.md#{claim.id.lower()})" in note
    summarised = verdict_note(claim, Verdict(NEEDS_HARDWARE, {}, "the long reason",
                                             summary="A plain sentence."))
    plain, folded = summarised.split("??? note")  # the reason folds under the sentence
    assert "A plain sentence." in plain and "the long reason" not in plain
    assert "the long reason." in folded


def test_a_long_caption_keeps_whole_sentences_and_folds_the_rest():
    from attnsheet.evidence.figures import figure_markdown, split_caption

    first = "A first sentence of " + "many " * 40 + "words."
    second = "A second one, " + "also " * 30 + "long."
    short, rest = split_caption(f"{first} {second}", limit=60)
    assert (short, rest) == (first, second)
    assert split_caption("Short. Fits.", limit=60) == ("Short. Fits.", "")
    assert split_caption(first, limit=5) == (first, "")  # the first sentence always stays
    markdown = figure_markdown("figures/x", "alt", f"{first} {second}")
    assert f"<figcaption>{first}</figcaption>" in markdown
    assert f"<p>{second}</p>" in markdown.split("</figure>")[1]
