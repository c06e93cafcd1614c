"""MkDocs hook events: the adapter between the evidence pipeline and MkDocs/Material.

* before each build, run `python -m attnsheet.evidence build` in a fresh process (so a
  library edit under `mkdocs serve` is picked up) and add its files to the site;
* give the first use of each glossary term in a page's running text its definition as a
  tooltip (`glossary.first_uses`), on every page but the glossary and the ledger;
* turn TeX written with pymdownx.arithmatex into MathML, so math needs no JavaScript;
* put a "Tested with" line (commit, build date, versions) in every page's footer;
* make the notebook pages (rendered by mkdocs-jupyter from the executed notebooks the
  evidence build wrote) look like the rest of the site, and make the downloadable copies'
  links to the site absolute.
"""

from __future__ import annotations

import html
import json
import os
import platform
import posixpath
import re
import subprocess
import sys
from pathlib import Path

from datetime import datetime, timezone
from importlib import metadata

from jinja2 import FileSystemBytecodeCache
from latex2mathml.converter import convert as latex_to_mathml
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

from attnsheet.evidence.urls import page_url

from . import glossary, notebook_page

ROOT = Path(__file__).resolve().parents[3]  # the repository (src/attnsheet/adapter/..)
EVIDENCE_OUT = ROOT / "build" / "evidence"
JINJA_CACHE = ROOT / "build" / "jinja"
GLOSSARY_PAGE = "glossary.md"
# The definitions themselves; the ledger; the references (paper titles are quotations).
NO_TOOLTIPS = {GLOSSARY_PAGE, "evidence.md", "references.md"}


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
    config.copyright = tested_with()  # overrides/partials/copyright.html adds the code link
    return config


def on_env(env, config, files):
    """Keep compiled templates between builds: MkDocs makes a new Jinja environment for each
    build, and compiling Material's templates again took ~0.7 s of every rebuild under
    `mkdocs serve`. Jinja checks each template's source before it reuses the bytecode."""
    JINJA_CACHE.mkdir(parents=True, exist_ok=True)
    env.bytecode_cache = FileSystemBytecodeCache(str(JINJA_CACHE))
    return env


# `make serve` runs the evidence watcher beside `mkdocs serve` (ATTNSHEET_EVIDENCE=watch):
# then MkDocs neither builds the evidence nor watches its sources, only the staged files, so
# it keeps serving the last good site while experiments re-run.
EVIDENCE_WATCHED_ELSEWHERE = os.environ.get("ATTNSHEET_EVIDENCE") == "watch"
EVIDENCE_SOURCES = ("src", "snippets", "notebooks")


def on_serve(server, config, builder):
    if EVIDENCE_WATCHED_ELSEWHERE:
        config.watch[:] = [w for w in config.watch if Path(w).name not in EVIDENCE_SOURCES]
        config.watch += [str(EVIDENCE_OUT / "include"), str(EVIDENCE_OUT / "site")]
    return server


