# Two commands for a new user: `make run` starts everything, `make test` proves it works.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
API_BIND ?= 127.0.0.1:8000
FLOWER_PORT ?= 5555
export API_BIND FLOWER_PORT

.PHONY: run test faults lint format migrate bench bench-ab clean lock

# Dependencies come from the lock files, every file checked against its hash (pip itself
# too); then the project alone, editable, with nothing resolved or downloaded for it.
$(STAMP): setup.cfg pyproject.toml requirements.lock requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Refresh the pins after changing setup.cfg (the versions in the lock files are kept where
# they still fit); `make lock LOCK_ARGS=--upgrade` takes every newest allowed version,
# `LOCK_ARGS='--upgrade-package celery'` one package's. requirements.lock is what the image
# installs (with the otel extra, so OTEL_ENABLED=1 works there); requirements-dev.lock (the
# same pins plus the dev tools) is what `make test` does.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
lock: $(STAMP)
	$(PIP_COMPILE) $(LOCK_ARGS) --extra otel -o requirements.lock setup.cfg
	$(PIP_COMPILE) $(LOCK_ARGS) --extra otel --extra dev -c requirements.lock \
	  -o requirements-dev.lock setup.cfg

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

run: migrate
	@echo ""
	@echo "  API      http://$(API_BIND)/api/v1   (docs: http://$(API_BIND)/api/docs)"
	@echo "  Flower   http://127.0.0.1:$(FLOWER_PORT)"
	@echo "  Create an admin (in another terminal):"
	@echo "    $(VENV)/bin/flask --app web create-user --email admin@example.com --password 'a-long-password' --role admin"
	@echo "  Ctrl-C stops every process."
	@echo ""
	PATH="$(BIN):$$PATH" exec $(BIN)/python deploy/supervise.py

# The in-process suites on TEST_WORKERS processes (a database and Redis prefix each), then
# the ones that start real servers and wait on their timing, one at a time so they don't
# compete for two cores. PYTEST_ARGS (a subset, options) runs one plain pytest instead.
SERIAL_TESTS := tests/e2e tests/faults tests/browser
TEST_WORKERS ?= 2
# PostgreSQL, Redis, Chromium and nginx first: started, or installed with apt-get as root.
test: $(STAMP)
	@bash tests/support/ensure-test-deps.sh
ifeq ($(strip $(PYTEST_ARGS)),)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(SERIAL_TESTS:%=--ignore=%)
	$(BIN)/python -m pytest $(SERIAL_TESTS)
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

# The fault drills of docs/reliability.md, RUNS times over (they also run in `make test`).
RUNS ?= 1
faults: $(STAMP)
	@bash tests/support/ensure-test-deps.sh
	@for run in $$(seq $(RUNS)); do echo "== fault drills, run $$run of $(RUNS)"; \
	  $(BIN)/python -m pytest tests/faults -q -p no:cacheprovider -s $(PYTEST_ARGS) || exit 1; done

# The exam-day benchmark (docs/performance.md): ARGS="--scale 0.1", "--topology both", ...
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(ARGS)

bench-ab: $(BENCH_STAMP)
	$(BIN)/python -m bench.ab $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf var .pytest_cache .ruff_cache
