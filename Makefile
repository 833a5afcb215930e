# Everything a developer or CI needs: `make run` starts the embedded stack, `make test` checks
# the whole project. Both build .venv first and reinstall only when pyproject.toml changed.

SHELL := /bin/bash
# The interpreter the venv is made from: Debian's own python3.11 when it can make one (package
# python3.11-venv), else the first python3.11 or python3 on PATH; `make test PYTHON=...` picks
# another. Debian builds CPython with profile-guided and link-time optimisation; a Python built
# from source without --enable-optimizations (pyenv's default, first on PATH on this CI image)
# ran pure-Python work a fifth to a third slower on this 2-core machine (README, "Measured").
PYTHON ?= $(shell for p in /usr/bin/python3.11 python3.11 python3; do \
  command -v $$p > /dev/null && $$p -c 'import ensurepip, venv' 2> /dev/null \
  && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` needs the runtime only; the test, bench and charts extras come with the targets
# that use them (STAMP), so running never waits for them.
RUN_STAMP := $(VENV)/.installed-run
# Real servers the tests start: PostgreSQL for the records store; Prometheus and Alertmanager
# (with promtool and amtool) for the alert rules, the receiver config and the end-to-end test.
APT_PACKAGES := postgresql prometheus prometheus-alertmanager chromium fonts-dejavu-core docker-compose
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test check lint fmt system-deps bench soak vendor screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every package to the versions the suite last passed with.
# pip compiles every module it installs on one core, half of the install's time; compileall
# then does it on every core.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e '.[test,bench,charts]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	touch $@ $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

run: $(RUN_STAMP)
	$(BIN)/tocsin up

system-deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update \
	    && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	       apt-get install -y --no-install-recommends $$missing; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# pytest-xdist: the suite spends much of its time waiting on the servers it starts (Temporal,
# PostgreSQL, Prometheus, Chromium, tocsin up). The whole-stack trials run in three groups, one
# worker each (tests/conftest.py), and the fourth worker takes the rest until a group is done.
# Each worker starts its own session servers; a test never shares state with another worker.
PYTEST_WORKERS ?= 4

# Images that set PYTHONDONTWRITEBYTECODE (Debian's python containers, this CI's) make every
# process of the suite compile the project from source, and the strict sandbox of the workflow
# tests compile each workflow module again for every workflow it starts: a fifth of a worker
# test's CPU. The suite writes bytecode (the __pycache__ folders git ignores).
test check soak screenshots: export PYTHONDONTWRITEBYTECODE :=

# mypy works alone on one core for a minute on a fresh clone: it checks beside pytest rather
# than before it, and its report follows pytest's. Either failing fails the target. It runs at
# the lowest priority: the suite's stack trials leave a core partly idle while they wait, and
# mypy fits in those gaps instead of taking a core from the tests.
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@nice -n 19 $(BIN)/mypy > $(VENV)/mypy.out 2>&1 & mypy=$$!; \
	  $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup; tests=$$?; \
	  wait $$mypy; typed=$$?; echo "mypy:"; cat $(VENV)/mypy.out; \
	  exit $$(( tests != 0 ? tests : typed ))

# The inner loop: lint and the tests that start no server (tests/unit), in about a minute.
check: $(STAMP) lint
	$(BIN)/pytest -q -n 2 tests/unit

# The long trials (docs/reliability.md): 20 crash trials per process, the records database
# down for a minute, schemathesis with many examples, the forged-request properties. Not part
# of `make test`.
soak: $(STAMP) system-deps
	TOCSIN_CRASH_TRIALS=20 TOCSIN_DB_OUTAGE_SECONDS=60 TOCSIN_FUZZ_EXAMPLES=100 \
	  TOCSIN_FUZZ_SECONDS=600 TOCSIN_FORGERIES=5000 \
	  $(BIN)/pytest -q tests/integration/test_crash.py \
	  tests/records/test_database_outage.py tests/workflows/test_outage.py \
	  tests/integration/test_fuzz.py tests/unit/test_slack_forgery.py \
	  tests/integration/test_secrets.py

# The README's pictures, taken by the browser tests from the pages they check.
screenshots: $(STAMP) system-deps
	TOCSIN_ARTIFACTS=docs/images $(BIN)/pytest -q tests/browser

# Figures against bare Temporal on this machine (not part of `make test`); sizes: see
# `$(BIN)/python -m bench.run --help`. Writes bench/results/<date>.json and docs/benchmarks.md.
# Then what-if over recorded incidents (issue 28: 1,000 in at most 2 minutes), with the
# machine's load average beside the figure; WHATIF_ARGS="--incidents 200" for a shorter run.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.whatif $(WHATIF_ARGS)

# The front-end files the API serves (api/static/vendor/README.md), from the npm registry.
VENDOR := api/static/vendor
vendor:
	rm -rf .vendor && mkdir -p .vendor
	cd .vendor && npm pack --silent swagger-ui-dist@5.35.0 redoc@2.5.4 htmx.org@2.0.11 htmx-ext-sse@2.2.4 chart.js@4.6.1
	cd .vendor && for f in *.tgz; do mkdir "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	cp .vendor/swagger-ui-dist-5.35.0/package/{swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png,LICENSE,swagger-ui-bundle.js.LICENSE.txt} $(VENDOR)/swagger-ui/
	cp .vendor/redoc-2.5.4/package/bundles/{redoc.standalone.js,redoc.standalone.js.LICENSE.txt} .vendor/redoc-2.5.4/package/LICENSE $(VENDOR)/redoc/
	cp .vendor/htmx.org-2.0.11/package/{dist/htmx.min.js,LICENSE} $(VENDOR)/htmx/
	cp .vendor/htmx-ext-sse-2.2.4/package/dist/sse.min.js $(VENDOR)/htmx/
	cp .vendor/htmx-ext-sse-2.2.4/package/LICENSE $(VENDOR)/htmx/LICENSE-sse
	cp .vendor/chart.js-4.6.1/package/{dist/chart.umd.min.js,LICENSE.md} $(VENDOR)/chartjs/
	sed -i '/sourceMappingURL/d' $(VENDOR)/*/*.js
	rm -rf .vendor
