# Two commands a newcomer needs: `make serve` and `make test`. Each creates .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup serve build test evidence screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first, pinned: on the project's machines this is the local CPU wheel; an unpinned
	# torch would pull several GB of CUDA packages.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

serve: $(STAMP)  ## build and serve the site at http://127.0.0.1:8000, rebuilding on edits
	$(PY) -m mkdocs serve --dev-addr 127.0.0.1:8000

build: $(STAMP)  ## build the site into site/
	$(PY) -m mkdocs build --strict

test: $(STAMP)  ## every test: library, snippets, inline fences, evidence, the built site
	$(PY) -m pytest

evidence: $(STAMP)  ## only the evidence (cached), without MkDocs
	$(PY) -m attnsheet.evidence list

screenshots: $(STAMP)  ## light and dark screenshots of the built site (needs Debian's chromium)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m mkdocs build --strict
	$(PY) scripts/screenshot.py --serve site --out shots/ "" idea/ recurrence/ attention/ \
		transformer/ cost/ pitfalls/ glossary/ one-line/ evidence/

clean:
	rm -rf build site shots
