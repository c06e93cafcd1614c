"""A throwaway virtual environment with Hugging Face transformers, for the reference scripts.

transformers is not a dependency of the project. `scripts/minilm_reference.py` and
`scripts/smollm_reference.py` compare the library's model loaders against it: when it is not
importable, they make a venv under `build/` (ignored by git), install torch 2.13.0 first (so
that transformers cannot pull a CUDA build of torch), then transformers and what the model
needs, and run themselves there. A venv with a CUDA torch or NVIDIA packages is refused.
`TORCH_INSTALL_ARGS` passes extra pip arguments for torch, as in the Makefile.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path


def make_reference_venv(venv: Path, packages: list[str], no_deps: list[str]) -> Path:
    """A venv with the CPU torch 2.13.0, transformers and `packages`, plus `no_deps`
    installed without their dependencies (the model packages); returns its python."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        torch_args = shlex.split(os.environ.get("TORCH_INSTALL_ARGS", ""))
        # torch first and pinned: transformers' own requirements are then already met.
        subprocess.run(pip + ["torch==2.13.0", *torch_args], check=True)
        subprocess.run(pip + ["transformers", *packages], check=True)
        subprocess.run(pip + ["--no-deps", *no_deps], check=True)
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout
    nvidia = [line for line in listed.splitlines() if line.lower().startswith("nvidia")]
    cuda = subprocess.run([str(python), "-c", "import torch; print(torch.version.cuda)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    if nvidia or cuda != "None":
        raise SystemExit(f"{venv} has a CUDA torch ({cuda}) or NVIDIA packages {nvidia}: "
                         "delete it and rerun with a CPU torch")
    return python


def run_in_reference_venv(script: str, venv: Path, packages: list[str],
                          no_deps: list[str]) -> None:
    """Rerun `script` with the same arguments in the reference venv unless transformers is
    importable here; exits with its return code."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        python = make_reference_venv(venv, packages, no_deps)
        sys.exit(subprocess.run([str(python), script, *sys.argv[1:]]).returncode)


def rounded(tensor) -> list:
    """Nested lists of floats with 8 significant digits: exact far below the tolerances,
    and a third of the size of full float reprs."""
    if tensor.dim() == 0:
        return float(f"{float(tensor):.8g}")
    return [rounded(t) for t in tensor]


def write_fixture(path: Path, content: dict, rows_key: str) -> None:
    """The fixture as JSON with one line per key and one per row of `content[rows_key]`:
    readable diffs without a line per number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in content.items() if k != rows_key]
    lines.append(f' "{rows_key}": [\n' + ",\n".join(
        "  " + json.dumps(row, separators=(",", ":")) for row in content[rows_key]) + "\n ]")
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
