"""The dark variant of every figure a notebook shows, drawn in the same kernel run.

The evidence build runs `show_dark_too()` in a notebook's kernel before its first cell (the
cell is removed again from the published notebook). From then on, each matplotlib figure the
notebook displays comes with a second output, `DARK_MIME`: the same figure object, copied and
recoloured for the site's dark theme (text, axes, ticks, legends and black lines take the dark
theme's colours, grey reference lines its muted grey, matplotlib's default series colours a
lighter tint of the same hue; colour maps stay), on a transparent background. The
runner writes it beside the light PNG and takes it out of the downloadable notebook.

Copying the figure, not running the notebook a second time, keeps both variants the same
measurement: a notebook that times something shows the same numbers in both themes.
"""

from __future__ import annotations

import base64
import io
import pickle

from .figures import THEMES

DARK_MIME = "image/x-attnsheet-dark+png"
SETUP_CELL = ("from attnsheet.evidence.notebook_theme import show_dark_too\n"
              "show_dark_too()")
DARK = THEMES["dark"]
NEAR_BLACK = 0.25  # a colour this dark (luminance, 0-1) would vanish on the dark page
LIGHTEN = 0.35  # how far a default series colour moves towards white on the dark page


def show_dark_too() -> None:
    """In a running IPython kernel: add the dark-PNG output to every displayed figure."""
    from IPython import get_ipython
    from IPython.core.formatters import BaseFormatter
    from matplotlib.figure import Figure
    from traitlets import Unicode

    class DarkPNGFormatter(BaseFormatter):
        """Figures only, by isinstance: matplotlib's inline backend clears every formatter's
        Figure entry when it starts (after this cell), so a `for_type` entry would vanish."""
        format_type = Unicode(DARK_MIME)

        def __call__(self, obj):
            return dark_png(obj) if isinstance(obj, Figure) else None

    shell = get_ipython()
    shell.display_formatter.register_formatter(DarkPNGFormatter(parent=shell.display_formatter))


def dark_png(figure) -> str:
    """A recoloured copy of `figure` as a base64 PNG, cropped as the inline backend crops
    the light one (the figure itself is not changed)."""
    copy = pickle.loads(pickle.dumps(figure))
    recolour(copy)
    buffer = io.BytesIO()
    copy.savefig(buffer, format="png", dpi=figure.dpi, bbox_inches="tight", transparent=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _luminance(color) -> float:
    from matplotlib.colors import to_rgba

    red, green, blue, alpha = to_rgba(color)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue if alpha > 0 else 1.0


def _lighten_if_dark(artist, getter: str, setter: str, color: str) -> None:
    try:
        dark = _luminance(getattr(artist, getter)()) < NEAR_BLACK
    except ValueError:  # one colour per element (a collection): left as drawn
        return
    if dark:
        getattr(artist, setter)(color)


def _for_dark_page(color):
    """A line or marker colour as it should read on the dark page: black becomes the
    theme's text colour, grey its muted colour, and matplotlib's default series colours
    (tab10) a lighter tint of the same hue; anything else is kept."""
    from matplotlib.colors import TABLEAU_COLORS, to_hex, to_rgb

    hex_color = to_hex(color, keep_alpha=False)
    red, green, blue = to_rgb(color)
    if _luminance(color) < NEAR_BLACK:
        return DARK["text"]
    if max(red, green, blue) - min(red, green, blue) < 0.05 and _luminance(color) < 0.7:
        return DARK["muted"]  # a grey reference line, faint on slate otherwise
    if hex_color in {to_hex(c) for c in TABLEAU_COLORS.values()}:
        return to_hex([channel + (1 - channel) * LIGHTEN for channel in (red, green, blue)])
    return color


def recolour(figure) -> None:
    """Text, axes and near-black lines of `figure` in the dark theme's colours, in place."""
    figure.patch.set_alpha(0)
    for text in figure.texts + ([figure._suptitle] if figure._suptitle else []):
        text.set_color(DARK["text"])
    for axes in figure.axes:
        _recolour_axes(axes)
    for legend in figure.legends:
        _recolour_legend(legend)


def _recolour_axes(axes) -> None:
    axes.patch.set_alpha(0)
    for spine in axes.spines.values():
        spine.set_edgecolor(DARK["muted"])
    axes.tick_params(which="both", colors=DARK["text"])
    for label in (axes.title, axes._left_title, axes._right_title,
                  axes.xaxis.label, axes.yaxis.label):
        label.set_color(DARK["text"])
    for line in axes.get_xgridlines() + axes.get_ygridlines():
        line.set_color(DARK["grid"])
    for line in axes.lines:
        line.set_color(_for_dark_page(line.get_color()))
        line.set_markerfacecolor(_for_dark_page(line.get_markerfacecolor()))
        line.set_markeredgecolor(_for_dark_page(line.get_markeredgecolor()))
    for collection in axes.collections:  # scatter points of one colour
        faces = collection.get_facecolors()
        if len(faces) == 1:
            collection.set_facecolor(_for_dark_page(faces[0]))
    for image in axes.images:  # a masked cell's "bad" colour: light grey glares on slate
        if image.cmap.get_bad()[3] > 0 and _luminance(image.cmap.get_bad()) > 0.6:
            image.set_cmap(image.cmap.with_extremes(bad=DARK["grid"]))
    for patch in axes.patches:
        _lighten_if_dark(patch, "get_edgecolor", "set_edgecolor", DARK["text"])
    if not axes.images:  # on a heatmap, a label's colour was chosen against its cell
        for text in axes.texts:
            _lighten_if_dark(text, "get_color", "set_color", DARK["text"])
    if axes.get_legend() is not None:
        _recolour_legend(axes.get_legend())


def _recolour_legend(legend) -> None:
    frame = legend.get_frame()
    frame.set_facecolor("#1e2129")  # Material's slate background, so lines keep contrast
    frame.set_edgecolor(DARK["grid"])
    for text in legend.get_texts() + [legend.get_title()]:
        text.set_color(DARK["text"])
