"""SmolLM2-135M-Instruct's evidence, drawn and worded from its data (experiments/smollm.py).

Every block names the model's 4-bit weights (as shipped) where its numbers appear.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..spec import Figure, MachineLine, Rendered
from .common import format_bytes, legend, markdown_table, percent, tidy, times

LINK = "[SmolLM2-135M-Instruct](references.md#allal-2025)"
# The page says heads "link back" from the full stop only when at least this share of the
# head-pair cases follow the referent there (and twice as many as do the opposite).
LINKS_BACK = 0.01


def _quantised(data) -> str:
    """A sentence: how the weights are stored, as the package ships them."""
    return (f"Its weights are {data['quantisation']}, as {data['package']} "
            f"{data['package_version']} ships them.")


def _row_totals(pairs, row: str) -> tuple[int, int, int, int]:
    """(follows, opposite, follows at margin, opposite at margin) on one row, all pairs."""
    keys = ("follows", "opposite", "follows_at_margin", "opposite_at_margin")
    return tuple(sum(p["rows"][row][k] for p in pairs) for k in keys)


def causal_pairs(data) -> Rendered:
    """A3(c): what the causal model links back to, read separately from the adjective's own
    row and from the full stop's (the same token in both sentences), per pair."""
    pairs = data["pairs"]
    margin = data["margin"]
    cases = len(pairs) * data["layers"] * data["heads"]
    adjective, stop = _row_totals(pairs, "adjective"), _row_totals(pairs, "full stop")
    same = max(p["it_rows_differ_by"] for p in pairs)
    identical = "identical" if same == 0 else f"within {same:.0e}"
    # What the counts support, read off them: the full stop is the one later query that is
    # the same token in both sentences, so only there can a swing mean more than the
    # adjective's own pull on a noun.
    if stop[2] >= LINKS_BACK * cases and stop[2] >= 2 * stop[3]:
        reading = (f"on the full stop that ends both sentences {stop[2]} toward and "
                   f"{stop[3]} away: heads that link back after the deciding word")
    else:
        reading = (f"but {stop[2]} toward and {stop[3]} away on the full stop that ends both: "
                   f"adjective–noun association, not a resolved referent")
    text = (
        f"In {LINK} (4-bit) the weights from *it* are {identical} in both sentences of every "
        f"pair. At a margin of {margin:g}, {adjective[2]} of {cases:,} head–pair cases move "
        f"weight toward the referent on the adjective's own row ({adjective[3]} away), "
        f"{reading}.\n"
    )
    rows = [[f"{p['first']} / {p['second']} ({p['first_adjective']} / {p['second_adjective']})",
             *(f"{p['rows'][row]['follows']} / {p['rows'][row]['opposite']} "
               f"({p['rows'][row]['follows_at_margin']} / {p['rows'][row]['opposite_at_margin']})"
               for row in ("adjective", "full stop")),
             f"{p['p_first_adjective']:.3f} / {p['p_second_adjective']:.3f}"]
            for p in pairs]
    table = markdown_table(["pair (adjectives)", "adjective's row", "full stop's row",
                            "P(adjective) after “…too”"], rows)
    detail = (
        f"{_quantised(data)} It is the instruction-tuned model, given the bare sentences "
        f"without the chat template it was tuned on. When it reads *it*, the adjective that "
        f"decides the referent has not arrived and the causal mask hides it. Each cell "
        f"counts heads that *follow* (weight on the first noun minus the second positive with "
        f"the first adjective, negative with the second) / do the *opposite*, and in brackets "
        f"those whose gap swings by at least {margin:g}. On the adjective's row the query word "
        f"itself differs between the sentences (*tired* looking at *animal*); only the full "
        f"stop is the same token in both. Without a margin the full stop's row gives "
        f"{stop[0]} / {stop[1]}. Query heads share keys {data['heads'] // data['kv_heads']} by "
        f"{data['heads'] // data['kv_heads']}, so the cases are not independent. The last "
        f"column is the model's own probability of each adjective's "
        f"first token right after “{pairs[0]['prefix']}” (and the same words in the other "
        f"pairs): the referent is open at *it* because the deciding word comes later.\n\n"
        + table
    )
    return Rendered(parts={"": [text], "table": [detail]})


def first_token(data, factor: float) -> Rendered:
    """P1: the share of weight on the first token, by layer, against an even spread; `factor`
    is P1's criterion (at least that many times an even spread's share)."""
    by_layer = np.array(data["first_token_share_by_layer"])
    share, uniform = data["first_token_share_mean"], data["uniform_share"]
    n_layers, n_heads = data["layers"], data["heads"]
    majority = int((np.array(data["first_token_share"]) > 0.5).sum())

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7.2, 3.0))
        layers = np.arange(1, n_layers + 1)
        axes.plot(layers, by_layer, marker="o", color=colors["series"][0],
                  label="weight on the first token (mean of the layer's heads)")
        axes.axhline(uniform, color=colors["series"][1], linestyle="--",
                     label="what an even spread would give it")
        axes.set_ylim(0, 1)
        axes.set_xlabel("layer")
        axes.set_ylabel("share of the weight")
        tidy(axes, colors)
        legend(axes, colors, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
        return figure

    alt = (f"Line chart over the {n_layers} layers of SmolLM2-135M-Instruct: the share of "
           f"attention weight on the first token, {share:.0%} on average, against "
           f"{uniform:.0%} for an even spread.")
    low = [str(layer + 1) for layer, value in enumerate(by_layer) if value < factor * uniform]
    [first] = data["first_tokens"] if len(data["first_tokens"]) == 1 else [None]
    caption = (
        f"How much weight each layer of {data['model']} (4-bit) puts on the first token "
        f"of the {data['n_sentences']} sentences, over every later position: "
        f"{share:.0%} on average, {times(share / uniform)} an even spread's {uniform:.0%}; "
        f"{majority} of the {n_layers * n_heads} heads give it more than half"
        + (f", while layers {', '.join(low)} give it less than {factor:g}× an even spread"
           if low else "")
        + (f". The first token is always the word “{first}” here (the model adds no start "
           f"token), so its position and its word cannot be told apart" if first else "")
        + f". The pattern is consistent with what Xiao et al. (2024) call attention sinks. "
          f"{_quantised(data)}"
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})


