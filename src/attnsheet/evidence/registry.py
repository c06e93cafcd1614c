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


# The recall experiment's settings (R3b), shared by the epoch timing (T2): same models, same data.
RECALL_CONFIG = {"vocab": 8, "n_ctx": 32, "width": 32, "train_size": 1536, "test_size": 1000,
                 "epochs": 5, "batch": 64, "lr": 0.05, "seeds": [0, 1, 2]}

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("idea-chain-snippet", ("O1",), "idea.md#count-the-steps",
             "Counts sequential steps: an RNN needs n, attention one matrix product.",
             snippet="idea/steps.py"),
    Evidence("recurrence-loop-snippet", ("R1", "R3"), "recurrence.md#the-loop",
             "The Elman RNN loop; the effect of the first input on later states shrinks.",
             snippet="recurrence/loop.py"),
    Evidence("recurrence-forget-snippet", ("R3",), "recurrence.md#recall",
             "Train a tiny RNN and a tiny attention model to recall a token k steps back; the "
             "RNN fails at long k, attention does not (seeded, under 5 s).",
             snippet="recurrence/forget.py"),
    Evidence("r1-timing-figure", ("R1", "R4", "T3"), "recurrence.md#slow",
             "Forward wall time against n (16 to 4096) for two RNNs and attention, with each "
             "one's longest chain of dependent operations (light and dark SVG, data JSON).",
             builder="attnsheet.evidence.recurrence:forward_times",
             params={"lengths": [2 ** i for i in range(4, 13)], "d": 64, "seed": 0},
             timing=True),
    Evidence("r2-threads-figure", ("R2", "T3"), "recurrence.md#threads",
             "Speedup of the same forwards from 1 thread to all threads, as measured.",
             builder="attnsheet.evidence.recurrence:threads_figure",
             inputs=("r1-timing-figure",), timing=True),
    Evidence("r3b-recall-figure", ("R3",), "recurrence.md#recall",
             "Recall the token k steps back: held-out accuracy against k for an Elman RNN, an "
             "LSTM and one attention layer, 3 seeds, trained at build (deterministic).",
             builder="attnsheet.evidence.recurrence:recall_figure", params=RECALL_CONFIG),
    Evidence("r3a-gradient-figure", ("R3", "R4"), "recurrence.md#forgetting-gradient",
             "Size of the gradient from input 0 against distance: tanh RNN at four weight "
             "scales vs attention at initialisation, and the trained recall models.",
             builder="attnsheet.evidence.recurrence:gradient_figure",
             params={"n": 128, "d": 32, "scales": [0.5, 1.0, 1.5, 2.0], "seed": 0},
             inputs=("r3b-recall-figure",)),
    Evidence("t2-epoch-time", ("T2",), "recurrence.md#training-time",
             "Training seconds per epoch of the three recall models on this machine.",
             builder="attnsheet.evidence.recurrence:epoch_times", params=RECALL_CONFIG,
             inputs=("r3b-recall-figure",), timing=True),
    Evidence("r4-caption", ("R4",), "recurrence.md#one-cause",
             "One table quoting R1 to R3 side by side: the chain of n steps behind each.",
             builder="attnsheet.evidence.recurrence:one_cause",
             inputs=("r1-timing-figure", "r3a-gradient-figure", "r3b-recall-figure"),
             timing=True),
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
