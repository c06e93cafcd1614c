"""A math font for the site's formulas, cut at build from STIX Two Math.

The pages write formulas as MathML, which Chromium lays out only as well as its font allows:
without a font that has an OpenType MATH table, brackets do not stretch around a fraction and
a display sum comes out text-sized. Few systems have one (none on these machines), so the site
serves its own: STIX Two Math (SIL Open Font License 1.1), the copy the `ziamath` package
ships, cut with fontTools to the characters formulas here use (plus their stretched sizes,
which the MATH table reaches) and renamed, as the licence asks of a modified font. About
80 KiB as WOFF2, fetched only by a page that shows a formula.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

FOLDER = "fonts"  # under the site root; the stylesheet's @font-face points here
FILE = "attnsheet-math.woff2"
NOTICE = "attnsheet-math-LICENSE.txt"
FAMILY = "Attnsheet Math"  # the stylesheet's name for it (a modified font may not keep "STIX")
SOURCE_PACKAGE, SOURCE_FILE = "ziamath", "fonts/STIXTwoMath-Regular.ttf"

# What formulas may use: Latin and Greek letters, digits and ASCII punctuation, the math
# italic letters MathML draws a one-letter identifier with, and these operators.
# (ℎ, U+210E, is the math italic h: Unicode leaves U+1D455 empty and MathML uses this one.)
SYMBOLS = "×·±′″‴ℓℎ←→↦∑∏∫∂∇∞∈∉∝√∼≈≠≤≥⊤⊙⊗∘−∓∣‖⌈⌉⌊⌋⟨⟩"
RANGES = ((0x20, 0x7E), (0x391, 0x3A9), (0x3B1, 0x3C9),
          (0x1D434, 0x1D467), (0x1D6E2, 0x1D71B))  # math italic A-z, Alpha-omega


def codepoints() -> list[int]:
    """Every code point the cut font covers."""
    points = {c for low, high in RANGES for c in range(low, high + 1)}
    return sorted(points | {ord(c) for c in SYMBOLS})


def source_font() -> Path:
    """The full STIX Two Math file inside the installed `ziamath` package (not imported)."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the math font comes from the {SOURCE_PACKAGE!r} package: "
                           f"pip install {SOURCE_PACKAGE} (part of the [site] extra)")
    return Path(spec.submodule_search_locations[0]) / SOURCE_FILE


def source_key() -> str:
    """Hash of the source font, this module and the character list."""
    digest = hashlib.sha256(source_font().read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def build_font(dest: Path) -> list[Path]:
    """Write the cut font and its licence notice into `dest`; returns both paths."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source_font())
    notices = {record.nameID: record.toUnicode() for record in font["name"].names
               if record.platformID == 3 and record.nameID in (0, 5, 13, 14)}
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]  # keep the script-size and flattened-accent variants
    options.notdef_outline = True
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=codepoints())
    cutter.subset(font)
    _rename(font)
    dest.mkdir(parents=True, exist_ok=True)
    font_path, notice_path = dest / FILE, dest / NOTICE
    font.flavor = "woff2"
    font.save(font_path)
    notice_path.write_text(
        f"{FILE}: a cut of STIX Two Math ({notices.get(5, 'version unknown')}), made when this\n"
        f"site was built: only the characters its formulas use are kept, and the family is\n"
        f"renamed {FAMILY!r}.\n\n{notices.get(0, '')}\n\n{notices.get(13, '')}\n"
        f"{notices.get(14, '')}\n", encoding="utf-8")
    return [font_path, notice_path]


def _rename(font) -> None:
    """Family, full and PostScript names of the cut font; the copyright and licence stay."""
    names = {1: FAMILY, 4: f"{FAMILY} Regular", 6: FAMILY.replace(" ", "") + "-Regular",
             16: FAMILY, 3: f"{FAMILY.replace(' ', '')}-subset"}
    for record in font["name"].names:
        if record.nameID in names:
            record.string = names[record.nameID]
