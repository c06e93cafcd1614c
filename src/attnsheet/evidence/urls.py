"""Site URLs, built in one place: relative paths (no host, no leading slash), so the site
works under any sub-path (`SITE_URL`). They follow MkDocs' directory URLs (`cost.md` is
served at `cost/`) and mkdocs-jupyter's place for a notebook's download; a generator with
other conventions changes this module and nothing else."""

from __future__ import annotations

import re


def page_url(page: str) -> str:
    """Site path of a docs link: `attention.md#x` -> `attention/#x` (directory URLs);
    notebooks too: `notebooks/qkv.ipynb` -> `notebooks/qkv/`."""
    doc, _, anchor = page.partition("#")
    stem = doc.removesuffix(".md").removesuffix(".ipynb")
    url = "" if stem == "index" else f"{stem}/"
    return url + (f"#{anchor}" if anchor else "")


def site_files(entry: dict) -> list[str]:
    """Files of a manifest entry that are published in the site, as site paths. An executed
    notebook `notebooks/<name>.ipynb` becomes a page, and its download sits beside it:
    `notebooks/<name>/<name>.ipynb` (where mkdocs-jupyter puts it)."""
    paths = [f.removeprefix("site/") for f in entry["files"] if f.startswith("site/")]
    return [re.sub(r"^notebooks/([\w-]+)\.ipynb$", r"notebooks/\1/\1.ipynb", p) for p in paths]
