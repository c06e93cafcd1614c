"""The claim registry: every experiment, every piece of evidence and every claim, by section.

Each section of the site has a module in `sections/` (`sections/cost.py` for `docs/cost.md`)
listing, in that order:

* `EXPERIMENTS`: code that measures, trains or counts and returns data (`spec.Experiment`);
* `EVIDENCE`: what a reader sees on the page: a snippet with its output, an executed
  notebook, or a rendering of experiments' data (`spec.Evidence`);
* `CLAIMS`: the section's claims, each with the evidence a reader sees for it, a written
  criterion and a predicate over that evidence's data (`spec.Claim`).

Each fact is stated once: an item's files are placed by the pipeline under its name
(`stage.py`), a page includes it by that name, dependencies between experiments are their
`reads`, and a claim names its evidence (evidence does not name its claims).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .spec import Claim, Evidence, Experiment

# The sections in the cheatsheet's order (module names under sections/).
SECTIONS = ("idea", "recurrence", "attention", "transformer", "cost", "pitfalls", "glossary",
            "one_line")


@dataclass(frozen=True)
class Registry:
    experiments: tuple[Experiment, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    claims: tuple[Claim, ...] = ()

    def section(self, name: str) -> set[str]:
        """Names of the evidence items shown on a section's page."""
        page = name.replace("_", "-") + ".md"
        return {item.name for item in self.evidence if item.page_file == page}


def load(sections: tuple[str, ...] = SECTIONS) -> Registry:
    """Every section module's entries, in section order."""
    modules = [importlib.import_module(f"{__package__}.sections.{name}") for name in sections]
    return Registry(
        experiments=tuple(e for m in modules for e in getattr(m, "EXPERIMENTS", ())),
        evidence=tuple(e for m in modules for e in getattr(m, "EVIDENCE", ())),
        claims=tuple(c for m in modules for c in getattr(m, "CLAIMS", ())),
    )


REGISTRY = load()
CLAIMS = REGISTRY.claims
EVIDENCE = REGISTRY.evidence
EXPERIMENTS = REGISTRY.experiments
