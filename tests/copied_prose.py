"""Runs of words a page shares with the source cheatsheet.

The cheatsheet's facts carry over to the site; its sentences do not. A run of `RUN` or more
words in a row shared with it counts as copied, except its section titles and the worked
example's sentence, which the site quotes on purpose. Pages are read as a reader sees them:
the article's text outside code, plus the tooltips' definitions.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

RUN = 8
QUOTED = re.compile(r"the animal didn.t cross the street because it was too tired", re.I)
TITLE = re.compile(r"Section titled “(?P<title>.*?)”")


def words(text: str) -> list[str]:
    text = text.lower().replace("’", "'").replace("‘", "'")
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)


def source_runs(cheatsheet: str) -> set[tuple[str, ...]]:
    """Every run of RUN words in the cheatsheet's body (titles and the quoted sentence out)."""
    titles = {m["title"] for m in TITLE.finditer(cheatsheet)}
    pieces = []
    for line in cheatsheet.splitlines():
        line = TITLE.sub("\n", line)
        if line.strip() and line.strip() not in titles:
            pieces += QUOTED.sub("\n", line).split("\n")
    runs = set()
    for piece in pieces:
        w = words(piece)
        runs |= {tuple(w[i:i + RUN]) for i in range(len(w) - RUN + 1)}
    return runs


class _ArticleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.article = self.skipped = 0

    def handle_starttag(self, tag, attrs):
        self.article += tag == "article"
        self.skipped += tag in ("pre", "script", "style")
        if tag == "abbr" and self.article:
            self.parts.append("\n" + (dict(attrs).get("title") or "") + "\n")

    def handle_endtag(self, tag):
        self.article -= tag == "article"
        self.skipped -= tag in ("pre", "script", "style")

    def handle_data(self, data):
        if self.article and not self.skipped:
            self.parts.append(data)


def copied(html_text: str, runs: set[tuple[str, ...]]) -> list[str]:
    """The page's maximal runs of words found in `runs`, as text."""
    parser = _ArticleText()
    parser.feed(html_text)
    w = words(" ".join(parser.parts))
    starts = [i for i in range(len(w) - RUN + 1) if tuple(w[i:i + RUN]) in runs]
    found, end = [], -1
    for i in starts:
        if i <= end:  # overlaps the run before: extend it
            found[-1] = " ".join(w[found_start:i + RUN])
        else:
            found_start = i
            found.append(" ".join(w[i:i + RUN]))
        end = i + RUN - 1
    return found
