"""Build the evidence: run snippets and builders whose code changed, write the ledger.

Layout of the output folder (outside `docs/`, so `mkdocs serve` does not loop):

    <out>/manifest.json      cache: item -> key, files, seconds
    <out>/include/           text the pages include with pymdownx.snippets
        outputs/<section>/<name>.txt   captured stdout of snippets/<section>/<name>.py
        figures/...                    Markdown fragments (images + computed captions)
        ledger.md, machine.md
    <out>/site/              files copied into the built site as they are
        figures/..., data/..., evidence.json
        notebooks/<name>.ipynb           notebooks/<name>.py, executed (see notebooks.py)
"""

from __future__ import annotations

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

from . import cache, notebooks
from .claims import CLAIMS
from .ledger import render_json, render_markdown, statuses
from .machine import machine_markdown
from .registry import EVIDENCE, Evidence

SNIPPET_TIMEOUT_S = 300


class EvidenceError(RuntimeError):
    """A snippet or builder failed; the message names it and shows its error."""


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


def _write_if_changed(path: Path, text: str) -> None:
    # Keeping mtimes still when nothing changed keeps builds reproducible and quiet.
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


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


def _builder_function(item: Evidence):
    module_name, _, function_name = item.builder.partition(":")
    return module_name, function_name


def input_files(item: Evidence, root: Path) -> list[Path]:
    """The repository files matched by an item's `inputs` patterns, sorted."""
    return sorted({p for pattern in item.inputs for p in root.glob(pattern) if p.is_file()})


def item_key(item: Evidence, paths: Paths, read_keys: dict[str, str] | None = None) -> str:
    """Cache key of one evidence item: snippet bytes, or builder code + params + the files
    it reads (`inputs`) + the keys of the items it reads (`reads`; `read_keys`, name -> key)."""
    if item.snippet:
        files = [paths.snippets / item.snippet]
        return cache.key_for(files, {"python": sys.version.split()[0]})
    if item.notebook:
        return cache.key_for(notebooks.key_files(paths.root / item.notebook),
                             {"python": sys.version.split()[0],
                              "cell_timeout": notebooks.CELL_TIMEOUT_S})
    module_name, function_name = _builder_function(item)
    inputs = input_files(item, paths.root)
    # Input paths (not only bytes) join the key: a renamed page is a different input.
    names = [str(p.relative_to(paths.root)) for p in inputs]
    upstream = [read_keys[name] for name in item.reads]
    return cache.key_for(cache.source_files(module_name) + inputs,
                         [function_name, item.params, names, *upstream])


def in_dependency_order(items: list[Evidence]) -> list[Evidence]:
    """The items, each after the items it reads (`reads`); otherwise in the given order."""
    by_name = {item.name: item for item in items}
    ordered: list[Evidence] = []
    done: set[str] = set()

    def visit(item: Evidence, chain: tuple[str, ...]) -> None:
        if item.name in done:
            return
        if item.name in chain:
            cycle = " -> ".join(chain + (item.name,))
            raise EvidenceError(f"evidence reads form a cycle: {cycle}")
        for name in item.reads:
            if name not in by_name:
                raise EvidenceError(f"evidence {item.name!r} reads {name!r}, which is not built")
            visit(by_name[name], chain + (item.name,))
        done.add(item.name)
        ordered.append(item)

    for item in items:
        visit(item, ())
    return ordered


def with_reads(names: set[str], evidence: tuple[Evidence, ...]) -> set[str]:
    """`names` and, transitively, every item they read."""
    by_name = {item.name: item for item in evidence}
    result, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in result:
            result.add(name)
            todo.extend(by_name[name].reads if name in by_name else ())
    return result


LEDGER_FILES = ("include/ledger.md", "include/machine.md", "site/evidence.json")


def _remove_unlisted(paths: Paths, manifest: dict) -> None:
    """Delete output files no manifest entry lists (a removed snippet's output, a renamed
    notebook's executed copy): the site must not publish evidence nothing produces."""
    listed = {f for entry in manifest.values() for f in entry["files"]} | set(LEDGER_FILES)
    for folder in (paths.include, paths.site):
        for path in folder.rglob("*"):
            if path.is_file() and str(path.relative_to(paths.out)) not in listed:
                path.unlink()


