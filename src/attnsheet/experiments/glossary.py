"""The glossary's check (W1): every term links to a section of the site that shows the code
implementing it, read from the glossary page itself."""

from __future__ import annotations

import re
from typing import Mapping

from .pages import DOCS, code_link, links

GLOSSARY = DOCS + "glossary.md"

# A definition-list entry: the term (and its "{ #anchor }"), then ":   definition" and any
# indented lines after it.
ENTRY = re.compile(r"^(?P<term>[A-Za-z][\w -]*?)(?:[ ]*\{[^}]*\})?\n"
                   r"(?P<body>:[ ]{3}.+(?:\n(?:[ ]{4}.*|[ \t]*))*)", re.MULTILINE)


def definitions(text: str) -> dict[str, str]:
    """Term -> the Markdown of its definition (every paragraph of it)."""
    return {m["term"].strip(): m["body"] for m in ENTRY.finditer(text)}


def code_links(*, files: Mapping[str, str], terms: list[str]) -> dict:
    """Experiment: for each of `terms`, is it defined on the glossary page, and does its
    definition link to a section that shows a snippet? Returns the terms defined, the links
    that resolve to code and every problem."""
    text = files.get(GLOSSARY, "")
    entries = definitions(text)
    problems, rows = [], []
    for term in terms:
        if term not in entries:
            problems.append(f"{term!r} is not defined on the glossary page")
            continue
        checked = [code_link(files, label, target) for label, target in links(entries[term])
                   if ".md" in target]
        good = [c for c in checked if not c.problem]
        problems += [f"{term}: {c.problem}" for c in checked if c.problem]
        if not good:
            problems.append(f"{term}: its definition links to no section that shows code")
        rows += [{"term": term, "label": c.label, "to": c.target, "code": list(c.code)}
                 for c in good]
    defined = [m["term"].strip() for m in ENTRY.finditer(text)]  # every entry, repeats kept
    return {"terms": list(terms), "defined": defined, "links": rows,
            "problems": problems}
