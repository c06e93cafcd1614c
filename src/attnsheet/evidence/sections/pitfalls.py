"""Section 6, pitfalls to dodge (docs/pitfalls.md): P1-P4."""

from __future__ import annotations

from ..spec import HOLDS, Claim, Evidence, Experiment, Verdict, all_of, must
from . import smollm
from .attention import P1_CRITERION, p1_raw_weights

PAGES = ("docs/*.md", "snippets/*/*.py")  # what the checks of the pages' links read

# The "going deeper" notebooks (notebooks/<name>.py) in reading order, and the pages each
# deepens: those pages must link to them, as must the pitfalls page's pointer section (P4).
NOTEBOOKS = ["qkv", "multi_head", "positions", "tiny_transformer", "smollm"]
NOTEBOOK_LINKS = {
    "attention.md": ["qkv", "multi_head", "smollm"],
    "transformer.md": ["multi_head", "tiny_transformer"],
    "pitfalls.md#order-is-not-built-in": ["positions"],
}

DEEPER = "pitfalls.md#the-full-mechanics"  # the pointer section (P4)
SHOWN_IN_CODE = ["transformer.md#one-layer", "pitfalls.md#order-is-not-built-in",
                 "attention.md#score-weigh-blend"]  # what it must link to
POSITIONS_TOLERANCE = 1e-9  # largest un-shuffling change P2 counts as rounding (float64)
SMALL_BLOCK = {"n_heads": 2, "seed": 0}

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("p2-positions-check", "attnsheet.experiments.pitfalls:positions_check",
               params={**SMALL_BLOCK, "n": 6, "d_model": 16, "d_ff": 32,
                       "tolerance": POSITIONS_TOLERANCE}),
    Experiment("p2-causal-dependencies", "attnsheet.experiments.pitfalls:causal_dependencies",
               params={**SMALL_BLOCK, "n": 8, "d_model": 8, "d_ff": 16}),
    Experiment("p4-deeper-links", "attnsheet.experiments.pages:section_links",
               params={"page": DEEPER.partition("#")[0], "anchor": DEEPER.partition("#")[2],
                       "required": SHOWN_IN_CODE},
               inputs=PAGES),
    Experiment("p4-notebooks", "attnsheet.experiments.pages:notebook_links",
               params={"notebooks": NOTEBOOKS, "index": DEEPER, "deepens": NOTEBOOK_LINKS},
               inputs=PAGES + ("notebooks/*.py",)),
    smollm.experiment(smollm.GENERATION),
)

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("pitfalls-permutation-snippet", "pitfalls.md#order-is-not-built-in",
             "Shuffle the input rows and attention's output rows shuffle the same way; with "
             "sinusoidal positions added they do not.",
             snippet="pitfalls/permutation.py"),
    Evidence("p2-positions-check", "pitfalls.md#order-is-not-built-in",
             "The library's block ignores order without positions, not with sinusoidal "
             "positions or a causal mask.",
             render="attnsheet.evidence.render.pitfalls:positions_check",
             data=("p2-positions-check",)),
    Evidence("p2-causal-figure", "pitfalls.md#left-to-right-is-a-choice",
             "Which outputs depend on which inputs, from the block's Jacobian, without and "
             "with a causal mask (light and dark SVG).",
             render="attnsheet.evidence.render.pitfalls:causal_figure",
             data=("p2-causal-dependencies",)),
    Evidence("p3-linear-share", "pitfalls.md#attention-replaced-neural-networks",
             "The share of one layer's parameters that sit in plain linear layers, counted "
             "from the library's block (the transformer page's breakdown).",
             render="attnsheet.evidence.render.transformer:linear_share",
             data=("t1-param-breakdown",)),
    Evidence("p4-deeper-links", DEEPER,
             "The pitfalls page points to the sections that show the mechanics in code "
             "(checked at build).",
             render="attnsheet.evidence.render.transformer:section_links",
             data=("p4-deeper-links",)),
    Evidence("p4-notebooks", DEEPER,
             "The five notebooks, with the pages they deepen; this section and those pages "
             "link to them (checked at build; the build executes each notebook).",
             render="attnsheet.evidence.render.pitfalls:notebooks",
             data=("p4-notebooks",)),
    Evidence("notebook-qkv", "notebooks/qkv.ipynb",
             "Notebook: queries, keys and values built step by step with every shape printed; "
             "why the scores are divided by the square root of d; equal to the library's "
             "attention and torch's.",
             notebook="notebooks/qkv.py"),
    Evidence("notebook-multi-head", "notebooks/multi_head.ipynb",
             "Notebook: multi-head attention by reshaping, equal to the library's; the same "
             "parameters as one head; what different heads of a real model attend to.",
             notebook="notebooks/multi_head.py"),
    Evidence("notebook-positions", "notebooks/positions.ipynb",
             "Notebook: without positions attention ignores order; sinusoidal encodings and "
             "rotary embeddings, and what each does to the scores (measured).",
             notebook="notebooks/positions.py"),
    Evidence("notebook-tiny-transformer", "notebooks/tiny_transformer.ipynb",
             "Notebook: a tiny character-level transformer trained on CPU on text that ships "
             "with Python; causal mask checked; generation timed with and without a key/value "
             "cache.",
             notebook="notebooks/tiny_transformer.py", timing=True),
    Evidence("notebook-smollm", "notebooks/smollm.ipynb",
             "Notebook: one forward pass of SmolLM2-135M-Instruct (4-bit) by hand, checked "
             "against the library: tokens, embeddings, rotary embeddings, grouped-query "
             "attention, the first-token weight, SwiGLU, logits; generation timed with and "
             "without the key/value cache.",
             notebook="notebooks/smollm.py", timing=True),
    Evidence("p1-it-blend", "pitfalls.md#attention-is-focus-or-awareness",
             "Where the weight from 'it' goes in all-MiniLM-L6-v2 on the cheatsheet sentence, "
             "per layer: [CLS] and [SEP], punctuation, the nouns, other words.",
             render="attnsheet.evidence.render.attention:it_blend", data=("a3-minilm-maps",)),
    *smollm.on_page("pitfalls.md"),
)


