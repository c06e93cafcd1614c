"""SmolLM2-135M-Instruct's part of claims A3, P1, P2, T1, P3 and C3: its experiments, the
evidence the pages show, and the predicates each of those claims joins with its own
(`spec.all_of`). Not a page: each page's section module lists the items it shows
(`on_page`, `experiment`). The experiments load the model once per build."""

from __future__ import annotations

from typing import Any, Mapping

from ..spec import HOLDS, Evidence, Experiment, Verdict, must

MAPS, BREAKDOWN, CACHE, GENERATION = ("smollm-maps", "smollm-breakdown", "smollm-cache",
                                      "smollm-generation")
RENDER = "attnsheet.evidence.render.smollm:"
MARGIN = 0.05  # the same minimum swing as the encoder's maps (a3-minilm-maps)
SAME_IT_ROWS = 1e-6  # "it" has read the same prefix in both sentences of a pair
FIRST_TOKEN_FACTOR = 2  # the first token's share must be at least this times an even spread
CACHE_TOKENS = 64  # the real cache allocated to confirm the per-token size
GENERATION_PROMPT = "The animal didn't cross the street because it was too tired. It"
GENERATION_TOKENS = 16


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(MAPS, "attnsheet.experiments.smollm:causal_maps", params={"margin": MARGIN}),
    Experiment(BREAKDOWN, "attnsheet.experiments.smollm:layer_breakdown"),
    Experiment(CACHE, "attnsheet.experiments.smollm:cache_size",
               params={"n_tokens": CACHE_TOKENS, "bytes_per_value": 2}),
    Experiment(GENERATION, "attnsheet.experiments.smollm:cached_generation",
               params={"prompt": GENERATION_PROMPT, "n_new": GENERATION_TOKENS,
                       "repeats": 3}, timing=True),
)

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("a3-causal-model", "attention.md#in-a-causal-model",
             "SmolLM2-135M-Instruct (4-bit, hash-checked) on the same pairs: the rows of 'it' "
             "in both sentences, heads that move weight toward the referent from the "
             "adjective on, the model's probabilities for each adjective.",
             render=RENDER + "causal_pairs", data=(MAPS,)),
    Evidence("p1-first-token", "pitfalls.md#attention-is-focus-or-awareness",
             "The share of SmolLM2's attention weight on the first token, per layer, against "
             "an even spread (light and dark SVG).",
             render=RENDER + "first_token", data=(MAPS,),
             params={"factor": FIRST_TOKEN_FACTOR}),
    Evidence("p2-causal-model", "pitfalls.md#left-to-right-is-a-choice",
             "SmolLM2's weights above the diagonal over every sentence, layer and head "
             "(checked at build).",
             render=RENDER + "causal_zeros", data=(MAPS,)),
    Evidence("p2-cached-generation", "pitfalls.md#one-token-at-a-time",
             "SmolLM2 writing greedily with and without its key/value cache: the time each "
             "way on this machine and whether the tokens agree.",
             render=RENDER + "generation", data=(GENERATION,)),
    Evidence("t1-real-layer", "transformer.md#a-real-modern-layer",
             "One layer of SmolLM2-135M-Instruct by part, counted from its loaded weights: "
             "grouped-query attention, SwiGLU feed-forward network, RMSNorm.",
             render=RENDER + "breakdown", data=(BREAKDOWN,)),
    Evidence("c3-smollm-cache", "cost.md#context-window",
             "SmolLM2's key/value cache per token and at its window, with grouped-query "
             "attention and as if every head had its own, confirmed by a real cache.",
             render=RENDER + "cache", data=(CACHE,)),
)

def on_page(page: str) -> tuple[Evidence, ...]:
    """The SmolLM2 evidence items shown on `page` (e.g. "pitfalls.md")."""
    return tuple(item for item in EVIDENCE if item.page_file == page)


def experiment(name: str) -> Experiment:
    [found] = [e for e in EXPERIMENTS if e.name == name]
    return found


A3_CRITERION = (
    f" In SmolLM2-135M-Instruct (causal; 4-bit weights as shipped), the weights from 'it' are "
    f"the same in both sentences of every pair (within {SAME_IT_ROWS:.0e}: it has not read the "
    f"adjective; this part holds by the causal mask), and the heads that move weight toward "
    f"the referent or away are counted at the same margin on two later rows, the adjective's "
    f"own and the final full stop's, reported whichever way they fall.")
P1_CRITERION = (
    f" In SmolLM2-135M-Instruct, averaged over every head and every later position of the "
    f"pair sentences, the first token gets at least {FIRST_TOKEN_FACTOR}× the share an "
    f"even spread would give it.")
P2_CRITERION = (
    " In SmolLM2-135M-Instruct every weight above the diagonal is exactly 0, and greedy "
    "generation writes the same tokens with its key/value cache as without (the time each "
    "way is reported).")
T1_CRITERION = (
    " In SmolLM2-135M-Instruct, counted from the loaded weights, every weight of a layer is "
    "an attention projection, a feed-forward matrix or a norm scale, and the layers are alike.")
P3_CRITERION = (
    " In SmolLM2-135M-Instruct, more than half of all parameters sit in the layers' linear "
    "maps (the embedding table and norm scales are the rest).")
C3_CRITERION = (
    " For SmolLM2-135M-Instruct the cache per token, computed from its configuration, equals "
    "what a real cache of its own holds per token (sharing 3 key/value heads among 9 query "
    "heads makes it a third of per-head keys and values: arithmetic, reported).")


