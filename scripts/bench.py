"""Measure the project's time budgets on this machine and print a report.

    python scripts/bench.py            # everything (about two minutes plus the test suite)
    python scripts/bench.py --no-tests # skip the test suite timing
    python scripts/bench.py --library-only  # the library's attention against its references

Reports: clean build (empty evidence cache), warm build; under `make serve`'s setup (the
evidence watcher beside the site generator), the time from saving a prose edit and a caption
edit to the served page showing it, and for a library edit whether the site kept answering and
what re-ran; cold evidence time per item and per claim; each page's transfer size (HTML + CSS +
JS + images, gzip; the search index aside) with the largest named; visible words per section
page (outside folded blocks, code and captions); Lighthouse (mobile, gzip via nginx) per page,
when nginx and lighthouse are installed; the library's attention
against the textbook and SDPA (experiments/library_speed.py); the full test suite.
Budgets: clean build <= 120 s, prose edit <= 1.5 s, caption edit <= 2 s, section page <=
300 KB compressed, a section page <= 900 visible words, test suite <= 5 min. A benchmark, not
a test: it never fails on time.
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
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from attnsheet.evidence.machine import machine_line

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' browser helpers: one way to serve and launch
from tests.browser import SITE_CONFIG, SITE_GENERATOR, free_port  # noqa: E402
from tests.sitecheck import visible_words  # noqa: E402
from tests.test_site import SECTIONS  # noqa: E402

VISIBLE_WORDS_BUDGET = 900  # a section page's words before a reader opens anything
ENV = dict(os.environ, NO_MKDOCS_2_WARNING="1")
# The edits the serve budgets time: (file, text, replacement) and the page that shows it.
PROSE_EDIT = ("docs/idea.md", "There are two ways", "There are two main ways")
PROSE_URL = "idea/"
CAPTION_EDIT = ("src/attnsheet/evidence/render/idea.py", "Derived, not drawn by hand",
                "Derived, never drawn by hand")
CAPTION_URL = "idea/"
LIBRARY_EDIT = ROOT / "src" / "attnsheet" / "rotary.py"  # imported by one notebook only


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


NGINX_CONF = """worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  gzip on; gzip_comp_level 6; gzip_min_length 256;
  gzip_types text/css application/javascript application/json image/svg+xml text/plain;
  server {{ listen 127.0.0.1:{port}; root {site}; index index.html;
           location / {{ try_files $uri $uri/ =404; }} }}
}}
"""
LIGHTHOUSE_RUNS = 3  # per page; the report gives the median performance score


def lighthouse_report(site_dir: Path) -> list[str]:
    """Lighthouse (mobile, the default) on every page, served gzip-compressed by Debian's
    nginx: median performance of LIGHTHOUSE_RUNS runs, and the other three categories.
    Needs `nginx` and a `lighthouse` command (LIGHTHOUSE=path, else `npx --no-install`);
    says so and skips when either is missing."""
    lighthouse = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
    command = [lighthouse] if lighthouse else ["npx", "--no-install", "lighthouse"]
    if not shutil.which("nginx") or subprocess.run(command + ["--version"], capture_output=True
                                                   ).returncode != 0:
        return ["\nlighthouse: skipped (needs nginx and lighthouse: apt-get install nginx; "
                "npm install lighthouse, then LIGHTHOUSE=<its path>)"]
    pages = sorted(p.parent.relative_to(site_dir).as_posix() for p in site_dir.rglob("index.html"))
    with tempfile.TemporaryDirectory() as root:
        port = free_port()
        conf = Path(root) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=root, port=port, site=site_dir))
        subprocess.run(["nginx", "-c", str(conf)], check=True)
        env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
        lines = [f"\nlighthouse, mobile, gzip (nginx); median performance of {LIGHTHOUSE_RUNS} "
                 "runs (budget 95), then accessibility / best practices / SEO:"]
        try:
            for page in pages:
                url = f"http://127.0.0.1:{port}/" + ("" if page == "." else page + "/")
                runs = []
                for _ in range(LIGHTHOUSE_RUNS):
                    done = subprocess.run(command + [url, "--quiet", "--output=json",
                                          "--output-path=stdout",
                                          "--chrome-flags=--headless=new --no-sandbox "
                                          "--disable-gpu",
                                          "--only-categories=performance,accessibility,"
                                          "best-practices,seo"],
                                          capture_output=True, text=True, env=env)
                    categories = json.loads(done.stdout)["categories"]
                    runs.append({k: round(v["score"] * 100) for k, v in categories.items()})
                performance = sorted(r["performance"] for r in runs)[len(runs) // 2]
                rest = "/".join(str(min(r[k] for r in runs))
                                for k in ("accessibility", "best-practices", "seo"))
                lines.append(f"  {performance:4d}  {rest:11s}  {url.split(str(port), 1)[1]}")
        finally:
            subprocess.run(["nginx", "-c", str(conf), "-s", "stop"])
    return lines


def evidence_times() -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per evidence item and experiment (from the manifest of the last build) and
    per claim (its evidence items and the experiments they render)."""
    from attnsheet.evidence import CLAIMS, EVIDENCE

    manifest = json.loads((ROOT / "build" / "evidence" / "manifest.json").read_text())
    per_item = {name: entry["seconds"] for name, entry in manifest.items()}
    by_name = {item.name: item for item in EVIDENCE}
    per_claim = {}
    for claim in CLAIMS:
        names = set(claim.evidence) | {f"data:{n}" for e in claim.evidence
                                       for n in getattr(by_name.get(e), "data", ())}
        per_claim[claim.id] = sum(per_item.get(name, 0.0) for name in names)
    return per_item, per_claim


