"""Command line: `python -m attnsheet.evidence build|list [--out DIR] [--force]`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .build import EvidenceError, build
from .notebooks import NotebookError
from .claims import CLAIMS
from .ledger import statuses
from .registry import EVIDENCE

ROOT = Path(__file__).resolve().parents[3]  # repository root (src/attnsheet/evidence/..)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnsheet.evidence")
    parser.add_argument("command", choices=["build", "list"])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--out", type=Path, default=None, help="default: <root>/build/evidence")
    parser.add_argument("--force", action="store_true", help="ignore the cache")
    args = parser.parse_args(argv)
    out = args.out or args.root / "build" / "evidence"

    start = time.perf_counter()
    try:
        manifest = build(args.root, out, force=args.force and args.command == "build",
                         log=lambda msg: print(msg, file=sys.stderr))
    except (EvidenceError, NotebookError) as error:
        print(f"evidence build failed: {error}", file=sys.stderr)
        return 1
    if args.command == "list":
        status = statuses(CLAIMS, EVIDENCE, manifest)
        for claim in CLAIMS:
            print(f"{claim.id:3} {status[claim.id]:8} {claim.text}")
    print(f"evidence: done in {time.perf_counter() - start:.1f} s -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
