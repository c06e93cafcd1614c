"""Every snippet runs as a reader would run it, is shown on a page, and agrees with the library."""

from __future__ import annotations

import ast
import json
import re
import runpy
import sys

import numpy as np
import pytest

from attnsheet import attention_np, elman_rnn_np
from attnsheet.evidence import REGISTRY
from attnsheet.evidence.build import (Paths, file_item_key, file_items, output_name,
                                      snippet_files)

from .helpers import DOCS, EVIDENCE_OUT, ROOT, SNIPPETS

SNIPPET_FILES = snippet_files(SNIPPETS)
READER_MODULES = {"numpy", "torch"}  # all a reader is assumed to have installed
MAX_LINE = 79  # wider lines scroll sideways in the page's code column
INCLUDE_LINE = re.compile(r'^\s*-{1,2}8<-{1,2}\s+"(?P<target>[^"]+)"\s*$', re.MULTILINE)
BASE_PATHS = (SNIPPETS, EVIDENCE_OUT / "include")


def snippet_id(path):
    return str(path.relative_to(SNIPPETS))


def page_includes() -> dict[str, list[str]]:
    """docs page -> the `--8<--` targets it includes."""
    return {
        page.name: [m["target"] for m in INCLUDE_LINE.finditer(page.read_text(encoding="utf-8"))]
        for page in sorted(DOCS.glob("*.md"))
    }


def imported_top_level_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def test_there_are_snippets_for_every_section():
    sections = {p.parent.name for p in SNIPPET_FILES}
    assert sections == {"idea", "recurrence", "attention", "transformer", "cost", "pitfalls",
                        "glossary", "one_line"}


@pytest.mark.parametrize("path", SNIPPET_FILES, ids=snippet_id)
def test_snippet_ran_in_a_fresh_interpreter(built_site, path):
    """The session's site build ran every snippet as a reader would (a fresh interpreter,
    no PYTHON* variables, an empty folder) and failed on a non-zero exit; its manifest says
    it ran exactly these bytes, so running them again here would only cost time."""
    manifest = json.loads((EVIDENCE_OUT / "manifest.json").read_text())
    paths = Paths(ROOT, EVIDENCE_OUT)
    item = next((i for i in file_items(REGISTRY, paths) if i.snippet == snippet_id(path)))
    assert manifest[item.name]["key"] == file_item_key(item, paths), "ran other bytes"
    output = EVIDENCE_OUT / "include" / output_name(snippet_id(path))
    assert output.read_text().strip(), f"{snippet_id(path)} prints nothing for the page to show"


@pytest.mark.parametrize("path", SNIPPET_FILES, ids=snippet_id)
def test_snippet_needs_only_numpy_and_torch(path):
    source = path.read_text(encoding="utf-8")
    extra = imported_top_level_modules(source) - READER_MODULES - set(sys.stdlib_module_names)
    assert not extra, f"{snippet_id(path)} imports {sorted(extra)}: readers have numpy and torch"


@pytest.mark.parametrize("path", SNIPPET_FILES, ids=snippet_id)
def test_snippet_lines_fit_the_page(path):
    long = [i for i, line in enumerate(path.read_text().splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, f"{snippet_id(path)}: lines {long} are longer than {MAX_LINE} characters"


def test_every_snippet_is_shown_on_a_page():
    included = {target for targets in page_includes().values() for target in targets}
    unused = [snippet_id(p) for p in SNIPPET_FILES if snippet_id(p) not in included]
    assert not unused, f"snippets no page includes: {unused}"


def test_every_snippet_shows_its_captured_output():
    for page, targets in page_includes().items():
        for target in targets:
            if target.endswith(".py"):
                expected = "outputs/" + target.removesuffix(".py") + ".txt"
                assert expected in targets, f"{page} shows {target} without its output {expected}"


def test_every_include_target_and_section_exists(built_site):
    # The build has run, so the generated fragments exist too.
    for page, targets in page_includes().items():
        for target in targets:
            file, _, section = target.partition(":")
            found = [base / file for base in BASE_PATHS if (base / file).is_file()]
            assert found, f"{page}: --8<-- target {file!r} is in none of {BASE_PATHS}"
            if section:
                text = found[0].read_text(encoding="utf-8")
                assert f"--8<-- [start:{section}]" in text and f"--8<-- [end:{section}]" in text, (
                    f"{page}: section {section!r} is not marked in {file}"
                )


def test_blend_snippet_agrees_with_the_library():
    namespace = runpy.run_path(str(SNIPPETS / "attention" / "blend.py"))
    rng = np.random.default_rng(7)
    q, k, v = rng.standard_normal((3, 6, 5))
    out, weights = namespace["attention"](q, k, v)
    expected_out, expected_weights = attention_np(q, k, v, return_weights=True)
    np.testing.assert_allclose(out, expected_out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(weights, expected_weights, rtol=0, atol=1e-12)


def test_recurrence_snippet_agrees_with_the_library():
    namespace = runpy.run_path(str(SNIPPETS / "recurrence" / "loop.py"))
    w_hh = namespace["base_w_hh"]
    x, w_xh, d = namespace["x"], namespace["w_xh"], namespace["d"]
    expected = elman_rnn_np(x, w_xh, w_hh, np.zeros(d))
    np.testing.assert_allclose(namespace["rnn"](x, w_hh), expected, rtol=0, atol=1e-12)
