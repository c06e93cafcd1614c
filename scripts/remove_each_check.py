"""Remove the library's input checks one at a time and see whether the bad-input tests notice.

    python scripts/remove_each_check.py               # every check (about 10 s each)
    python scripts/remove_each_check.py --sample 40   # a seeded sample

A check is a statement that only calls a validator: `require_...(...)`, `_check...(...)` or
`self._check...(...)`, in the library's modules (not the evidence pipeline). Each is replaced
by `pass`, `tests/test_bad_inputs.py`'s exhaustive pass runs (stopping at the first failure),
and the file is restored. A check whose removal no test notices is listed as a survivor: either
the tests miss a case, or another check already covers it (say which in the code).
"""

from __future__ import annotations

import argparse
import ast
import random
import subprocess
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, help="try this many checks, chosen at random")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    found = [(path, span) for path in LIBRARY for span in checks(path)]
    if args.sample:
        found = random.Random(args.seed).sample(found, min(args.sample, len(found)))
    survivors = []
    for path, (first, last) in found:
        original = path.read_text(encoding="utf-8")
        try:
            path.write_text(without(original, first, last), encoding="utf-8")
            done = subprocess.run(TEST, cwd=ROOT, capture_output=True, text=True)
        finally:
            path.write_text(original, encoding="utf-8")
        line = original.splitlines()[first - 1].strip()
        caught = done.returncode != 0
        print(f"{'caught  ' if caught else 'SURVIVED'} {path.name}:{first}  {line}", flush=True)
        if not caught:
            survivors.append(f"{path.name}:{first}")
    print(f"\n{len(found) - len(survivors)} of {len(found)} removed checks were caught; "
          f"survivors: {', '.join(survivors) or 'none'}")


if __name__ == "__main__":
    main()
