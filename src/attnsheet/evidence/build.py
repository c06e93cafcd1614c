"""Build the evidence: measure what changed, judge every claim, render what changed, stage.

The steps, each cached on its own (see `stage.py` for where files land):

1. snippets and notebooks: run in a fresh process; key = their bytes (and, for a notebook,
   the library modules it imports);
2. experiments: key = the experiment's module and every `attnsheet` module it imports, its
   parameters, the library versions, the files it reads and the keys of the experiments it
   reads; the data is published as `data/<name>.json`;
3. verdicts: every claim's predicate over its experiments' data, every build (cheap);
4. renderings: key = the renderer's module (and what it imports), its parameters and the
   hashes of the data it shows. Editing a caption re-renders; it never re-measures;
5. the library's wheel for readers (`site/downloads/`, key = its sources; full builds);
6. the math font the formulas are drawn with (`site/fonts/`, key = its source font; full
   builds);
7. the ledger (`include/ledger.md`, `site/evidence.json`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import cache, cheatsheet_pdf, math_font, notebooks, stage, wheel
from .ledger import badge, render_json, render_markdown, verdict_note
from .machine import machine_markdown
from .registry import REGISTRY, Registry
from .spec import FAILS_HERE, Claim, CriterionFailed, Evidence, Experiment, Figure, Verdict

SNIPPET_TIMEOUT_S = 300


class EvidenceError(RuntimeError):
    """A snippet, experiment, renderer or claim failed; the message names it."""


@dataclass(frozen=True)
class Paths:
    root: Path  # repository root
    out: Path  # build/evidence

    @property
    def snippets(self) -> Path:
        return self.root / "snippets"

    @property
    def include(self) -> Path:
        return self.out / "include"

    @property
    def site(self) -> Path:
        return self.out / "site"


def snippet_files(snippets_dir: Path) -> list[Path]:
    """Every snippet script, sorted (helpers starting with `_` excluded)."""
    return sorted(p for p in snippets_dir.rglob("*.py") if not p.name.startswith("_"))


def output_name(snippet: str) -> str:
    """Include path of a snippet's captured output: `outputs/<section>/<name>.txt`."""
    return "outputs/" + snippet.removesuffix(".py") + ".txt"


def run_isolated(script: Path | str, timeout: float = SNIPPET_TIMEOUT_S):
    """Run a script file (Path) or code (str) as a reader would: a fresh interpreter, no
    PYTHON* variables, an empty working folder. Returns the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    source = [str(script)] if isinstance(script, Path) else ["-c", script]
    with tempfile.TemporaryDirectory() as workdir:
        return subprocess.run(
            [sys.executable, "-I", *source], cwd=workdir, env=env,
            capture_output=True, text=True, timeout=timeout,
        )


def run_snippet(script: Path) -> str:
    """Run a snippet as a reader would; return its stdout, or raise naming the snippet."""
    done = run_isolated(script)
    if done.returncode != 0:
        raise EvidenceError(
            f"snippet {script} exited with {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done.stdout


def _function(spec: str):
    module_name, _, function_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def input_files(patterns: tuple[str, ...], root: Path) -> list[Path]:
    """The repository files matched by glob `patterns`, sorted."""
    return sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})


def data_hash(data) -> str:
    return hashlib.sha256(stage.json_text(data).encode()).hexdigest()


# --- the items of one build ------------------------------------------------------------------


WHEEL_ENTRY = "download:wheel"  # the manifest entry of the library's wheel
MATH_FONT_ENTRY = "asset:math-font"  # the cut math font the formulas are drawn with


def data_entry(name: str) -> str:
    """Manifest name of an experiment (experiments and evidence may share a name)."""
    return f"data:{name}"


def file_items(registry: Registry, paths: Paths) -> list[Evidence]:
    """Every snippet and notebook in the repository, registered or not (every page output
    is captured, every notebook executed)."""
    snippets = {item.snippet: item for item in registry.evidence if item.snippet}
    notebooks_ = {item.notebook: item for item in registry.evidence if item.notebook}
    items = []
    for p in snippet_files(paths.snippets):
        rel = str(p.relative_to(paths.snippets))
        items.append(snippets.get(rel) or Evidence(f"snippet:{rel}", "", "", snippet=rel))
    for p in notebooks.notebook_files(paths.root):
        rel = str(p.relative_to(paths.root))
        items.append(notebooks_.get(rel) or Evidence(f"notebook:{p.stem}", "", "",
                                                     notebook=rel))
    return items


def file_item_key(item: Evidence, paths: Paths) -> str:
    if item.snippet:
        return cache.key_for([paths.snippets / item.snippet],
                             {"python": sys.version.split()[0]})
    return cache.key_for(notebooks.key_files(paths.root / item.notebook),
                         {"python": sys.version.split()[0],
                          "cell_timeout": notebooks.CELL_TIMEOUT_S})


def experiment_key(experiment: Experiment, paths: Paths, upstream_keys: dict[str, str]) -> str:
    """Key of an experiment: its code (and what it imports), parameters, the files it reads
    (paths and bytes), the keys of the experiments it reads and the data files' layout."""
    module_name, _, function_name = experiment.function.partition(":")
    inputs = input_files(experiment.inputs, paths.root)
    names = [str(p.relative_to(paths.root)) for p in inputs]
    upstream = [upstream_keys[name] for name in experiment.reads]
    return cache.key_for(cache.source_files(module_name) + inputs,
                         [function_name, dict(experiment.params), names, *upstream,
                          stage.DATA_LAYOUT])


