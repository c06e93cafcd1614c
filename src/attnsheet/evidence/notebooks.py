"""Execute the "going deeper" notebooks: `notebooks/<name>.py`, jupytext percent format.

The build runs each notebook in a fresh Jupyter kernel (nbclient, the executor behind
mkdocs-jupyter's own `execute` option) and writes the executed `.ipynb`, outputs included,
into the site; mkdocs-jupyter then only renders it. Executing here rather than in the plugin
gives what the plugin lacks:

* a time limit for every cell (`CELL_TIMEOUT_S`), and a failure that names the notebook and
  the cell instead of publishing a traceback (errors are never allowed);
* re-execution when the library changes: a notebook's cache key covers the `attnsheet`
  modules it imports (followed with `ast`, like a builder's), not only its own bytes.

Notebooks import the library from its submodules (`from attnsheet.attention import ...`),
so the key can name exactly the code they run.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
from pathlib import Path

from . import cache, notebook_theme

NOTEBOOKS_DIR = "notebooks"  # under the repository root, outside docs/
SITE_FOLDER = "notebooks"  # executed .ipynb files go to <site>/notebooks/<name>.ipynb
CELL_TIMEOUT_S = 60  # no single cell may run longer; a whole notebook's budget is 30 s
KERNEL = "python3"  # the kernel the notebooks declare


class NotebookError(RuntimeError):
    """A notebook cell failed or ran out of time; the message names the notebook and cell."""


def notebook_files(root: Path) -> list[Path]:
    """Every notebook source, sorted (files starting with `_` excluded)."""
    folder = root / NOTEBOOKS_DIR
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def executed_name(source: Path) -> str:
    """Site path of a notebook's executed copy: `notebooks/<name>.ipynb`."""
    return f"{SITE_FOLDER}/{source.stem}.ipynb"


def imported_modules(source: Path) -> list[str]:
    """The `attnsheet` modules a notebook imports, read as a builder's are (jupytext comments
    out magics, so the percent-format source parses as Python)."""
    return sorted(cache.imported_modules(source.resolve()))


def key_files(source: Path) -> list[Path]:
    """What a notebook's output depends on: itself, this runner, and the library code it
    imports (each module with everything that module imports in turn), the dark theme's
    code included."""
    files = {source, Path(__file__).resolve()}
    for module in [*imported_modules(source), notebook_theme.__name__]:
        files.update(cache.source_files(module))
    return sorted(files)


def _cell_label(cell, index: int, count: int) -> str:
    first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index + 1} of {count} (`{first_line.strip()[:60]}`)"


def execute(source: Path, *, cell_timeout: float = CELL_TIMEOUT_S):
    """Run every cell of a notebook source in a fresh kernel, in an empty working folder.
    Returns the executed notebook (nbformat); raises NotebookError naming the cell."""
    import jupytext
    import nbformat
    from traitlets.config import Config
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = jupytext.read(source)
    notebook.cells = [cell for cell in notebook.cells if cell.source.strip()]
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index + 1}"  # jupytext's ids are random: keep the file reproducible
    setup = nbformat.v4.new_code_cell(notebook_theme.SETUP_CELL, id="theme-setup")
    notebook.cells.insert(0, setup)  # every figure also in the dark theme; removed below
    with tempfile.TemporaryDirectory() as workdir, tempfile.TemporaryDirectory() as sockets:
        # Local sockets instead of TCP ports: nothing listens on the network, and the kernel
        # has no "running over TCP without encryption" warning to print into the build log.
        # (Set through config, so that the client owns the kernel and shuts it down.)
        sockets_config = Config({"AsyncKernelManager": {
            "transport": "ipc", "ip": str(Path(sockets) / "kernel")}})
        client = NotebookClient(
            notebook, kernel_name=KERNEL, timeout=cell_timeout, allow_errors=False,
            record_timing=False, resources={"metadata": {"path": workdir}},
            config=sockets_config,
        )
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                where = (f"notebook {source.name}, "
                         f"{_cell_label(cell, index - 1, len(notebook.cells) - 1)}")
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError as error:
                    raise NotebookError(
                        f"{where} ran past the {cell_timeout:.0f} s limit for a cell"
                    ) from error
                except CellExecutionError as error:
                    raise NotebookError(f"{where} raised {error.ename}: {error.evalue}\n"
                                        f"{_plain_traceback(error)}") from error
                except DeadKernelError as error:
                    raise NotebookError(f"{where}: the kernel died ({error})") from error
    notebook.cells.remove(setup)
    _renumber_after_setup(notebook)
    notebook.metadata.pop("widgets", None)  # no widgets: keep the file plain
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = _merged_streams(cell.outputs)
    return notebook


def _renumber_after_setup(notebook) -> None:
    """Execution counts as if the removed setup cell had never run: the reader's first code
    cell is [1], not [2]."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count"):
            cell.execution_count -= 1
        for output in cell.outputs:
            if output.get("execution_count"):
                output.execution_count -= 1


def _merged_streams(outputs: list) -> list:
    """One output per run of printed text: the kernel splits a cell's stdout into chunks
    that differ from run to run, which would make the file differ too."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.output_type == "stream" and previous is not None
                and previous.output_type == "stream" and previous.name == output.name):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def _plain_traceback(error) -> str:
    """The error's traceback without terminal colour codes (last lines only)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    return "\n".join(text.splitlines()[-25:])


def palette_png(png_base64: str) -> bytes:
    """A PNG re-encoded with a 256-colour palette (transparency kept): matplotlib's RGBA
    PNGs shrink about threefold and look the same."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(png_base64))).convert("RGBA")
    palette = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                             dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def compress_figures(notebook) -> list[tuple[bytes, bytes]]:
    """Re-encode every figure (palette_png, in place) and take its dark variant out of the
    notebook; returns (light PNG, dark PNG) per figure, in order."""
    figures = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" not in data:
                continue
            if notebook_theme.DARK_MIME not in data:
                raise NotebookError("a figure came without its dark variant (was it shown "
                                    "by something other than matplotlib?)")
            light = palette_png(data["image/png"])
            data["image/png"] = base64.b64encode(light).decode("ascii")
            figures.append((light, palette_png(data.pop(notebook_theme.DARK_MIME))))
    return figures


def figure_path(png: bytes, theme: str = "light") -> str:
    """Where a notebook page finds one of its figures, relative to the page: named by the
    light PNG's content, so the page and the build agree without counting."""
    suffix = "" if theme == "light" else f"-{theme}"
    return f"figures/{hashlib.sha256(png).hexdigest()[:16]}{suffix}.png"


def run(source: Path, site_dir: Path) -> list[Path]:
    """Execute one notebook and write it to the site folder, with each figure also as its
    own files beside the page (`notebooks/<name>/figures/<hash>.png` and `<hash>-dark.png`),
    so the page's HTML stays small; the downloadable .ipynb keeps the light ones inside.
    Returns the written paths."""
    import nbformat

    notebook = execute(source)
    figures = compress_figures(notebook)
    target = site_dir / executed_name(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    written = [target]
    for light, dark in figures:
        for theme, png in (("light", light), ("dark", dark)):
            figure = site_dir / SITE_FOLDER / source.stem / figure_path(light, theme)
            figure.parent.mkdir(parents=True, exist_ok=True)
            figure.write_bytes(png)
            written.append(figure)
    return written
