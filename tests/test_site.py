"""The built site, checked as a reader's browser would meet it."""

from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from html import unescape

import pytest

from attnsheet.evidence import CLAIMS, math_font
from attnsheet.evidence.spec import VERDICTS

from .copied_prose import RUN, copied, source_runs
from .helpers import ROOT, SNIPPETS, run_python
from .sitecheck import external_urls_in_assets, html_pages, resolve
from .test_snippets import READER_MODULES, imported_top_level_modules

SECTIONS = ["idea", "recurrence", "attention", "transformer", "cost", "pitfalls", "glossary",
            "one-line"]
OUTPUT_TITLE = "Output (captured at build)"


@pytest.fixture(scope="module")
def pages(built_site):
    return html_pages(built_site)


def test_every_page_exists(built_site):
    for slug in ["", *SECTIONS, "evidence"]:
        assert (built_site / slug / "index.html").is_file(), f"no page {slug or 'home'}"


def test_nav_follows_the_cheatsheet_order():
    nav = re.findall(r"^\s+- .+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert nav == ["index.md", "cheatsheet.md", *(f"{s}.md" for s in SECTIONS), "evidence.md",
                   "references.md"]


@pytest.mark.parametrize("slug", SECTIONS)
def test_section_shows_a_snippet_with_its_captured_output(built_site, pages, slug):
    info = pages[f"{slug}/index.html"]
    assert any('title="' not in b and b.strip() for b in info.python_blocks)
    html = (built_site / slug / "index.html").read_text(encoding="utf-8")
    outputs = re.findall(
        rf'<span class="filename">{re.escape(OUTPUT_TITLE)}</span><pre>.*?<code>(.*?)</code>',
        html, re.DOTALL)
    assert outputs and all(re.sub(r"<[^>]+>", "", o).strip() for o in outputs), (
        f"{slug}: no non-empty captured output block"
    )


