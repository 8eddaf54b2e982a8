# The two set-up commands of the README: `make run` and `make test`.
# Both create a virtual environment in .venv and install the project into it first.
# `make run` ends with the HTTP API and the web pages serving the demo data on SQLite
# (Ctrl-C stops it); it prints the sign-in URL and a demo board user's password.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BIND ?= 127.0.0.1:8000

.PHONY: run test mutation clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/audit-service init-db
	$(BIN)/audit-service demo-data --if-empty
	$(BIN)/audit-service project --until-caught-up
	$(BIN)/audit-service tokens create --role admin --name "make run" --url http://$(BIND)
	$(BIN)/audit-service users demo demo.board --role board --url http://$(BIND)
	$(BIN)/audit-service serve --bind $(BIND)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Mutation testing of the deciding modules (not part of `make test`; hours of CPU for all):
# `make mutation MUTATION_ARGS="--module limitation"` runs one module. Writes docs/mutation.md.
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	$(BIN)/python scripts/mutation.py $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
