# Two commands do all set-up on a fresh machine:
#   make run    install into .venv, then serve the UI and API on the default index
#   make test   install into .venv (and Debian's chromium and axe-core for the browser tests,
#               tesseract and antiword for scans and Word 97-2003 files), then run pytest
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install browser axe archives archives-note sphinx

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install archives-note
	$(PY) -m search_service serve $(ARGS)

# Scans (OCR) and Word 97-2003 files are read with Debian's tesseract (and its Vietnamese
# model) and antiword. `make test` installs them; `make run` only says when they are missing
# (serving needs neither; ingesting such files then fails for those files alone).
ARCHIVE_PACKAGES := tesseract-ocr tesseract-ocr-vie antiword
archives:
	@{ command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx vie \
	   && command -v antiword >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    $(ARCHIVE_PACKAGES) >/dev/null; }

archives-note:
	@{ command -v tesseract >/dev/null 2>&1 && command -v antiword >/dev/null 2>&1; } || \
	  echo "note: scans (OCR) and .doc files need Debian's $(ARCHIVE_PACKAGES): make archives" >&2

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

test: install browser axe archives sphinx
	$(PY) -m pytest -q $(ARGS)