def render_key(item: Evidence, hashes: dict[str, str]) -> str:
    """Key of a rendering: the renderer's code, the staging code that turns its output into
    files (figure markup, themes), its parameters and its data's hashes."""
    module_name, _, function_name = item.render.partition(":")
    code = set(cache.source_files(module_name)) | set(cache.source_files(stage.__name__))
    return cache.key_for(sorted(code),
                         [function_name, dict(item.params), [hashes[n] for n in item.data]])


def in_dependency_order(experiments: list[Experiment]) -> list[Experiment]:
    """The experiments, each after the ones it reads; otherwise in the given order."""
    by_name = {e.name: e for e in experiments}
    ordered: list[Experiment] = []
    done: set[str] = set()

    def visit(experiment: Experiment, chain: tuple[str, ...]) -> None:
        if experiment.name in done:
            return
        if experiment.name in chain:
            cycle = " -> ".join(chain + (experiment.name,))
            raise EvidenceError(f"experiments read each other in a cycle: {cycle}")
        for name in experiment.reads:
            if name not in by_name:
                raise EvidenceError(f"experiment {experiment.name!r} reads {name!r}, "
                                    "which is not registered")
            visit(by_name[name], chain + (experiment.name,))
        done.add(experiment.name)
        ordered.append(experiment)

    for experiment in experiments:
        visit(experiment, ())
    return ordered


def restricted(registry: Registry, only: set[str]) -> Registry:
    """The registry cut down to the named evidence items and experiments, with every
    experiment they read (a partial build; used by tests and `--section`)."""
    experiments = {e.name: e for e in registry.experiments}
    wanted = set(only)
    for item in registry.evidence:
        if item.name in only:
            wanted |= set(item.data)
    todo = [name for name in wanted if name in experiments]
    while todo:
        for name in experiments[todo.pop()].reads:
            if name not in wanted:
                wanted.add(name)
                todo.append(name)
    return Registry(
        experiments=tuple(e for e in registry.experiments if e.name in wanted),
        evidence=tuple(item for item in registry.evidence if item.name in only),
        claims=registry.claims,
    )


# --- judging the claims ----------------------------------------------------------------------


def claim_experiments(claim: Claim, registry: Registry) -> list[str]:
    """The experiments whose data a claim's evidence shows, in order, each once."""
    by_name = {item.name: item for item in registry.evidence}
    names: list[str] = []
    for evidence_name in claim.evidence:
        for name in by_name[evidence_name].data if evidence_name in by_name else ():
            if name not in names:
                names.append(name)
    return names


