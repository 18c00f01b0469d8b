# The README's two commands: `make demo` (set up, then train / evaluate / predict on the fixtures)
# and `make test` (set up, then the whole test suite). Everything installs into .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED_DATA ?= ../shared/data/MTL-Bioinformatics-2016

.PHONY: venv demo test lint minilm clean

venv: $(VENV)/.installed

# The install ends by listing the plugin in ~/.allennlp/plugins, so that `allennlp bioner-tag`,
# `bioner-analyze` and `bioner-average` work in any directory (hsl_bioner/plugin.py).
$(VENV)/.installed: setup.py runtime/pyproject.toml
	@set -e; python310="$$(scripts/find_python310.sh)"; \
	  test -x $(PY) || "$$python310" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel
	$(PY) -m pip install --quiet -e ./runtime
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m hsl_bioner.plugin
	touch $@

demo: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

test: venv
	HSL_BIONER_DATA="$(SHARED_DATA)" $(PY) -m pytest -q tests runtime/tests

lint: venv
	$(VENV)/bin/ruff check setup.py hsl_bioner tests benchmarks scripts fixtures runtime

minilm: venv
	$(PY) scripts/prepare_minilm.py --output models/all-MiniLM-L6-v2

clean:
	rm -rf $(VENV) runs
