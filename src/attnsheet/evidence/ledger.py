"""Render the evidence ledger (Markdown page fragment and evidence.json) from the registry."""

from __future__ import annotations

import json
import re

from .claims import Claim
from .registry import Evidence

STATUS_ORDER = ("proved", "partial", "missing")


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


def statuses(claims: tuple[Claim, ...], evidence: tuple[Evidence, ...], manifest: dict) -> dict:
    """Claim id -> proved / partial / missing, from what the build produced."""
    produced = {item.name for item in evidence if item.name in manifest}
    result = {}
    for claim in claims:
        have = sum(name in produced for name in claim.needs)
        result[claim.id] = (
            "proved" if have == len(claim.needs) else "partial" if have else "missing"
        )
    return result


def _evidence_for(claim: Claim, evidence, manifest) -> list[Evidence]:
    return [item for item in evidence if claim.id in item.claims and item.name in manifest]


def render_markdown(claims, evidence, manifest, status) -> str:
    """The ledger table: one row per claim, `ID | claim | evidence | status`."""
    counts = {s: sum(v == s for v in status.values()) for s in STATUS_ORDER}
    lines = [
        f"**{counts['proved']} proved, {counts['partial']} partial, "
        f"{counts['missing']} missing** out of {len(claims)} claims.",
        "",
        "| ID | Claim | Evidence | Status |",
        "|---|---|---|---|",
    ]
    for claim in claims:
        links = []
        for item in _evidence_for(claim, evidence, manifest):
            extra = "".join(
                f" ([{f.rsplit('/', 1)[-1]}]({f}))" for f in site_files(manifest[item.name])
                if f.endswith("-light.svg") or f.endswith(".json")
            )
            links.append(f"[{item.summary}]({item.page}){extra}")
        missing = [n for n in claim.needs if n not in manifest]
        if missing:
            links.append("Still to build: " + ", ".join(f"`{n}`" for n in missing))
        cell = "<br>".join(links) or "none yet"
        state = status[claim.id]
        lines.append(
            f"| [{claim.id}]({claim.page}) | {claim.text} | {cell} | "
            f'<span class="ledger-{state}">{state}</span> |'
        )
    return "\n".join(lines) + "\n"


def render_json(claims, evidence, manifest, status) -> str:
    """evidence.json: the same rows for tools (`id`, `status`, `evidence` as site paths)."""
    rows = []
    for claim in claims:
        paths: list[str] = []
        for item in _evidence_for(claim, evidence, manifest):
            paths.append(page_url(item.page))
            paths.extend(site_files(manifest[item.name]))
        rows.append({
            "id": claim.id,
            "claim": claim.text,
            "page": page_url(claim.page),
            "status": status[claim.id],
            "evidence": paths,
            "needs": list(claim.needs),
        })
    return json.dumps(rows, indent=1) + "\n"
