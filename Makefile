# The two commands of the README: `make run` and `make test`. Each does its own set-up.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test install data browser clean

# Train the default model on Fashion-MNIST, print the test accuracy and where the run was saved.
run: install data
	$(BIN)/convzoo train lenet_modern --data fashion-mnist --epochs 8 --batch-size 128 --lr 0.2 \
		--schedule onecycle --augment crop --label-smoothing 0.05

# Install what the tests need (including a headless Chromium) and run the whole suite.
test: install browser
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

data: install
	sh scripts/ensure-fashion-mnist.sh $(BIN)/convzoo

browser:
	sh scripts/ensure-browser.sh

clean:
	rm -rf $(VENV) runs .pytest_cache
