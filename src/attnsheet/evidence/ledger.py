"""The evidence ledger: per claim, its criterion, its verdict and the numbers read for it
(a Markdown page fragment and evidence.json), from the registry and this build's verdicts."""

from __future__ import annotations

import json

from .registry import Registry
from .spec import FAILS_HERE, HOLDS, NEEDS_HARDWARE, RECORDED, VERDICTS, Claim, Evidence, Verdict
from .urls import page_url, site_files

NOT_JUDGED = "not judged yet"
LEDGER_PAGE = "evidence.md"  # the page that includes the ledger; rows are anchored by claim ID


def status(verdict: Verdict | None) -> str:
    return verdict.status if verdict else NOT_JUDGED


def _evidence(claim: Claim, registry: Registry) -> list[Evidence]:
    by_name = {item.name: item for item in registry.evidence}
    return [by_name[name] for name in claim.evidence if name in by_name]


def _published(item: Evidence, manifest: dict) -> list[str]:
    """Site files a reader can open for an item: its light figures and its data."""
    entries = [manifest.get(item.name)] + [manifest.get(f"data:{n}") for n in item.data]
    return [f for entry in entries if entry for f in site_files(entry)
            if f.endswith("-light.svg") or (f.endswith(".json") and "/page/" not in f)]


def format_number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return f"{value:.3g}"


def _numbers(verdict: Verdict | None) -> str:
    if not verdict:
        return ""
    return "; ".join(f"{name} = {format_number(value)}"
                     for name, value in verdict.numbers.items())


def counts(claims, verdicts: dict) -> dict[str, int]:
    return {s: sum(status(verdicts.get(c.id)) == s for c in claims)
            for s in (*VERDICTS, NOT_JUDGED)}


def render_markdown(registry: Registry, manifest: dict, verdicts: dict) -> str:
    """The ledger table: `ID | verdict | claim | criterion | evidence`."""
    tally = ", ".join(f"{n} {s}" for s, n in counts(registry.claims, verdicts).items() if n)
    built_in = sum(c.by_construction and status(verdicts.get(c.id)) == HOLDS
                   for c in registry.claims)
    if built_in:  # say how many of those that hold could fail only through a bug
        tally = tally.replace(f" {HOLDS}", f" {HOLDS} ({built_in} by construction)", 1)
    lines = [
        f"**{len(registry.claims)} claims: {tally}.**",
        "",
        "| ID | Verdict | Claim | Criterion | Evidence |",  # the verdict where it is seen
        "|---|---|---|---|---|",
    ]
    for claim in registry.claims:
        links = []
        for item in _evidence(claim, registry):
            extra = "".join(f" ([{f.rsplit('/', 1)[-1]}]({f}))"
                            for f in _published(item, manifest))
            links.append(f"[{item.summary}]({item.page}){extra}")
        verdict = verdicts.get(claim.id)
        state = status(verdict)
        css = state.replace(" ", "-")
        detail = f"<br>{verdict.reason}" if verdict else ""
        numbers = _numbers(verdict)
        detail += f"<br><small>{numbers}</small>" if numbers else ""
        lines.append(
            f'| <span id="{claim.id.lower()}"></span>[{claim.id}]({claim.page}) | '
            f'<span class="ledger-{css}">{state}</span>{detail} | '
            f"{claim.text} | {_criterion(claim)} | "
            f"{'<br>'.join(links) or 'none yet'} |"
        )
    return "\n".join(lines) + "\n"


BY_CONSTRUCTION = "*By construction (only a bug could fail it):*"  # the page says what that means


def _criterion(claim: Claim) -> str:
    text = claim.criterion or "–"
    return f"{BY_CONSTRUCTION} {text}" if claim.by_construction else text


def badge(claim: Claim, verdict: Verdict | None) -> str:
    """A claim's ID and verdict as a small link to where its evidence starts on its page
    (markdown with attr_list classes; the link is page-relative, so any page can show it)."""
    state = status(verdict)
    target = claim.verdict_target
    label = f"{claim.id} {state}".replace(" ", "\u00a0")  # one badge never wraps
    return (f"[{label}]({target})"
            f"{{ .verdict-badge .ledger-{state.replace(' ', '-')} }}")  # no newline: a snippet's
    # trailing newline would end the list item it sits in


def verdict_note(claim: Claim, verdict: Verdict | None) -> str:
    """The sentence a page shows at the top of a claim's evidence when this build's data
    does not simply support it (its verdict and reason); nothing when the claim holds."""
    if verdict is None or verdict.status == HOLDS:
        return ""
    saying = {FAILS_HERE: "does not hold on the machine that built this page",
              NEEDS_HARDWARE: "needs other hardware than the machine that built this page",
              RECORDED: "rests on a recorded run on other hardware"}[verdict.status]
    css = verdict.status.replace(" ", "-")
    if verdict.summary:  # the plain sentence stays in view; the full reason folds below it
        return (f"**{claim.id} {saying}.** {verdict.summary} "
                f"([ledger]({LEDGER_PAGE}#{claim.id.lower()}))\n"
                f"{{ .verdict-note .ledger-{css}-note }}\n\n"
                f'??? note "{claim.id}: the verdict in detail"\n'
                f"    {verdict.reason}.\n")
    return (f"**{claim.id} {saying}:** {verdict.reason}. "
            f"([ledger]({LEDGER_PAGE}#{claim.id.lower()}))\n{{ .verdict-note .ledger-{css}-note }}\n")


def render_json(registry: Registry, manifest: dict, verdicts: dict) -> str:
    """evidence.json: the same rows for tools, with site paths of the evidence."""
    rows = []
    for claim in registry.claims:
        paths: list[str] = []
        for item in _evidence(claim, registry):
            paths.append(page_url(item.page))
            for name in [item.name] + [f"data:{n}" for n in item.data]:
                paths.extend(site_files(manifest[name]) if name in manifest else [])
        verdict = verdicts.get(claim.id)
        rows.append({
            "id": claim.id,
            "claim": claim.text,
            "page": page_url(claim.page),
            "criterion": claim.criterion,
            "by_construction": claim.by_construction,
            "verdict": status(verdict),
            "numbers": dict(verdict.numbers) if verdict else {},
            "reason": verdict.reason if verdict else "",
            "summary": verdict.summary if verdict else "",
            "evidence": paths,
            "needs": list(claim.evidence),
        })
    return json.dumps(rows, indent=1, ensure_ascii=False) + "\n"
