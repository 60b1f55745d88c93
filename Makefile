# The two commands a fresh clone needs: `make serve` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STORE ?= model_store
# The optional dependencies `make install` adds, and test, lint and typecheck need: the
# developer's tools here; the image installs `gpu` (TensorFlow's CUDA libraries) or nothing (a
# CPU image). `make serve` and `make train-defaults` install the project alone, without extras.
EXTRAS ?= test,dev,ray
HOST ?= 0.0.0.0
PORT ?= 8000
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install serve test lint typecheck check ui-check train-defaults bench-accuracy \
	bench-serving container-check deploy-check clean

comma := ,
# One stamp per set of extras: .installed for the project alone, .installed-test+dev+ray for
# `EXTRAS=test,dev,ray`, so a venv `make serve` made gets the extras on the first `make test`.
# Each is remade whenever pyproject.toml changes, so `make` re-installs after a dependency edit.
installed = $(BIN)/.installed$(if $(1),-$(subst $(comma),+,$(1)))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BIN)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# A set of extras installs the project too, so it stamps .installed as well.
$(BIN)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(subst +,$(comma),$*)]'
	touch $@ $(BIN)/.installed

install: $(call installed,$(EXTRAS))

# Trains the default models only when the store holds none, then serves on $(PORT).
train-defaults: $(BIN)/.installed
	$(BIN)/forecast-train --defaults-if-empty --store $(STORE)

serve: train-defaults
	FORECAST_MODEL_STORE=$(STORE) $(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

# The web page and /docs in Debian's Chromium (playwright drives it; no browser is downloaded),
# against uvicorn over real SavedModels, with every host but 127.0.0.1 unreachable.
# UI_SCREENSHOTS=dir keeps the screenshots.
ui-check: $(BIN)/.installed-test+dev+browser
	@command -v chromium >/dev/null || { echo "ui-check needs Debian's chromium: apt-get install -y chromium"; exit 1; }
	$(BIN)/python -m pytest tests/browser -p no:cacheprovider -o addopts="--strict-markers -ra"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

# Builds the image on the local base, runs the compose file with podman-compose, checks it.
container-check:
	bash deploy/container-check.sh

# Validates the Kubernetes and KServe manifests offline.
deploy-check: install
	$(BIN)/python -m pip install --quiet -e '.[deploy]'
	$(BIN)/python deploy/validate.py

bench-accuracy: install
	$(BIN)/python bench/accuracy.py

bench-serving: install
	$(BIN)/python bench/serving.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
