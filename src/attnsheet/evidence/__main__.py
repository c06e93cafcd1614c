"""Command line: `python -m attnsheet.evidence build|list|watch [--section NAME] [--force]`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .build import EvidenceError, build
from .notebooks import NotebookError
from .registry import REGISTRY, SECTIONS

ROOT = Path(__file__).resolve().parents[3]  # repository root (src/attnsheet/evidence/..)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnsheet.evidence")
    parser.add_argument("command", choices=["build", "list", "watch"])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--out", type=Path, default=None, help="default: <root>/build/evidence")
    parser.add_argument("--force", action="store_true", help="ignore the cache")
    parser.add_argument("--section", choices=SECTIONS, default=None,
                        help="only the evidence shown on this section's page (and what it "
                             "reads); claims judged where their data was built")
    args = parser.parse_args(argv)
    out = args.out or args.root / "build" / "evidence"
    only = REGISTRY.section(args.section) if args.section else None
    if only is not None:
        snippets = args.section + "/"
        only |= {f"snippet:{p.relative_to(args.root / 'snippets')}"
                 for p in (args.root / "snippets" / args.section).glob("*.py")}
        only |= {item.name for item in REGISTRY.evidence
                 if item.snippet and item.snippet.startswith(snippets)}

    if args.command == "watch":
        from .watch import watch

        try:
            watch(args.root, out)
        except KeyboardInterrupt:
            pass
        return 0
    start = time.perf_counter()
    try:
        build(args.root, out, force=args.force and args.command == "build",
              log=lambda msg: print(msg, file=sys.stderr), only=only)
    except (EvidenceError, NotebookError) as error:
        print(f"evidence build failed: {error}", file=sys.stderr)
        return 1
    if args.command == "list" and only is None:
        for row in json.loads((out / "site" / "evidence.json").read_text()):
            print(f"{row['id']:3} {row['verdict']:21} {row['reason'] or row['claim']}")
    print(f"evidence: done in {time.perf_counter() - start:.1f} s -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
