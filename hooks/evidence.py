"""MkDocs hook: a thin adapter over the evidence pipeline and two render steps.

* before each build, run `python -m attnsheet.evidence build` in a fresh process (so a
  library edit under `mkdocs serve` is picked up) and add its files to the site;
* append the glossary's definitions as abbreviations (hover tooltips) to every other page;
* turn TeX written with pymdownx.arithmatex into MathML, so math needs no JavaScript;
* put a "Tested with" line (commit, build date, versions) in every page's footer.
"""

from __future__ import annotations

import html
import platform
import re
import subprocess
import sys
from pathlib import Path

from datetime import datetime, timezone
from importlib import metadata

from latex2mathml.converter import convert as latex_to_mathml
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE_OUT = ROOT / "build" / "evidence"
GLOSSARY_PAGE = "glossary.md"


def tested_with() -> str:
    """Footer line: the commit, the build date and the versions that built the site."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True)
    commit = done.stdout.strip() if done.returncode == 0 else "uncommitted"
    versions = ", ".join(f"{name} {metadata.version(name)}"
                         for name in ("numpy", "torch", "mkdocs-material"))
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    return (f"Tested with commit <code>{commit}</code>, built {built}: "
            f"Python {platform.python_version()}, {versions}.")


def on_config(config):
    config.copyright = tested_with()
    return config


def on_pre_build(config):
    done = subprocess.run(
        [sys.executable, "-m", "attnsheet.evidence", "build",
         "--root", str(ROOT), "--out", str(EVIDENCE_OUT)],
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise PluginError("the evidence build failed (its error is printed above)")


def on_files(files, config):
    site = EVIDENCE_OUT / "site"
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        files.append(File(path.relative_to(site).as_posix(), src_dir=str(site),
                          dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls))
    return files


# --- Glossary tooltips --------------------------------------------------------------------

TERM_LINE = re.compile(r"^(?P<term>[A-Za-z][\w -]*)\n:\s{3}(?P<definition>.+)$", re.MULTILINE)


def glossary_terms(docs_dir: str) -> dict[str, str]:
    """Term -> one-line definition, read from the glossary page's definition list."""
    text = (Path(docs_dir) / GLOSSARY_PAGE).read_text(encoding="utf-8")
    terms = {}
    for match in TERM_LINE.finditer(text):
        definition = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", match["definition"])  # drop links
        terms[match["term"].strip()] = re.sub(r"[*_`]", "", definition).strip()
    return terms


def abbreviation_lines(terms: dict[str, str]) -> str:
    lines = []
    for term, definition in terms.items():
        lower = term.lower()
        for form in {lower, lower.capitalize(), lower + "s", lower.capitalize() + "s"}:
            lines.append(f"*[{form}]: {definition}")
    return "\n".join(sorted(lines))


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == GLOSSARY_PAGE:
        return markdown
    return markdown + "\n\n" + abbreviation_lines(glossary_terms(config.docs_dir)) + "\n"


# --- Math as MathML -------------------------------------------------------------------------

INLINE_MATH = re.compile(r'<span class="arithmatex">\\\((?P<tex>.+?)\\\)</span>', re.DOTALL)
BLOCK_MATH = re.compile(r'<div class="arithmatex">\\\[(?P<tex>.+?)\\\]</div>', re.DOTALL)


def on_page_content(html_text, page, config, files):
    def render(match, display):
        return latex_to_mathml(html.unescape(match["tex"]).strip(), display=display)

    html_text = BLOCK_MATH.sub(lambda m: render(m, "block"), html_text)
    return INLINE_MATH.sub(lambda m: render(m, "inline"), html_text)
