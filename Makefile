# Kuaijian LIMS — the two commands: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean-db

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lims init
	$(BIN)/lims demo --if-empty
	$(BIN)/lims up

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check lims instruments calibration dashboards tests

bench: $(STAMP)
	$(BIN)/lims bench

clean-db:
	rm -f var/lims.sqlite3 var/lims.sqlite3-wal var/lims.sqlite3-shm