def build_times(site_dir: Path) -> tuple[float, float]:
    """(clean build with an empty evidence cache, warm build) in seconds."""
    shutil.rmtree(ROOT / "build" / "evidence", ignore_errors=True)
    shutil.rmtree(ROOT / "build" / "mkdocs-jupyter", ignore_errors=True)  # its render cache
    command = [*SITE_GENERATOR, "build", *SITE_CONFIG, "--strict", "-d", str(site_dir)]
    return timed(command), timed(command)


class Serving:
    """`make serve`'s pair of processes on a free port: the evidence watcher and the site
    generator watching only pages and staged evidence. Their output lines are kept."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        watching = dict(ENV, ATTNSHEET_EVIDENCE="watch")
        self.processes = [
            subprocess.Popen([sys.executable, "-m", "attnsheet.evidence", "watch"], cwd=ROOT,
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True),
            subprocess.Popen([*SITE_GENERATOR, "serve", *SITE_CONFIG, "--dev-addr",
                              f"127.0.0.1:{self.port}"], cwd=ROOT, env=watching,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        ]
        for process in self.processes:
            threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process) -> None:
        for line in process.stdout:
            self.lines.put((time.perf_counter(), line))

    def wait_for(self, pattern: str, timeout: float = 300) -> tuple[float, list[str]]:
        """Time of the next output line matching `pattern`, and the lines up to it."""
        seen, deadline = [], time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                stamp, line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if re.search(pattern, line):
                return stamp, seen
        raise TimeoutError(f"never printed {pattern!r}")

    def fetch(self, path: str) -> tuple[float, str]:
        """(seconds the request took, the page's text)."""
        start = time.perf_counter()
        with urllib.request.urlopen(f"{self.url}/{path}", timeout=300) as response:
            text = response.read().decode("utf-8")
        return time.perf_counter() - start, text

    def until_page_shows(self, path: str, text: str, timeout: float = 120) -> float:
        """Poll a page until it contains `text`; the time at which it did."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if text in self.fetch(path)[1]:
                return time.perf_counter()
            time.sleep(0.05)
        raise TimeoutError(f"{path} never showed {text!r}")

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def edited(path: Path, old: str, new: str):
    """`path` with `old` replaced by `new` for the block (yields the time of saving)."""
    original = path.read_text(encoding="utf-8")
    assert old in original, f"the benchmark's edit no longer applies to {path}"
    path.write_text(original.replace(old, new, 1), encoding="utf-8")
    try:
        yield time.perf_counter()
    finally:
        path.write_text(original, encoding="utf-8")


def rebuilt(lines: list[str]) -> list[str]:
    """The items an evidence build's log says it built."""
    return sorted(line.split()[2] for line in lines if line.startswith("evidence: built "))


def serve_budgets() -> dict[str, object]:
    """Under `make serve`'s setup: seconds from saving a prose edit and a caption edit to the
    served page showing them; for a library edit, the slowest answer the site gave while the
    evidence rebuilt, and which items re-ran."""
    serving = Serving()
    results: dict[str, object] = {}
    try:
        serving.wait_for(r"evidence watch: build")
        serving.wait_for(r"Serving on")
        time.sleep(1)
        page, old, new = PROSE_EDIT
        with edited(ROOT / page, old, new) as saved:
            results["prose"] = serving.until_page_shows(PROSE_URL, new) - saved
            serving.wait_for(r"evidence watch: build")  # docs/*.md are page-check inputs
        serving.wait_for(r"evidence watch: build")  # the restore's rebuild
        module, old, new = CAPTION_EDIT
        with edited(ROOT / module, old, new) as saved:
            results["caption"] = serving.until_page_shows(CAPTION_URL, new) - saved
            results["caption_rebuilt"] = rebuilt(serving.wait_for(r"evidence watch")[1])
        serving.wait_for(r"evidence watch: build")
        with edited(LIBRARY_EDIT, "\n", "\n# edited by the benchmark\n", ):
            done, found = threading.Event(), []

            def wait() -> None:
                found.extend(serving.wait_for(r"evidence watch: build", timeout=600)[1])
                done.set()

            threading.Thread(target=wait, daemon=True).start()
            slowest, answered = 0.0, 0
            while not done.is_set():
                seconds, _ = serving.fetch("idea/")
                slowest, answered = max(slowest, seconds), answered + 1
                time.sleep(0.2)
            results["library_slowest"], results["library_requests"] = slowest, answered
            results["library_rebuilt"] = rebuilt(found)
        serving.wait_for(r"evidence watch: build", timeout=600)
    finally:
        serving.close()
    return results


def library_report() -> None:
    """The library's attention against its references (experiments/library_speed.py)."""
    from attnsheet.experiments.library_speed import ratios

    data = ratios(lengths=[1024, 4096, 8192], threads=[1, 2], window=256, repeats=5,
                  memory_length=8192)
    print(f"\nlibrary attention, one interleaved run per thread count (1 head, d = "
          f"{data['head_size']}, float32; sliding window {data['window']}):")
    print("  threads      n   library/textbook   chunked speed (SDPA = 1)   sliding/plain")
    for run in data["runs"]:
        for row in run["rows"]:
            print(f"  {run['threads']:7d} {row['n']:6d}   {row['library_over_textbook']:16.2f}x"
                  f"   {row['chunked_speed_of_sdpa']:22.0%}   {row['sliding_over_plain']:12.2f}x")
        print(f"          (load {run['machine']['load']})")
    peak = {name: size / 2**20 for name, size in data["peak_bytes"].items()}
    print(f"  peak memory at n = {data['memory_length']} (MiB): " + ", ".join(
        f"{name} {size:.0f}" for name, size in peak.items())
        + f"; library/textbook {peak['library'] / peak['textbook']:.2f}x"
          "   (goals: library <= 1.15x textbook at n = 4096 and memory within 10 %; "
          "chunked >= 75 % of SDPA at n = 8192)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-tests", action="store_true")
    parser.add_argument("--library-only", action="store_true",
                        help="only the library's attention against its references")
    args = parser.parse_args()
    print(f"machine: {machine_line()}")
    if args.library_only:
        library_report()
        return
    with tempfile.TemporaryDirectory() as site:
        clean, warm = build_times(Path(site))
        weights = page_weights(Path(site))
        words = {page: visible_words(Path(site) / page / "index.html") for page in SECTIONS}
        lighthouse = lighthouse_report(Path(site))
    print(f"clean build (empty evidence cache): {clean:6.1f} s   (budget 120 s)")
    print(f"warm build:                         {warm:6.1f} s")
    serve = serve_budgets()
    print(f"prose edit -> page updated:         {serve['prose']:6.1f} s   (budget 1.5 s)")
    print(f"caption edit -> page updated:       {serve['caption']:6.1f} s   (budget 2 s); "
          f"re-ran: {', '.join(serve['caption_rebuilt'])}")
    print(f"library edit ({LIBRARY_EDIT.name}): the site answered all "
          f"{serve['library_requests']} requests while the evidence rebuilt, the slowest in "
          f"{serve['library_slowest']:.1f} s; re-ran: {', '.join(serve['library_rebuilt'])}")

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
    print("\nvisible words per section page (outside folded blocks, code and captions; "
          f"budget {VISIBLE_WORDS_BUDGET}):")
    for page, count in words.items():
        over = "  over" if count > VISIBLE_WORDS_BUDGET else ""
        print(f"  {count:6d}  {page}{over}")
    print("\n".join(lighthouse))
    library_report()
    if not args.no_tests:
        seconds = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        print(f"full test suite:                    {seconds:6.1f} s   (budget 300 s)")


if __name__ == "__main__":
    main()
