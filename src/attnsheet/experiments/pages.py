"""Read the site's own Markdown pages: sections, links, included code; check links to code.

The helpers (`slugify`, `headings`, `section`, `links`, `code_link`) read page text; the
experiments (`section_links`, `notebook_links`) are the checks of the pages' own links. They
receive the repository files they read as `files={relative path: text}` (the pipeline reads
them, `Experiment.inputs`), return what they found, problems included, and leave the verdict
to the claims' predicates. They read the raw Markdown that MkDocs renders, so they run
before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*(?:\{#(?P<id>[\w-]+)\})?\s*$",
                     re.MULTILINE)
LINK = re.compile(r"(?<!!)\[(?P<label>[^\]]+)\]\((?P<target>[^)\s]+)\)")
INCLUDE = re.compile(r'^\s*-{1,2}8<-{1,2}\s+"(?P<target>[^"]+)"\s*$', re.MULTILINE)

DOCS = "docs/"  # where the pages are, relative to the repository root
SNIPPETS = "snippets/"
NOTEBOOKS = "notebooks/"


def slugify(title: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc slugify, the default)."""
    from markdown.extensions.toc import slugify as toc_slugify

    return toc_slugify(re.sub(r"[*_`]", "", title), "-")


def headings(text: str) -> list[tuple[int, str, int]]:
    """(level, anchor, offset) of every heading, in order; fenced code is skipped."""
    found = []
    for match in HEADING.finditer(text):
        if text.count("```", 0, match.start()) % 2:  # inside a fenced block
            continue
        anchor = match["id"] or slugify(match["title"])
        found.append((len(match["hashes"]), anchor, match.start()))
    return found


def section(text: str, anchor: str) -> str | None:
    """The text under the heading `anchor`, up to the next heading of its level or higher."""
    marks = headings(text)
    for i, (level, name, start) in enumerate(marks):
        if name == anchor:
            end = next((s for lv, _, s in marks[i + 1:] if lv <= level), len(text))
            return text[start:end]
    return None


def links(text: str) -> list[tuple[str, str]]:
    """(label, target) of every Markdown link (images excluded)."""
    return [(m["label"], m["target"]) for m in LINK.finditer(text)]


def page_part(files: Mapping[str, str], where: str) -> tuple[str | None, str]:
    """The text of `page.md#anchor` (the whole page without an anchor) and, when it is
    missing, the problem ("" when found)."""
    page, _, anchor = where.partition("#")
    text = files.get(DOCS + page)
    if text is None:
        return None, f"{page!r} is not a page of the site"
    body = section(text, anchor) if anchor else text
    if body is None:
        return None, f"{page} has no section #{anchor}"
    return body, ""


@dataclass(frozen=True)
class CodeLink:
    """A link from a page to a section of the site, and the code that section shows."""

    label: str
    target: str  # "attention.md#score-weigh-blend"
    code: tuple[str, ...]  # snippet files (under snippets/) the target section shows
    problem: str  # "" when the link resolves to a section that shows code


def code_link(files: Mapping[str, str], label: str, target: str) -> CodeLink:
    """Resolve a link to `page.md#anchor` and list the snippet files that section includes."""
    def result(problem, code=()):
        return CodeLink(label, target, tuple(code), problem)

    body, problem = page_part(files, target)
    if body is None:
        return result(problem)
    code = [m["target"].partition(":")[0] for m in INCLUDE.finditer(body)
            if m["target"].partition(":")[0].endswith(".py")]
    missing = [c for c in code if SNIPPETS + c not in files]
    if missing:
        return result(f"{target} includes missing snippets {missing}")
    if not code:
        return result(f"{target} shows no snippet")
    return result("", code)


def section_links(*, files: Mapping[str, str], page: str, anchor: str,
                  required: list[str]) -> dict:
    """Experiment: does the section `page#anchor` link to every `required` target, and does
    each of those targets show code? Returns the links found and every problem."""
    where = f"{page}#{anchor}"
    body, problem = page_part(files, where)
    problems = [problem] if problem else []
    found = {target: label for label, target in links(body or "")}
    checked = []
    for target in required if body is not None else ():
        if target not in found:
            problems.append(f"{where} does not link to {target}")
            continue
        link = code_link(files, found[target], target)
        checked.append({"label": link.label, "to": link.target, "code": list(link.code)})
        if link.problem:
            problems.append(link.problem)
    return {"from": where, "required": list(required), "links": checked, "problems": problems}


def _notebook_summary(source: str, name: str) -> dict:
    """Title (its first `# ` Markdown line) and code cells of a notebook's jupytext source."""
    import jupytext

    cells = jupytext.reads(source, fmt="py:percent").cells
    title = next((line[2:].strip() for c in cells if c.cell_type == "markdown"
                  for line in c.source.splitlines() if line.startswith("# ")), name)
    return {"title": title, "code_cells": sum(c.cell_type == "code" for c in cells)}


def notebook_links(*, files: Mapping[str, str], notebooks: list[str], index: str,
                   deepens: dict[str, list[str]]) -> dict:
    """Experiment (P4): does the `index` section link to every notebook
    (`notebooks/<name>.py`, published as `notebooks/<name>.ipynb`), and each page in
    `deepens` to the notebooks listed for it? Returns the notebooks each place links to,
    each notebook's name, title and code cells in reading order (read from its source; the
    build executes it) and every problem."""
    problems = []
    required = {index: list(notebooks), **deepens}
    linked = {}
    for where, names in required.items():
        body, problem = page_part(files, where)
        if body is None:
            problems.append(problem)
            continue
        targets = {target.partition("#")[0] for _, target in links(body)}
        linked[where] = [name for name in names if f"{NOTEBOOKS}{name}.ipynb" in targets]
        problems += [f"{where} does not link to {NOTEBOOKS}{name}.ipynb" for name in names
                     if name not in linked[where]]
    summaries = []  # in reading order
    for name in notebooks:
        source = files.get(f"{NOTEBOOKS}{name}.py")
        if source is None:
            problems.append(f"notebook {NOTEBOOKS}{name}.py does not exist")
            continue
        summaries.append({"name": name, **_notebook_summary(source, name)})
    return {"index": index, "deepens": deepens, "required": required, "linked": linked,
            "notebooks": summaries, "problems": problems}
