"""Glossary tooltips: the first use of each term in a page's running text becomes
`<abbr title="definition">`, and nothing else does.

Running text means paragraphs, list items and definitions outside tables: never a heading,
the table of contents, a link, code, a figure caption or a table (the ledger is one), where a
dotted underline on every "attention" would be noise rather than help.
"""

from __future__ import annotations

import functools
import re

from bs4 import BeautifulSoup, NavigableString

RUNNING_TEXT = ("p", "li", "dd")
NOT_HERE = {"h1", "h2", "h3", "h4", "h5", "h6", "a", "abbr", "code", "pre", "table",
            "figcaption", "nav", "script", "style", "math", "svg", "button"}


def term_pattern(term: str) -> re.Pattern:
    """The term as a whole word, any case, singular or plural."""
    return re.compile(rf"\b{re.escape(term)}s?\b", re.IGNORECASE)


def _in_running_text(node) -> bool:
    parents = [p.name for p in node.parents]
    return (not NOT_HERE.intersection(parents)) and any(p in RUNNING_TEXT for p in parents)


def first_uses(html_text: str, terms: dict[str, str]) -> str:
    """`html_text` with the first running-text use of each term wrapped in an abbreviation
    whose title is the term's definition."""
    return _first_uses(html_text, tuple(terms.items()))


@functools.lru_cache(maxsize=64)
def _first_uses(html_text: str, terms: tuple[tuple[str, str], ...]) -> str:
    # Memoised: under `mkdocs serve` a prose edit re-renders every page, and parsing the
    # unchanged ones again would cost most of the rebuild.
    terms = dict(terms)
    soup = BeautifulSoup(html_text, "html.parser")
    for term, definition in terms.items():
        pattern = term_pattern(term)
        for node in soup.find_all(string=pattern):
            if isinstance(node, NavigableString) and _in_running_text(node):
                match = pattern.search(node)
                abbr = soup.new_tag("abbr", title=definition)
                abbr.string = match.group(0)
                before, after = node[:match.start()], node[match.end():]
                node.replace_with(before, abbr, after)
                break
    return str(soup)