def judge(claim: Claim, registry: Registry, data: dict[str, object]) -> Verdict | None:
    """The claim's verdict from this build's data. A deterministic criterion that fails
    (through `must`, or a "does not hold here" read from no measurement) stops the build."""
    if claim.predicate is None:
        return None
    names = claim_experiments(claim, registry)
    try:
        verdict = claim.predicate({name: data[name] for name in names})
    except CriterionFailed as error:
        raise EvidenceError(f"claim {claim.id} fails its criterion: {error}") from error
    timing = {e.name for e in registry.experiments if e.timing}
    if verdict.status == FAILS_HERE and not timing & set(names):
        raise EvidenceError(f"claim {claim.id} does not hold, and nothing in its data is a "
                            f"measurement that another machine could change: {verdict.reason}")
    return verdict


# --- the build -------------------------------------------------------------------------------


def _fresh(entry: dict | None, key: str, out: Path) -> bool:
    return bool(entry) and entry["key"] == key and all(
        (out / f).is_file() for f in entry["files"]
    )


def _remove_unlisted(paths: Paths, manifest: dict, registry: Registry) -> None:
    """Delete output files no manifest entry lists (a removed snippet's output, a renamed
    notebook's executed copy): the site must not publish evidence nothing produces."""
    listed = ({f for entry in manifest.values() for f in entry["files"]}
              | set(ledger_files(registry)))
    for folder in (paths.include, paths.site):
        for path in folder.rglob("*"):
            if path.is_file() and str(path.relative_to(paths.out)) not in listed:
                path.unlink()


# The one-page PDF's figures: (evidence item, figure key, caption).
CHEATSHEET_FIGURES = (
    ("o1-dependency-figure", "", "Which inputs each output depends on: a chain of steps for "
                                 "the RNN, one step for attention (section 1)."),
    ("a3-trained-model", "it-row", "The weight from 'it' moves from one noun to the other "
                                   "when one word changes, in a model trained here (section 3)."),
    ("c1-time-sweep", "", "Plain attention's time against the length, measured when the site "
                          "was built (section 5)."),
)


def write_cheatsheet_pdf(paths: Paths, registry: Registry, manifest: dict,
                         verdicts: dict[str, Verdict | None], run: "_Run") -> bool:
    """The one-page A4 PDF (cheatsheet_pdf), redrawn when what it shows changed; True if
    it was."""
    statuses = {claim_id: v.status for claim_id, v in verdicts.items() if v is not None}
    sections = cheatsheet_pdf.read_sections(paths.root)
    key = cheatsheet_pdf.source_key(sections, statuses,
                                    [manifest[name]["key"] for name, _, _ in CHEATSHEET_FIGURES])
    marker = paths.out / "cheatsheet-pdf.key"
    target = paths.site / wheel.FOLDER / cheatsheet_pdf.FILE
    if target.exists() and marker.exists() and marker.read_text() == key:
        return False
    start = time.perf_counter()
    items = {item.name: item for item in registry.evidence}
    drawn = []
    for name, figure_key, caption in CHEATSHEET_FIGURES:
        item = items[name]
        rendered = _function(item.render)(*(run.load(n) for n in item.data), **item.params)
        [figure] = [b for blocks in rendered.parts.values() for b in blocks
                    if isinstance(b, Figure) and b.key == figure_key]
        drawn.append((cheatsheet_pdf.draw_png(figure.draw), caption))
    stamp = (f"Made by the site's build on {time.strftime('%Y-%m-%d')}; the verdicts, figures "
             f"and numbers are that build's.")
    cheatsheet_pdf.write(sections, target.parent, statuses, drawn, stamp)
    marker.write_text(key)
    run.log(f"evidence: built {cheatsheet_pdf.FILE} in {time.perf_counter() - start:.1f} s")
    return True


def ledger_files(registry: Registry) -> list[str]:
    """What every full build writes after judging: the ledger, the machine line, evidence.json
    and one verdict note and one badge per claim."""
    return (["include/ledger.md", "include/machine.md", "site/evidence.json",
             f"site/{wheel.FOLDER}/{cheatsheet_pdf.FILE}"]
            + [f"include/{stage.verdict_file(claim.id)}" for claim in registry.claims]
            + [f"include/{stage.badge_file(claim.id)}" for claim in registry.claims])


