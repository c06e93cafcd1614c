"""Screenshot pages of a served site in light and dark mode with Debian's Chromium.

    python scripts/screenshot.py --serve site/ "" attention/ cost/ --out shots/
    python scripts/screenshot.py --base http://127.0.0.1:8000/ attention/   # a running server

Writes <out>/<page>-light.png and <page>-dark.png (full page). Used to look at changed
pages as a reader would, and to refresh the README's screenshot.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser import free_port, launch, serve  # noqa: E402 (the tests' own launcher)


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
    if not (args.base or args.serve):
        parser.error("give --base URL or --serve FOLDER")
    server = serve(args.serve, free_port()) if args.serve else nullcontext(args.base.rstrip("/"))

    with server as origin, sync_playwright() as playwright:
        browser = launch(playwright)
        for scheme in ("light", "dark"):
            page = browser.new_page(color_scheme=scheme,
                                    viewport={"width": args.width, "height": args.height})
            for path in args.pages:
                page.goto(f"{origin}/{path}", wait_until="networkidle")
                name = (path.strip("/").replace("/", "_").replace("#", "_") or "home")
                target = args.out / f"{name}-{scheme}.png"
                page.screenshot(path=str(target), full_page=not args.viewport_only)
                print(target)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
