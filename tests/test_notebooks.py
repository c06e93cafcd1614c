"""The "going deeper" notebooks: executed at build, rendered like the site, downloadable.

The notebooks themselves run twice in a test session: once in the site build (the built_site
fixture) and once more here, from the .ipynb a reader downloads, in a fresh kernel.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from attnsheet.evidence import EVIDENCE
from attnsheet.evidence import notebook_theme as theme
from attnsheet.evidence import notebooks as runner
from attnsheet.adapter.notebook_page import clean, resolve_links
from attnsheet.evidence.sections.pitfalls import NOTEBOOKS as READING_ORDER

from .helpers import ROOT
from .sitecheck import read_page

NOTEBOOKS = runner.notebook_files(ROOT)
TIMING = {Path(item.notebook).stem for item in EVIDENCE if item.notebook and item.timing}
HEADER = textwrap.dedent("""\
    # ---
    # jupyter:
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---
""")


def write_notebook(folder: Path, name: str, *cells: str) -> Path:
    """A jupytext percent-format notebook from cell texts (a leading "md:" = Markdown)."""
    parts = []
    for cell in cells:
        if cell.startswith("md:"):
            lines = cell[3:].strip().splitlines()
            parts.append("# %% [markdown]\n" + "\n".join(f"# {line}" for line in lines))
        else:
            parts.append("# %%\n" + textwrap.dedent(cell).strip())
    path = folder / f"{name}.py"
    path.write_text(HEADER + "\n" + "\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def test_there_are_the_five_notebooks_the_site_links():
    stems = [p.stem for p in NOTEBOOKS]
    assert set(stems) >= {"qkv", "multi_head", "positions", "tiny_transformer", "smollm"}
    registered = {item.notebook for item in EVIDENCE if item.notebook}
    assert {str(p.relative_to(ROOT)) for p in NOTEBOOKS} == registered
    assert sorted(READING_ORDER) == sorted(stems)
    nav = re.findall(r"^\s+- .+: notebooks/(\w+)\.ipynb$", (ROOT / "mkdocs.yml").read_text(),
                     re.MULTILINE)
    assert nav == READING_ORDER


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_fit_the_page(source):
    import jupytext

    long = [line for cell in jupytext.read(source).cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > 79]
    assert not long, f"{source.name}: {len(long)} code lines over 79 characters: {long[:3]}"


# --- the runner -----------------------------------------------------------------------------


def test_a_failing_cell_names_the_notebook_and_the_cell(tmp_path):
    source = write_notebook(tmp_path, "broken", "md:# Broken", "x = 1",
                            "weights = [0.5, 0.5]\nassert sum(weights) == 2, 'rows must sum'")
    with pytest.raises(runner.NotebookError,
                       match=r"(?s)broken\.py, cell 3 of 3 \(`weights = .*AssertionError: rows"):
        runner.execute(source)


def test_a_slow_cell_runs_out_of_time(tmp_path):
    source = write_notebook(tmp_path, "slow", "import time\ntime.sleep(30)")
    with pytest.raises(runner.NotebookError, match=r"slow\.py, cell 1 of 1 .*past the 2 s"):
        runner.execute(source, cell_timeout=2)


def test_an_executed_notebook_keeps_outputs_and_stable_ids(tmp_path):
    source = write_notebook(tmp_path, "fine", "md:# Fine", "print(6 * 7)")
    target, *figures = runner.run(source, tmp_path / "site")
    notebook = json.loads(target.read_text())
    assert figures == []
    assert target == tmp_path / "site" / "notebooks" / "fine.ipynb"
    assert [c["id"] for c in notebook["cells"]] == ["cell-1", "cell-2"]
    assert notebook["cells"][1]["outputs"][0]["text"] == ["42\n"]
    assert notebook["cells"][1]["execution_count"] == 1  # the hidden setup cell not counted
    assert "execution" not in notebook["cells"][1]["metadata"]  # no timestamps in the file


def test_the_cache_key_covers_the_library_code_a_notebook_imports(tmp_path):
    source = write_notebook(tmp_path, "imports", "from attnsheet import attention_torch\n"
                            "from attnsheet.transformer import causal_mask\nimport numpy")
    assert runner.imported_modules(source) == ["attnsheet", "attnsheet.attention",
                                               "attnsheet.transformer"]
    names = {p.name for p in runner.key_files(source)}
    assert {"imports.py", "attention.py", "transformer.py", "_checks.py",
            "notebooks.py"} <= names
    for notebook in NOTEBOOKS:  # every real notebook runs library code
        assert len(runner.imported_modules(notebook)) >= 1, notebook.name


# --- the page: mkdocs-jupyter's HTML rewritten ------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """mkdocs-jupyter's HTML for a small executed notebook with a link and a figure."""
    from mkdocs_jupyter.convert import nb2html

    folder = tmp_path_factory.mktemp("render")
    source = write_notebook(
        folder, "demo", "md:# Demo\n\nSee [the cost page](../cost.md#the-work).\n\n## Step one",
        "print('hello')",
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
        "md:The line rises by one at every step, as plotted above. More words.")
    executed, figure, dark = runner.run(source, folder)
    assert figure.parent == folder / "notebooks" / "demo" / "figures"
    assert dark.name == f"{figure.stem}-dark.png"
    return nb2html(str(executed), execute=False, allow_errors=False), figure, dark, executed


def test_the_page_has_no_styles_or_scripts_and_site_code_blocks(rendered):
    rendered, figure, dark, _ = rendered
    html = clean(rendered)
    from bs4 import BeautifulSoup

    [shown] = BeautifulSoup(html, "html.parser").find_all("figure", class_="nb-figure")
    links = {a["class"][0]: a for a in shown.find_all("a")}  # each variant links to its file
    assert set(links) == {"figure-light", "figure-dark"}
    for variant, path in (("light", figure), ("dark", dark)):
        link = links[f"figure-{variant}"]
        assert link["href"] == link.img["src"] == f"figures/{path.name}"
        assert link.img["loading"] == "lazy" and link.img["alt"].startswith("The line rises")
    assert "base64" not in html
    assert "<style" not in html and "<script" not in html and "mathjax" not in html.lower()
    assert len(rendered) > 100_000 > len(html)  # nbconvert's inline CSS is gone
    seen = []
    html = resolve_links(html, lambda href: seen.append(href) or "../../cost/#the-work")
    assert seen == ["../cost.md#the-work"] and 'href="../../cost/#the-work"' in html
    assert '<div class="language-python highlight"><pre><code>' in html
    assert '<span class="filename">Output</span><pre><code>hello</code>' in html
    assert 'alt="The line rises by one at every step, as plotted above. More words."' in html
    assert '<h2 id="step-one">' in html


def test_each_figure_has_a_dark_variant_of_the_same_drawing(rendered):
    """The dark PNG is the same figure recoloured: same size, a transparent background, light
    text; the downloadable notebook keeps only the light one."""
    from PIL import Image

    _, figure, dark, executed = rendered
    light_image, dark_image = Image.open(figure), Image.open(dark).convert("RGBA")
    assert light_image.size == dark_image.size
    pixels = np.asarray(dark_image)  # (height, width, RGBA)
    assert pixels[0, 0, 3] == 0  # the corner is transparent
    inked = pixels[pixels[..., 3] >= 128][:, :3]
    assert (inked.min(axis=1) >= 200).sum() > 100  # light ink (labels, ticks)
    assert theme.DARK_MIME not in executed.read_text(encoding="utf-8")


def test_recolouring_keeps_hues_and_colour_maps_and_lightens_the_ink():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import rgb_to_hsv, to_hex, to_rgb

    figure, (plot, heatmap) = plt.subplots(1, 2)
    black_line, = plot.plot([0, 1], color="black")
    data_line, = plot.plot([1, 0], color="tab:orange", label="data")
    plot.legend()
    plot.set_title("title")
    plot.text(0.5, 0.5, "note")  # black by default, on a plain plot
    grey_line, = plot.plot([0.5, 0.5], color="gray")
    image = heatmap.imshow([[0, 1], [1, 0]], cmap="viridis")
    cell_label = heatmap.text(0, 0, "0.00", color="black")  # chosen against its cell
    theme.recolour(figure)
    ink = theme.DARK["text"]
    assert to_hex(plot.title.get_color()) == ink and to_hex(black_line.get_color()) == ink
    assert to_hex(plot.texts[0].get_color()) == ink
    assert to_hex(plot.get_legend().get_texts()[0].get_color()) == ink
    assert to_hex(grey_line.get_color()) == theme.DARK["muted"]
    orange, lighter = to_rgb("tab:orange"), to_rgb(data_line.get_color())
    assert lighter != orange  # a tint: the same hue, to the hex colour's rounding
    assert rgb_to_hsv(lighter)[0] == pytest.approx(rgb_to_hsv(orange)[0], abs=0.01)
    assert image.cmap.name == "viridis" and cell_label.get_color() == "black"
    plt.close(figure)


