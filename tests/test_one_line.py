"""The one-line version (L1): the snippet's hop counts, and the L1 verdict read from the
one idea's dependency graphs (the same experiment, shown again on this page)."""

from __future__ import annotations

import runpy

import pytest

from attnsheet.evidence.registry import CLAIMS, EVIDENCE
from attnsheet.evidence.spec import HOLDS, CriterionFailed
from attnsheet.experiments.idea import dependency_graphs

from .helpers import SNIPPETS

L1 = next(claim for claim in CLAIMS if claim.id == "L1")


def test_snippet_counts_n_minus_1_hand_offs_down_the_line_and_1_look(capsys):
    namespace = runpy.run_path(str(SNIPPETS / "one_line" / "hops.py"))
    n, whisper, look = namespace["n"], namespace["whisper"], namespace["look"]
    assert whisper == ["x0"] + [f"h{t}" for t in range(n)]  # every state, in order
    assert len(whisper) - 2 == n - 1
    assert look == ["x0", f"y{n - 1}"]
    printed = capsys.readouterr().out
    assert f"{n - 1} hand-offs between positions" in printed
    assert "1 hand-off: a direct look" in printed


def test_l1_shows_the_one_idea_figure_from_the_same_data():
    items = {item.name: item for item in EVIDENCE}
    line, idea = items["l1-dependency-figure"], items["o1-dependency-figure"]
    assert line.page_file == "one-line.md" and idea.page_file == "idea.md"
    assert line.data == idea.data and line.render == idea.render
    assert "l1-dependency-figure" in L1.evidence


def test_l1_holds_on_the_library_models():
    verdict = L1.predicate({"o1-dependency-graphs": dependency_graphs(n=5, d=3, seed=1)})
    assert verdict.status == HOLDS
    assert verdict.numbers == {"n": 5, "rnn hand-offs": 4, "attention hand-offs": 1}


def test_l1_fails_when_the_line_is_short():
    n = 3
    data = {"o1-dependency-graphs": {"n": n, "graphs": {
        "recurrence": {"depends": [[s <= t for s in range(n)] for t in range(n)],
                       "longest_path": [["x", 0], ["y", 0], ["y", 2]]},  # one hand-off
        "attention": {"depends": [[True] * n] * n, "longest_path": [["x", 0], ["y", 2]]}}}}
    with pytest.raises(CriterionFailed, match="1 hand-offs between positions, not n - 1 = 2"):
        L1.predicate(data)
