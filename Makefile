# flowbt: two commands on a fresh machine -- `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow lint bench clean

# Bootstrap: create .venv if missing, install the project (editable) with dev extras.
# The stamp is rebuilt whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,distributed]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/flowbt demo --out out/demo

# The import contracts of pyproject.toml first (a wrong import fails fast), then the tests.
test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(VENV)/bin/flowbt bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