def test_internal_links_and_anchors_resolve(built_site, pages, site_origin):
    broken = []
    for page, info in pages.items():
        for url in info.urls:
            target, fragment, external = resolve(built_site, page, url, site_origin)
            if external or target is None:
                continue
            if not target.is_file():
                broken.append(f"{page}: {url} (no file {target.relative_to(built_site)})")
            elif fragment and target.suffix == ".html":
                key = target.relative_to(built_site).as_posix()
                if fragment not in pages[key].ids:
                    broken.append(f"{page}: {url} (no anchor #{fragment})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_nothing_points_to_another_origin(built_site, pages, site_origin):
    external = [f"{page}: {url}" for page, info in pages.items() for url in info.requests
                if resolve(built_site, page, url, site_origin)[2]]
    external += external_urls_in_assets(built_site, site_origin)
    assert not external, "requests that would leave the site:\n" + "\n".join(external)


# Links a reader may follow off the site: the primary sources on the references page, and the
# one primary source that has neither: the blog post the worked example sentence comes from.
SOURCE_HOSTS = ("https://arxiv.org/abs/", "https://doi.org/",
                "https://research.google/blog/transformer-a-novel-neural-network-architecture")


def test_links_off_the_site_go_only_to_primary_sources(built_site, pages, site_origin):
    outbound = [f"{page}: {url}" for page, info in pages.items() for url in info.urls
                if url not in info.requests and resolve(built_site, page, url, site_origin)[2]
                and not url.startswith(SOURCE_HOSTS)]
    assert not outbound, "links off the site other than sources:\n" + "\n".join(outbound)


def test_every_python_block_runs_as_copied(pages):
    # Notebook cells run in order, not alone, and use the library: test_notebooks.py runs
    # each notebook as downloaded and checks its page shows exactly the cells that ran.
    shown = {block for page, info in pages.items() if not page.startswith("notebooks/")
             for block in info.python_blocks}
    assert len(shown) >= len(SECTIONS)
    # A block that is a whole snippet file already ran in the evidence build, exactly as
    # pasted (test_snippets.py checks its bytes); run the others: parts and inline fences.
    files = {p.read_text(encoding="utf-8").strip() for p in SNIPPETS.rglob("*.py")}
    blocks = sorted(block for block in shown if block.strip() not in files)
    for block in shown:
        extra = imported_top_level_modules(block) - READER_MODULES - set(sys.stdlib_module_names)
        assert not extra, f"a code block imports {sorted(extra)}:\n{block[:300]}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run_python, blocks))
    failures = [f"{block[:200]}\n--- stderr:\n{done.stderr[-1500:]}"
                for block, done in zip(blocks, results) if done.returncode != 0]
    assert not failures, "code blocks that fail when pasted:\n\n" + "\n\n".join(failures)


def test_math_is_mathml_with_no_script(built_site):
    html = (built_site / "attention" / "index.html").read_text(encoding="utf-8")
    assert "<math" in html and 'class="arithmatex"' not in html
    assert not re.search(r"(mathjax|katex)", html, re.IGNORECASE)


def test_the_math_font_has_every_character_the_formulas_use(built_site):
    """Every character inside a <math> element on any page is in the site's cut of the math
    font (a formula with a new symbol needs it added to math_font.SYMBOLS); the font is the
    one the stylesheet names, and it stays small."""
    from fontTools.ttLib import TTFont

    font_path = built_site / math_font.FOLDER / math_font.FILE
    covered = set(TTFont(font_path).getBestCmap())
    used: dict[str, set[str]] = {}
    for page in built_site.rglob("*.html"):
        for formula in re.findall(r"<math\b.*?</math>", page.read_text(encoding="utf-8"),
                                  re.DOTALL):
            for char in unescape(re.sub(r"<[^>]+>", "", formula)):
                if not char.isspace():
                    used.setdefault(char, set()).add(str(page.relative_to(built_site)))
    assert used, "no formula found on any page"
    missing = {f"{c} (U+{ord(c):04X})": sorted(pages)[:3] for c, pages in used.items()
               if ord(c) not in covered}
    assert not missing, f"characters the math font lacks: {missing}"
    css = (built_site / "stylesheets" / "extra.css").read_text(encoding="utf-8")
    assert f'font-family: "{math_font.FAMILY}"' in css and math_font.FILE in css
    assert font_path.stat().st_size < 120_000
    assert (built_site / math_font.FOLDER / math_font.NOTICE).is_file()


def test_a_prime_sits_beside_its_letter_not_above_it(built_site):
    html_text = (built_site / "cost" / "index.html").read_text(encoding="utf-8")
    primes = re.findall(r"<m[io][^>]*>(?:&#x02032;|′)</m[io]>\s*(</msup>)?", html_text)
    assert primes and not any(primes), "a prime drawn as a superscript"


SHORT_VERSION_WORDS = 120  # the cheatsheet's own sections run 40 to 110 words


def _words(html: str) -> int:
    return len(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("slug", SECTIONS)
def test_each_section_opens_with_its_short_version_and_verdict_badges(built_site, slug):
    """Right under the title: the section in at most 120 words, each claim of the page as a
    badge with its computed verdict, linking to a section of the page that exists."""
    html = (built_site / slug / "index.html").read_text(encoding="utf-8")
    after_title = re.search(r"</h1>\s*(<div class=\"admonition abstract\">.*?</div>)", html,
                            re.DOTALL)
    assert after_title, f"{slug}: no short version right after the title"
    box = after_title.group(1)
    badges = re.findall(r'<a class="verdict-badge ledger-([a-z-]+)" href="([^"]*)">'
                        r'(\w+)\u00a0([^<]+)</a>', box)
    text = re.sub(r'<p class="admonition-title">.*?</p>|<a class="verdict-badge.*?</a>', "", box)
    assert _words(text) <= SHORT_VERSION_WORDS, f"{slug}: {_words(text)} words"
    evidence = json.loads((built_site / "evidence.json").read_text(encoding="utf-8"))
    verdicts = {row["id"]: row["verdict"] for row in evidence}
    expected = {c.id for c in CLAIMS if c.page == f"{slug}.md"}
    assert {claim for _, _, claim, _ in badges} == expected
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    for css, href, claim, shown in badges:
        assert shown.replace("\u00a0", " ") == verdicts[claim] == css.replace("-", " ")
        target = next(c for c in CLAIMS if c.id == claim).verdict_target
        page, _, anchor = target.partition("#")
        if page == f"{slug}.md":
            assert href == f"./#{anchor}" and anchor in ids, (slug, claim, href)
        else:  # the section that shows it is on another page (test_pages checks it is there)
            assert href == f"../{page[:-3]}/#{anchor}", (slug, claim, href)


def test_glossary_terms_are_tooltips_at_their_first_use_only(built_site):
    for page in ("glossary", "evidence", "references"):  # definitions; ledger; paper titles
        assert "<abbr" not in (built_site / page / "index.html").read_text(encoding="utf-8")
    cost = (built_site / "cost" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<abbr title="[^"]+">context window</abbr>', cost)
    for page in sorted(built_site.glob("*/index.html")) + [built_site / "index.html"]:
        html = page.read_text(encoding="utf-8")
        terms = [t.lower().rstrip("s") for t in re.findall(r"<abbr [^>]*>([^<]+)</abbr>", html)]
        assert len(terms) == len(set(terms)), f"{page}: a term's tooltip repeats: {terms}"
        for heading in re.findall(r"<h[1-6][^>]*>.*?</h[1-6]>", html, re.DOTALL):
            assert "<abbr" not in heading, f"{page}: a tooltip in a heading: {heading}"
        for table in re.findall(r"<table.*?</table>", html, re.DOTALL):
            assert "<abbr" not in table, f"{page}: a tooltip in a table"


def test_evidence_json_lists_every_claim(built_site):
    rows = json.loads((built_site / "evidence.json").read_text())
    assert [row["id"] for row in rows] == [claim.id for claim in CLAIMS]
    for row in rows:
        assert row["verdict"] in VERDICTS, row["id"]
        assert row["criterion"] and row["reason"] and row["numbers"], row["id"]
        assert row["evidence"], row["id"]
        for path in row["evidence"]:
            file = path.split("#")[0]
            target = built_site / file / "index.html" if file.endswith("/") or not file else built_site / file
            assert target.is_file(), f"{row['id']}: evidence {path} is not in the site"


def test_ledger_page_shows_every_claim(built_site):
    html = (built_site / "evidence" / "index.html").read_text(encoding="utf-8")
    for claim in CLAIMS:
        assert f">{claim.id}</a>" in html, claim.id


def test_no_sentence_is_copied_from_the_cheatsheet(built_site):
    runs = source_runs((ROOT / "source-cheatsheet.txt").read_text(encoding="utf-8"))
    found = {}
    for page in sorted(built_site.rglob("index.html")):
        if shared := copied(page.read_text(encoding="utf-8"), runs):
            found[str(page.relative_to(built_site))] = shared
    assert not found, f"runs of {RUN}+ words copied from the cheatsheet: {found}"


def test_the_copy_check_finds_a_copied_sentence():
    runs = source_runs("Section titled “A”Both come from processing one element at a time, in order.")
    page = "<article><p>As it says, both come from processing one element at a time.</p></article>"
    assert copied(page, runs) == ["both come from processing one element at a time"]
    assert copied("<article><p>Both costs share a cause.</p></article>", runs) == []


def test_every_page_links_to_the_code(built_site):
    """Without a configured repository (extra.repository), the footer of every page links to
    the home page's "run it yourself" section, which offers the wheel (relative links, so
    they work wherever the site is published)."""
    for page in sorted(built_site.rglob("index.html")):
        html = page.read_text(encoding="utf-8")
        depth = len(page.relative_to(built_site).parts) - 1
        home = "/".join([".."] * depth) or "."
        assert f'<a href="{home}/#run-it-yourself">Get the code</a>' in html, page
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert 'id="run-it-yourself"' in home and 'href="downloads/attnsheet-' in home


PDF_PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")  # a page object, not the /Pages tree


def test_the_one_page_cheatsheet_links_every_claim_and_offers_its_pdf(built_site):
    html = (built_site / "cheatsheet" / "index.html").read_text(encoding="utf-8")
    badges = re.findall(r'<a class="verdict-badge [^"]*" href="([^"]*)">(\w+)\u00a0', html)
    assert {claim for _, claim in badges} == {c.id for c in CLAIMS}
    for href, claim in badges:  # each badge leads to the section that shows its verdict
        target = next(c for c in CLAIMS if c.id == claim).verdict_target
        page, _, anchor = target.partition("#")
        assert href == f"../{page[:-3]}/#{anchor}", (claim, href)
    assert 'href="../downloads/attention-cheatsheet.pdf"' in html
    pdf = (built_site / "downloads" / "attention-cheatsheet.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(PDF_PAGE.findall(pdf)) == 1


def test_figure_captions_are_short_and_the_rest_folds(built_site):
    """A caption in view is at most 60 words (whole sentences); a longer one's rest sits in a
    folded block right under its figure."""
    from attnsheet.evidence.figures import CAPTION_WORDS, caption_words

    long = {}
    for page in sorted(built_site.rglob("index.html")):
        for caption in re.findall(r"<figcaption>(.*?)</figcaption>",
                                  page.read_text(encoding="utf-8"), re.DOTALL):
            if caption_words(caption) > CAPTION_WORDS:
                long.setdefault(str(page.relative_to(built_site)), []).append(caption[:80])
    assert not long, f"captions over {CAPTION_WORDS} words: {long}"
    recurrence = (built_site / "recurrence" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'</figure>\s*<details class="note figure-detail"><summary>More about '
                     r"this figure</summary>", recurrence)