def causal_zeros(data) -> Rendered:
    """P2: the causal model's weights above the diagonal, checked."""
    count = data["n_sentences"] * data["layers"] * data["heads"]
    return Rendered(parts={"": [
        f"Checked at build in {data['model']} (4-bit): in all {count:,} of its weight tables "
        f"here, the largest weight above the diagonal is "
        f"{data['largest_weight_above_diagonal']:g}.\n{{ .build-check }}\n"]})


def generation(data) -> Rendered:
    """P2: greedy generation with and without the key/value cache, timed."""
    median = data["median_seconds"]
    text = (
        f"Timed at build: {data['model']} (4-bit) writes {data['tokens_written']} tokens in "
        f"{median['cache']:.2f} s with its cache and {median['no cache']:.2f} s without, "
        f"{times(data['speedup'])} faster, "
        + ("the same tokens both ways." if data["same_tokens"]
           else "**different tokens** the two ways.")
        + "\n"
    )
    prompt, new_tokens = data["prompt_tokens"], data["tokens_written"]
    uncached = new_tokens * prompt + new_tokens * (new_tokens - 1) // 2  # tokens run
    cached = prompt + new_tokens - 1
    detail = (
        f"After a {prompt}-token prompt, generation without the cache runs {uncached} token "
        f"positions through the model, with it {cached}: {times(uncached / cached)} fewer, yet "
        f"only {times(data['speedup'])} faster. Each step also has costs that do not grow "
        f"with the text, not least reading the model's {format_bytes(data['float32_bytes'])} "
        f"of float32 weights, "
        f"which both ways do once per step; the work the cache saves grows with the length "
        f"of the text. Median of {data['repeats']} runs each, after a warm-up.\n"
    )
    return Rendered(parts={"": [text, MachineLine(data["machine"])], "detail": [detail]})


def breakdown(data) -> Rendered:
    """T1/P3: one layer of a real model, by part, counted from the loaded weights."""
    per_layer, total = data["per_layer"], data["layer_total"]
    order = ["attention: queries", "attention: keys", "attention: values", "attention: output",
             "feed-forward: gate", "feed-forward: up", "feed-forward: down", "norms"]
    rows = [[part, f"{per_layer[part]:,}", percent(per_layer[part] / total)] for part in order]
    rows.append(["one layer", f"{total:,}", "100%"])
    attention = sum(v for k, v in per_layer.items() if k.startswith("attention"))
    ffn = sum(v for k, v in per_layer.items() if k.startswith("feed-forward"))
    text = (
        f"The same count for a real modern layer, {LINK} (counted from its loaded weights, "
        f"{data['quantisation'].split(',')[0]} as shipped): attention "
        f"{percent(attention / total)} of a layer, the SwiGLU feed-forward network "
        f"{percent(ffn / total)}, RMSNorm scales "
        f"the rest. Its {data['kv_heads']} key/value heads serve {data['heads']} query heads, "
        f"so keys and values each take {Fraction(data['kv_heads'], data['heads'])} of the "
        f"queries' "
        f"parameters. Over the whole "
        f"model, {data['layers']} layers and the {data['embedding']:,}-parameter embedding "
        f"table make {data['total']:,} parameters: "
        f"{percent(data['in_linear_layers'] / data['total'])} in the layers' linear maps, "
        f"nearly all the rest in the embedding table, which is also the output layer, one "
        f"more linear map (tied).\n"
    )
    return Rendered(parts={"": [text], "table": [markdown_table(["part", "parameters",
                                                                 "share"], rows)]})


def cache(data) -> Rendered:
    """C3: the key/value cache of a real model with grouped-query attention."""
    text = (
        f"A real model that shares keys and values, {LINK}: {data['kv_heads']} key/value "
        f"heads for {data['heads']} query heads, {data['layers']} layers of head size "
        f"{data['head_size']}. At {data['bytes_per_value']} bytes a value its cache takes "
        f"{format_bytes(data['per_token_grouped'])} per token and "
        f"{format_bytes(data['window_grouped'])} at its {data['context_length']:,}-token "
        f"window; with keys and values for every head it would take "
        f"{format_bytes(data['window_every_head'])}. Confirmed on the model loaded here: "
        f"after {data['tokens_allocated']} tokens its float32 cache holds "
        f"{format_bytes(data['allocated_bytes_fp32'])}, "
        f"{format_bytes(data['per_token_fp32'])} per token as computed.\n"
    )
    return Rendered(parts={"": [text]})
