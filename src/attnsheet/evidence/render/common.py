"""What every renderer shares: number formats, the one Markdown table, plot axes.

Colours come from `figures.THEMES` (the one palette): a figure's `draw(colors)` is called
once per theme with that theme's colours.
"""

from __future__ import annotations

import html
import math


def three_digits(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def format_bytes(count: float) -> str:
    """Binary units, three significant digits: 2 MiB, 1.5 GiB, 512 GiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    value, unit = float(count), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{three_digits(value)} {units[unit]}"


def format_flops(count: float) -> str:
    """Decimal units, three significant digits: 8.6 GFLOP, 1.2 PFLOP."""
    prefixes = ("", "k", "M", "G", "T", "P", "E")
    value, prefix = float(count), 0
    while value >= 1000 and prefix < len(prefixes) - 1:
        value, prefix = value / 1000, prefix + 1
    return f"{three_digits(value)} {prefixes[prefix]}FLOP"


def ms(seconds: float) -> str:
    """A duration in milliseconds, unit included, at least two significant digits:
    0.31 ms, 4.2 ms, 230 ms, 1,234 ms."""
    value = seconds * 1e3
    return f"{value:.2g} ms" if value < 10 else f"{value:,.0f} ms"


def times(value: float) -> str:
    """A ratio: 1.7×, 12×."""
    return f"{value:.1f}×" if value < 10 else f"{value:.0f}×"


def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def sci(value: float, html: bool = True) -> str:
    """1.2 × 10<sup>-5</sup> for captions (`html=False`: 1e-05 style, for alt text); plain
    for 0.01 … 1000."""
    if value == 0:
        return "0"
    if 0.01 <= abs(value) < 1000:
        return f"{value:.2g}"
    if not html:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    exponent = math.floor(math.log10(abs(value)))
    return f"{value / 10 ** exponent:.1f} × 10<sup>{exponent}</sup>"


def n_label(n: int) -> str:
    """Sequence lengths on an axis: 512, 1k, 4k."""
    return f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else f"{n:,}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """The one table format: first column left-aligned (it names the row), the others
    right-aligned (numbers)."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def lengths_axis(axes, colors, lengths: list[int], ylabel: str, log_y: bool = True) -> None:
    """x: the lengths on a log-2 scale, labelled 512, 1k, 2k; y: log-10 or linear, plain
    numbers (no TeX-style powers, which also keeps matplotlib's slow math parser out)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axes.set_xscale("log", base=2)
    axes.set_xticks(lengths, [n_label(n) for n in lengths])
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("n (tokens)")
    if log_y:
        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_ylabel(ylabel)
    tidy(axes, colors)


def tidy(axes, colors) -> None:
    """Major grid in the theme's grid colour, no top or right spine."""
    axes.grid(True, which="major", color=colors["grid"], linewidth=0.6)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def legend(axes, colors, where: str = "best", **options) -> None:
    """A frameless legend in the theme's text colour."""
    found = axes.legend(frameon=False, fontsize=9, loc=where, **options)
    for text in found.get_texts():
        text.set_color(colors["text"])


def path_code(path: str) -> str:
    """A file path as inline code that a phone's narrow line breaks after a slash, not in
    the middle of a name."""
    return "<code>" + "/<wbr>".join(html.escape(part) for part in path.split("/")) + "</code>"
