# The two commands of the README, and the pieces they are made of.
# Everything installs into .venv from PyPI; nothing else is needed on the machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT := out

.PHONY: setup demo test browser lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Main job: the summer heat-wave week simulated, its report written, its path printed.
demo: setup
	$(BIN)/yxy simulate summer_heat_wave --json $(OUT)/summer_heat_wave.json --report $(OUT)/summer_heat_wave.html

# Full test job (also what CI runs): lint, types, every test (the browser tests need Debian's chromium).
test: setup browser lint typecheck unit

# Debian's chromium and CJK fonts for the browser tests; Playwright drives it, nothing is downloaded by a test tool.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -n 2 --dist loadgroup

bench: setup
	$(BIN)/python bench/sim_speed.py
	$(BIN)/python bench/sweep_scaling.py
	$(BIN)/python bench/live_ingest.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis
