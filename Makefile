# The two set-up commands of the README: `make run` and `make test`.
# Both create a virtual environment in .venv and install the project into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/audit-service init-db
	$(BIN)/audit-service demo-data --if-empty
	$(BIN)/audit-service project --until-caught-up
	$(BIN)/audit-service projections status

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
