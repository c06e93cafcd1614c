"""Deterministic SVG figures in a light and a dark variant, and the Markdown that shows them.

Determinism: a fixed SVG hash salt, no date in the metadata, text kept as text (the
browser's font draws it, so the files stay small and identical from build to build).
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Callable

# The one palette. Text colours read on the site's white and slate backgrounds; `series`
# colours the lines that share a plot: Okabe and Ito's colour-blind-safe set, lightened for
# the dark theme. Lines also differ by marker (MARKERS), so colour is never the only cue.
THEMES = {
    "light": {"text": "#1f2328", "muted": "#57606a", "grid": "#d0d7de", "accent": "#0072b2",
              "series": ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")},
    "dark": {"text": "#e6edf3", "muted": "#9da7b3", "grid": "#3d444d", "accent": "#6cc0ff",
             "series": ("#6cc0ff", "#ff9e6d", "#4fd8a8", "#f0a8d2", "#ffc24d", "#9ad7ff")},
}
MARKERS = ("o", "s", "^", "D", "v", "P")


def theme_style(colors) -> dict:
    """matplotlib settings of one theme: its text and axes colours, the site's font size."""
    return {"font.family": "sans-serif", "font.size": 10, "text.color": colors["text"],
            "axes.labelcolor": colors["text"], "axes.edgecolor": colors["muted"],
            "xtick.color": colors["text"], "ytick.color": colors["text"],
            "axes.titlecolor": colors["text"]}


def draw_light_dark(draw: Callable) -> dict[str, str]:
    """Call `draw(colors) -> Figure` once per theme; each theme's SVG text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    svgs = {}
    for theme, colors in THEMES.items():
        style = {"svg.hashsalt": "attnsheet", "svg.fonttype": "none", **theme_style(colors)}
        with plt.rc_context(style):
            figure = draw(colors)
            text = io.StringIO()
            figure.savefig(text, format="svg", bbox_inches="tight", transparent=True,
                           metadata={"Date": None})
            plt.close(figure)
        svgs[theme] = text.getvalue()
    return svgs


def svg_size(svg: str) -> tuple[int, int]:
    """(width, height) in CSS pixels of an SVG matplotlib wrote (its size is in points)."""
    match = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"[^>]*\sheight="([\d.]+)pt"', svg)
    if not match:
        raise ValueError("the SVG does not state its width and height in points")
    return tuple(round(float(v) * 4 / 3) for v in match.groups())  # 1 pt = 4/3 px


def figure_markdown(stem: str, alt: str, caption: str,
                    size: tuple[int, int] | None = None) -> str:
    """Markdown for a light/dark figure pair with a caption. Each variant is a link to its
    own SVG (a tap on a phone opens the figure full size) carrying the class `figure-light`
    or `figure-dark` (attr_list); the site's stylesheet shows the one that matches its
    colour scheme, so nothing here knows the theme. The images load lazily: the hidden
    variant, inside a link that is not displayed, is never fetched."""
    short, rest = split_caption(caption)
    markdown = ('<figure markdown="span">\n' + figure_variants(stem, alt, size)
                + f"  <figcaption>{short}</figcaption>\n</figure>\n")
    if rest:  # the rest of a long caption folds under the figure
        markdown += "\n" + folded_html("More about this figure", rest, "figure-detail")
    return markdown


def folded_html(summary: str, body: str, css: str) -> str:
    """A folded note as raw HTML, a block of its own (no Markdown is read inside it): the
    look of the pages' `??? note` blocks, for text that is already HTML."""
    return (f'<details class="note {css}"><summary>{summary}</summary>\n<p>{body}</p>\n'
            f"</details>\n")


CAPTION_WORDS = 60  # a caption in view; the rest of a longer one folds under the figure
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z<(“\"])")


def caption_words(caption: str) -> int:
    return len(re.sub(r"<[^>]+>", " ", caption).split())


def split_caption(caption: str, limit: int = CAPTION_WORDS) -> tuple[str, str]:
    """(the whole sentences from the start that fit in `limit` words, the rest); at least the
    first sentence stays in the caption."""
    sentences = SENTENCE_END.split(caption.strip())
    kept, count = 0, 0
    for sentence in sentences:
        if kept and count + caption_words(sentence) > limit:
            break
        kept, count = kept + 1, count + caption_words(sentence)
    return " ".join(sentences[:kept]), " ".join(sentences[kept:])


def figure_variants(stem: str, alt: str, size: tuple[int, int] | None = None) -> str:
    """The two linked, lazily loaded variants of a figure, without a caption (the one-page
    cheatsheet shows some figures this way; see `figure_markdown`). With its `size`, the
    browser reserves the figure's box before the file arrives."""
    alt_text = html.escape(alt, quote=True).replace("[", "&#91;").replace("]", "&#93;")
    sized = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return "".join(
        f"  [![{alt_text}]({stem}-{theme}.svg){{ loading=lazy{sized} }}]({stem}-{theme}.svg)"
        f"{{ .figure-{theme} }}\n" for theme in ("light", "dark"))


def write_fragment(include_dir: Path, name: str, text: str) -> Path:
    """Write a Markdown fragment that a page includes with `--8<--`."""
    path = include_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
