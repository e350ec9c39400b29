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
pytest: venv
	@$(BIN)/pytest -ra $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: system venv lint typecheck pytest

demo: system venv
	$(BIN)/tvoxcc demo

bench: venv
	for b in bench/*.py; do $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