def test_a_figure_without_a_caption_cell_is_refused(tmp_path):
    from mkdocs_jupyter.convert import nb2html

    source = write_notebook(
        tmp_path, "nocap", "md:# No caption",
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
    html = nb2html(str(runner.run(source, tmp_path)[0]), execute=False)
    with pytest.raises(ValueError, match="no Markdown cell after it"):
        clean(html)


# --- the built site ---------------------------------------------------------------------------


def code_cells(notebook: dict) -> list[str]:
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def stream_text(notebook: dict) -> list[str]:
    return ["".join(o["text"]) for c in notebook["cells"] if c["cell_type"] == "code"
            for o in c["outputs"] if o["output_type"] == "stream"]


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_page_shows_exactly_the_cells_that_ran(built_site, source):
    page = built_site / "notebooks" / source.stem / "index.html"
    download = page.parent / f"{source.stem}.ipynb"
    notebook = json.loads(download.read_text(encoding="utf-8"))
    cells = code_cells(notebook)
    assert cells and all(c.get("execution_count") for c in notebook["cells"]
                         if c["cell_type"] == "code")
    shown = read_page(page).python_blocks
    assert [b.rstrip("\n") for b in shown] == cells
    html = page.read_text(encoding="utf-8")
    assert f'href="{download.name}" download' in html  # the visible download link
    for cell in notebook["cells"]:  # links to the site work from a reader's disk
        if cell["cell_type"] == "markdown":
            assert ".md)" not in "".join(cell["source"]) and ".md#" not in "".join(cell["source"])


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_downloaded_notebook_runs_in_a_fresh_kernel(built_site, source, tmp_path):
    download = built_site / "notebooks" / source.stem / f"{source.stem}.ipynb"
    built = json.loads(download.read_text(encoding="utf-8"))
    copy = tmp_path / download.name  # outside the repository: nothing relative to lean on
    copy.write_bytes(download.read_bytes())
    rerun = runner.execute(copy)  # raises NotebookError naming the notebook and the cell
    if source.stem not in TIMING:  # deterministic: the page shows what a reader will get
        assert stream_text(json.loads(json.dumps(rerun))) == stream_text(built)


# --- the reader's route: the site's wheel, installed, runs every downloaded notebook ---------


@pytest.fixture(scope="module")
def reader_python(built_site, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel the site offers, installed from that file alone. The
    libraries the wheel declares (numpy, torch, matplotlib) and the model's files come from
    this environment through a plain path line: a path line is not a site folder, so the
    editable install of attnsheet here (a finder run from a .pth) does not come along."""
    wheels = list((built_site / "downloads").glob("attnsheet-*.whl"))
    assert len(wheels) == 1, f"the site should offer one wheel: {wheels}"
    venv = tmp_path_factory.mktemp("reader") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site_packages] = (venv / "lib").glob("python3*/site-packages")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(site_packages), str(wheels[0])], check=True)
    (site_packages / "libraries-from-the-build.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    python = venv / "bin" / "python"
    found = subprocess.run([str(python), "-c", "import attnsheet; print(attnsheet.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found).is_relative_to(site_packages), found  # the wheel's copy, not the repo's
    return python


def test_the_wheel_declares_only_what_a_reader_needs(built_site):
    [wheel] = (built_site / "downloads").glob("attnsheet-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    required = {re.split(r"[<>=;\[ ]", line.split(":", 1)[1].strip())[0]
                for line in text.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert required == {"numpy", "torch", "matplotlib"}


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_downloaded_notebook_runs_against_the_sites_wheel(built_site, reader_python, source,
                                                            tmp_path):
    download = built_site / "notebooks" / source.stem / f"{source.stem}.ipynb"
    notebook = json.loads(download.read_text(encoding="utf-8"))
    first = "".join(notebook["cells"][0]["source"])  # the notebook says how to get the library
    wheel = re.search(r"attnsheet-[\w.]+-py3-none-any\.whl", first)
    assert wheel and (built_site / "downloads" / wheel.group()).is_file(), first[:300]
    script = tmp_path / f"{source.stem}.py"  # its code cells, in order, as one script
    script.write_text("\n\n".join("".join(cell["source"]) for cell in notebook["cells"]
                                  if cell["cell_type"] == "code"), encoding="utf-8")
    done = subprocess.run([str(reader_python), str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr[-2000:]