def causal_referent(data: Mapping[str, Any]) -> Verdict:
    """A3(c): the rows of "it" agree within each pair; the head counts are reported."""
    maps = data[MAPS]
    pairs = maps["pairs"]
    worst = max(p["it_rows_differ_by"] for p in pairs)
    must(worst <= SAME_IT_ROWS, f"SmolLM2's rows of 'it' differ by {worst:.1e} between the "
                                f"two sentences of a pair: it saw the adjective")
    heads = maps["layers"] * maps["heads"]
    must(all(c["follows_at_margin"] <= c["follows"] <= heads
             and c["opposite_at_margin"] <= c["opposite"] <= heads
             for p in pairs for c in p["rows"].values()),
         "SmolLM2's head counts are inconsistent")
    totals = {row: [sum(p["rows"][row][k] for p in pairs)
                    for k in ("follows_at_margin", "opposite_at_margin")]
              for row in pairs[0]["rows"]}
    margin = maps["margin"]
    same = "identical" if worst == 0 else f"within {worst:.0e}"
    return Verdict(HOLDS, {**{f"smollm2 follow / opposite at margin {margin:g}, {row} row":
                              f"{f} / {o}" for row, (f, o) in totals.items()},
                           "smollm2 rows of 'it' differ by": worst},
                   f"In SmolLM2 (causal, 4-bit) the rows of 'it' are {same} in both sentences "
                   f"of each pair; at a margin of {margin:g}, heads move weight toward the "
                   f"referent / away "
                   + " and ".join(f"{f} / {o} times on the {row} row"
                                  for row, (f, o) in totals.items())
                   + f" over {len(pairs)} pairs (reported, not required: the verdict rests on "
                     f"the model trained here).")


def first_token_sink(data: Mapping[str, Any]) -> Verdict:
    """P1: the causal model parks weight on its first token."""
    maps = data[MAPS]
    share, uniform = maps["first_token_share_mean"], maps["uniform_share"]
    must(share >= FIRST_TOKEN_FACTOR * uniform,
         f"SmolLM2's first token gets {share:.3f} of the weight, under {FIRST_TOKEN_FACTOR}× "
         f"an even spread's {uniform:.3f}")
    return Verdict(HOLDS, {"smollm2 share on the first token": share,
                           "even spread's share": uniform},
                   f"In SmolLM2, {share:.0%} of the weight lands on the first token, against "
                   f"{uniform:.0%} for an even spread.")


def causal_model(data: Mapping[str, Any]) -> Verdict:
    """P2: the causal model's weights above the diagonal are 0; cached generation agrees."""
    maps, timed = data[MAPS], data[GENERATION]
    must(maps["largest_weight_above_diagonal"] == 0,
         f"SmolLM2 puts weight {maps['largest_weight_above_diagonal']:g} on a later token")
    must(timed["same_tokens"], "SmolLM2 writes different tokens with and without its cache")
    return Verdict(HOLDS, {"smollm2 largest weight above the diagonal":
                           maps["largest_weight_above_diagonal"],
                           "smollm2 cached generation speedup": timed["speedup"]},
                   f"SmolLM2's weights above the diagonal are exactly 0, and with its "
                   f"key/value cache it writes the same {timed['tokens_written']} tokens "
                   f"{timed['speedup']:.1f}× faster here.")


def real_layer(data: Mapping[str, Any]) -> Verdict:
    """T1: a real layer is attention, feed-forward and norms, nothing else; all alike."""
    breakdown = data[BREAKDOWN]
    other = breakdown["per_layer"].get("other", 0)
    must(other == 0, f"{other:,} parameters of a SmolLM2 layer are in no known part")
    sizes = set(breakdown["layer_totals"])
    must(sizes == {breakdown["layer_total"]}, f"SmolLM2's layers differ in size: {sizes}")
    whole = (breakdown["layers"] * breakdown["layer_total"] + breakdown["embedding"]
             + breakdown["final_norm"])
    must(whole == breakdown["total"],
         f"SmolLM2's parts add to {whole:,}, not its {breakdown['total']:,} parameters")
    return Verdict(HOLDS, {"smollm2 parameters per layer": breakdown["layer_total"]},
                   f"Every one of a SmolLM2 layer's {breakdown['layer_total']:,} parameters is "
                   f"in attention, the feed-forward network or a norm.")


def real_linear_majority(data: Mapping[str, Any]) -> Verdict:
    """P3: most of a real model's parameters are in linear maps."""
    breakdown = data[BREAKDOWN]
    share = breakdown["in_linear_layers"] / breakdown["total"]
    must(share > 0.5, f"only {share:.1%} of SmolLM2's parameters sit in linear maps")
    return Verdict(HOLDS, {"smollm2 share in linear maps": share},
                   f"In SmolLM2, {share:.0%} of the {breakdown['total']:,} parameters sit in "
                   f"linear maps.")


def grouped_cache(data: Mapping[str, Any]) -> Verdict:
    """C3: the computed cache is the real one; sharing heads divides it."""
    cache = data[CACHE]
    expected = cache["per_token_fp32"] * cache["tokens_allocated"]
    must(cache["allocated_bytes_fp32"] == expected,
         f"SmolLM2's real cache holds {cache['allocated_bytes_fp32']:,} bytes after "
         f"{cache['tokens_allocated']} tokens, not the {expected:,} its configuration gives")
    ratio = cache["per_token_every_head"] / cache["per_token_grouped"]
    return Verdict(HOLDS, {"smollm2 cache per token (bytes)": cache["per_token_grouped"],
                           "smollm2 cache at its window (bytes)": cache["window_grouped"]},
                   f"SmolLM2's real cache, checked in float32, holds "
                   f"{cache['per_token_fp32']:,} bytes a token as its configuration gives "
                   f"({cache['per_token_grouped']:,} at 16 bits), {ratio:g}× less than "
                   f"per-head keys and values would.")
