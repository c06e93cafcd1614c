"""Turn mkdocs-jupyter's notebook HTML into markup that looks and behaves like the site's pages.

mkdocs-jupyter renders a notebook with nbconvert's JupyterLab template: about 590 KB of
inline CSS per page, a MathJax script from a CDN, a Mermaid module and its own copy buttons.
This site makes no request to another origin and keeps pages light, so `clean` rewrites it:

* styles and scripts go; code cells become the same code blocks as on every other page
  (Material highlights them and gives them its copy button), outputs become "Output" blocks;
* headings get the ids the page's table of contents links to (Markdown's own slugify);
* links written as `../attention.md#anchor` (the page source, as in the docs) are left for
  `resolve_links` to turn into the built site's address;
* every figure gets alt text: the first sentence(s) of the Markdown cell that follows it, which
  by the notebooks' convention says what the figure shows; its image is the file the build
  wrote beside the page (`notebooks.figure_path`) instead of inline base64, so the HTML
  stays small (the search indexer parses every page on every rebuild).

`clean` is memoised: under `mkdocs serve` a prose edit elsewhere re-renders every page, and
parsing the notebooks' HTML again would cost most of the rebuild.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable

from bs4 import BeautifulSoup, Tag
from markdown.extensions.toc import slugify, unique

from attnsheet.evidence.notebooks import figure_path

ALT_MIN_CHARS = 60  # shorter than this and a caption cannot state a finding


def _markdown_cell_html(cell: Tag) -> Tag | None:
    return cell.find(class_="jp-RenderedMarkdown")


def _code_block(soup: BeautifulSoup, language: str, highlighted: Tag | None, text: str,
                title: str | None = None) -> Tag:
    """`<div class="language-x highlight"><pre><code>…</code></pre></div>`, as pymdownx
    writes it (so Material's styles and copy button apply)."""
    block = soup.new_tag("div", attrs={"class": f"language-{language} highlight"})
    if title:
        label = soup.new_tag("span", attrs={"class": "filename"})
        label.string = title
        block.append(label)
    pre = soup.new_tag("pre")
    code = soup.new_tag("code")
    if highlighted is not None:  # the pygments spans nbconvert produced
        for child in list(highlighted.children):
            if not (isinstance(child, Tag) and child.name == "span" and not child.contents):
                code.append(child.extract())
    else:
        code.string = text
    pre.append(code)
    block.append(pre)
    return block


def _figure(soup: BeautifulSoup, png: bytes) -> Tag:
    """`<figure>` with the light and the dark variant of a notebook figure, each a link to
    its file (a tap opens it full size) and loaded lazily, so the hidden one is not fetched;
    the evidence build wrote both beside the page (`notebooks.figure_path`). Alt text comes
    later, from the caption cell."""
    figure = soup.new_tag("figure", attrs={"class": "nb-figure"})
    width, height = png_size(png)
    for theme in ("light", "dark"):
        path = figure_path(png, theme)
        link = soup.new_tag("a", attrs={"class": f"figure-{theme}", "href": path})
        link.append(soup.new_tag("img", attrs={"src": path, "loading": "lazy",
                                               "width": width, "height": height}))
        figure.append(link)
    return figure


def png_of(data_uri: str) -> bytes:
    """The bytes of a base64 PNG data URI."""
    png = base64.b64decode(data_uri.partition("base64,")[2])
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"a notebook figure is not a PNG data URI: {data_uri[:40]}...")
    return png


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header: the page reserves the figure's space."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def caption_alt(text: str) -> str:
    """Alt text from a caption: its first sentence, or as many as reach ALT_MIN_CHARS."""
    sentences = re.findall(r".+?[.!?](?=\s|$)|.+$", " ".join(text.split()))
    alt = ""
    for sentence in sentences:
        alt = f"{alt} {sentence.strip()}".strip()
        if len(alt) >= ALT_MIN_CHARS:
            break
    return alt


PAGE_LINK = re.compile(r'href="(?P<href>(?![a-z]+:)[^"#]*\.md(?:#[^"]*)?)"')


def resolve_links(html: str, resolve_link: Callable[[str], str]) -> str:
    """Replace every `href="<page>.md#anchor"` with `resolve_link(that target)`; the
    resolver returns the URL or raises (an unknown page stops the build)."""
    return PAGE_LINK.sub(lambda m: f'href="{resolve_link(m["href"])}"', html)


@functools.lru_cache(maxsize=32)
def clean(html: str) -> str:
    """Rewrite one notebook page's HTML (see the module docstring); raises ValueError when a
    figure has no caption cell after it."""
    soup = BeautifulSoup(html, "html.parser")
    for element in soup.find_all(["style", "script"]):
        element.decompose()

    notebook = soup.find(class_="jp-Notebook")
    if notebook is None:
        raise ValueError("no notebook in this page's HTML (did mkdocs-jupyter change?)")
    cells = notebook.find_all(class_="jp-Cell", recursive=True)
    # nbconvert nests each code cell in a second jp-Cell div: keep the innermost ones.
    cells = [c for c in cells if not c.find(class_="jp-Cell")]

    used_ids: set[str] = set()
    parts: list[Tag] = []
    pending_images: list[Tag] = []
    for cell in cells:
        markdown = _markdown_cell_html(cell)
        if markdown is not None:
            for link in markdown.find_all("a", class_="anchor-link"):
                link.decompose()
            for heading in markdown.find_all(re.compile(r"^h[1-6]$")):
                heading["id"] = unique(slugify(heading.get_text(), "-"), used_ids)
                permalink = soup.new_tag("a", attrs={"class": "headerlink",
                                                     "href": f"#{heading['id']}",
                                                     "title": "Permanent link"})
                permalink.string = "¶"
                heading.append(permalink)
            caption = caption_alt(markdown.get_text())
            for image in pending_images:
                image["alt"] = caption
            pending_images = []
            parts.extend(child.extract() for child in list(markdown.children))
            continue

        source = cell.find(class_="jp-InputArea-editor")
        if source is not None:
            highlighted = source.find(class_="highlight-ipynb")
            parts.append(_code_block(soup, "python", highlighted.find("pre"), ""))
        for output in cell.find_all(class_="jp-OutputArea-output"):
            image = output.find("img")
            if image is not None:
                figure = _figure(soup, png_of(image.get("src", "")))
                image.decompose()  # nbconvert's inline copy
                pending_images.extend(figure.find_all("img"))
                parts.append(figure)
                continue
            text = output.get_text().strip("\n")
            if text.strip():
                parts.append(_code_block(soup, "text", None, text,
                                         title="Output"))
    for image in pending_images:  # a figure at the very end has no caption cell
        raise ValueError(f"a figure has no Markdown cell after it to describe it: "
                         f"{image.get('src', '')[:40]}...")
    for image in soup.find_all("img"):
        if len(image.get("alt", "")) < ALT_MIN_CHARS:
            raise ValueError(f"a figure's caption is too short to serve as alt text: "
                             f"{image.get('alt', '')!r}")

    wrapper = soup.new_tag("div", attrs={"class": "notebook"})
    for part in parts:
        wrapper.append(part)
    return str(wrapper)
