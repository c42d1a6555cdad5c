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

# On a fresh database `lims init` creates the first admin: the password is asked once here
# (hidden; never a default) and used for the demo load. Later runs ask nothing.
run: $(STAMP)
	@set -e; export LIMS_USER="$${LIMS_USER:-admin}"; \
	if [ -z "$${LIMS_ADMIN_PASSWORD:-}" ] && ! $(BIN)/lims init --check >/dev/null 2>&1; then \
	  printf 'Choose a password for the first admin user "%s" (8+ characters): ' "$$LIMS_USER"; \
	  stty -echo 2>/dev/null || true; read -r pw; stty echo 2>/dev/null || true; echo; \
	  export LIMS_ADMIN_PASSWORD="$$pw"; export LIMS_PASSWORD="$$pw"; \
	fi; \
	if [ -z "$${LIMS_PASSWORD:-}" ] && [ -n "$${LIMS_ADMIN_PASSWORD:-}" ]; then \
	  export LIMS_PASSWORD="$$LIMS_ADMIN_PASSWORD"; fi; \
	$(BIN)/lims init --admin-user "$$LIMS_USER"; \
	$(BIN)/lims demo --if-empty; \
	$(BIN)/lims up

# Two workers (pytest-xdist; a file's tests stay on one worker, so its module fixtures are built
# once); TEST_WORKERS=0 runs in one process. The slowest tests are listed at the end.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25

lint: $(STAMP)
	$(BIN)/ruff check lims instruments calibration dashboards tests

bench: $(STAMP)
	$(BIN)/lims bench
	$(BIN)/lims bench --pages --repeat 3

clean-db:
	rm -f var/lims.sqlite3 var/lims.sqlite3-wal var/lims.sqlite3-shm
