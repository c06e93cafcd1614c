"""Section 3, the attention idea (docs/attention.md): A1-A3."""

from __future__ import annotations

from typing import Any, Mapping

from ..spec import HOLDS, Claim, Evidence, Experiment, Verdict, all_of, must
from . import smollm

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("a1-sentence-weights", "attnsheet.experiments.attention:weight_table",
               params={"seed": 0, "d": 16}),
    Experiment("a2-loop-vs-product", "attnsheet.experiments.attention:loop_vs_product",
               params={"seed": 0, "cases": 6, "n_range": [2, 12], "d_range": [1, 16]}),
    Experiment("a3-trained-referent", "attnsheet.experiments.attention:trained_referent",
               params={"seed": 0, "d": 32, "steps": 150, "batch_size": 64, "n_test": 1000}),
    Experiment("a3-minilm-maps", "attnsheet.experiments.attention:pretrained_maps",
               params={"margin": smollm.MARGIN}),
    smollm.experiment(smollm.MAPS),
)

EXPLORER = "a3-pretrained-explorer"
RENDER = "attnsheet.evidence.render.attention:"

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("attention-blend-snippet", "attention.md#score-weigh-blend",
             "Attention in numpy: weights >= 0, rows sum to 1, output inside the values' hull, "
             "equal to torch's scaled_dot_product_attention.",
             snippet="attention/blend.py"),
    Evidence("attention-loop-snippet", "attention.md#all-at-once",
             "One matrix product equals the per-position loop, exactly.",
             snippet="attention/all_at_once.py"),
    Evidence("a2-loop-check", "attention.md#all-at-once",
             "On seeded random float64 cases, the score table and output from one matrix "
             "product against a loop over positions: the largest difference.",
             render=RENDER + "loop_check", data=("a2-loop-vs-product",)),
    Evidence("attention-heatmap", "attention.md#the-weight-table",
             "Weight table of a short sentence computed by the library (light and dark SVG); "
             "smallest weight, row sums, difference from torch's SDPA.",
             render=RENDER + "heatmap", data=("a1-sentence-weights",)),
    Evidence("a3-trained-model", "attention.md#a-model-trained-here",
             "A two-layer attention model trained at build time resolves 'it' through its "
             "weights; accuracy on held-out nouns and adjectives, weights on the cheatsheet "
             "sentence and its 'wide' twin.",
             render=RENDER + "trained_model", data=("a3-trained-referent",)),
    Evidence("a3-pretrained-maps", "attention.md#a-real-pretrained-transformer",
             "All-MiniLM-L6-v2 (hash-checked) on the sentence pair and others like it: every "
             "head's weights from 'it', heads that follow the referent (with and without a "
             "margin), weight on special tokens.",
             render=RENDER + "pretrained_maps", data=("a3-minilm-maps",)),
    Evidence(EXPLORER, "attention.md#explore-every-head",
             "Explorer of every layer's and head's weight table of all-MiniLM-L6-v2 and of "
             "SmolLM2-135M-Instruct on every analysed sentence (their JSON), with one "
             "encoder head's tables as the static fallback.",
             render=RENDER + "explorer", data=("a3-minilm-maps", smollm.MAPS),
             params={"decimals": 3, "name": EXPLORER}),
    *smollm.on_page("attention.md"),
)

# --- criteria ----------------------------------------------------------------------------------

A1_TOLERANCE = 1e-12  # float64: rows' sums and torch's SDPA, far above rounding (~1e-16)
A2_TOLERANCE = 1e-12  # float64: product against loop
A3_HELD_OUT = 0.9  # the trained model's accuracy on sentences of held-out words


