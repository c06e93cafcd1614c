"""Where evidence lands, decided once: staged file names and the one JSON writer.

Layout of the evidence output folder (outside `docs/`, so `mkdocs serve` does not loop):

    manifest.json                    cache: item -> key, files, seconds (and data hash)
    include/                         text the pages include (pymdownx.snippets base path)
        evidence/<name>.md           an evidence item's main part; <name>.<part>.md the others
        outputs/<section>/<file>.txt a snippet's captured stdout
        ledger.md, machine.md
    site/                            files published as they are
        data/<experiment>.json       every experiment's data, for readers to check
        data/page/<name>[-<key>].json  JSON a page's script reads
        figures/<name>[-<key>]-light.svg / -dark.svg
        evidence.json                the ledger for tools
        notebooks/<name>.ipynb       executed notebooks (see notebooks.py)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from . import figures
from .machine import machine_markdown_from
from .spec import Figure, MachineLine, Rendered

INCLUDE_FOLDER = "evidence"


def data_file(experiment: str) -> str:
    """Site path of an experiment's data."""
    return f"data/{experiment}.json"


def badge_file(claim_id: str) -> str:
    """Include path of a claim's verdict badge (the short versions on top of each page)."""
    return f"badges/{claim_id}.md"


def verdict_file(claim_id: str) -> str:
    """Include path of the note a page shows where a claim's verdict is not "holds"."""
    return f"verdicts/{claim_id}.md"


def script_data_file(evidence: str, key: str = "") -> str:
    """Site path of JSON a page's script reads."""
    return f"data/page/{evidence}{'-' + key if key else ''}.json"


def figure_stem(evidence: str, key: str = "") -> str:
    """Site path of a figure, without `-light.svg` / `-dark.svg`."""
    return f"figures/{evidence}{'-' + key if key else ''}"


def include_file(evidence: str, part: str = "") -> str:
    """Path a page includes with `--8<--` (relative to the include folder)."""
    return f"{INCLUDE_FOLDER}/{evidence}{'.' + part if part else ''}.md"


SIGNIFICANT_DIGITS = 6  # floats in published data: short, and stable from build to build


def _plain(value: Any) -> Any:
    """Floats rounded to SIGNIFICANT_DIGITS; NaN and infinity refused (JSON cannot carry
    them, and a measurement that produced one is a bug to report, not to publish)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"data holds a non-finite number ({value})")
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# The published data's layout (json_text): in every experiment's cache key, so that changing
# the layout rewrites the data files; bump it with any change to json_text's output.
DATA_LAYOUT = 2


def json_text(data: Any, compact: bool = False) -> str:
    """The one JSON form: rounded floats, sorted keys, a final newline; one space of indent
    for readers, with a list of plain values on one line (a weight table's row, a model's
    tokens), none for the data a page's script fetches (`compact`: smaller pages)."""
    if compact:
        return json.dumps(_plain(data), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")) + "\n"
    return _readable(_plain(data), 0) + "\n"


def _readable(value: Any, depth: int) -> str:
    """`json.dumps(value, indent=1, sort_keys=True)`, except that a list holding no list or
    dict is written on one line: the attention maps' files are a few MB, not 14 with a
    line per number."""
    inner, outer = " " * (depth + 1), " " * depth
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {_readable(item, depth + 1)}"
                 for key, item in sorted(value.items())]
        return "{\n" + ",\n".join(items) + "\n" + outer + "}"
    if isinstance(value, list) and any(isinstance(item, (list, dict)) for item in value):
        items = [inner + _readable(item, depth + 1) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + outer + "]"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def write_text(path: Path, text: str) -> Path:
    """Write `text` unless the file already holds it (unchanged files keep their mtime, so
    rebuilds stay quiet and reproducible)."""
    if not (path.exists() and path.read_text(encoding="utf-8") == text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, data: Any, compact: bool = False) -> Path:
    return write_text(path, json_text(data, compact))


def _block_markdown(block, evidence: str, figures_to_draw: list,
                    sizes: dict | None = None) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, Figure):
        stem = figure_stem(evidence, block.key)
        figures_to_draw.append((stem, block))
        return figures.figure_markdown(stem, block.alt, block.caption,
                                       (sizes or {}).get(stem))
    if isinstance(block, MachineLine):
        return machine_markdown_from(block.machine)
    raise TypeError(f"evidence {evidence!r}: cannot stage a {type(block).__name__}")


def _parts_markdown(rendered: Rendered, evidence: str, figures_to_draw: list,
                    sizes: dict | None = None) -> dict[str, str]:
    """Each part's Markdown; figures get their drawn size when `sizes` has it."""
    texts = {}
    for part, blocks in rendered.parts.items():
        if isinstance(blocks, (str, Figure, MachineLine)):
            blocks = [blocks]
        texts[part] = "\n".join(_block_markdown(b, evidence, figures_to_draw, sizes)
                                for b in blocks)
    return texts


def stage(evidence: str, rendered: Rendered, include: Path, site: Path,
          drawn: dict | None = None) -> list[Path]:
    """Write a renderer's output under the evidence item's name; return the written paths.
    Text first, figures last: a caption edit reaches the page before the figures are redrawn.
    `drawn` (Figure -> SVG text per theme) lets one figure staged twice be drawn once."""
    if not isinstance(rendered, Rendered):
        raise TypeError(f"the renderer of {evidence!r} returned {type(rendered).__name__}, "
                        "not Rendered")
    drawn = {} if drawn is None else drawn
    written: list[Path] = []
    figures_to_draw: list[tuple[str, Figure]] = []
    sizes: dict[str, tuple[int, int]] = {}  # stem -> drawn size in CSS pixels
    for part, text in _parts_markdown(rendered, evidence, figures_to_draw).items():
        written.append(write_text(include / include_file(evidence, part), text))
    for key, data in rendered.scripts.items():
        written.append(write_json(site / script_data_file(evidence, key), data, compact=True))
    for stem, figure in figures_to_draw:
        if figure not in drawn:
            drawn[figure] = figures.draw_light_dark(figure.draw)
        for theme, svg in drawn[figure].items():
            written.append(write_text(site / f"{stem}-{theme}.svg", svg))
        # the figure alone, no caption, for pages that show it small (the one-page cheatsheet)
        sizes[stem] = figures.svg_size(drawn[figure]["light"])
        written.append(write_text(include / f"{stem}.md",
                                  figures.figure_variants(stem, figure.alt, sizes[stem])))
    if sizes:  # the text again, now with each figure's size: no layout shift as it loads
        for part, text in _parts_markdown(rendered, evidence, [], sizes).items():
            write_text(include / include_file(evidence, part), text)
    return written
