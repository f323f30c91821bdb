# Two commands on a fresh machine:  make run   (the whole system)   make test   (every test)
.PHONY: run test lint unit bench services venv migrate clean

VENV := .venv/bin
# both cores: every test has its own database, Redis prefix and exchange (PYTEST_ARGS= for one process)
PYTEST_ARGS ?= -n 2

venv:
	@scripts/bootstrap.sh

services:
	@scripts/ensure-services.sh

## Set up, migrate, seed the demo tenant and serve every function at http://127.0.0.1:8080/function/<name>
run: venv services
	$(VENV)/python -m prichal_localrun

## Lint and run the whole test suite against the real PostgreSQL, Redis and RabbitMQ
test: venv services lint
	$(VENV)/pytest $(PYTEST_ARGS)

lint:
	$(VENV)/ruff check .

unit: venv
	$(VENV)/pytest tests/unit

## Benchmarks print figures (see bench/README.md)
bench: venv services
	$(VENV)/python bench/holds.py

migrate: venv services
	$(VENV)/python -m prichal.adapters.db.migrate upgrade

clean:
	rm -rf .venv .pytest_cache .ruff_cache