class _Run:
    """One build's state: the manifest it updates and the data it has read."""

    def __init__(self, paths: Paths, manifest: dict, force: bool, log) -> None:
        self.paths, self.manifest, self.force, self.log = paths, manifest, force, log
        self.data: dict[str, object] = {}
        # One figure shown on two pages (same renderer, params and data) is drawn once.
        self.renderings: dict[str, object] = {}  # render key -> Rendered
        self.drawn: dict[object, dict[str, str]] = {}  # Figure -> SVG text per theme

    def stale(self, name: str, key: str) -> bool:
        return self.force or not _fresh(self.manifest.get(name), key, self.paths.out)

    def asset(self, name: str, key: str, make) -> bool:
        """A file the site offers that no claim reads (the wheel, the math font): `make()`
        writes it and returns its paths, when its key changed. True if it ran."""
        if not self.stale(name, key):
            return False
        start = time.perf_counter()
        self.record(name, key, make(), start, False)
        return True

    def record(self, name: str, key: str, files, start: float, timing: bool,
               **extra) -> None:
        seconds = time.perf_counter() - start
        self.log(f"evidence: built {name} in {seconds:.1f} s")
        self.manifest[name] = {
            "key": key, "seconds": round(seconds, 2), "timing": timing,
            "files": sorted(str(Path(f).resolve().relative_to(self.paths.out)) for f in files),
            **extra,
        }

    def load(self, experiment: str):
        if experiment not in self.data:
            path = self.paths.site / stage.data_file(experiment)
            self.data[experiment] = json.loads(path.read_text(encoding="utf-8"))
        return self.data[experiment]

    # -- step 1: snippets and notebooks

    def run_file_item(self, item: Evidence, key: str) -> None:
        start = time.perf_counter()
        if item.snippet:
            text = run_snippet(self.paths.snippets / item.snippet)
            files = [stage.write_text(self.paths.include / output_name(item.snippet), text)]
        else:
            files = notebooks.run(self.paths.root / item.notebook, self.paths.site)
        self.record(item.name, key, files, start, item.timing)

    # -- step 2: experiments

    def run_experiment(self, experiment: Experiment, key: str) -> None:
        start = time.perf_counter()
        extra = {}
        if experiment.reads:
            extra["upstream"] = {name: self.load(name) for name in experiment.reads}
        if experiment.inputs:
            extra["files"] = {
                str(p.relative_to(self.paths.root)): p.read_text(encoding="utf-8")
                for p in input_files(experiment.inputs, self.paths.root)}
        try:
            data = _function(experiment.function)(**experiment.params, **extra)
            text = stage.json_text(data)
        except Exception as error:
            raise EvidenceError(f"experiment {experiment.name} failed: "
                                f"{type(error).__name__}: {error}") from error
        path = stage.write_text(self.paths.site / stage.data_file(experiment.name), text)
        self.data[experiment.name] = json.loads(text)  # what renderers see is what is published
        self.record(data_entry(experiment.name), key, [path], start, experiment.timing,
                    data_hash=hashlib.sha256(text.encode()).hexdigest())

    # -- step 4: renderings

    def run_render(self, item: Evidence, key: str) -> None:
        start = time.perf_counter()
        try:
            if key not in self.renderings:
                self.renderings[key] = _function(item.render)(
                    *(self.load(n) for n in item.data), **item.params)
            rendered = self.renderings[key]
            files = stage.stage(item.name, rendered, self.paths.include, self.paths.site,
                                self.drawn)
        except Exception as error:
            raise EvidenceError(f"rendering {item.name} failed: "
                                f"{type(error).__name__}: {error}") from error
        self.record(item.name, key, files, start, False)


