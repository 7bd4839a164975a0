# The two commands of the README: `make demo` (the main job) and `make test`.
# Both build .venv from the pinned lock (requirements.txt) when it is missing or stale.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint venv clean reliability-report

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@# Bytecode at install: where PYTHONDONTWRITEBYTECODE is set (this CI's machines) no .pyc is ever
	@# written, and every process (each Airflow task, the scheduler, the CLI) compiled pandas and
	@# Airflow from source again: `import pandas, airflow.sdk` took 7.6 s instead of 3.3 s.
	@VIRTUAL_ENV=$(VENV) $(BIN)/uv pip install -q --compile-bytecode -r requirements.txt
	@VIRTUAL_ENV=$(VENV) $(BIN)/uv pip install -q --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/citydata demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# Bad inputs tried, faults injected, rows lost: runs the reliability tests (slow ones included), then the table.
reliability-report: $(STAMP)
	rm -rf test-artifacts/reliability
	-$(BIN)/pytest -q -p no:warnings tests/reliability/test_bad_inputs.py tests/reliability/test_faults.py tests/reliability/test_security.py \
		tests/reliability/test_landing_properties.py tests/reliability/test_leak_properties.py tests/ingest/test_landing_trust.py \
		tests/ingest/test_no_leak.py tests/ingest/test_private_files.py tests/warehouse/test_reserved_names.py
	$(BIN)/python scripts/reliability_report.py

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf .citydata
