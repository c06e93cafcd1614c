"""The library as a wheel for readers: built by pip from a copy of the package's sources,
published under `downloads/` in the site, rebuilt only when those sources change. The
notebooks import `attnsheet`; `pip install` of this one file is all they need beyond the
libraries it declares (numpy, torch, matplotlib)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FOLDER = "downloads"  # under the site root
SOURCES = ("pyproject.toml", "README.md")  # beside src/attnsheet/**, what the wheel is built from


def source_files(root: Path) -> list[Path]:
    package = sorted(p for p in (root / "src" / "attnsheet").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    return [root / name for name in SOURCES] + package


def source_key(root: Path) -> str:
    """Hash of every file the wheel is built from, with its path."""
    digest = hashlib.sha256()
    for path in source_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_wheel(root: Path, dest: Path) -> Path:
    """`pip wheel` on a copy of the sources (the repository's own build/ stays untouched);
    returns the wheel's path in `dest`, the only wheel there."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "src-copy"
        for path in source_files(root):
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        out = Path(tmp) / "wheel"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--quiet", "--wheel-dir", str(out), str(copy)], check=True)
        [built] = out.glob("*.whl")
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("*.whl"):
            old.unlink()
        return Path(shutil.copy2(built, dest / built.name))
