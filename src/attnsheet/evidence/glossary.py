"""Evidence for the glossary (W1): every term links to a section of the site that shows the
code implementing it. Read from the glossary page itself; the build fails otherwise."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .figures import write_fragment
from .pages import code_link, links

# A definition-list entry: the term, then ":   definition" and any indented lines after it.
ENTRY = re.compile(r"^(?P<term>[A-Za-z][\w -]*)\n(?P<body>:[ ]{3}.+(?:\n(?:[ ]{4}.*|[ \t]*))*)",
                   re.MULTILINE)


def definitions(text: str) -> dict[str, str]:
    """Term -> the Markdown of its definition (every paragraph of it)."""
    return {m["term"].strip(): m["body"] for m in ENTRY.finditer(text)}


def code_links(site_dir: Path, include_dir: Path, *, root: Path,
               terms: tuple[str, ...]) -> list[Path]:
    """Each of `terms` is defined on the glossary page and its definition links to a
    section that shows a snippet; write the table of term -> code the page shows."""
    entries = definitions((root / "docs" / "glossary.md").read_text(encoding="utf-8"))
    problems, rows = [], []
    for term in terms:
        if term not in entries:
            problems.append(f"{term!r} is not defined on the glossary page")
            continue
        checked = [code_link(root, label, target) for label, target in links(entries[term])
                   if ".md" in target]
        good = [c for c in checked if not c.problem]
        problems += [f"{term}: {c.problem}" for c in checked if c.problem]
        if not good:
            problems.append(f"{term}: its definition links to no section that shows code")
        rows += [(term, c) for c in good]
    if problems:
        raise ValueError("glossary links to code are broken:\n  " + "\n  ".join(problems))

    table = ["| Term | Linked section | Code it shows |", "|---|---|---|"]
    table += [f"| {term} | [{c.label}]({c.target}) | "
              + ", ".join(f"`snippets/{f}`" for f in c.code) + " |" for term, c in rows]
    fragment = (
        f"Checked at build: each of the {len(terms)} terms links to a section that shows "
        "a runnable script.\n\n" + "\n".join(table) + "\n"
    )
    data = site_dir / "data" / "glossary" / "code-links.json"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(json.dumps([{"term": t, "to": c.target, "code": list(c.code)}
                                for t, c in rows], indent=1) + "\n", encoding="utf-8")
    return [write_fragment(include_dir, "figures/glossary/code-links.md", fragment), data]