def on_pre_build(config):
    if EVIDENCE_WATCHED_ELSEWHERE:
        if not (EVIDENCE_OUT / "manifest.json").exists():
            raise PluginError("no evidence yet: run `python -m attnsheet.evidence build`")
        return
    done = subprocess.run(
        [sys.executable, "-m", "attnsheet.evidence", "build",
         "--root", str(ROOT), "--out", str(EVIDENCE_OUT)],
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise PluginError("the evidence build failed (its error is printed above)")


@event_priority(50)  # before mkdocs-jupyter's on_files, so it sees the executed notebooks
def on_files(files, config):
    site = EVIDENCE_OUT / "site"
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        files.append(File(path.relative_to(site).as_posix(), src_dir=str(site),
                          dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls))
    return files


# --- Glossary tooltips --------------------------------------------------------------------

# A definition-list entry's first line: "Term { #anchor }", then ":   definition".
TERM_LINE = re.compile(r"^(?P<term>[A-Za-z][\w -]*?)(?:\s*\{[^}]*\})?\n:\s{3}(?P<definition>.+)$",
                       re.MULTILINE)


def glossary_terms(docs_dir: str) -> dict[str, str]:
    """Term -> one-line definition, read from the glossary page's definition list."""
    text = (Path(docs_dir) / GLOSSARY_PAGE).read_text(encoding="utf-8")
    terms = {}
    for match in TERM_LINE.finditer(text):
        definition = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", match["definition"])  # drop links
        terms[match["term"].strip()] = re.sub(r"[*_`]", "", definition).strip()
    return terms


# --- Math as MathML -------------------------------------------------------------------------

INLINE_MATH = re.compile(r'<span class="arithmatex">\\\((?P<tex>.+?)\\\)</span>', re.DOTALL)
BLOCK_MATH = re.compile(r'<div class="arithmatex">\\\[(?P<tex>.+?)\\\]</div>', re.DOTALL)


# latex2mathml writes x' as a superscript prime; the math font's prime is already raised
# (MathML Core draws it at the letter's side), so a superscript puts it too high and too small.
SUPERSCRIPT_PRIME = re.compile(r"<msup>(<mi>[^<]*</mi>)<mi>&#x02032;</mi></msup>")
PRIME = r'<mrow>\1<mo lspace="0em" rspace="0em">&#x02032;</mo></mrow>'


def tex_to_mathml(html_text: str) -> str:
    def render(match, display):
        mathml = latex_to_mathml(html.unescape(match["tex"]).strip(), display=display)
        return SUPERSCRIPT_PRIME.sub(PRIME, mathml)

    html_text = BLOCK_MATH.sub(lambda m: render(m, "block"), html_text)
    return INLINE_MATH.sub(lambda m: render(m, "inline"), html_text)


# --- Notebook pages -------------------------------------------------------------------------

NOTEBOOK_FOLDER = "notebooks/"


def is_notebook(page) -> bool:
    return page.file.src_uri.startswith(NOTEBOOK_FOLDER) and page.file.src_uri.endswith(".ipynb")


def link_resolver(page, files):
    """`../attention.md#x`, written relative to the notebook's place among the pages ->
    the URL of that page from this one. Unknown targets stop the build."""
    def resolve(href: str) -> str:
        target, _, anchor = href.partition("#")
        path = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), target))
        linked = files.get_file_from_path(path)
        if linked is None:
            raise PluginError(f"{page.file.src_uri} links to {href}, which is not a page")
        return get_relative_url(linked.url, page.url) + (f"#{anchor}" if anchor else "")
    return resolve


def execution_seconds(src_uri: str) -> float | None:
    manifest = json.loads((EVIDENCE_OUT / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest.values():
        if f"site/{src_uri}" in entry["files"]:
            return entry["seconds"]
    return None


def download_note(page) -> str:
    name = posixpath.basename(page.file.src_uri)
    seconds = execution_seconds(page.file.src_uri)
    took = f" (it took {seconds:.1f} s)" if seconds is not None else ""
    return (
        f'<p class="nb-download"><a href="{name}" download>Download {name}</a>. Every '
        f"output on this page comes from running it in a fresh kernel when the site was "
        f"built{took}.</p>"
    )


def on_page_content(html_text, page, config, files):
    if not is_notebook(page):
        html_text = tex_to_mathml(html_text)
        if page.file.src_uri in NO_TOOLTIPS:
            return html_text
        return glossary.first_uses(html_text, glossary_terms(config.docs_dir))
    try:
        cleaned = notebook_page.resolve_links(notebook_page.clean(html_text),
                                              link_resolver(page, files))
    except ValueError as error:
        raise PluginError(f"{page.file.src_uri}: {error}") from error
    title_end = cleaned.find("</h1>") + len("</h1>")
    return cleaned[:title_end] + download_note(page) + cleaned[title_end:]


def on_post_build(config):
    """The downloadable .ipynb files: make links to the site's pages absolute, so they work
    from a reader's disk."""
    site = Path(config.site_dir)
    for path in site.glob(f"{NOTEBOOK_FOLDER}*/*.ipynb"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "markdown":
                source = "".join(cell["source"])
                cell["source"] = MD_LINK.sub(
                    lambda m: f"]({config.site_url.rstrip('/')}/{page_url(m['target'])})",
                    source)
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")


MD_LINK = re.compile(r"\]\(\.\./(?P<target>[\w-]+\.md(?:#[\w-]+)?)\)")
