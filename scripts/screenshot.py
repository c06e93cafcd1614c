"""Screenshot pages of a served site in light and dark mode with Debian's Chromium.

    python scripts/screenshot.py --serve site/ "" attention/ cost/ --out shots/
    python scripts/screenshot.py --base http://127.0.0.1:8000/ attention/   # a running server

Writes <out>/<page>-light.png and <page>-dark.png (full page). Used to look at changed
pages as a reader would, and to refresh the README's screenshot.
"""

from __future__ import annotations

import argparse
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per request drowns the output
        pass

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", help="root URL of a running site, e.g. http://127.0.0.1:8000/")
    parser.add_argument("--serve", type=Path, help="or: a built site folder to serve on loopback")
    parser.add_argument("pages", nargs="*", default=[""], help="paths under the root")
    parser.add_argument("--out", type=Path, default=Path("shots"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--viewport-only", action="store_true", help="not the full page")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.serve:
        handler = functools.partial(QuietHandler, directory=str(args.serve))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        args.base = f"http://127.0.0.1:{server.server_address[1]}/"
    if not args.base:
        parser.error("give --base URL or --serve FOLDER")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for scheme in ("light", "dark"):
            page = browser.new_page(color_scheme=scheme,
                                    viewport={"width": args.width, "height": args.height})
            for path in args.pages:
                page.goto(args.base + path, wait_until="networkidle")
                name = (path.strip("/").replace("/", "_").replace("#", "_") or "home")
                target = args.out / f"{name}-{scheme}.png"
                page.screenshot(path=str(target), full_page=not args.viewport_only)
                print(target)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
