# The two commands of the README: `make run` and `make test`. Each installs what is missing.
.PHONY: run test setup lint bench db-stop clean

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
	.venv/bin/mypy
	.venv/bin/pytest -n 3 --dist loadfile

# Benchmarks on the full sample city (loaded if missing); tables printed, bench/results*.{md,png}.
bench: setup
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	@$(ONEMAP) db start
	@$(ONEMAP) db migrate
	@$(ONEMAP) samples load --if-empty
	.venv/bin/python bench/harness.py
	.venv/bin/python bench/harness.py --workers 2 --out bench/results-2-workers.md
	.venv/bin/python bench/ingest_vs_ogr2ogr.py
	.venv/bin/python bench/analyses_timing.py
	@$(ONEMAP) serve --port 8790 & pid=$$!; sleep 5; \
	  .venv/bin/python bench/viewer_render.py --url http://127.0.0.1:8790; kill $$pid

lint: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

db-stop:
	@$(ONEMAP) db stop

clean: db-stop
	rm -rf .onemap