def a1_blend(data: Mapping[str, Any]) -> Verdict:
    table = data["a1-sentence-weights"]
    numbers = {"smallest weight": table["weight_min"],
               "row-sum error": table["row_sum_error"],
               "SDPA difference": table["sdpa_difference"]}
    must(table["weight_min"] > 0, f"a weight is not positive: {table['weight_min']}")
    must(table["row_sum_error"] <= A1_TOLERANCE,
         f"a row sums to 1 only within {table['row_sum_error']:.1e} > {A1_TOLERANCE:.0e}")
    must(table["outputs_inside_values"], "an output lies outside the range of the values")
    must(table["sdpa_difference"] <= A1_TOLERANCE,
         f"differs from torch's SDPA by {table['sdpa_difference']:.1e} > {A1_TOLERANCE:.0e}")
    return Verdict(HOLDS, numbers,
                   f"every weight is positive, every row sums to 1 within {A1_TOLERANCE:.0e}, "
                   f"and the output equals torch's SDPA within {A1_TOLERANCE:.0e}.")


def a2_one_product(data: Mapping[str, Any]) -> Verdict:
    check = data["a2-loop-vs-product"]
    numbers = {"cases": len(check["cases"]), "score difference": check["score_difference"],
               "output difference": check["output_difference"]}
    worst = max(check["score_difference"], check["output_difference"])
    must(worst <= A2_TOLERANCE,
         f"the product and the loop differ by {worst:.1e} > {A2_TOLERANCE:.0e}")
    return Verdict(HOLDS, numbers,
                   f"on {len(check['cases'])} random cases the one-product scores and outputs "
                   f"equal the loop's within {A2_TOLERANCE:.0e}.")


def a3_referent(data: Mapping[str, Any]) -> Verdict:
    trained, maps = data["a3-trained-referent"], data["a3-minilm-maps"]
    pairs = maps["pairs"]
    margin_key = f"minilm follow / opposite at margin {maps['margin']:g} (all pairs)"
    numbers = {
        "held-out accuracy": trained["held_out_accuracy"],
        "control held-out accuracy": trained["control_held_out_accuracy"],
        "minilm follow / opposite (main pair)": f"{pairs[0]['follows']} / {pairs[0]['opposite']}",
        margin_key:
            f"{sum(p['follows_at_margin'] for p in pairs)} / "
            f"{sum(p['opposite_at_margin'] for p in pairs)}",
        "minilm heads following on every pair": maps["consistent"],
    }
    must(trained["held_out_accuracy"] >= A3_HELD_OUT,
         f"held-out accuracy {trained['held_out_accuracy']:.3f} < {A3_HELD_OUT}")
    for twin in trained["twins"]:
        row = twin["layer_2"][twin["it"]]
        must(max(range(len(row)), key=row.__getitem__) == twin["referent"],
             f"with '{twin['adjective']}' the row of 'it' does not peak on "
             f"'{twin['words'][twin['referent']]}'")
    must(len(pairs) > 0 and all(p["follows"] + p["opposite"] <= maps["layers"] * maps["heads"]
                                and p["follows_at_margin"] <= p["follows"] for p in pairs),
         "the pretrained model's head counts are inconsistent")
    return Verdict(HOLDS, numbers,
                   f"the small model trained here (its word vectors mark each noun's kind) "
                   f"links 'it' to the right noun in "
                   f"{trained['held_out_accuracy']:.1%} of held-out sentences (at least "
                   f"{A3_HELD_OUT:.0%} required) and on the cheatsheet pair; in the "
                   f"pretrained encoder, at a margin of {maps['margin']:g}, heads follow the "
                   f"referent {numbers[margin_key].replace(' / ', ' times and do the opposite ')}"
                   f" times over {len(pairs)} pairs, and {maps['consistent']} follow it on "
                   f"every pair (reported, not required)"
                   + ("; so the link is shown in the trained model, not in the pretrained one"
                      if maps["consistent"] == 0 else "") + ".")


