# The two commands of the README:  `make demo`  and  `make test`.  Both do every setup step themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest system venv bench clean

system:
	bash scripts/system-deps.sh

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(BIN)/ruff check tvoxcc tests bench
	$(BIN)/ruff format --check tvoxcc tests bench

typecheck: venv
	$(BIN)/mypy

# pytest's exit code 5 means "no tests ran": that is a failure here, never a pass.
# Two workers (pytest-xdist): the lab tests in one, in order (tests/conftest.py), the rest beside them by module.
PYTEST_WORKERS ?= 2
pytest: venv
	@$(BIN)/pytest -ra -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: system venv lint typecheck pytest

demo: system venv
	$(BIN)/tvoxcc demo

# Every bench (bench/_*.py are helpers) with --quick, and again on a private PostgreSQL where it takes
# --postgres. All of them run even when one misses its aim; the target fails if any missed or failed.
# `make bench BENCH_ARGS=` for the full runs.
BENCH_ARGS ?= --quick
BENCH_ON_POSTGRES := bench/acd_nodes.py bench/insight.py bench/kb.py bench/universal.py bench/wallboard.py

bench: venv
	@missed=""; \
	for b in bench/[!_]*.py; do \
	  echo "== $$b $(BENCH_ARGS)"; $(BIN)/python $$b $(BENCH_ARGS) || missed="$$missed $$b"; \
	done; \
	for b in $(BENCH_ON_POSTGRES); do \
	  echo "== $$b $(BENCH_ARGS) --postgres"; $(BIN)/python $$b $(BENCH_ARGS) --postgres || missed="$$missed $$b(postgres)"; \
	done; \
	if [ -n "$$missed" ]; then echo "make bench: missed its aim or failed:$$missed" >&2; exit 1; fi; \
	echo "make bench: every bench met its aim"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
