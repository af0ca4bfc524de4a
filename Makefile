# The two commands of the README: `make run` and `make test`. Each installs what is missing.
.PHONY: run test setup lint db-stop clean

ONEMAP := .venv/bin/onemap

setup:
	@scripts/bootstrap.sh

run: setup
	@$(ONEMAP) db start
	@$(ONEMAP) db migrate
	@$(ONEMAP) samples load --if-empty
	@$(ONEMAP) serve

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

db-stop:
	@$(ONEMAP) db stop

clean: db-stop
	rm -rf .onemap