def order_and_mask(data) -> Verdict:
    """P2: equivariant without positions only; causal Jacobian zero above the diagonal."""
    gaps = {case["case"]: case["gap"] for case in data["p2-positions-check"]["cases"]}
    ignored = {case: gap <= POSITIONS_TOLERANCE for case, gap in gaps.items()}
    expected = {"no positions": True, "sinusoidal positions added": False,
                "causal mask, no positions": False}
    must(ignored == expected,
         f"the permutation check gave {gaps}, expected order ignored only {expected}")
    panels = {panel["name"]: panel["strength"]
              for panel in data["p2-causal-dependencies"]["panels"]}
    free, masked = panels["no mask (encoder)"], panels["causal mask"]
    must(all(value > 0 for row in free for value in row),
         "without a mask some output does not depend on some input")
    above = [masked[t][s] for t in range(len(masked)) for s in range(t + 1, len(masked))]
    must(all(value == 0 for value in above),
         "with a causal mask an output depends on a later input")
    must(all(masked[t][s] > 0 for t in range(len(masked)) for s in range(t + 1)),
         "with a causal mask an output does not depend on an earlier input")
    return Verdict(HOLDS, {"gap, no positions": gaps["no positions"],
                           "gap, positions": gaps["sinusoidal positions added"],
                           "gap, causal mask": gaps["causal mask, no positions"],
                           "nonzero above the diagonal": 0},
                   f"Un-shuffling changes the output by {gaps['no positions']:.1e} without "
                   f"positions, {gaps['sinusoidal positions added']:.1e} with them and "
                   f"{gaps['causal mask, no positions']:.1e} with a causal mask, whose "
                   "Jacobian is exactly zero above the diagonal.")


def linear_majority(data) -> Verdict:
    """P3: more than half of one layer's parameters sit in linear layers; the rest are the
    layer norms'."""
    breakdown = data["t1-param-breakdown"]
    total, in_linear = breakdown["total"], breakdown["in_linear_layers"]
    norms = sum(row["parameters"] for row in breakdown["parts"] if row["part"] == "layer norms")
    must(in_linear / total > 0.5, f"only {in_linear:,} of {total:,} parameters sit in "
                                  "linear layers")
    must(total - in_linear == norms,
         f"{total - in_linear:,} parameters sit outside linear layers, not the layer norms' "
         f"{norms:,}")
    return Verdict(HOLDS, {"share in linear layers": in_linear / total,
                           "in linear layers": in_linear, "total": total},
                   f"{in_linear / total:.2%} of the {total:,} parameters of one layer sit in "
                   "linear layers; the rest are the layer norms'.")


