"""Measure the project's time budgets on this machine and print a report.

    python scripts/bench.py            # everything (about two minutes plus the test suite)
    python scripts/bench.py --no-tests # skip the test suite timing

Reports: clean build (empty evidence cache), warm build, rebuild after a one-word prose edit
under `mkdocs serve`, cold evidence time per item and per claim, each page's transfer size
(HTML + CSS + JS + images, gzip; the search index aside) with the largest named, and the full
test suite. Budgets: clean build <= 120 s, prose-edit rebuild <= 2 s, section page <= 300 KB
compressed, test suite <= 10 min. A benchmark, not a test: it never fails on time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from attnsheet.evidence.machine import machine_line

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' browser helpers: one way to serve and launch
from tests.browser import free_port  # noqa: E402
ENV = dict(os.environ, NO_MKDOCS_2_WARNING="1")
PROSE_PAGE = ROOT / "docs" / "idea.md"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def page_weights(site_dir: Path) -> dict[str, int]:
    """Site path of each page -> gzip bytes of everything Chromium fetches to show it
    (HTML, CSS, JS, images, the data files scripts load), the search index aside."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch, serve

    pages = sorted(p.parent.relative_to(site_dir).as_posix() for p in site_dir.rglob("index.html"))
    port = free_port()
    weights = {}
    with serve(site_dir, port) as origin, sync_playwright() as playwright:
        browser = launch(playwright)
        for page_path in pages:
            fetched: set[str] = set()
            page = browser.new_page()  # a fresh page each time: nothing comes from cache
            page.on("request", lambda request: fetched.add(request.url))
            url = f"{origin}/" + ("" if page_path == "." else page_path + "/")
            page.goto(url, wait_until="networkidle")
            page.close()
            total = 0
            for address in fetched:
                path = urlsplit(address).path
                if not address.startswith(origin) or "search_index" in path:
                    continue
                file = site_dir / path.lstrip("/")
                file = file / "index.html" if file.is_dir() else file
                if file.is_file():
                    total += len(gzip.compress(file.read_bytes(), 6))
            weights[url.removeprefix(origin)] = total
        browser.close()
    return weights


def evidence_times() -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per evidence item (from the manifest of the last build) and per claim."""
    from attnsheet.evidence import CLAIMS, EVIDENCE

    manifest = json.loads((ROOT / "build" / "evidence" / "manifest.json").read_text())
    per_item = {name: entry["seconds"] for name, entry in manifest.items()}
    per_claim = {claim.id: sum(per_item.get(item.name, 0.0) for item in EVIDENCE
                               if claim.id in item.claims) for claim in CLAIMS}
    return per_item, per_claim


def build_times(site_dir: Path) -> tuple[float, float]:
    """(clean build with an empty evidence cache, warm build) in seconds."""
    shutil.rmtree(ROOT / "build" / "evidence", ignore_errors=True)
    shutil.rmtree(ROOT / "build" / "mkdocs-jupyter", ignore_errors=True)  # its render cache
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site_dir)]
    return timed(command), timed(command)


def prose_edit_rebuild() -> float:
    """Seconds from saving a one-word prose edit to `mkdocs serve` finishing its rebuild."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    threading.Thread(target=lambda: [lines.put((time.perf_counter(), line))
                                     for line in server.stdout], daemon=True).start()

    def wait_for(pattern: str, timeout: float = 300) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                stamp, line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if re.search(pattern, line):
                return stamp
        raise TimeoutError(f"mkdocs serve never printed {pattern!r}")

    original = PROSE_PAGE.read_text(encoding="utf-8")
    try:
        wait_for(r"Serving on")
        time.sleep(1)
        edited = original.replace("There are two ways", "There are two main ways", 1)
        assert edited != original, "the benchmark's edit no longer applies to idea.md"
        saved = time.perf_counter()
        PROSE_PAGE.write_text(edited, encoding="utf-8")
        done = wait_for(r"Documentation built in|Reloading browsers")
        return done - saved
    finally:
        PROSE_PAGE.write_text(original, encoding="utf-8")
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-tests", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine_line()}")
    with tempfile.TemporaryDirectory() as site:
        clean, warm = build_times(Path(site))
        weights = page_weights(Path(site))
    print(f"clean build (empty evidence cache): {clean:6.1f} s   (budget 120 s)")
    print(f"warm build:                         {warm:6.1f} s")
    print(f"prose-edit rebuild under serve:     {prose_edit_rebuild():6.1f} s   (budget 2 s)")

    per_item, per_claim = evidence_times()
    print("\ncold evidence time per item (s):")
    for name, seconds in sorted(per_item.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds:6.1f}  {name}")
    notebook_seconds = {name: seconds for name, seconds in per_item.items()
                        if name.startswith("notebook")}
    print("notebook execution (s, fresh kernel, budget 30 s each): " + ", ".join(
        f"{name.removeprefix('notebook-')} {seconds:.1f}"
        for name, seconds in sorted(notebook_seconds.items()))
        + f"; total {sum(notebook_seconds.values()):.1f}")
    print("cold evidence time per claim (s; items shared by claims count for each):")
    print("  " + ", ".join(f"{claim} {seconds:.1f}" for claim, seconds in per_claim.items()))

    print("\npage transfer size (gzip, all that Chromium fetches for the page; search index aside):")
    for page, size in sorted(weights.items(), key=lambda kv: -kv[1]):
        print(f"  {size / 1024:7.1f} KB  {page}")
    largest = max(weights, key=weights.get)
    print(f"largest: {largest} at {weights[largest] / 1024:.1f} KB (budget 300 KB)")
    if not args.no_tests:
        seconds = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        print(f"full test suite:                    {seconds:6.1f} s   (budget 600 s)")


if __name__ == "__main__":
    main()
