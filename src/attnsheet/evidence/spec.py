"""The registry's vocabulary: experiments, evidence, claims, verdicts, rendered output.

The data flow these types describe (see README, "How the repository fits together"):

    experiment (library code, returns JSON-able data)  --cached by code + params + versions-->
      data  --> claim predicates --> verdicts --> ledger
      data  --> renderer (figure, caption, tables)   --cached by renderer code + data hash-->
        staged files, placed by the pipeline under the evidence item's name --> the site

Nothing here imports torch, matplotlib or a site generator: a cached build stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

# --- what is measured ------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """Library code that measures, trains or counts, and returns plain JSON-able data.

    `function` ("attnsheet.experiments.cost:time_sweep") is called with `params` as keyword
    arguments; an experiment that builds on others' data names them in `reads` and receives
    `upstream={name: data}`; one that reads the repository's own files (a check of the pages'
    links) names glob patterns in `inputs` and receives `files={relative path: text}`.
    """

    name: str
    function: str
    params: Mapping[str, Any] = field(default_factory=dict)
    timing: bool = False  # its numbers are measurements: they differ between builds
    reads: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()


# --- what a reader sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One thing a reader sees on one page: a snippet and its output, an executed notebook,
    or the rendering of experiments' data (`render` = "module:function", `data` = the
    experiments it renders, passed to the renderer positionally, in that order).

    A rendered item's staged files are named after it: the page includes
    `evidence/<name>.md` (and `evidence/<name>.<part>.md` for further parts).
    """

    name: str
    page: str  # "attention.md#blend": where the reader sees it
    summary: str  # one line for the ledger
    snippet: str | None = None  # path under snippets/, run at build
    notebook: str | None = None  # "notebooks/qkv.py", from the repository root
    render: str | None = None  # "attnsheet.evidence.render.cost:time_sweep"
    data: tuple[str, ...] = ()  # experiments whose data `render` shows
    params: Mapping[str, Any] = field(default_factory=dict)  # the renderer's own settings
    timing: bool = False  # a snippet or notebook that measures time (runs alone)

    def __post_init__(self) -> None:
        kinds = (self.snippet, self.notebook, self.render)
        if sum(kind is not None for kind in kinds) != 1:
            raise ValueError(
                f"evidence {self.name!r} needs exactly one of snippet=, notebook= or render="
            )
        if bool(self.data) != bool(self.render):
            raise ValueError(f"evidence {self.name!r}: render= and data= go together")

    @property
    def page_file(self) -> str:
        return self.page.partition("#")[0]


# --- what the data must show -----------------------------------------------------------------

HOLDS = "holds"
FAILS_HERE = "does not hold here"
NEEDS_HARDWARE = "needs other hardware"
RECORDED = "recorded"
VERDICTS = (HOLDS, FAILS_HERE, NEEDS_HARDWARE, RECORDED)


@dataclass(frozen=True)
class Verdict:
    """What a claim's predicate read from the data: a status, the numbers it was read from
    (name -> value, shown in the ledger) and one sentence saying why."""

    status: str
    numbers: Mapping[str, Any]
    reason: str
    # One plain sentence for a reader who has not met the terms yet, shown before the reason
    # where the claim does not simply hold.
    summary: str = ""

    def __post_init__(self) -> None:
        if self.status not in VERDICTS:
            raise ValueError(f"verdict status must be one of {VERDICTS}, got {self.status!r}")


class CriterionFailed(AssertionError):
    """A deterministic part of a claim's criterion failed: the build stops, naming the claim."""


def must(condition: bool, message: str) -> None:
    """Check a deterministic part of a criterion (no timing in it): failing it stops the
    build, because no machine can excuse it."""
    if not condition:
        raise CriterionFailed(message)


Predicate = Callable[[Mapping[str, Any]], Verdict]


def all_of(*predicates: Predicate) -> Predicate:
    """One predicate from several, each reading its own evidence (one model each, say):
    the claim holds only if every part holds; otherwise the first part's status that does
    not (its summary with it). Numbers are merged, reasons joined in order."""
    def judged(data: Mapping[str, Any]) -> Verdict:
        verdicts = [predicate(data) for predicate in predicates]
        failing = [v for v in verdicts if v.status != HOLDS]
        numbers = {k: v for verdict in verdicts for k, v in verdict.numbers.items()}
        reason = " ".join(v.reason if v.reason.rstrip().endswith((".", "!", "?"))
                          else v.reason.rstrip() + "." for v in verdicts)
        if not failing:
            return Verdict(HOLDS, numbers, reason)
        return Verdict(failing[0].status, numbers, reason, failing[0].summary)

    judged.__name__ = "all_of_" + "_".join(p.__name__ for p in predicates)
    return judged


@dataclass(frozen=True)
class Claim:
    """A claim the site makes, the evidence a reader sees for it, and how it can fail.

    `predicate(data)` receives {experiment name: data} for every experiment that the
    claim's evidence renders and returns a `Verdict`; it calls `must` for the deterministic
    parts of `criterion`. `measured` says whether any of that data is a timing measurement
    (a measured criterion that fails is published as "does not hold here"; a deterministic
    one stops the build). `by_construction`: the criterion checks that the code or the site is
    what the claim describes (a definition, an identity, a count of a fixed architecture): it
    can fail only through a bug, so it guards the evidence rather than testing an idea.
    """

    id: str
    page: str  # docs page that makes the claim, e.g. "attention.md"
    text: str  # the claim, in the site's words
    evidence: tuple[str, ...]  # names of the evidence items a reader sees for it
    criterion: str = ""  # what the data must show, in words
    predicate: Predicate | None = None
    by_construction: bool = False
    # Where the verdict note sits: an anchor on `page`, or "other.md#anchor" on another page.
    section: str = ""

    @property
    def verdict_target(self) -> str:
        """Page-relative link to the section that shows the verdict (`page` if none)."""
        if not self.section:
            return self.page
        return self.section if ".md#" in self.section else f"{self.page}#{self.section}"


# --- what a renderer returns -----------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A figure in a light and a dark variant: `draw(colors) -> matplotlib Figure`. `key`
    names it within its evidence item (files `<evidence>[-<key>]-light.svg`)."""

    draw: Callable[[Mapping[str, Any]], Any]
    alt: str
    caption: str
    key: str = ""


@dataclass(frozen=True)
class MachineLine:
    """"Measured at build on: ..." for the machine an experiment recorded in its data
    (`attnsheet.experiments.measure.machine()`: CPU, cores, torch threads, load, versions)."""

    machine: Mapping[str, Any]


Block = "str | Figure | MachineLine"


@dataclass
class Rendered:
    """A renderer's output: Markdown parts made of blocks (text, figures, machine lines),
    keyed by part name ("" is the main part), and JSON for the page's scripts (`scripts`,
    key -> data, published as `data/<evidence>[-<key>].json`)."""

    parts: dict[str, list] = field(default_factory=dict)
    scripts: dict[str, Any] = field(default_factory=dict)
