# The two commands of the README: `make run` and `make test`. Each does its own set-up.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test install data browser speech docs notebooks clean

# Train convzoo's fast recipe on Fashion-MNIST (docs/speedrun.md: 0.92 in 2 epochs, about 2 minutes on 2 cores),
# print the test accuracy and where the run was saved.
run: install data
	$(BIN)/convzoo train --recipe fast

# Install what the tests need (including a headless Chromium and espeak-ng) and run the whole suite: two
# pytest-xdist workers (one torch thread each, tests/conftest.py), one per core; a test file stays
# on one worker, so its module fixtures are built once.
test: install browser speech
	$(BIN)/python -m pytest -n 2 --dist loadfile

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

data: install speech
	sh scripts/ensure-fashion-mnist.sh $(BIN)/convzoo

# The lectures' notebooks (notebooks/README.md) in JupyterLab; the kernel is this venv's Python.
notebooks: install data
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[notebooks]"
	$(BIN)/jupyter lab notebooks

browser:
	sh scripts/ensure-browser.sh

# espeak-ng, the speech synthesiser that `convzoo data get spoken-digits` makes its clips with.
speech:
	sh scripts/ensure-speech.sh

# Rewrite the docs' generated tables (models from the registry, commands from the parser).
docs: install
	$(BIN)/python -m convzoo.cli.docs_tables

clean:
	rm -rf $(VENV) runs .pytest_cache
