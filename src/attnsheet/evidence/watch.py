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
from typing import Callable

WATCHED = ("src/attnsheet/**/*.py", "snippets/**/*.py", "snippets/short/*.md", "notebooks/*.py",
           "docs/*.md")
POLL_S = 0.1
PAGES_DELAY_S = 1.5  # after a page-only edit, before the page checks re-run


def snapshot(root: Path) -> dict[Path, tuple[int, int]]:
    """(modification time, size) of every watched file: the size catches an edit saved
    within the file system's timestamp granularity."""
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for pattern in WATCHED
            for p in root.glob(pattern) if p.is_file()}


def build_in_fresh_process(root: Path, out: Path) -> bool:
    """Run the evidence build in a new interpreter (edited modules are imported anew)."""
    command = [sys.executable, "-m", "attnsheet.evidence", "build", "--root", str(root),
               "--out", str(out)]
    return subprocess.run(command, cwd=root).returncode == 0


def watch(root: Path, out: Path, *, poll_s: float = POLL_S, rounds: int | None = None,
          build: Callable[[Path, Path], bool] = build_in_fresh_process,
          pages_delay_s: float = PAGES_DELAY_S) -> None:
    """Build now, then after every change; `rounds` bounds the loop (tests)."""
    seen: dict[Path, tuple[int, int]] = {}
    while rounds is None or rounds > 0:
        current = snapshot(root)
        if current != seen:
            changed = {p for p in current.keys() | seen.keys() if current.get(p) != seen.get(p)}
            if seen and all(p.suffix == ".md" for p in changed):
                # Only pages changed: the site generator shows the edit itself; the page
                # checks can wait until it has had the cores.
                time.sleep(pages_delay_s)
                current = snapshot(root)
            # `seen` is the snapshot taken before the build: an edit saved while it runs
            # triggers the next one (the build writes only outside the watched files).
            seen = current
            start = time.perf_counter()
            state = "ok" if build(root, out) else "FAILED (the site keeps the last good)"
            print(f"evidence watch: build {state} in {time.perf_counter() - start:.1f} s",
                  file=sys.stderr, flush=True)
        if rounds is not None:
            rounds -= 1
        time.sleep(poll_s)
