"""Evidence for the attention page (A1): the weight table of a short sentence."""

from __future__ import annotations

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
