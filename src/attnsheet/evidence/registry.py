"""The evidence registry: which code produces the evidence for which claim, shown where.

Two kinds of evidence:

* a **snippet** (`snippets/<section>/<name>.py`): a standalone script a reader can copy. The
  build runs it; it must exit 0 (its asserts are the claim's check) and its printed output is
  captured and shown under the code on the page.
* a **builder** (`module:function`): library code that computes figures or data at build time.

A builder may read what other items wrote (`inputs`, by name): the build runs those first, and
their cache keys are part of its own, so it is rebuilt whenever they are. That is how several
figures share one measurement instead of repeating it.

`page` is where a reader sees the evidence (`file.md#anchor`); the ledger links there.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Evidence:
    name: str
    claims: tuple[str, ...]
    page: str  # "attention.md#blend": where the reader sees it
    summary: str  # one line for the ledger
    snippet: str | None = None  # path under snippets/, run at build
    builder: str | None = None  # "attnsheet.evidence.attention:heatmap"
    params: dict = field(default_factory=dict)
    timing: bool = False  # numbers are measurements: they differ between builds
    inputs: tuple[str, ...] = ()  # names of the items whose files this builder reads

    def __post_init__(self) -> None:
        if (self.snippet is None) == (self.builder is None):
            raise ValueError(f"evidence {self.name!r} needs exactly one of snippet= or builder=")
        if self.inputs and self.snippet is not None:
            raise ValueError(f"evidence {self.name!r}: only a builder can have inputs")


EVIDENCE: tuple[Evidence, ...] = (
    Evidence("idea-chain-snippet", ("O1",), "idea.md#count-the-steps",
             "Counts sequential steps: an RNN needs n, attention one matrix product.",
             snippet="idea/steps.py"),
    Evidence("recurrence-loop-snippet", ("R1", "R3"), "recurrence.md#the-loop",
             "The Elman RNN loop; the effect of the first input on later states shrinks.",
             snippet="recurrence/loop.py"),
    Evidence("attention-blend-snippet", ("A1", "P1"), "attention.md#score-weigh-blend",
             "Attention in numpy: weights >= 0, rows sum to 1, output inside the values' hull, "
             "equal to torch's scaled_dot_product_attention.",
             snippet="attention/blend.py"),
    Evidence("attention-heatmap", ("A1",), "attention.md#the-weight-table",
             "Weight table of a short sentence computed by the library (light and dark SVG).",
             builder="attnsheet.evidence.attention:heatmap",
             params={"seed": 0, "d": 16}),
    Evidence("attention-loop-snippet", ("A2",), "attention.md#all-at-once",
             "One matrix product equals the per-position loop, exactly.",
             snippet="attention/all_at_once.py"),
    Evidence("transformer-layer-snippet", ("T1", "O2", "P3"), "transformer.md#one-layer",
             "A torch encoder layer: all positions from one call, parameters counted by part.",
             snippet="transformer/layer.py"),
    Evidence("cost-doubling-snippet", ("C1", "C2"), "cost.md#double-the-length",
             "Doubling n: the score table and its multiply-adds grow 4x; time measured.",
             snippet="cost/double_n.py", timing=True),
    Evidence("pitfalls-permutation-snippet", ("P2",), "pitfalls.md#order-is-not-built-in",
             "Shuffle the input rows and attention's output rows shuffle the same way.",
             snippet="pitfalls/permutation.py"),
    Evidence("glossary-snippet", ("W1",), "glossary.md#the-terms-in-code",
             "Each glossary term as a few lines of code.",
             snippet="glossary/terms.py"),
    Evidence("one-line-snippet", ("L1",), "one-line.md#the-line-and-the-room",
             "Hops from the first word to the last: n-1 down the line, 1 in the room.",
             snippet="one_line/hops.py"),
)
