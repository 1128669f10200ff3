# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv from
# pyproject.toml first when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: demo demo-lake dev test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## start the sandbox vendors, materialize everything into data/, print a summary
	@mkdir -p "$(DAGSTER_HOME)"
	$(PY) scripts/demo.py

demo-lake: $(STAMP)  ## the demo on DuckLake: catalog in PostgreSQL, data in S3 (local stand-ins)
	$(PY) scripts/demo.py --lake

dev: $(STAMP)  ## the sandbox world data/ was synced from + the Dagster UI (http://127.0.0.1:3000)
	@mkdir -p "$(DAGSTER_HOME)"
	$(PY) scripts/demo.py --ui

test: $(STAMP)  ## lint, then the whole test suite (unit + loopback against the sandbox)
	@mkdir -p "$(DAGSTER_HOME)"
	$(PY) -m ruff check .
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

bench: $(STAMP)  ## benchmarks (large catalogs; minutes)
	$(PY) bench/uplynk_sync.py
	$(PY) bench/ibm_expirations.py

clean:
	rm -rf data/warehouse.duckdb* data/lake data/dagster_home data/lake-demo data/dagster_home_lake \
		data/sandbox
