"""The built site in a real browser (Debian's Chromium via Playwright), light and dark."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from attnsheet.evidence import math_font

from .browser import audit_page, launch, new_page, serve
from .helpers import SNIPPETS

playwright_api = pytest.importorskip("playwright.sync_api")

SCHEMES = ("light", "dark")


@pytest.fixture(scope="module")
def site(built_site, site_origin):
    """(origin, site folder): the session's build, served at the origin it was built for."""
    with serve(built_site, int(site_origin.rsplit(":", 1)[1])):
        yield site_origin, built_site


@pytest.fixture(scope="module")
def browser():
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's chromium is not installed: `apt-get install -y chromium`")
    with playwright_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def page_paths(site_dir: Path) -> list[str]:
    return sorted(p.parent.relative_to(site_dir).as_posix() + "/"
                  for p in site_dir.rglob("index.html"))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_page_is_clean_in_a_browser(site, browser, scheme):
    origin, site_dir = site
    paths = page_paths(site_dir)
    assert len(paths) >= 10
    page, problems = new_page(browser, origin, scheme)
    report = {}
    for path in paths:
        url = f"{origin}/{'' if path == './' else path}"
        found = audit_page(page, problems, url)
        if found:
            report[url] = found
    page.context.close()
    assert not report, "\n".join(f"{url}:\n  " + "\n  ".join(p) for url, p in report.items())


PHONE = 360  # CSS px: the narrowest phone the site is laid out for


