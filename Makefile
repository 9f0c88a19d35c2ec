# The two commands of the README, and the pieces they are made of.
# Everything installs into .venv from PyPI; nothing else is needed on the machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT := out

.PHONY: setup demo report test browser lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Main job: a living station on embedded defaults (SQLite, embedded MQTT broker, emulated devices driven
# by the simulated population at 60x): open http://127.0.0.1:8000 and sign in with the account it prints.
demo: setup
	$(BIN)/yxy serve --emulate --speed 60 --database sqlite:///$(OUT)/yxy.db

# The planner's main job: the summer heat-wave week simulated, its report written, its path printed.
report: setup
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
	$(BIN)/pytest -n 2 --dist loadgroup --durations=30

bench: setup
	$(BIN)/python bench/cli_start.py
	$(BIN)/python bench/sim_speed.py
	$(BIN)/python bench/interval_coverage.py
	$(BIN)/python bench/sweep_scaling.py
	$(BIN)/python bench/live_ingest.py
	$(BIN)/python bench/web_load.py
	$(BIN)/python bench/door.py
	$(BIN)/python bench/vision_fps.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis
