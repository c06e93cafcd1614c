"""The one-page cheatsheet as an A4 PDF, drawn with matplotlib at build time.

The same content as the site's cheatsheet page: each section's short version
(`snippets/short/<page>.md`, the text the pages include) with every claim's computed verdict,
and a few key figures drawn again from their data, in the light theme. US Letter is 6 mm
shorter and 6 mm wider than A4: the margins below leave room for either printer.
"""

from __future__ import annotations

import hashlib
import io
import re
import textwrap
from pathlib import Path
from typing import Callable

from .figures import THEMES, theme_style

FILE = "attention-cheatsheet.pdf"  # under the site's downloads/
A4_INCHES = (8.27, 11.69)
# The sections in the cheatsheet's order: (page, its short version's file).
SECTIONS = ("idea", "recurrence", "attention", "transformer", "cost", "pitfalls", "glossary",
            "one-line")
BADGE_LINE = re.compile(r'--8<-- "badges/(?P<claim>\w+)\.md"')
# Verdict -> (badge fill, text colour): the site's ledger colours (docs/stylesheets/extra.css).
BADGE_COLOURS = {"holds": ("#dafbe1", "#116329"),
                 "needs other hardware": ("#ddf4ff", "#0550ae"),
                 "recorded": ("#ddf4ff", "#0550ae"),
                 "does not hold here": ("#fff8c5", "#7d4e00")}


def short_version(text: str) -> list[tuple[str, list[str]]]:
    """A short version's list items as (plain text, claim IDs of its badges)."""
    items: list[tuple[list[str], list[str]]] = []
    for line in text.splitlines():
        badge = BADGE_LINE.search(line)
        if badge:
            items[-1][1].append(badge["claim"])
        elif line.startswith("- "):
            items.append(([line[2:]], []))
        elif line.strip() and items:
            items[-1][0].append(line.strip())
    return [(plain(" ".join(words)), claims) for words, claims in items]


def plain(markdown: str) -> str:
    """Inline Markdown to plain text: emphasis marks and link targets dropped."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", markdown)
    return re.sub(r"\*{1,2}([^*]+)\*{1,2}", r"\1", text)


def page_title(page_text: str) -> str:
    return page_text.splitlines()[0].lstrip("# ").strip()


def read_sections(root: Path) -> list[tuple[str, str]]:
    """(page title, short version's Markdown) of each section, in order."""
    return [(page_title((root / "docs" / f"{page}.md").read_text(encoding="utf-8")),
             (root / "snippets" / "short" / f"{page}.md").read_text(encoding="utf-8"))
            for page in SECTIONS]


def source_key(sections: list[tuple[str, str]], verdicts: dict[str, str],
               figure_keys: list[str]) -> str:
    """What the PDF shows depends on: the sections' titles and short versions, the verdicts,
    the figures' data and renderers (their manifest keys), and this module."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(repr(sections).encode())
    digest.update(repr(sorted(verdicts.items())).encode())
    digest.update(repr(figure_keys).encode())
    return digest.hexdigest()


def draw_png(draw: Callable) -> bytes:
    """One figure in the light theme as a PNG (the PDF places it as an image)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = THEMES["light"]
    with plt.rc_context(theme_style(colors)):
        figure = draw(colors)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=200, bbox_inches="tight")
        plt.close(figure)
    return out.getvalue()


def write(sections: list[tuple[str, str]], out: Path, verdicts: dict[str, str],
          figures: list[tuple[bytes, str]], stamp: str) -> Path:
    """Lay out the page and save it: title, the eight short versions in two columns with
    their badges, the figures (PNG bytes, caption) in a row below, and `stamp` (what built
    it) at the foot. Returns the PDF's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    width, height = A4_INCHES
    size, line = 7.4, 7.4 * 1.3 / 72 / height  # body text: points, line height (page units)
    chars = 64  # per line in a column 3.45 inches wide at 7.4 points
    page = plt.figure(figsize=A4_INCHES)
    text = lambda x, y, s, **kw: page.text(x, y, s, va="top", **kw)  # noqa: E731
    text(0.06, 0.965, "Attention and transformers: the cheatsheet on one page", size=15,
         weight="bold")
    text(0.06, 0.938, "Each line carries its claim and the verdict computed when the site was "
                      "built; the site's cheatsheet page links each to its evidence.", size=8,
         color="#57606a")
    laid_out = []  # (heading, [(wrapped lines, claims)], its height in lines)
    for index, (title, short) in enumerate(sections):
        items = [(textwrap.wrap(item, chars), claims) for item, claims in short_version(short)]
        lines = 1.45 + 0.6 + sum(len(w) + (1.25 if claims else 0.3) for w, claims in items)
        laid_out.append((f"{index + 1}. {title}", items, lines))
    # Split the sections, in order, between two columns as evenly as they allow.
    split = min(range(1, len(laid_out)),
                key=lambda k: max(sum(s[2] for s in laid_out[:k]),
                                  sum(s[2] for s in laid_out[k:])))
    columns = ([0.06, 0.905], [0.53, 0.905])  # x, y of each column's next line
    for index, (heading, items, _) in enumerate(laid_out):
        column = columns[0 if index < split else 1]
        x = column[0]
        text(x, column[1], heading, size=9.2, weight="bold")
        column[1] -= line * 1.45
        for lines, claims in items:
            for i, wrapped in enumerate(lines):
                text(x + 0.012, column[1], wrapped, size=size)
                if i == 0:
                    text(x, column[1], "•", size=size)
                column[1] -= line
            badge_x = x + 0.012
            for claim in claims:
                fill, ink = BADGE_COLOURS.get(verdicts.get(claim, ""), ("#ffebe9", "#a40e26"))
                label = f"{claim} {verdicts.get(claim, 'not judged yet')}"
                text(badge_x, column[1] - 0.001, label, size=6.4, color=ink, weight="bold",
                     bbox={"boxstyle": "round,pad=0.25", "facecolor": fill, "edgecolor": "none"})
                badge_x += (len(label) * 0.62 + 3.0) * 6.4 / 72 / width  # a gap between
            column[1] -= line * (1.25 if claims else 0.3)
        column[1] -= line * 0.6
    # The figures in a row right under the text, each as tall as the row's width allows.
    top = min(column[1] for column in columns) - 0.01
    slot = (1 - 0.12) / max(1, len(figures))
    for i, (png, caption) in enumerate(figures):
        image = mpimg.imread(io.BytesIO(png), format="png")
        rows, cols = image.shape[:2]
        tall = min(top - 0.12, (slot - 0.02) * width / height * rows / cols)  # page units
        axes = page.add_axes((0.06 + i * slot, top - tall, slot - 0.02, tall))
        axes.imshow(image)
        axes.axis("off")
        page.text(0.06 + i * slot, top - tall - 0.006, "\n".join(textwrap.wrap(caption, 48)),
                  size=6.6, va="top", color="#1f2328")
    page.text(0.06, 0.022, stamp, size=6, color="#57606a")
    path = out / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    page.savefig(path, format="pdf", metadata={"CreationDate": None, "Title":
                                                "Attention and transformers: the cheatsheet"})
    plt.close(page)
    return path