def test_no_page_is_wider_than_a_phone(site, browser):
    """At 360 px, nothing makes a page scroll sideways (a wide table may scroll inside its
    own box); every display formula fits without scrolling, drawn in the site's math font."""
    origin, site_dir = site
    context = browser.new_context(viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    wide, scrolling_formulas, formula_pages = {}, {}, 0
    for path in page_paths(site_dir):
        page.goto(f"{origin}/{'' if path == './' else path}")
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            wide[path] = width
        if page.locator('math[display="block"]').count():
            formula_pages += 1
            loaded = page.evaluate("document.fonts.ready.then(fonts => [...fonts]"
                                   ".filter(f => f.status === 'loaded').map(f => f.family))")
            assert any(math_font.FAMILY in family for family in loaded), (path, loaded)
            over = page.evaluate("[...document.querySelectorAll('math[display=block]')]"
                                 ".filter(m => m.scrollWidth > m.clientWidth + 1).length")
            if over:
                scrolling_formulas[path] = over
    context.close()
    assert not wide, f"pages wider than {PHONE} px: {wide}"
    assert formula_pages, "no page with a display formula was checked"
    assert not scrolling_formulas, f"formulas that scroll at {PHONE} px: {scrolling_formulas}"


def test_the_audit_catches_a_broken_image_and_a_cdn_script(site, browser):
    origin, site_dir = site
    broken = site_dir / "broken-demo" / "index.html"
    broken.parent.mkdir(exist_ok=True)
    html = (site_dir / "index.html").read_text(encoding="utf-8")
    html = html.replace("</article>", '<img src="no-such-figure.svg" alt="x">'
                        '<img src="no-such-lazy.svg" alt="y" loading="lazy" '
                        'style="margin-top: 5000px"></article>', 1)
    html = html.replace("</head>", '<script src="https://cdn.example.org/lib.js"></script></head>')
    broken.write_text(html, encoding="utf-8")
    try:
        page, problems = new_page(browser, origin, "light")
        found = "\n".join(audit_page(page, problems, f"{origin}/broken-demo/"))
        page.context.close()
    finally:
        shutil.rmtree(broken.parent)
    assert "image did not load" in found and "no-such-figure.svg" in found
    assert "lazy image would not load: no-such-lazy.svg" in found  # far below, never loaded
    assert "request to another origin: https://cdn.example.org/lib.js" in found


def test_toggle_switches_palette_and_figures(site, browser):
    origin, _ = site
    page, _ = new_page(browser, origin, "light")
    page.goto(f"{origin}/attention/", wait_until="networkidle")

    def state():
        return page.evaluate("""() => ({
            scheme: document.body.getAttribute('data-md-color-scheme'),
            shown: Array.from(document.querySelectorAll('img[src*="figures/"]'))
                .filter(img => img.checkVisibility())  // its link may be the hidden one
                .map(img => img.getAttribute('src')),
        })""")

    before = state()
    assert before["scheme"] == "default" and all("-light.svg" in s for s in before["shown"])
    assert before["shown"], "the attention page should show a figure"
    page.click("label[for='__palette_1']")
    after = state()
    assert after["scheme"] == "slate"
    assert after["shown"] and all("-dark.svg" in s for s in after["shown"])
    page.context.close()


def test_instant_navigation_keeps_the_page_alive(site, browser):
    origin, _ = site
    page, problems = new_page(browser, origin, "light")
    page.goto(f"{origin}/", wait_until="networkidle")
    page.evaluate("() => { window.__stillHere = true; }")
    # Instant navigation rewrites links to absolute URLs, hence the suffix match.
    page.locator("a.md-nav__link[href$='/cost/']:visible").first.click()
    page.wait_for_url(f"{origin}/cost/")
    page.wait_for_function("() => document.querySelector('h1').textContent.includes('not free')")
    assert page.evaluate("() => window.__stillHere === true"), "navigation reloaded the page"
    assert not problems
    page.context.close()


def test_search_finds_the_cost_page(site, browser):
    origin, _ = site
    page, _ = new_page(browser, origin, "light")
    page.goto(f"{origin}/", wait_until="networkidle")
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially("context window", delay=20)  # typed, as a reader would
    page.wait_for_selector(".md-search-result__item a", state="attached")
    hrefs = page.eval_on_selector_all(".md-search-result__item a", "els => els.map(e => e.href)")
    assert hrefs[0].startswith(f"{origin}/cost/"), hrefs  # the top result is the cost page
    page.context.close()


def test_copy_button_copies_exactly_the_snippet(site, browser):
    origin, _ = site
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{origin}/attention/", wait_until="networkidle")
    block = page.locator(".highlight", has=page.locator(".filename",
                                                        has_text="snippets/attention/blend.py"))
    block.hover()
    block.locator("button[data-md-type='copy']").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    expected = (SNIPPETS / "attention" / "blend.py").read_text(encoding="utf-8")
    assert copied.rstrip("\n") == expected.rstrip("\n")
    context.close()


def test_attention_explorer_shows_the_json(site, browser):
    origin, site_dir = site
    index = json.loads((site_dir / "data/page/a3-pretrained-explorer.json").read_text())
    data = index["models"][0]  # the encoder, shown first
    page, problems = new_page(browser, origin, "light")
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{origin}/", wait_until="networkidle")
    # Arrive by instant navigation, as a reader does: the explorer must set itself up anyway.
    page.locator("a.md-nav__link[href$='/attention/']:visible").first.click()
    page.wait_for_url(f"{origin}/attention/")
    page.wait_for_load_state("networkidle")
    assert not [u for u in fetched if "data/page/a3-pretrained-explorer" in u], (
        "the explorer's data should wait until a reader scrolls near it")
    page.locator(".attn-explorer").scroll_into_view_if_needed()
    page.wait_for_selector(".attn-explorer__table")
    assert page.locator(".attn-explorer figure").evaluate(
        "f => getComputedStyle(f).display") == "none", "the static fallback should be hidden"

    def shown_it_row():
        cells = page.locator(".attn-explorer__it td")
        return cells.evaluate_all(
            "tds => tds.map(td => [Number(td.dataset.value), td.textContent])")

    sentence, layer, head = 1, 2, 7  # the "wide" sentence, layer 3, head 8
    page.get_by_label("Sentence", exact=True).select_option(str(sentence))
    page.get_by_label("Layer", exact=True).select_option(str(layer))
    page.get_by_label("Head", exact=True).select_option(str(head))
    chosen = data["sentences"][sentence]
    chosen["weights"] = json.loads((site_dir / chosen["src"]).read_text())["weights"]
    page.wait_for_function("() => document.querySelector('.attn-explorer__table caption')"
                           ".textContent.startsWith('Layer 3, head 8')")
    expected = chosen["weights"][layer][head][chosen["it"]]
    row = shown_it_row()
    assert [value for value, _ in row] == expected
    assert all(abs(float(text) - value) <= 0.005 + 1e-9 for value, text in row)
    assert page.locator(".attn-explorer__it th").text_content().endswith("it")

    # Keyboard: the head menu moves on with an arrow key, and the table follows.
    page.get_by_label("Head", exact=True).focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => document.querySelector('.attn-explorer__table caption')"
                           ".textContent.startsWith('Layer 3, head 9')")
    assert [v for v, _ in shown_it_row()] == chosen["weights"][layer][head + 1][chosen["it"]]

    # Every analysed sentence is there, its weights fetched when it is first picked.
    last = len(data["sentences"]) - 1
    assert last >= 17  # nine pairs, two sentences each
    page.get_by_label("Sentence", exact=True).select_option(str(last))
    it_token = data["sentences"][last]["tokens"][data["sentences"][last]["it"]]
    page.wait_for_function("() => document.querySelectorAll('.attn-explorer__it td').length"
                           f" === {len(data['sentences'][last]['tokens'])}")
    assert page.locator(".attn-explorer__it th").text_content().endswith(it_token)
    page.get_by_label("Sentence", exact=True).select_option(str(sentence))

    # Hover: the readout names the pair and the value.
    cell = page.locator(".attn-explorer__it td").nth(2)
    cell.hover()
    value = chosen["weights"][layer][head + 1][chosen["it"]][2]
    readout = page.locator(".attn-explorer__readout").text_content()
    assert f"“it” → “{chosen['tokens'][2]}”: {value:.3f}" in readout
    # A tap (a click with no pointer moving there first) reads a cell too, and the summary
    # starts with the whole sentence, which a phone's menu cuts short.
    page.locator(".attn-explorer__it td").nth(3).dispatch_event("click")
    assert f"“it” → “{chosen['tokens'][3]}”:" in page.locator(
        ".attn-explorer__readout").text_content()
    summary = page.locator(".attn-explorer__summary").text_content()
    assert summary.startswith(f"“{chosen['text']}” From “it”"), summary

    # The causal model: its own sentences and heads; the row of "it" reads only up to "it",
    # the later cells hatched and empty.
    decoder = index["models"][1]
    page.get_by_label("Model", exact=True).select_option("1")
    first = decoder["sentences"][0]
    page.wait_for_function("() => document.querySelectorAll('.attn-explorer__it td').length"
                           f" === {len(first['tokens'])}")
    weights = json.loads((site_dir / first["src"]).read_text())["weights"]
    layer, head = decoder["default"]["layer"], decoder["default"]["head"]
    row = [value for value, _ in shown_it_row() if not math.isnan(value)]
    assert row == weights[layer][head][first["it"]][:first["it"] + 1]
    masked = page.locator(".attn-explorer__it td.attn-explorer__masked").count()
    assert masked == len(first["tokens"]) - first["it"] - 1 > 0
    assert "causal" in page.locator(".attn-explorer__note").text_content()
    assert len(page.get_by_label("Layer", exact=True).locator("option").all()) == 30
