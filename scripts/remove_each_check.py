"""Remove the library's input checks one at a time and see whether the bad-input tests notice.

    python scripts/remove_each_check.py               # every check (about 7 s each)
    python scripts/remove_each_check.py --sample 40   # a seeded sample
    python scripts/remove_each_check.py --jobs 2      # two at a time
    python scripts/remove_each_check.py --files rnn.py tinylm.py

A check is a statement that only calls a validator: `require_...(...)`, `_check...(...)` or
`self._check...(...)`, in the library's modules (not the evidence pipeline). Each is replaced
by `pass` in a private copy of `src/` and `tests/`, and `tests/test_bad_inputs.py`'s exhaustive
pass runs against that copy (stopping at the first failure); the working tree is never touched,
so editing while it runs is safe. A check whose removal no test notices is listed as a survivor:
either the tests miss a case, or another check already covers it.
"""

from __future__ import annotations

import argparse
import ast
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted(p for p in (ROOT / "src" / "attnsheet").glob("*.py") if p.name != "__init__.py")
TEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
        "tests/test_bad_inputs.py", "-k", "every_corruption"]


def _is_check(call: ast.Call) -> bool:
    target = call.func
    if isinstance(target, ast.Name):
        return target.id.startswith(("require_", "_check"))
    return (isinstance(target, ast.Attribute) and target.attr.startswith("_check")
            and isinstance(target.value, ast.Name) and target.value.id == "self")


def checks(path: Path) -> list[tuple[int, int]]:
    """(first line, last line) of every statement in `path` that only calls a validator."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.end_lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and _is_check(node.value)]


def without(text: str, first: int, last: int) -> str:
    lines = text.splitlines(keepends=True)
    indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
    return "".join(lines[: first - 1] + [f"{indent}pass  # check removed\n"] + lines[last:])


def private_copy(into: Path) -> Path:
    """A copy of what the bad-input tests need, so a removed check never touches the tree."""
    for part in ("src", "tests"):
        shutil.copytree(ROOT / part, into / part,
                        ignore=shutil.ignore_patterns("__pycache__", "vendor", "fixtures"))
    shutil.copy2(ROOT / "pyproject.toml", into / "pyproject.toml")
    return into


def try_without(copy: Path, path: Path, first: int, last: int) -> bool:
    """Whether the tests fail with the check at `path` lines first..last removed in `copy`."""
    target = copy / path.relative_to(ROOT)
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(without(original, first, last), encoding="utf-8")
        # The copy's src/ goes first on the path, ahead of the editable install.
        env = {**os.environ, "PYTHONPATH": str(copy / "src"), "OMP_NUM_THREADS": "1"}
        done = subprocess.run(TEST, cwd=copy, env=env, capture_output=True, text=True)
    finally:
        target.write_text(original, encoding="utf-8")
    return done.returncode != 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, help="try this many checks, chosen at random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="checks tried at once")
    parser.add_argument("--files", nargs="+", metavar="NAME",
                        help="only these library files (e.g. rnn.py tinylm.py)")
    args = parser.parse_args()
    library = [path for path in LIBRARY if not args.files or path.name in args.files]
    found = [(path, span) for path in library for span in checks(path)]
    lines = {path: path.read_text(encoding="utf-8").splitlines() for path in LIBRARY}
    if args.sample:
        found = random.Random(args.seed).sample(found, min(args.sample, len(found)))
    with tempfile.TemporaryDirectory() as scratch:
        # One private copy per worker; a worker takes a copy, uses it, and puts it back.
        copies: queue.Queue[Path] = queue.Queue()
        for job in range(max(1, args.jobs)):
            copies.put(private_copy(Path(scratch) / f"copy{job}"))

        def attempt(item: tuple[Path, tuple[int, int]]) -> tuple[Path, int, bool]:
            path, (first, last) = item
            copy = copies.get()
            try:
                return path, first, try_without(copy, path, first, last)
            finally:
                copies.put(copy)

        survivors = []
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for path, first, caught in pool.map(attempt, found):
                line = lines[path][first - 1].strip()
                print(f"{'caught  ' if caught else 'SURVIVED'} {path.name}:{first}  {line}",
                      flush=True)
                if not caught:
                    survivors.append(f"{path.name}:{first}")
    print(f"\n{len(found) - len(survivors)} of {len(found)} removed checks were caught; "
          f"survivors: {', '.join(survivors) or 'none'}")
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
