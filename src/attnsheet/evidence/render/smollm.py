"""SmolLM2-135M-Instruct's evidence, drawn and worded from its data (experiments/smollm.py).

Every block names the model's 4-bit weights (as shipped) where its numbers appear.
"""

from __future__ import annotations

import numpy as np

from ..spec import Figure, MachineLine, Rendered
from .common import format_bytes, legend, markdown_table, percent, tidy, times

LINK = "[SmolLM2-135M-Instruct](references.md#allal-2025)"


def _quantised(data) -> str:
    """A sentence: how the weights are stored, as the package ships them."""
    return (f"Its weights are {data['quantisation']}, as {data['package']} "
            f"{data['package_version']} ships them.")


def causal_pairs(data) -> Rendered:
    """A3(c): per pair, what the causal model can link back to, and when."""
    pairs = data["pairs"]
    follows = sum(p["follows_at_margin"] for p in pairs)
    opposite = sum(p["opposite_at_margin"] for p in pairs)
    heads = data["layers"] * data["heads"]
    same = max(p["it_rows_differ_by"] for p in pairs)
    text = (
        f"In {LINK} (4-bit) the weights from *it* are identical in both sentences of every "
        f"pair (difference {same:.1g}). From the adjective on, {follows} of "
        f"{len(pairs) * heads:,} head–pair cases move weight toward the referent by at least "
        f"{data['margin']:g}, {opposite} away.\n"
    )
    rows = [[f"{p['first']} / {p['second']} ({p['first_adjective']} / {p['second_adjective']})",
             f"{p['follows']} / {p['opposite']}",
             f"{p['follows_at_margin']} / {p['opposite_at_margin']}",
             " / ".join(f"{v:.3f}" for v in p["next_word"].values())]
            for p in pairs]
    table = markdown_table(["pair (adjectives)", "follow / opposite",
                            f"at margin {data['margin']:g}",
                            "P(adjective) after “…too”"], rows)
    detail = (
        f"{_quantised(data)} When the model reads *it*, the adjective that decides the "
        f"referent has not arrived, and the causal mask hides it; what the adjective changes "
        f"is read later. Counted from the adjective's first token to the end of each "
        f"sentence: a head *follows* when its weight on the first noun minus the second is positive with the "
        f"first adjective and negative with the second; *opposite* is the reverse. The last "
        f"column is the model's own probability of each adjective's first token right after "
        f"“{pairs[0]['prefix']}” and the same words in the other pairs: the adjective is "
        f"not predictable from what came before, which is why the referent is not fixed at "
        f"*it*. A count of heads says where weight moves, not that the model resolved the "
        f"referent; small margins count heads whose change is slight.\n\n" + table
    )
    return Rendered(parts={"": [text], "table": [detail]})


def first_token(data) -> Rendered:
    """P1: the share of weight on the first token, by layer, against an even spread."""
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
    caption = (
        f"How much weight each layer of {data['model']} (4-bit) parks on the first token "
        f"of the {data['sentences']} sentences, over every later position: "
        f"{share:.0%} on average, {times(share / uniform)} an even spread's {uniform:.0%}; "
        f"{majority} of the {n_layers * n_heads} heads give it more than half. The first "
        f"token here is “The”: the weight is parked, not paid for meaning (Xiao et al., "
        f"2024, call such tokens attention sinks). {_quantised(data)}"
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})


def causal_zeros(data) -> Rendered:
    """P2: the causal model's weights above the diagonal, checked."""
    count = data["sentences"] * data["layers"] * data["heads"]
    return Rendered(parts={"": [
        f"Checked at build in {data['model']} (4-bit): in all {count:,} of its weight tables "
        f"here, the largest weight above the diagonal is "
        f"{data['largest_weight_above_diagonal']:g}.\n{{ .build-check }}\n"]})


def generation(data) -> Rendered:
    """P2: greedy generation with and without the key/value cache, timed."""
    median = data["median_seconds"]
    text = (
        f"Timed at build: {data['model']} (4-bit) writes {data['n_new']} tokens in "
        f"{median['cache']:.2f} s with its cache and {median['no cache']:.2f} s without, "
        f"{times(data['speedup'])} faster, "
        + ("the same tokens both ways." if data["same_tokens"]
           else "**different tokens** the two ways.")
        + "\n"
    )
    return Rendered(parts={"": [text, MachineLine(data["machine"])]})


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
        f"{percent(attention / total)} of a layer, the SwiGLU feed-forward network {percent(ffn / total)}, RMSNorm scales "
        f"the rest. Its {data['kv_heads']} key/value heads serve {data['heads']} query heads, "
        f"so keys and values take a third of the queries' parameters. Over the whole model, "
        f"{data['layers']} layers and the {data['embedding']:,}-parameter embedding table "
        f"(also its output layer) make {data['total']:,} parameters, "
        f"{percent(data['in_linear_layers'] / data['total'])} of them in linear layers.\n"
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
