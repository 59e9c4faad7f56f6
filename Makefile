# chatsync: `make run` brings up the whole system, `make test` runs the whole test suite.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## Show this help
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z_-]+:.*?## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## Install system packages (if missing) and the pinned Python environment in .venv
	@scripts/bootstrap.sh

run: install ## Start the local stack and run chatsync (API, worker; demo feed without Telegram token)
	$(BIN)/chatsync infra up
	$(BIN)/chatsync run

test: install ## Install everything, lint, type-check and run every test against the real stack
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if command -v docker-compose >/dev/null; then \
	  docker-compose -f docker-compose.kafka.yml config -q && echo "docker-compose.kafka.yml: valid"; \
	else echo "docker-compose not installed: compose file not checked"; fi
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: install ## Only the fast unit tests (no stack)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: install ## Only the tests against the real local stack
	$(BIN)/pytest tests/integration tests/e2e $(PYTEST_ARGS)

lint: install ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schemas: install ## Regenerate the JSON Schemas and the AsyncAPI document under schemas/
	$(BIN)/python -m chatsync.schemas

bench: install ## Run every benchmark under bench/ (each prints JSON with its baseline)
	@for b in bench/*/run.py; do m=$${b%.py}; $(BIN)/python -m $${m//\//.}; done

down: ## Stop the local stack
	$(BIN)/chatsync infra down

.PHONY: help install run test test-unit test-integration lint format schemas bench down