FIELDS_JS = """() => Object.fromEntries(
    Array.from(document.querySelectorAll('[data-context-slider] [data-field]'))
        .map(element => [element.dataset.field, element.textContent]))"""


def test_context_slider_shows_the_numbers_the_build_computed(site, browser):
    origin, site_dir = site
    rows = json.loads((site_dir / "data/page/c3-context-table.json").read_text())["rows"]
    page, problems = new_page(browser, origin, "light")
    page.goto(f"{origin}/", wait_until="networkidle")
    # Arrive through instant navigation, as a reader clicking through does: the slider must
    # come alive on a page swapped in without a reload.
    page.locator("a.md-nav__link[href$='/cost/']:visible").first.click()
    page.wait_for_url(f"{origin}/cost/")
    page.locator("[data-context-slider]").wait_for(state="visible")
    slider = page.get_by_label(re.compile("Context length"))  # by its label, as a screen reader

    def expect(index):
        assert slider.input_value() == str(index)
        labels = rows[index]["labels"]
        shown = page.evaluate(FIELDS_JS)
        assert shown and shown == {field: labels[field] for field in shown}, (index, shown)
        assert slider.get_attribute("aria-valuetext") == f"{labels['n']} tokens"

    expect(int(slider.input_value()))  # the starting row, rendered at build
    slider.focus()
    slider.press("Home")
    expect(0)
    for _ in range(3):
        slider.press("ArrowRight")
    expect(3)
    slider.press("End")
    expect(len(rows) - 1)
    # A million tokens: Llama 2 7B's key/value cache alone, 512 GiB, fits no accelerator.
    assert page.evaluate(FIELDS_JS)["kv_mha"] == "512 GiB"
    assert not problems, problems
    page.context.close()


def test_the_cheatsheet_page_prints_on_one_a4_sheet(site, browser):
    origin, _ = site
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{origin}/cheatsheet/", wait_until="networkidle")
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                  ".forEach(img => img.loading = 'eager')")  # as a print would load them
    page.wait_for_load_state("networkidle")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    context.close()
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert pages == 1, f"the printed cheatsheet runs to {pages} pages"


def test_widget_scripts_load_only_where_their_widget_is(site, browser):
    origin, _ = site
    page, problems = new_page(browser, origin, "light")
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{origin}/idea/", wait_until="networkidle")
    widgets = ("attention-explorer.js", "context-window.js")
    assert not [u for u in fetched if u.endswith(widgets)], "no widget on this page"
    page.goto(f"{origin}/cost/", wait_until="networkidle")
    assert [u for u in fetched if u.endswith("context-window.js")]
    assert not [u for u in fetched if u.endswith("attention-explorer.js")]
    page.context.close()
    assert not problems, problems
