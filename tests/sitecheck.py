"""Read a built site the way a browser would: its links, anchors, origins and code blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

URL_ATTRIBUTES = {"href", "src", "srcset", "action", "poster", "data", "formaction"}


@dataclass
class PageInfo:
    ids: set[str] = field(default_factory=set)
    urls: list[str] = field(default_factory=list)  # every href/src/... value
    # What the browser fetches to show the page: every URL but an <a href>, which it only
    # follows when the reader clicks.
    requests: list[str] = field(default_factory=list)
    python_blocks: list[str] = field(default_factory=list)  # text the copy button copies


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.info = PageInfo()
        self._python_depth = 0  # >0 while inside <div class="language-python ...">
        self._div_depth = 0
        self._in_code = False
        self._code: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("id", "name"):
            if attributes.get(name) and (name == "id" or tag == "a"):
                self.info.ids.add(attributes[name])
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value:
                found = ([part.split()[0] for part in value.split(",") if part.strip()]
                         if name == "srcset" else [value])
                self.info.urls.extend(found)
                if not (tag == "a" and name == "href"):
                    self.info.requests.extend(found)
        if tag == "div":
            self._div_depth += 1
            classes = (attributes.get("class") or "").split()
            if "language-python" in classes and not self._python_depth:
                self._python_depth = self._div_depth
        if tag == "code" and self._python_depth:
            self._in_code, self._code = True, []

    def handle_endtag(self, tag):
        if tag == "code" and self._in_code:
            self._in_code = False
            self.info.python_blocks.append("".join(self._code))
        if tag == "div":
            if self._python_depth == self._div_depth:
                self._python_depth = 0
            self._div_depth -= 1

    def handle_data(self, data):
        if self._in_code:
            self._code.append(data)


def read_page(path: Path) -> PageInfo:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.info


def html_pages(site: Path) -> dict[str, PageInfo]:
    """Site path ("attention/index.html") -> what the page holds."""
    return {p.relative_to(site).as_posix(): read_page(p) for p in sorted(site.rglob("*.html"))}


def resolve(site: Path, page: str, url: str, own_origin: str) -> tuple[Path | None, str, bool]:
    """Resolve a URL found on `page`: (file it points to or None, fragment, is_external)."""
    parts = urlsplit(url)
    if parts.scheme in ("mailto", "javascript", "data", "blob"):
        return None, "", False
    if parts.scheme or parts.netloc:
        origin = f"{parts.scheme or 'http'}://{parts.netloc}"
        if origin != own_origin:
            return None, "", True
        path = parts.path
    elif parts.path.startswith("/"):
        path = parts.path
    else:
        base = "/" + page.rsplit("/", 1)[0] + "/" if "/" in page else "/"
        path = base + parts.path
    if not parts.path and not (parts.scheme or parts.netloc):
        path = "/" + page  # same page, fragment only
    # Normalise "a/../b" and "./".
    segments: list[str] = []
    for segment in unquote(path).split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    target = site.joinpath(*segments)
    if target.is_dir() or path.endswith("/"):
        target = target / "index.html"
    return target, parts.fragment, False


CSS_URL = re.compile(r"""url\(\s*['"]?(?P<url>[^'")\s]+)""")
CSS_IMPORT = re.compile(r"""@import\s+['"](?P<url>[^'"]+)""")
JS_URL = re.compile(r"""\b(?:src|href)\s*[=:]\s*['"](?P<url>(?:https?:)?//[^'"]+)""")


def external_urls_in_assets(site: Path, own_origin: str) -> list[str]:
    """src/href/url() values in CSS and JS files that point to another origin."""
    found = []
    for path in sorted(site.rglob("*")):
        if path.suffix == ".css":
            patterns = (CSS_URL, CSS_IMPORT)
        elif path.suffix == ".js":
            patterns = (JS_URL,)
        else:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in patterns:
            for match in pattern.finditer(text):
                url = match["url"]
                if re.match(r"^(https?:)?//", url) and not url.startswith(own_origin):
                    found.append(f"{path.relative_to(site)}: {url}")
    return found


class _VisibleText(HTMLParser):
    """The words a reader sees in a page's article without opening anything: text outside
    folded blocks (<details>), code, figure captions, scripts and the page's own
    headings-permalink marks."""

    HIDDEN = {"details", "pre", "code", "figcaption", "script", "style", "svg", "math"}

    def __init__(self) -> None:
        super().__init__()
        self.in_article, self.hidden, self.words = False, 0, 0

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.in_article = True
        elif self.in_article and tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag == "article":
            self.in_article = False
        elif self.in_article and tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if self.in_article and not self.hidden:
            self.words += len([w for w in data.split() if any(c.isalnum() for c in w)])


def visible_words(path: Path) -> int:
    parser = _VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.words
