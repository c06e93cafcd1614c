"""The evidence registry: which code produces the evidence for which claim, shown where.

Two kinds of evidence:

* a **snippet** (`snippets/<section>/<name>.py`): a standalone script a reader can copy. The
  build runs it; it must exit 0 (its asserts are the claim's check) and its printed output is
  captured and shown under the code on the page.
* a **builder** (`module:function`): library code that computes figures or data at build time.
* a **notebook** (`notebooks/<name>.py`, jupytext percent format): executed in a fresh kernel
  at build (`evidence/notebooks.py`) and rendered, outputs and all, as a "going deeper" page.

A builder may read what other items wrote (`reads`, by name): the build runs those first, and
their cache keys are part of its own, so it is rebuilt whenever they are. That is how several
figures share one measurement instead of repeating it.

`page` is where a reader sees the evidence (`file.md#anchor`); the ledger links there.

A builder that checks the site's own pages (links, sections) names the files it reads in
`inputs` (glob patterns from the repository root): their bytes join its cache key, so an
edit to a page re-runs the check, and the builder is called with `root=` the repository root.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The cost page measures on one torch thread: on a shared two-core machine, threads that wait
# for each other at every step turn other work into large swings, and the growth with n that
# the page is about does not depend on the thread count.
MEASURE_THREADS = 1


@dataclass(frozen=True)
class Evidence:
    name: str
    claims: tuple[str, ...]
    page: str  # "attention.md#blend": where the reader sees it
    summary: str  # one line for the ledger
    snippet: str | None = None  # path under snippets/, run at build
    builder: str | None = None  # "attnsheet.evidence.attention:heatmap"
    notebook: str | None = None  # "notebooks/qkv.py", from the repository root
    params: dict = field(default_factory=dict)
    timing: bool = False  # numbers are measurements: they differ between builds
    inputs: tuple[str, ...] = ()  # repository files a builder reads ("docs/*.md"); see above
    reads: tuple[str, ...] = ()  # names of the items whose files this builder reads

    def __post_init__(self) -> None:
        if sum(kind is not None for kind in (self.snippet, self.builder, self.notebook)) != 1:
            raise ValueError(
                f"evidence {self.name!r} needs exactly one of snippet=, builder= or notebook="
            )
        if (self.inputs or self.reads) and not self.builder:
            raise ValueError(f"evidence {self.name!r}: inputs= and reads= are for builders only")


PAGES = ("docs/*.md", "snippets/*/*.py")  # what the checks of the pages' links read

# The "going deeper" notebooks (notebooks/<name>.py) in reading order, and the pages each
# deepens: those pages must link to them, as must the pitfalls page's pointer section (P4).
NOTEBOOKS = ["qkv", "multi_head", "positions", "tiny_transformer"]
NOTEBOOK_LINKS = {
    "attention.md": ["qkv", "multi_head"],
    "transformer.md": ["multi_head", "tiny_transformer"],
    "pitfalls.md#order-is-not-built-in": ["positions"],
}

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
             reads=("r1-timing-figure",), timing=True),
    Evidence("r3b-recall-figure", ("R3",), "recurrence.md#recall",
             "Recall the token k steps back: held-out accuracy against k for an Elman RNN, an "
             "LSTM and one attention layer, 3 seeds, trained at build (deterministic).",
             builder="attnsheet.evidence.recurrence:recall_figure", params=RECALL_CONFIG),
    Evidence("r3a-gradient-figure", ("R3", "R4"), "recurrence.md#forgetting-gradient",
             "Size of the gradient from input 0 against distance: tanh RNN at four weight "
             "scales vs attention at initialisation, and the trained recall models.",
             builder="attnsheet.evidence.recurrence:gradient_figure",
             params={"n": 128, "d": 32, "scales": [0.5, 1.0, 1.5, 2.0], "seed": 0},
             reads=("r3b-recall-figure",)),
    Evidence("t2-epoch-time", ("T2",), "recurrence.md#training-time",
             "Training seconds per epoch of the three recall models on this machine.",
             builder="attnsheet.evidence.recurrence:epoch_times", params=RECALL_CONFIG,
             reads=("r3b-recall-figure",), timing=True),
    Evidence("r4-caption", ("R4",), "recurrence.md#one-cause",
             "One table quoting R1 to R3 side by side: the chain of n steps behind each.",
             builder="attnsheet.evidence.recurrence:one_cause",
             reads=("r1-timing-figure", "r3a-gradient-figure", "r3b-recall-figure"),
             timing=True),
    Evidence("attention-blend-snippet", ("A1", "P1"), "attention.md#score-weigh-blend",
             "Attention in numpy: weights >= 0, rows sum to 1, output inside the values' hull, "
             "equal to torch's scaled_dot_product_attention.",
             snippet="attention/blend.py"),
    Evidence("attention-heatmap", ("A1",), "attention.md#the-weight-table",
             "Weight table of a short sentence computed by the library (light and dark SVG).",
             builder="attnsheet.evidence.attention:heatmap",
             params={"seed": 0, "d": 16}),
    Evidence("a3-trained-model", ("A3",), "attention.md#a-model-trained-here",
             "A two-layer attention model trained at build time resolves 'it' through its "
             "weights; accuracy on held-out nouns and adjectives, weights on the cheatsheet "
             "sentence and its 'wide' twin.",
             builder="attnsheet.evidence.attention:trained_referent",
             params={"seed": 0, "d": 32, "steps": 150, "batch_size": 64, "n_test": 1000}),
    Evidence("a3-pretrained-maps", ("A3", "P1"), "attention.md#a-real-pretrained-transformer",
             "All-MiniLM-L6-v2 (hash-checked) on the sentence pair and others like it: every "
             "head's weights from 'it', heads that follow the referent, weight on special "
             "tokens; explorer data.",
             builder="attnsheet.evidence.attention:pretrained_maps",
             params={"decimals": 3}),
    Evidence("attention-loop-snippet", ("A2",), "attention.md#all-at-once",
             "One matrix product equals the per-position loop, exactly.",
             snippet="attention/all_at_once.py"),
    Evidence("o1-dependency-figure", ("O1", "L1"), "idea.md#dependency-graphs",
             "Dependency graphs of the library's RNN and attention, from the autograd Jacobian "
             "and graph; longest path n-1 hand-offs vs 1 edge (light and dark SVG).",
             builder="attnsheet.evidence.idea:dependency_figure",
             params={"n": 6, "d": 4, "seed": 0}),
    Evidence("transformer-layer-snippet", ("T1", "O2", "P3"), "transformer.md#one-layer",
             "A pre-norm transformer block written out in torch, equal to torch's encoder "
             "layer with the same weights; all positions from one call; parameters by part.",
             snippet="transformer/layer.py"),
    Evidence("t1-block-parity", ("T1",), "transformer.md#checked-against-pytorch",
             "The library's block equals torch.nn.TransformerEncoderLayer given the same "
             "weights (float32 and float64, with and without a causal mask).",
             builder="attnsheet.evidence.transformer:block_parity",
             params={"seed": 0, "tolerance": 1e-5}),
    Evidence("t1-param-breakdown", ("T1", "P3"), "transformer.md#where-the-weights-sit",
             "Parameters of one layer by part, as a table and a light and dark SVG: nearly all "
             "sit in linear layers.",
             builder="attnsheet.evidence.transformer:param_breakdown",
             params={"d_model": 512, "n_heads": 8, "d_ff": 2048}),
    Evidence("o2-block-check", ("O2", "T3"), "transformer.md#no-loop-over-positions",
             "The block's code read with ast: no loop from forward to the arithmetic (the "
             "same check finds the RNN's); one call runs each sub-layer once on all positions.",
             builder="attnsheet.evidence.transformer:block_check",
             params={"n": 10, "d_model": 64, "n_heads": 4, "d_ff": 256, "seed": 0}),
    Evidence("t3-recurrence-link", ("T3",), "transformer.md#why-it-won",
             "The parallelism argument links to the recurrence evidence (checked at build).",
             builder="attnsheet.evidence.pages:section_links",
             params={"page": "transformer.md", "anchor": "why-it-won",
                     "required": ["recurrence.md#the-loop"], "data": "transformer/recurrence-link"},
             inputs=PAGES),
    Evidence("cost-doubling-snippet", ("C1", "C2"), "cost.md#double-the-length",
             "Doubling n: the score table and its multiply-adds grow 4x; time measured.",
             snippet="cost/double_n.py", timing=True),
    Evidence("c1-flop-check", ("C1",), "cost.md#the-work",
             "FLOP formula (projections 8nd², scores and blend 4n²d) equals the operations "
             "torch's FlopCounterMode counts.",
             builder="attnsheet.evidence.cost:flop_check",
             params={"d_model": 128, "heads": 4, "lengths": [64 * 2**i for i in range(5)]}),
    Evidence("c1-time-sweep", ("C1",), "cost.md#the-work",
             "Plain attention timed from n = 128 to 8,192: fitted exponent, ratio per doubling, "
             "achieved FLOP/s against the machine's matrix-multiply rate.",
             builder="attnsheet.evidence.cost:time_sweep",
             params={"lengths": [128 * 2**i for i in range(7)], "repeats": 5,
                     "repeats_long": 3, "long_from": 4096, "fit_from_multiple": 16,
                     "breakdown_n": 4096, "threads": MEASURE_THREADS},
             timing=True),
    Evidence("c2-memory-sweep", ("C2",), "cost.md#the-memory",
             "Measured peak memory of plain attention over n beside the bytes of the n x n table.",
             builder="attnsheet.evidence.cost:memory_sweep",
             params={"lengths": [256 * 2**i for i in range(6)], "threads": MEASURE_THREADS},
             timing=True),
    Evidence("c3-context-table", ("C3",), "cost.md#context-window",
             "Score-table memory and FLOPs per layer of Llama 2 7B from 1k to 1M tokens "
             "(table and the slider's JSON).",
             builder="attnsheet.evidence.cost:context_table",
             params={"lengths": [2**p for p in range(10, 21)], "budget_gb": 80}),
    Evidence("c4-chunked-check", ("C4",), "cost.md#exact-in-chunks",
             "Chunked attention with an online softmax equals plain attention and SDPA "
             "within 1e-5 in float32.",
             builder="attnsheet.evidence.cost:chunked_check",
             params={"tolerance": 1e-5, "cases": [
                 {"n": 100, "chunk": 7, "mask": "none"},
                 {"n": 100, "chunk": 7, "mask": "causal"},
                 {"n": 100, "chunk": 32, "mask": "random"},
                 {"n": 1000, "chunk": 128, "mask": "none"},
                 {"n": 1000, "chunk": 128, "mask": "causal"},
                 {"n": 1000, "chunk": 4096, "mask": "random"},
             ]}),
    Evidence("c4-sliding-window-error", ("C4",), "cost.md#only-the-neighbours",
             "Sliding-window attention's error against full attention, by window size.",
             builder="attnsheet.evidence.cost:sliding_window_error",
             params={"n": 1024, "windows": [16, 64, 256, 1024], "correlation": 0.98}),
    Evidence("c4-side-by-side", ("C4",), "cost.md#side-by-side",
             "Plain, chunked, sliding-window attention and torch's SDPA: time and peak memory "
             "over n, in one run.",
             builder="attnsheet.evidence.cost:side_by_side",
             params={"lengths": [512, 1024, 2048, 4096], "repeats": 3, "chunk_size": 256,
                     "window": 256, "threads": MEASURE_THREADS},
             timing=True),
    Evidence("pitfalls-permutation-snippet", ("P2",), "pitfalls.md#order-is-not-built-in",
             "Shuffle the input rows and attention's output rows shuffle the same way; with "
             "sinusoidal positions added they do not.",
             snippet="pitfalls/permutation.py"),
    Evidence("p2-positions-check", ("P2",), "pitfalls.md#order-is-not-built-in",
             "The library's block ignores order without positions, not with sinusoidal "
             "positions or a causal mask.",
             builder="attnsheet.evidence.pitfalls:positions_check",
             params={"n": 6, "d_model": 16, "n_heads": 2, "d_ff": 32, "seed": 0,
                     "tolerance": 1e-9}),
    Evidence("p2-causal-figure", ("P2",), "pitfalls.md#left-to-right-is-a-choice",
             "Which outputs depend on which inputs, from the block's Jacobian, without and "
             "with a causal mask (light and dark SVG).",
             builder="attnsheet.evidence.pitfalls:causal_figure",
             params={"n": 8, "d_model": 8, "n_heads": 2, "d_ff": 16, "seed": 0}),
    Evidence("p4-deeper-links", ("P4",), "pitfalls.md#the-full-mechanics",
             "The pitfalls page points to the sections that show the mechanics in code "
             "(checked at build).",
             builder="attnsheet.evidence.pages:section_links",
             params={"page": "pitfalls.md", "anchor": "the-full-mechanics",
                     "required": ["transformer.md#one-layer", "pitfalls.md#order-is-not-built-in",
                                  "attention.md#score-weigh-blend"],
                     "data": "pitfalls/deeper-links"},
             inputs=PAGES),
    Evidence("notebook-qkv", ("P4",), "notebooks/qkv.ipynb",
             "Notebook: queries, keys and values built step by step with every shape printed; "
             "why the scores are divided by the square root of d; equal to the library's "
             "attention and torch's.",
             notebook="notebooks/qkv.py"),
    Evidence("notebook-multi-head", ("P4",), "notebooks/multi_head.ipynb",
             "Notebook: multi-head attention by reshaping, equal to the library's; the same "
             "parameters as one head; what different heads of a real model attend to.",
             notebook="notebooks/multi_head.py"),
    Evidence("notebook-positions", ("P4",), "notebooks/positions.ipynb",
             "Notebook: without positions attention ignores order; sinusoidal encodings and "
             "rotary embeddings, and what each does to the scores (measured).",
             notebook="notebooks/positions.py"),
    Evidence("notebook-tiny-transformer", ("P4",), "notebooks/tiny_transformer.ipynb",
             "Notebook: a tiny character-level transformer trained on CPU on text that ships "
             "with Python; causal mask checked; generation timed with and without a key/value "
             "cache.",
             notebook="notebooks/tiny_transformer.py", timing=True),
    Evidence("p4-notebooks", ("P4",), "pitfalls.md#the-full-mechanics",
             "The four notebooks ran at build without an error, and the pages they deepen "
             "link to them (checked at build).",
             builder="attnsheet.evidence.pages:notebook_links",
             params={"notebooks": NOTEBOOKS, "index": "pitfalls.md#the-full-mechanics",
                     "deepens": NOTEBOOK_LINKS, "data": "pitfalls/notebooks"},
             inputs=PAGES,
             reads=("notebook-qkv", "notebook-multi-head", "notebook-positions",
                    "notebook-tiny-transformer")),
    Evidence("glossary-snippet", ("W1",), "glossary.md#the-terms-in-code",
             "Each glossary term as a few lines of code.",
             snippet="glossary/terms.py"),
    Evidence("w1-code-links", ("W1",), "glossary.md#the-terms-in-code",
             "Each term's definition links to a section that shows its code (checked at "
             "build).",
             builder="attnsheet.evidence.glossary:code_links",
             params={"terms": ["Attention", "Transformer", "Context window"]},
             inputs=PAGES),
    Evidence("one-line-snippet", ("L1",), "one-line.md#the-line-and-the-room",
             "Hops from the first word to the last: n-1 down the line, 1 in the room.",
             snippet="one_line/hops.py"),
)
