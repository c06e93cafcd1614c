"""Read the site's own Markdown pages: sections, links, included code; check links to code.

Used by the evidence that is about the pages themselves (the glossary's links to code, the
transformer page's link to the recurrence evidence, the pitfalls page's pointers to the
mechanics). The checks read the raw Markdown that MkDocs renders, so they run before it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*(?:\{#(?P<id>[\w-]+)\})?\s*$",
                     re.MULTILINE)
LINK = re.compile(r"(?<!!)\[(?P<label>[^\]]+)\]\((?P<target>[^)\s]+)\)")
INCLUDE = re.compile(r'^\s*-{1,2}8<-{1,2}\s+"(?P<target>[^"]+)"\s*$', re.MULTILINE)


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


@dataclass(frozen=True)
class CodeLink:
    """A link from a page to a section of the site, and the code that section shows."""

    label: str
    target: str  # "attention.md#score-weigh-blend"
    code: tuple[str, ...]  # snippet files (under snippets/) the target section shows
    problem: str  # "" when the link resolves to a section that shows code


def code_link(root: Path, label: str, target: str) -> CodeLink:
    """Resolve a link to `page.md#anchor` and list the snippet files that section includes."""
    page, _, anchor = target.partition("#")

    def result(problem, code=()):
        return CodeLink(label, target, tuple(code), problem)

    path = root / "docs" / page
    if not page.endswith(".md") or not path.is_file():
        return result(f"{page!r} is not a page of the site")
    text = path.read_text(encoding="utf-8")
    body = section(text, anchor) if anchor else text
    if body is None:
        return result(f"{page} has no section #{anchor}")
    code = [m["target"].partition(":")[0] for m in INCLUDE.finditer(body)
            if m["target"].partition(":")[0].endswith(".py")]
    missing = [c for c in code if not (root / "snippets" / c).is_file()]
    if missing:
        return result(f"{target} includes missing snippets {missing}")
    if not code:
        return result(f"{target} shows no snippet")
    return result("", code)


def check_section_links(root: Path, page: str, anchor: str,
                        required: tuple[str, ...]) -> list[CodeLink]:
    """The section `page#anchor` must link to every `required` target, and each of those
    targets must show code. Raises ValueError naming every problem; returns the links."""
    text = (root / "docs" / page).read_text(encoding="utf-8")
    body = section(text, anchor)
    if body is None:
        raise ValueError(f"{page} has no section #{anchor}")
    found = {target: label for label, target in links(body)}
    problems, checked = [], []
    for target in required:
        if target not in found:
            problems.append(f"{page}#{anchor} does not link to {target}")
            continue
        link = code_link(root, found[target], target)
        checked.append(link)
        if link.problem:
            problems.append(link.problem)
    if problems:
        raise ValueError("links to code are broken:\n  " + "\n  ".join(problems))
    return checked


def section_links(site_dir: Path, include_dir: Path, *, root: Path, page: str, anchor: str,
                  required: tuple[str, ...], data: str) -> list[Path]:
    """Builder: check that a section links to sections that show code; write the links
    found as JSON (`data/<data>.json`) for the ledger. Fails the build otherwise."""
    checked = check_section_links(root, page, anchor, tuple(required))
    path = site_dir / "data" / f"{data}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"from": f"{page}#{anchor}", "label": c.label, "to": c.target, "code": list(c.code)}
            for c in checked]
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return [path]


def _notebook_summary(path: Path) -> dict:
    """Title, code cells and figures of an executed notebook; raises if it did not run."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    outputs = [o for c in code for o in c.get("outputs", [])]
    if any(o["output_type"] == "error" for o in outputs):
        raise ValueError(f"{path.name} has an error output")
    if not code or any(c.get("execution_count") is None for c in code):
        raise ValueError(f"{path.name} has code cells that were not executed")
    title = next((line[2:].strip() for c in notebook["cells"] if c["cell_type"] == "markdown"
                  for line in "".join(c["source"]).splitlines() if line.startswith("# ")),
                 path.stem)
    figures = sum("image/png" in o.get("data", {}) for o in outputs)
    return {"title": title, "code_cells": len(code), "figures": figures}


def notebook_links(site_dir: Path, include_dir: Path, *, root: Path, notebooks: list[str],
                   index: str, deepens: dict[str, list[str]], data: str) -> list[Path]:
    """Builder (P4): every notebook (`notebooks/<name>.py`) ran at build (outputs, no error
    output); the `index` section links to all of them and each page in `deepens` links to
    the notebooks listed for it. Writes the table the index section shows (in `notebooks`
    order) and the links as JSON; fails the build otherwise."""
    problems = []
    required = {index: list(notebooks), **deepens}
    for where, names in required.items():
        page, _, anchor = where.partition("#")
        text = (root / "docs" / page).read_text(encoding="utf-8")
        body = section(text, anchor) if anchor else text
        if body is None:
            problems.append(f"{page} has no section #{anchor}")
            continue
        targets = {target.partition("#")[0] for _, target in links(body)}
        problems += [f"{where} does not link to notebooks/{name}.ipynb" for name in names
                     if f"notebooks/{name}.ipynb" not in targets]
    summaries = {}
    for name in notebooks:
        executed = site_dir / "notebooks" / f"{name}.ipynb"
        if not executed.is_file():
            problems.append(f"notebook {name} was not executed by this build")
            continue
        try:
            summaries[name] = _notebook_summary(executed)
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise ValueError("notebook links are broken:\n  " + "\n  ".join(problems))

    rows = ["| Notebook | Deepens | Code cells | Figures |", "|---|---|---:|---:|"]
    for name, summary in summaries.items():
        pages = sorted({where.partition("#")[0] for where, names in deepens.items()
                        if name in names})
        links_to_pages = ", ".join(f"[{p.removesuffix('.md')}]({p})" for p in pages)
        rows.append(f"| [{summary['title']}](notebooks/{name}.ipynb) | {links_to_pages} | "
                    f"{summary['code_cells']} | {summary['figures']} |")
    table = include_dir / "notebooks" / "table.md"
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = site_dir / "data" / f"{data}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"index": index, "deepens": deepens, "notebooks": summaries},
                               indent=1) + "\n", encoding="utf-8")
    return [table, path]
