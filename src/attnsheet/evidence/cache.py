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
import json
from importlib import metadata
from pathlib import Path

PACKAGE = "attnsheet"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/attnsheet
LIBRARIES = ("numpy", "torch", "matplotlib")


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


@functools.lru_cache(maxsize=None)  # one build asks for the same files many times
def _imported_modules(path: Path, module: str) -> frozenset[str]:
    """Names of the `attnsheet` modules that the file at `path` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
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
            submodules = {name for name in submodules if module_path(name) is not None}
            found.update(submodules)
            # `from . import measure` names a module, not the package: the package's
            # __init__ (which re-exports the whole pipeline) does not join the key.
            if len(submodules) < len(node.names):
                found.add(base)
    return frozenset(name for name in found if module_path(name) is not None)


def source_files(module: str) -> list[Path]:
    """The module's file and every `attnsheet` file it imports, transitively, sorted."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = module_path(name)
        if path is None or name in seen:
            continue
        seen[name] = path
        todo.extend(_imported_modules(path, name) - seen.keys())
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
