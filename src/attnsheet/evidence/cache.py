"""Cache keys for evidence: the hash of the code and parameters that produce it.

A builder's key covers its own module, every `attnsheet` module it imports (followed
transitively, read from the source with `ast`, so nothing is imported to compute a key),
the parameters it is called with, and the versions of the numeric libraries. A change to
any of them re-runs that builder and only that builder.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import json
from importlib import metadata
from pathlib import Path

PACKAGE = "attnsheet"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/attnsheet
# Libraries whose version can change what the experiments compute (the model loaders read
# their files and tokenize with the last two).
LIBRARIES = ("numpy", "torch", "matplotlib", "tokenizers", "gguf")


def module_path(module: str) -> Path | None:
    """Source file of an `attnsheet` module name, or None if it is not ours."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=1)
def lazy_homes() -> dict[str, str]:
    """`attnsheet/__init__.py`'s `_HOME` map (public name -> submodule), read with ast:
    `from attnsheet import attention_torch` runs `attnsheet/attention.py`."""
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_HOME" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


@functools.lru_cache(maxsize=None)  # one build asks for the same files many times
def imported_modules(path: Path, module: str = "") -> frozenset[str]:
    """Names of the `attnsheet` modules that the file at `path` imports. `module` is the
    file's own module name (for relative imports); a file outside the package (a notebook)
    leaves it empty."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            if base == PACKAGE:  # names the package re-exports lazily: its map, their homes
                homes = {lazy_homes()[a.name] for a in node.names if a.name in lazy_homes()}
                submodules |= {f"{PACKAGE}.{home}" for home in homes}
                if homes:
                    found.add(base)
            submodules = {name for name in submodules if module_path(name) is not None}
            found.update(submodules)
            # `from . import measure` names a module, not the package: the package's
            # __init__ (which re-exports the whole pipeline) does not join the key.
            if len(submodules) < len(node.names):
                found.add(base)
    return frozenset(name for name in found if module_path(name) is not None)


def _outside_file(module: str) -> Path | None:
    """Source file of a top-level module outside the package (found, not imported)."""
    if "." in module:
        return None
    spec = importlib.util.find_spec(module)
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def source_files(module: str) -> list[Path]:
    """The module's file and every `attnsheet` file it imports, transitively, sorted. A
    top-level module outside the package (a test's toy experiment) is keyed by its own file
    and the `attnsheet` modules it imports."""
    seen: dict[str, Path] = {}
    todo = [module]
    outside = _outside_file(module) if module_path(module) is None else None
    if outside:
        seen[module] = outside
        todo = list(imported_modules(outside))
    while todo:
        name = todo.pop()
        path = module_path(name)
        if path is None or name in seen:
            continue
        seen[name] = path
        todo.extend(imported_modules(path, name) - seen.keys())
    return sorted(set(seen.values()))


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Installed versions of the numeric libraries (read from metadata, no import)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def key_for(files: list[Path], params: object = None) -> str:
    """SHA-256 over the files' bytes, the parameters (as JSON) and library versions."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(params, sort_keys=True, default=repr).encode())
    digest.update(json.dumps(library_versions(), sort_keys=True).encode())
    return digest.hexdigest()
