# Two commands do all set-up on a fresh machine:
#   make run    install requirements.txt (the runtime set) into .venv, then serve the UI and
#               API on the default index
#   make test   install requirements-dev.txt (runtime + test packages) into .venv, and Debian's
#               chromium, npm, tesseract, antiword and sphinxsearch when missing (one apt-get
#               update and one apt-get install for all of them), axe-core from npm; then pytest
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test install install-dev debian browser axe archives archives-note sphinx

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $@

# The test packages on top of the runtime set (requirements-dev.txt starts with -r requirements.txt).
$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install archives-note
	$(PY) -m search_service serve $(ARGS)

# Debian packages, by group: a shell test that passes when the group is already there, and
# the packages that provide it.
# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
BROWSER_CHECK := command -v chromium >/dev/null 2>&1
BROWSER_PACKAGES := chromium fonts-dejavu-core
# Scans (OCR) and Word 97-2003 files are read with Debian's tesseract (and its Vietnamese
# model) and antiword. `make test` installs them; `make run` only says when they are missing
# (serving needs neither; ingesting such files then fails for those files alone).
ARCHIVES_CHECK := command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx vie \
  && command -v antiword >/dev/null 2>&1
ARCHIVES_PACKAGES := tesseract-ocr tesseract-ocr-vie antiword
# The cluster tests start real searchd daemons from Debian's sphinxsearch (Sphinx 2.2.11).
SPHINX_CHECK := command -v searchd >/dev/null 2>&1
SPHINX_PACKAGES := sphinxsearch
# npm fetches axe-core (below); not needed once axe-core is installed.
AXE_CORE := 4.14.1
AXE_STAMP := .cache/npm/axe-core-$(AXE_CORE).installed
NPM_CHECK := test -e $(AXE_STAMP) || command -v npm >/dev/null 2>&1
NPM_PACKAGES := npm

# $(call apt-install,GROUPS): install the packages of the groups that are missing, with one
# `apt-get update` and one `apt-get install` (none when nothing is missing); root or sudo.
apt-install = need=; \
  $(foreach g,$(1),{ $($(g)_CHECK); } || need="$$need $($(g)_PACKAGES)";) \
  if [ -n "$$need" ]; then \
    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
    $$SUDO apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
      $$need >/dev/null; \
  fi

# Everything `make test` needs from Debian, at once.
debian:
	@$(call apt-install,BROWSER NPM ARCHIVES SPHINX)

# Each group alone, e.g. `make archives` to ingest scans and .doc files after `make run`.
browser:
	@$(call apt-install,BROWSER)

archives:
	@$(call apt-install,ARCHIVES)

sphinx:
	@$(call apt-install,SPHINX)

archives-note:
	@{ command -v tesseract >/dev/null 2>&1 && command -v antiword >/dev/null 2>&1; } || \
	  echo "note: scans (OCR) and .doc files need Debian's $(ARCHIVES_PACKAGES): make archives" >&2

# axe-core, the accessibility checker the browser tests inject into pages, from the npm
# registry at a pinned version, into a git-ignored folder (.cache/npm). Under `make test` it
# waits for `debian` (which brings npm), so that even `make -j test` runs apt-get once;
# `make axe` alone installs npm itself when missing.
$(AXE_STAMP): | $(if $(filter test,$(MAKECMDGOALS)),debian)
	@$(call apt-install,NPM)
	npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_CORE)
	touch $@

axe: $(AXE_STAMP)

test: install-dev debian axe
	$(PY) -m pytest -q $(ARGS)