def _fresh(entry: dict | None, key: str, out: Path) -> bool:
    return bool(entry) and entry["key"] == key and all(
        (out / f).is_file() for f in entry["files"]
    )


def build(root: Path, out: Path, *, force: bool = False, log=print,
          evidence: tuple[Evidence, ...] = EVIDENCE, only: set[str] | None = None) -> dict:
    """Bring every evidence item (and every snippet's output) up to date; return the manifest.

    `only` restricts the run to the named items and the items they read (a partial
    manifest; used by tests).
    """
    paths = Paths(root.resolve(), out.resolve())
    manifest_path = paths.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for folder in (paths.include, paths.site):
        folder.mkdir(parents=True, exist_ok=True)

    # Every snippet runs (registered as evidence or not): every page output is captured.
    registered = {item.snippet: item for item in evidence if item.snippet}
    snippet_items = [
        registered.get(str(p.relative_to(paths.snippets)))
        or Evidence(f"snippet:{p.relative_to(paths.snippets)}", (), "", "",
                    snippet=str(p.relative_to(paths.snippets)))
        for p in snippet_files(paths.snippets)
    ]
    # Likewise every notebook is executed, registered or not.
    registered_notebooks = {item.notebook: item for item in evidence if item.notebook}
    snippet_items += [
        registered_notebooks.get(str(p.relative_to(paths.root)))
        or Evidence(f"notebook:{p.stem}", (), "", "", notebook=str(p.relative_to(paths.root)))
        for p in notebooks.notebook_files(paths.root)
    ]
    builder_items = [item for item in evidence if item.builder]
    if only is not None:
        only = with_reads(only, evidence)
        snippet_items = [item for item in snippet_items if item.name in only]
        builder_items = [item for item in builder_items if item.name in only]

    stale = []
    keys: dict[str, str] = {}
    for item in in_dependency_order(snippet_items + builder_items):
        keys[item.name] = key = item_key(item, paths, keys)
        if force or not _fresh(manifest.get(item.name), key, paths.out):
            stale.append((item, key))

    def run(item_and_key):
        item, key = item_and_key
        start = time.perf_counter()
        if item.snippet:
            text = run_snippet(paths.snippets / item.snippet)
            target = paths.include / output_name(item.snippet)
            _write_if_changed(target, text)
            files = [target]
        elif item.notebook:
            files = notebooks.run(paths.root / item.notebook, paths.site)
        else:
            module_name, function_name = _builder_function(item)
            function = getattr(importlib.import_module(module_name), function_name)
            extra = {"root": paths.root} if item.inputs else {}
            files = function(paths.site, paths.include, **item.params, **extra)
        seconds = time.perf_counter() - start
        log(f"evidence: built {item.name} in {seconds:.1f} s")
        return item.name, {
            "key": key,
            "files": sorted(str(Path(f).resolve().relative_to(paths.out)) for f in files),
            "seconds": round(seconds, 2),
            "timing": item.timing,
        }

    # Snippets and notebooks are separate processes: run them side by side, one per core.
    # Anything that measures time runs afterwards, alone, so the others do not disturb it.
    def separate_process(item: Evidence) -> bool:
        return bool(item.snippet or item.notebook) and not item.timing

    side_by_side = [s for s in stale if separate_process(s[0])]
    alone = [s for s in stale if not separate_process(s[0])]
    known = {item.name for item in snippet_items + builder_items}

    def save_manifest() -> dict:
        kept = {name: entry for name, entry in sorted(manifest.items()) if name in known}
        _write_if_changed(manifest_path, json.dumps(kept, indent=1, sort_keys=True) + "\n")
        return kept

    try:
        with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
            for name, entry in pool.map(run, side_by_side):
                manifest[name] = entry
        for name, entry in map(run, alone):
            manifest[name] = entry
    finally:  # what did build stays cached, even when a later item fails
        manifest = save_manifest()
    if only is None:
        _remove_unlisted(paths, manifest)

    status = statuses(CLAIMS, evidence, manifest)
    _write_if_changed(paths.include / "ledger.md",
                      render_markdown(CLAIMS, evidence, manifest, status))
    _write_if_changed(paths.site / "evidence.json",
                      render_json(CLAIMS, evidence, manifest, status))
    _write_if_changed(paths.include / "machine.md", machine_markdown())
    if not stale:
        log("evidence: all cached")
    return manifest
