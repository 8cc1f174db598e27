# Each target bootstraps its own virtualenv: a fresh machine needs Python 3.11+ and nothing else.
PYTHON ?= python3
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
VENV   := .venv
BIN    := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test lint types unit bench schemas clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard shared/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

venv: $(VENV)/.synced

run: venv
	$(BIN)/crm up $(if $(DEMO),--demo)

# two test processes (pytest-xdist), each module's tests in one of them: most tests wait on
# subprocesses, sockets and disks, so two cores run two at once (TEST_WORKERS=0: one process)
TEST_WORKERS ?= 2

test: venv lint types
	$(BIN)/pytest --durations=25 $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: venv
	$(BIN)/mypy -p crm.events -p crm.kernel -p crm.customer -p crm.sales -p crm.service_desk \
		-p crm.analytics -p crm.activities -p crm.platform -p crm.console

unit: venv
	$(BIN)/pytest tests/unit

bench: venv
	$(BIN)/python -m bench

schemas: venv
	$(BIN)/crm events schema --out schemas/events

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