CLAIMS: tuple[Claim, ...] = (
    Claim("A1", "attention.md",
          "Attention scores every position, turns the scores into weights that are positive and "
          "sum to 1, and outputs the weighted blend of the values.",
          ("attention-blend-snippet", "attention-heatmap"),
          criterion=f"On the sentence's table (seeded vectors, float64): every weight > 0, every "
                    f"row sums to 1 within {A1_TOLERANCE:.0e}, every output lies within the "
                    f"values' range, and the output equals torch's scaled_dot_product_attention "
                    f"within {A1_TOLERANCE:.0e}.",
          predicate=a1_blend, by_construction=True, section="score-weigh-blend"),
    Claim("A2", "attention.md",
          "All relevances come from one matrix product: the whole n x n score table at once.",
          ("attention-loop-snippet", "a2-loop-check"),
          criterion=f"On seeded random float64 cases, the score table and the output from one "
                    f"matrix product equal those of a loop over positions within "
                    f"{A2_TOLERANCE:.0e}.",
          predicate=a2_one_product, by_construction=True, section="all-at-once"),
    Claim("A3", "attention.md",
          "In 'the animal didn't cross the street because it was too tired', 'it' can link "
          "straight to 'animal'.",
          ("a3-trained-model", "a3-pretrained-maps", "a3-pretrained-explorer",
           "a3-causal-model"),
          criterion=f"The two-layer model trained here puts the largest weight from 'it' on the "
                    f"right noun in at least {A3_HELD_OUT:.0%} of sentences made of held-out "
                    f"words, and on 'animal' with 'tired' and 'street' with 'wide'. In "
                    f"all-MiniLM-L6-v2 the heads that follow the referent and those that do the "
                    f"opposite are counted on every pair, with and without a minimum margin, and "
                    f"reported whichever way they fall." + smollm.A3_CRITERION,
          predicate=all_of(a3_referent, smollm.causal_referent), section="it-links-to-animal"),
)

# --- P1 (pitfalls page): the evidence reads this section's pretrained maps ------------------

BOUNDARY = "[CLS] and [SEP]"  # the token group of the maps' data (experiments.attention)
P1_SPECIAL = 0.25  # least mean share of the weight from "it" on [CLS] and [SEP] (2 tokens)
# Most of the share of what [CLS] and [SEP] supply, as a fraction of their weight share: a
# weight that measured intake would give equal shares (ratio 1).
P1_ADDED_RATIO = 0.5
P1_CRITERION = (
    f"In all-MiniLM-L6-v2 on the cheatsheet sentence, averaged over every head, [CLS] and "
    f"[SEP] (markers the tokenizer adds, not words of the sentence) receive at least "
    f"{P1_SPECIAL:.0%} of the weight from 'it', and more than 'animal' and 'street' "
    f"together; yet their share of what the heads add to 'it' (each weight times the size of that token's value vector through "
    f"the output projection; Kobayashi et al., 2020) is at most {P1_ADDED_RATIO:g} of their "
    f"share of the weight: a weight does not say how much of a token the model takes in."
)


def p1_raw_weights(data: Mapping[str, Any]) -> Verdict:
    maps = data["a3-minilm-maps"]
    pair = maps["pairs"][0]
    special = maps["mean_share"][BOUNDARY]
    added = maps["mean_added_share"][BOUNDARY]
    nouns = sum(maps["mean_share"][f"“{noun}”"] for noun in (pair["first"], pair["second"]))
    numbers = {"share of the weight on [CLS] and [SEP]": special,
               "share of what is added from them": added,
               "share of the weight on the two nouns": nouns,
               "heads giving them more than half": maps["heads_mostly_special"],
               "heads": maps["layers"] * maps["heads"]}
    must(special >= P1_SPECIAL,
         f"[CLS] and [SEP] get {special:.3f} of the weight from 'it', under {P1_SPECIAL}")
    must(special > nouns,
         f"[CLS] and [SEP] get {special:.3f}, no more than the two nouns' {nouns:.3f}")
    must(added <= P1_ADDED_RATIO * special,
         f"[CLS] and [SEP] supply {added:.3f} of what the heads add to 'it', more than "
         f"{P1_ADDED_RATIO:g} of their {special:.3f} of the weight: here the weights do "
         f"measure what is taken in")
    return Verdict(HOLDS, numbers,
                   f"on average {special:.0%} of the weight from 'it' lands on [CLS] and [SEP], "
                   f"against {nouns:.0%} on 'animal' and 'street' together, yet they supply "
                   f"only {added:.0%} of what the heads add to 'it'")
