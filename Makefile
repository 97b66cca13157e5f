# movielake: the two commands a new user needs are `make demo` and `make test`.
# Both create .venv and install what they need; nothing has to be installed by hand.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHECKOV_VENV ?= .venv-checkov
SAMPLE ?= data/sample

.PHONY: install build browser lint test test-fast demo down clean bench permissions help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,dev]'
	touch $@

install: $(STAMP)  ## create .venv and install movielake with its local-stack and dev extras

build: install  ## build the Lambda zips into build/
	bash scripts/build_lambdas.sh

# The report's browser test (tests/test_report.py) and bench/report.py drive Debian's chromium.
# Best effort: installed with apt-get when missing and this runs as root; else the test skips,
# saying why.
browser:  ## install Debian's chromium for the report's browser test, if missing and possible
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the report's browser test will skip"; \
	  else echo "chromium missing (needs root and apt-get): the report's browser test will skip"; fi; }

$(CHECKOV_VENV)/bin/checkov:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov

# terraform fmt and validate run once, in the suite (tests/test_terraform_static.py), which
# skips them with the reason when terraform is not on PATH.
lint: install $(CHECKOV_VENV)/bin/checkov  ## ruff and checkov (terraform fmt/validate are in the suite)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform -d terraform

test: install lint build browser  ## the whole suite (lint included), as CI runs it
	$(BIN)/pytest

test-fast: install  ## the edit-test loop: ruff, then the tests not marked terraform or slow
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -m "not terraform and not slow"

demo: install build  ## bring up the local stack and run the pipeline on the bundled sample
	$(BIN)/movielake local up
	$(BIN)/movielake local land $(SAMPLE)/movies.csv $(SAMPLE)/series.csv
	# csv-ingest registered each landed file's date partition; the planner starts the TMDB
	# crawler, and its pump waits for the crawl and delivers the crawler's success through the
	# EventBridge rule to the refine Lambda.
	$(BIN)/movielake local invoke tmdb-planner
	$(BIN)/movielake query --all
	$(BIN)/movielake report

permissions: install build  ## run the end-to-end test under enforced IAM and write build/permissions.md (and .json)
	$(BIN)/pytest -q -p no:cacheprovider tests/test_pipeline_end_to_end.py -k every_use_is_granted

down: install  ## stop the local stack
	$(BIN)/movielake local down

bench: install build browser  ## the benchmarks in bench/, each printing its figures
	$(BIN)/python bench/select_films.py --shape film
	$(BIN)/python bench/select_films.py --shape artist
	$(BIN)/python bench/tmdb_fetch.py --baseline
	$(BIN)/python bench/tmdb_fetch.py --end-to-end --ids 4000 --fault-share 0.01 --fault-kinds hang --hang-seconds 8
	$(BIN)/python bench/tmdb_scale.py --ids 100000 --rate 400 --workers 4 --mode queue
	$(BIN)/python bench/analyses.py
	$(BIN)/python bench/validate_csv.py
	$(BIN)/python bench/refine.py
	$(BIN)/python bench/report.py

clean:  ## remove generated files (keeps .venv)
	find build -mindepth 1 ! -name .keep -exec rm -rf {} +
