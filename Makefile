# Two commands do all set-up on a fresh machine:
#   make run    install into .venv, then serve the UI and API on the default index
#   make test   install into .venv (and Debian's chromium and axe-core for the browser tests),
#               then run pytest
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install browser axe sphinx

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m search_service serve $(ARGS)

# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null; }

# The cluster tests start real searchd daemons from Debian's sphinxsearch (Sphinx 2.2.11).
sphinx:
	@command -v searchd >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    sphinxsearch >/dev/null; }

# axe-core, the accessibility checker the browser tests inject into pages, from the npm
# registry at a pinned version, into a git-ignored folder (.cache/npm).
AXE_CORE := 4.14.1
AXE_STAMP := .cache/npm/axe-core-$(AXE_CORE).installed

$(AXE_STAMP):
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_CORE)
	touch $@

axe: $(AXE_STAMP)

test: install browser axe sphinx
	$(PY) -m pytest -q $(ARGS)
