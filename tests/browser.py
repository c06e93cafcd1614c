"""Drive Debian's Chromium (through Playwright) over a served copy of the site.

`audit_page` loads one page the way a reader's browser does and returns every problem it
sees: console errors, failed requests, requests to another origin, images that did not load,
math that did not typeset, figures without a finding in their alt text, and serious or
critical axe-core accessibility violations.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .helpers import ROOT

# The site generator, as the Makefile runs it (decisions/site-generator.md).
SITE_GENERATOR = [sys.executable, "-m", "properdocs"]
SITE_CONFIG = ["-f", str(ROOT / "mkdocs.yml")]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core, vendored (MPL-2.0)
MIN_ALT_LENGTH = 40  # a figure's alt text states its finding, not just its topic


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_site_for(origin: str, site_dir: Path) -> None:
    """A strict build whose site_url is `origin`, as a deployment would configure it."""
    env = dict(os.environ, SITE_URL=origin + "/")
    done = subprocess.run([*SITE_GENERATOR, "build", *SITE_CONFIG, "--strict",
                           "--site-dir", str(site_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"site build failed:\n{done.stdout}\n{done.stderr}"


@contextmanager
def serve(site_dir: Path, port: int):
    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def new_page(browser, origin: str, scheme: str):
    """A page whose requests to any other origin are recorded and refused."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    problems: list[str] = []

    def route(route):
        url = route.request.url
        if urlsplit(url).netloc != urlsplit(origin).netloc and not url.startswith("data:"):
            problems.append(f"request to another origin: {url}")
            route.abort()
        else:
            route.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(
        f"failed request: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(
        f"HTTP {r.status}: {r.url}"))
    return page, problems


IMAGES_JS = """() => Array.from(document.images).map(img => ({
    src: img.getAttribute('src'), alt: img.getAttribute('alt') || '',
    url: img.src, lazy: img.loading === 'lazy' && !img.complete,
    loaded: img.complete && img.naturalWidth > 0,
    figure: (img.getAttribute('src') || '').includes('figures/'),
}))"""
MATH_JS = """() => Array.from(document.querySelectorAll('article math')).map(m => {
    const box = m.getBoundingClientRect();
    return {width: box.width, height: box.height};
})"""
AXE_JS = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length} nodes: ` +
                  v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ') + ')');
}"""


def audit_page(page, problems: list[str], url: str) -> list[str]:
    """Load `url` and return every problem a reader's browser would meet there."""
    page.goto(url, wait_until="networkidle")
    found = list(problems)
    for image in page.evaluate(IMAGES_JS):
        if image["lazy"]:  # not needed yet (off screen, or the other theme's): fetch it
            response = page.request.get(image["url"])
            kind = response.headers.get("content-type", "")
            if not (response.ok and kind.startswith("image/")):
                found.append(f"lazy image would not load: {image['src']} ({response.status})")
        elif not image["loaded"]:
            found.append(f"image did not load: {image['src']}")
        if image["figure"] and len(image["alt"]) < MIN_ALT_LENGTH:
            found.append(f"figure without a finding in its alt text: {image['src']}")
    html = page.content()
    for box in page.evaluate(MATH_JS):
        if box["width"] <= 0 or box["height"] <= 0:
            found.append("math element not laid out (MathML not typeset)")
    if "arithmatex" in html:
        found.append("raw TeX left on the page")
    page.add_script_tag(path=str(AXE))
    found.extend(f"accessibility: {v}" for v in page.evaluate(AXE_JS))
    problems.clear()
    return found
