# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test test-fast bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[examples]"
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[docker,eval,examples,bench,test]"
	touch $@ $(DEMO_STAMP)

# The digits study from scratch (earlier demo results are removed first).
demo: $(DEMO_STAMP)
	rm -rf examples/digits/evotune.db examples/digits/evotune.db-* examples/digits/evotune-runs
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" evotune run examples/digits/study.yaml

test: $(TEST_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(TEST_STAMP)
	$(PY) -m pytest -m "not slow and not docker" $(PYTEST_ARGS)

# The benchmarks' peers (Optuna, Nevergrad, pycma) come with the test install; the commands
# that produce each figure are in bench/RESULTS.md.
bench: $(TEST_STAMP)
	@echo "see bench/RESULTS.md for each benchmark's command"

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
