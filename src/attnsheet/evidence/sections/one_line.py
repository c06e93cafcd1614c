"""Section 8, the one-line version (docs/one-line.md): L1."""

from __future__ import annotations

from ..spec import Claim, Evidence, Experiment
from .idea import PATH_COUNTS, path_counts

EXPERIMENTS: tuple[Experiment, ...] = ()  # L1 shows the O1 experiment's data (sections/idea.py)

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("one-line-snippet", "one-line.md#the-line-and-the-room",
             "Hops from the first word to the last: n-1 down the line, 1 in the room.",
             snippet="one_line/hops.py"),
    Evidence("l1-dependency-figure", "one-line.md#the-line-and-the-room",
             "The one idea's dependency graphs, reused: the library's RNN is a line (n-1 "
             "hand-offs), attention a room (1 hand-off) (light and dark SVG).",
             render="attnsheet.evidence.render.idea:dependency_figure",
             data=("o1-dependency-graphs",)),
)

CLAIMS: tuple[Claim, ...] = (
    Claim("L1", "one-line.md",
          "Recurrence passes a message down a line; attention lets everyone look at everyone.",
          ("one-line-snippet", "l1-dependency-figure"),
          criterion=PATH_COUNTS, predicate=path_counts, by_construction=True,
          section="the-line-and-the-room"),
)
