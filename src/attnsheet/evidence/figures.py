"""Deterministic SVG figures in a light and a dark variant, and the Markdown that shows them.

Determinism: a fixed SVG hash salt, no date in the metadata, text kept as text (the
browser's font draws it, so the files stay small and identical from build to build).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

THEMES = {
    # Colours picked to read on Material's default (white) and slate (dark) backgrounds;
    # `series` colours lines that share a plot (with distinct markers too, never colour alone).
    "light": {"text": "#1f2328", "muted": "#57606a", "grid": "#d0d7de", "accent": "#0969da",
              "series": ("#0969da", "#bc4c00", "#1a7f37", "#8250df")},
    "dark": {"text": "#e6edf3", "muted": "#9da7b3", "grid": "#3d444d", "accent": "#58a6ff",
             "series": ("#58a6ff", "#f0883e", "#3fb950", "#d2a8ff")},
}


def save_light_dark(draw: Callable, site_dir: Path, stem: str) -> list[Path]:
    """Call `draw(colors) -> Figure` once per theme; write `<stem>-light.svg` / `-dark.svg`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for theme, colors in THEMES.items():
        style = {
            "svg.hashsalt": "attnsheet",
            "svg.fonttype": "none",
            "font.family": "sans-serif",
            "font.size": 10,
            "text.color": colors["text"],
            "axes.labelcolor": colors["text"],
            "axes.edgecolor": colors["muted"],
            "xtick.color": colors["text"],
            "ytick.color": colors["text"],
            "axes.titlecolor": colors["text"],
        }
        with plt.rc_context(style):
            figure = draw(colors)
            path = site_dir / f"{stem}-{theme}.svg"
            path.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(path, format="svg", bbox_inches="tight", transparent=True,
                           metadata={"Date": None})
            plt.close(figure)
        written.append(path)
    return written


def figure_markdown(stem: str, alt: str, caption: str) -> str:
    """Markdown for a light/dark figure pair with a caption (Material switches the variant)."""
    alt_text = html.escape(alt, quote=True).replace("[", "&#91;").replace("]", "&#93;")
    return (
        '<figure markdown="span">\n'
        f"  ![{alt_text}]({stem}-light.svg#only-light)\n"
        f"  ![{alt_text}]({stem}-dark.svg#only-dark)\n"
        f"  <figcaption>{caption}</figcaption>\n"
        "</figure>\n"
    )


def write_fragment(include_dir: Path, name: str, text: str) -> Path:
    """Write a Markdown fragment that a page includes with `--8<--`."""
    path = include_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
