"""Every claim the site makes, in the order of the cheatsheet's sections.

Each claim names the evidence it needs (`needs`). The ledger's status is computed from
that list and what the build actually produced: `proved` when every needed piece was
produced, `partial` when some were, `missing` when none were. Evidence that is planned
but not yet written is simply not registered, so it counts as missing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    id: str
    page: str  # docs page that makes the claim, e.g. "attention.md"
    text: str  # the claim, in the site's words
    needs: tuple[str, ...]  # names of the evidence items that together prove it


CLAIMS: tuple[Claim, ...] = (
    # 1. The one idea that matters
    Claim("O1", "idea.md",
          "Recurrence reads in order and carries a memory; attention lets every position consult "
          "every other in one step (longest dependency path n-1 vs 1).",
          ("idea-chain-snippet", "o1-dependency-figure")),
    Claim("O2", "idea.md",
          "A transformer is built from attention and has no recurrence: no loop over positions.",
          ("transformer-layer-snippet", "o2-block-check")),
    # 2. Why recurrence had to go
    Claim("R1", "recurrence.md",
          "Recurrence is slow because step t must wait for step t-1.",
          ("recurrence-loop-snippet", "r1-timing-figure")),
    Claim("R2", "recurrence.md",
          "Recurrence cannot spread the sequence over parallel hardware.",
          ("r2-threads-figure",)),
    Claim("R3", "recurrence.md",
          "Recurrence forgets over distance: information fades as it is passed step to step.",
          ("recurrence-loop-snippet", "recurrence-forget-snippet", "r3a-gradient-figure",
           "r3b-recall-figure")),
    Claim("R4", "recurrence.md",
          "Both costs have one cause: handling one element at a time, in order.",
          ("r1-timing-figure", "r3a-gradient-figure", "r4-caption")),
    # 3. The attention idea
    Claim("A1", "attention.md",
          "Attention scores every position, turns the scores into weights that are positive and "
          "sum to 1, and outputs the weighted blend of the values.",
          ("attention-blend-snippet", "attention-heatmap")),
    Claim("A2", "attention.md",
          "All relevances come from one matrix product: the whole n x n score table at once.",
          ("attention-loop-snippet",)),
    Claim("A3", "attention.md",
          "In 'the animal didn't cross the street because it was too tired', 'it' can link "
          "straight to 'animal'.",
          ("a3-trained-model", "a3-pretrained-maps")),
    # 4. From attention to the transformer
    Claim("T1", "transformer.md",
          "A transformer layer is attention plus an ordinary feed-forward network, with residuals "
          "and normalisation.",
          ("transformer-layer-snippet", "t1-block-parity", "t1-param-breakdown")),
    Claim("T2", "transformer.md",
          "Direct links and parallelism let transformers train fast and use long context.",
          ("t2-epoch-time",)),
    Claim("T3", "transformer.md",
          "Attention is what let sequence models use parallel compute.",
          # The link and the block's one-call check are here; the measurements it links to
          # (R1's timings, R2's threads) are recurrence evidence still to be built.
          ("t3-recurrence-link", "o2-block-check", "r1-timing-figure", "r2-threads-figure")),
    # 5. The catch: not free
    Claim("C1", "cost.md",
          "All-to-all attention work grows with the square of the length: double n, about 4x work.",
          ("cost-doubling-snippet", "c1-flop-check", "c1-time-sweep")),
    Claim("C2", "cost.md",
          "The n x n weight table's memory grows with the square of the length.",
          ("cost-doubling-snippet", "c2-memory-sweep")),
    Claim("C3", "cost.md",
          "That cost is why models have a context window.",
          ("c3-context-table",)),
    Claim("C4", "cost.md",
          "Much research widens the window cheaply (exact chunked attention, sliding windows).",
          ("c4-chunked-check", "c4-sliding-window-error", "c4-side-by-side")),
    # 6. Pitfalls to dodge
    Claim("P1", "pitfalls.md",
          "Attention is not focus or awareness: it is relevance weights and a weighted blend.",
          ("attention-blend-snippet", "a3-pretrained-maps")),
    Claim("P2", "pitfalls.md",
          "Transformers do not read left to right: without positions, attention ignores order.",
          ("pitfalls-permutation-snippet", "p2-positions-check", "p2-causal-figure")),
    Claim("P3", "pitfalls.md",
          "Attention did not replace neural networks: a transformer is still weights and "
          "nonlinearities.",
          ("transformer-layer-snippet", "t1-param-breakdown")),
    Claim("P4", "pitfalls.md",
          "The full mechanics are not here by design; the page points to where they are "
          "shown in code, and the notebooks go deeper.",
          ("p4-deeper-links", "p4-notebooks", "notebook-qkv", "notebook-multi-head",
           "notebook-positions", "notebook-tiny-transformer")),
    # 7. Words to use precisely
    Claim("W1", "glossary.md",
          "Attention, transformer and context window are each defined once, shown as tooltips, "
          "and linked to the code that implements them.",
          ("glossary-snippet", "w1-code-links")),
    # 8. The one-line version
    Claim("L1", "one-line.md",
          "Recurrence passes a message down a line; attention lets everyone look at everyone.",
          ("one-line-snippet", "o1-dependency-figure")),
)
