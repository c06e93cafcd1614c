"""Keep the evidence current while a site generator serves the last good site.

`python -m attnsheet.evidence watch` polls the code the evidence depends on and, after each
change, runs the evidence build in a fresh process (so an edited library module is imported
anew). The generator watches only the staged files (`make serve` sets this up), so it keeps
answering with the previous site while experiments re-run, and rebuilds in about a second
once their staged files change.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

WATCHED = ("src/attnsheet/**/*.py", "snippets/**/*.py", "notebooks/*.py", "docs/*.md")
POLL_S = 0.3


def snapshot(root: Path) -> dict[Path, float]:
    """Modification time of every watched file."""
    return {p: p.stat().st_mtime for pattern in WATCHED for p in root.glob(pattern)
            if p.is_file()}


def watch(root: Path, out: Path, *, poll_s: float = POLL_S, rounds: int | None = None) -> None:
    """Build now, then after every change; `rounds` bounds the loop (tests)."""
    command = [sys.executable, "-m", "attnsheet.evidence", "build", "--root", str(root),
               "--out", str(out)]
    seen: dict[Path, float] = {}
    while rounds is None or rounds > 0:
        current = snapshot(root)
        if current != seen:
            seen = current
            start = time.perf_counter()
            done = subprocess.run(command, cwd=root)
            state = "ok" if done.returncode == 0 else "FAILED (the site keeps the last good)"
            print(f"evidence watch: build {state} in {time.perf_counter() - start:.1f} s",
                  file=sys.stderr, flush=True)
            seen = snapshot(root)  # what the build itself touched does not count as an edit
        if rounds is not None:
            rounds -= 1
        time.sleep(poll_s)
