# The two commands: `make dev` runs the platform locally, `make test` runs every test.
# With an AWS account, `make cloud-test` runs the end-to-end suite against an ephemeral real stack.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The web app has no build step; npm only vendors hls.js (and axe-core for the browser tests),
# pinned by its lock file.
WEB_DEPS := app/web/node_modules/.package-lock.json
# Debian packages: ffmpeg for the transcoder; the rest for the tests (PostgreSQL server,
# Chromium for browser tests, Packer, shellcheck and systemd-analyze for the machine images,
# Graphviz for `reelstack synth --format svg`).
DEV_PACKAGES := ffmpeg
TEST_PACKAGES := ffmpeg postgresql chromium shellcheck packer systemd graphviz
# What `make bench` needs: ffmpeg for the transcodes, a PostgreSQL server for the API under load.
BENCH_PACKAGES := ffmpeg postgresql
# What the end-to-end suite needs on this machine against a deployed stack: test clips, ffprobe, the browser.
E2E_PACKAGES := ffmpeg chromium

.PHONY: dev test bench cloud-test install system-packages-dev system-packages-test system-packages-e2e system-packages-npm lint pytest policy constraints clean

dev: system-packages-dev install
	$(BIN)/reelstack up

test: system-packages-test install lint pytest policy

# Every benchmark side by side: one table of ratios against the goals, written to bench/results/.
# QUICK=1 runs a smaller version of each (under three minutes); `make test` runs that once.
bench: install
	$(call apt_install,$(BENCH_PACKAGES))
	$(BIN)/python -m bench $(if $(QUICK),--quick)

# Needs the Pulumi CLI, a backend login and AWS credentials (docs/platform-teams.md); creates a
# stack, tests it and destroys it whatever the outcome. Not part of `make test`.
# CLOUD_TEST_ARGS narrows the suite, e.g. CLOUD_TEST_ARGS="tests/e2e -k playlist".
cloud-test: system-packages-e2e install
	$(BIN)/python -m tests.e2e.cloud $(CLOUD_TEST_ARGS)

install: $(VENV)/.installed $(WEB_DEPS)

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "reelstack needs Python 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

$(WEB_DEPS): app/web/package.json app/web/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory system-packages-npm
	npm ci --prefix app/web --no-audit --no-fund --loglevel=error

system-packages-npm:
	$(call apt_install,nodejs npm)

# apt only when something is missing, and only as root (CI and fresh machines run as root).
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:" $$missing "(run as root, or: sudo apt-get install" $$missing")"; exit 1; fi; \
	fi
endef

system-packages-dev:
	$(call apt_install,$(DEV_PACKAGES))

system-packages-test:
	$(call apt_install,$(TEST_PACKAGES))

system-packages-e2e:
	$(call apt_install,$(E2E_PACKAGES))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app infra policies pulumi_offline stacks

# One pytest worker per CPU (pytest-xdist); each session platform's tests stay on one worker.
# The 20 slowest tests are listed at the end: the suite must stay well under 15 minutes in CI.
PYTEST_WORKERS ?= auto
pytest: install
	CI=$${CI:-} $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=20

policy: install
	$(BIN)/reelstack policy --stack dev
	$(BIN)/reelstack policy --stack prod

# Regenerate the pinned set of every transitive dependency after changing pyproject.toml.
constraints:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) app/web/node_modules .pytest_cache .mypy_cache .ruff_cache