def pointers(data) -> Verdict:
    """P4: the pointer section links to code and to every notebook; the pages a notebook
    deepens link to it."""
    deeper, books = data["p4-deeper-links"], data["p4-notebooks"]
    must(not deeper["problems"] and not books["problems"],
         "; ".join(deeper["problems"] + books["problems"]))
    shown = {row["to"] for row in deeper["links"] if row["code"]}
    must(shown >= set(SHOWN_IN_CODE), f"{DEEPER} links to code in {sorted(shown)} only")
    required = {DEEPER: NOTEBOOKS, **NOTEBOOK_LINKS}
    missing = {where: sorted(set(names) - set(books["linked"].get(where, [])))
               for where, names in required.items()}
    must(not any(missing.values()), f"notebook links missing: {missing}")
    found = [book["name"] for book in books["notebooks"]]
    must(found == NOTEBOOKS, f"notebooks found: {found}, expected {NOTEBOOKS}")
    return Verdict(HOLDS, {"sections with code": len(shown), "notebooks": len(NOTEBOOKS),
                           "pages deepened": len(NOTEBOOK_LINKS)},
                   f"The pointer section links to {len(shown)} sections that show code and to "
                   f"all {len(NOTEBOOKS)} notebooks, and the {len(NOTEBOOK_LINKS)} pages they "
                   "deepen link to them.")


CLAIMS: tuple[Claim, ...] = (
    Claim("P1", "pitfalls.md",
          "Attention is not focus or awareness: it is relevance weights and a weighted blend, "
          "and a weight alone does not say how much of a token is taken in.",
          ("attention-blend-snippet", "p1-it-blend", "p1-first-token"),
          criterion=P1_CRITERION + smollm.P1_CRITERION,
          predicate=all_of(p1_raw_weights, smollm.first_token_sink),
          section="attention-is-focus-or-awareness"),
    Claim("P2", "pitfalls.md",
          "Transformers do not read left to right: without positions, attention ignores order.",
          ("pitfalls-permutation-snippet", "p2-positions-check", "p2-causal-figure",
           "p2-causal-model", "p2-cached-generation"),
          criterion="Shuffling the input rows of the library's block shuffles its output rows "
                    f"the same way, to within {POSITIONS_TOLERANCE:.0e}, without positions, and "
                    "does not with sinusoidal positions added or with a causal mask; the "
                    "block's Jacobian is nonzero for every (output, input) pair without a "
                    "mask, and with a causal mask exactly zero above the diagonal and nonzero "
                    "on and below it." + smollm.P2_CRITERION,
          predicate=all_of(order_and_mask, smollm.causal_model), by_construction=True,
          section="order-is-not-built-in"),
    Claim("P3", "pitfalls.md",
          "Attention did not replace neural networks: a transformer is still weights and "
          "nonlinearities.",
          ("transformer-layer-snippet", "t1-param-breakdown", "p3-linear-share",
           "t1-real-layer"),
          criterion="Counted by module type in a layer the size of the original "
                    "transformer's, most parameters (more than half) sit in torch.nn.Linear "
                    "layers, plain weighted sums; the rest are the layer norms'."
                    + smollm.P3_CRITERION,
          predicate=all_of(linear_majority, smollm.real_linear_majority), by_construction=True,
          section="attention-replaced-neural-networks"),
    Claim("P4", "pitfalls.md",
          "The full mechanics are not here by design; the page points to where they are "
          "shown in code, and the notebooks go deeper.",
          ("p4-deeper-links", "p4-notebooks", "notebook-qkv", "notebook-multi-head",
           "notebook-positions", "notebook-tiny-transformer", "notebook-smollm"),
          criterion="The pointer section links to sections that show the attention, block "
                    "and positions code, and to every notebook; each page a notebook deepens "
                    "links to it. (The build executes every notebook; a failing cell stops it.)",
          predicate=pointers, by_construction=True, section="the-full-mechanics"),
)
