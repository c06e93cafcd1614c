"""Renderer of the glossary's evidence (W1): each term and the code its link leads to."""

from __future__ import annotations

from ..spec import Rendered
from .common import markdown_table, path_code


def code_links(data) -> Rendered:
    """The table term -> linked section -> code it shows, as checked at build."""
    table = markdown_table(
        ["Term", "Linked section", "Code it shows"],
        [[row["term"], f"[{row['label']}]({row['to']})",
          ", ".join(path_code(f"snippets/{f}") for f in row["code"])] for row in data["links"]])
    if data["problems"]:
        check = "Checked at build, and broken: " + "; ".join(data["problems"]) + "."
    else:
        check = (f"Checked at build: each of the {len(data['terms'])} terms links to a "
                 "section that shows a runnable script.")
    return Rendered(parts={"": [check + "\n{ .build-check }\n", table]})