def build(root: Path, out: Path, *, force: bool = False, log=print,
          registry: Registry = REGISTRY, only: set[str] | None = None) -> dict:
    """Bring every snippet, notebook, experiment and rendering up to date, judge the claims,
    write the ledger; return the manifest. `only` restricts the run to the named evidence
    items and experiments and what they read (a partial manifest; used by tests)."""
    paths = Paths(root.resolve(), out.resolve())
    manifest_path = paths.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for folder in (paths.include, paths.site):
        folder.mkdir(parents=True, exist_ok=True)

    items = file_items(registry, paths)
    full = registry  # claims are judged against the whole registry, even in a partial build
    if only is not None:
        registry = restricted(registry, only)
        items = [item for item in items if item.name in only]
    experiments = in_dependency_order(list(registry.experiments))
    rendered = [item for item in registry.evidence if item.render]
    full_build = only is None and (paths.root / "pyproject.toml").is_file()
    known = ({item.name for item in items + rendered}
             | {data_entry(e.name) for e in experiments}
             | ({WHEEL_ENTRY, MATH_FONT_ENTRY} if full_build else set()))
    run = _Run(paths, manifest, force, log)
    ran = False
    try:
        # 1. Separate processes run side by side, one per core; anything that measures time
        # runs afterwards, alone, so the others do not disturb it.
        stale = [(item, key) for item in items
                 if run.stale(item.name, key := file_item_key(item, paths))]
        ran |= bool(stale)
        side_by_side = [s for s in stale if not s[0].timing]
        with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
            list(pool.map(lambda s: run.run_file_item(*s), side_by_side))
        for item, key in stale:
            if item.timing:
                run.run_file_item(item, key)
        # 2. Experiments, each after those it reads.
        keys: dict[str, str] = {}
        for experiment in experiments:
            keys[experiment.name] = key = experiment_key(experiment, paths, keys)
            if run.stale(data_entry(experiment.name), key):
                run.run_experiment(experiment, key)
                ran = True
        hashes = {e.name: manifest[data_entry(e.name)]["data_hash"] for e in experiments}
        # 4. Renderings (3, the verdicts, need no files and come with the ledger below).
        for item in rendered:
            key = render_key(item, hashes)
            if run.stale(item.name, key):
                run.run_render(item, key)
                ran = True
        # 5. The library as a wheel, for the notebooks' readers, and 6. the math font the
        # pages' formulas are drawn with (a repository's full build).
        if full_build:
            ran |= run.asset(WHEEL_ENTRY, wheel.source_key(paths.root), lambda: [
                wheel.build_wheel(paths.root, paths.site / wheel.FOLDER)])
            ran |= run.asset(MATH_FONT_ENTRY, math_font.source_key(),
                             lambda: math_font.build_font(paths.site / math_font.FOLDER))
    finally:  # what did build stays cached, even when a later item fails; a partial
        # build keeps the other items' entries too
        kept = {name: entry for name, entry in sorted(manifest.items())
                if name in known or only is not None}
        stage.write_text(manifest_path, json.dumps(kept, indent=1, sort_keys=True) + "\n")
    if only is None:
        _remove_unlisted(paths, kept, full)

    verdicts = {}
    built = {e.name for e in experiments}
    for claim in registry.claims:
        needed = claim_experiments(claim, full)
        if only is not None and not set(needed) <= built:
            continue  # a partial build judges only the claims whose data it has
        verdicts[claim.id] = judge(claim, full, {n: run.load(n) for n in needed}
                                   if claim.predicate else {})
    if only is not None:
        for claim_id, verdict in verdicts.items():
            if verdict:
                log(f"evidence: {claim_id} {verdict.status}: {verdict.reason}")
        return kept
    stage.write_text(paths.include / "ledger.md", render_markdown(full, kept, verdicts))
    for claim in full.claims:  # the sentence each page shows where the data disagrees
        stage.write_text(paths.include / stage.verdict_file(claim.id),
                         verdict_note(claim, verdicts.get(claim.id)))
        stage.write_text(paths.include / stage.badge_file(claim.id),
                         badge(claim, verdicts.get(claim.id)))
    stage.write_text(paths.site / "evidence.json", render_json(full, kept, verdicts))
    stage.write_text(paths.include / "machine.md", machine_markdown())
    if full_build and (paths.root / "snippets" / "short").is_dir():
        ran |= write_cheatsheet_pdf(paths, full, kept, verdicts, run)
    if not ran:
        log("evidence: all cached")
    return kept
