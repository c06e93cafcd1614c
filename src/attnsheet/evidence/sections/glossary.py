"""Section 7, words to use precisely (docs/glossary.md): W1."""

from __future__ import annotations

from ..spec import HOLDS, Claim, Evidence, Experiment, Verdict, must
from .pitfalls import PAGES

TERMS = ["Attention", "Transformer", "Context window"]  # the terms the glossary defines

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("w1-code-links", "attnsheet.experiments.glossary:code_links",
               params={"terms": TERMS}, inputs=PAGES),
)

EVIDENCE: tuple[Evidence, ...] = (
    Evidence("glossary-snippet", "glossary.md#the-terms-in-code",
             "Each glossary term as a few lines of code.",
             snippet="glossary/terms.py"),
    Evidence("w1-code-links", "glossary.md#the-terms-in-code",
             "Each term's definition links to a section that shows its code (checked at "
             "build).",
             render="attnsheet.evidence.render.glossary:code_links",
             data=("w1-code-links",)),
)


def terms_link_to_code(data) -> Verdict:
    """W1: every term is defined on the glossary page, once, and its definition links to a
    section of the site that shows a snippet."""
    check = data["w1-code-links"]
    must(not check["problems"], "; ".join(check["problems"]))
    must(sorted(check["defined"]) == sorted(TERMS),
         f"the glossary defines {check['defined']}, not {TERMS}")
    linked = {row["term"] for row in check["links"] if row["code"]}
    must(linked == set(TERMS), f"terms without a link to code: {sorted(set(TERMS) - linked)}")
    return Verdict(HOLDS, {"terms": len(TERMS), "links to code": len(check["links"])},
                   f"Each of the {len(TERMS)} terms is defined once and links to a section "
                   "that shows its code.")


CLAIMS: tuple[Claim, ...] = (
    Claim("W1", "glossary.md",
          "Attention, transformer and context window are each defined once, shown as tooltips, "
          "and linked to the code that implements them.",
          ("glossary-snippet", "w1-code-links"),
          criterion="The glossary page defines exactly the terms attention, transformer and "
                    "context window, and each definition links to a section of the site that "
                    "includes a snippet that exists. (The tooltips are checked by the site "
                    "tests.)",
          predicate=terms_link_to_code, by_construction=True, section="the-terms-in-code"),
)
