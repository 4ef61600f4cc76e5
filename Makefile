# dbcomm — make targets.  `make run` and `make test` set up everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?=
ARGS ?=

# Debian/Ubuntu packages: Qt's runtime libraries (offscreen and X11), a virtual
# screen for screenshots, PDF tools for tests, fonts with every Vietnamese letter, and a
# software USB token (SoftHSM2, OpenSC) for the token-signing tests, and a PostgreSQL server for
# the shared-server tests (the tests start a throwaway cluster of their own).
DEB_PACKAGES := python3-venv python3-pip libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 \
  libfreetype6 libglib2.0-0 libxkbcommon0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
  libxcb-keysyms1 libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-util1 libxcb-xkb1 \
  libxkbcommon-x11-0 xvfb xauth poppler-utils fonts-liberation2 fonts-noto-core softhsm2 opensc osslsigncode \
  postgresql

# Building the Windows installer on Linux and trying it under Wine; checking the Linux bundle in a
# clean Debian 12 root.
WINDOWS_DEB_PACKAGES := osslsigncode nsis gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wine wine64
LINUX_DEB_PACKAGES := debootstrap

# The benchmark's baseline: what offices use today to turn a document into PDF.
BENCH_DEB_PACKAGES := libreoffice-writer-nogui

.PHONY: help run demo test lint typecheck bench translations extract sysdeps screenshots clean \
  dist-windows check-windows lock-windows dist-linux check-linux dist-check installer-screenshots

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

sysdeps:  ## install the Debian/Ubuntu packages (as root), or say which are missing
	@scripts/sysdeps.sh $(DEB_PACKAGES)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory sysdeps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

translations: $(STAMP)  ## compile the message catalogs (.po → .mo)
	@for po in translations/*/LC_MESSAGES/dbcomm.po; do \
	  [ -f "$$po" ] || continue; \
	  lang=$$(basename $$(dirname $$(dirname $$po))); \
	  mkdir -p src/dbcomm/locale/$$lang/LC_MESSAGES; \
	  $(BIN)/pybabel compile --statistics -l $$lang -i $$po -o src/dbcomm/locale/$$lang/LC_MESSAGES/dbcomm.mo || exit 1; \
	done

extract: $(STAMP)  ## re-extract marked strings and update the catalogs
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg -k N_ -k _ -k ngettext:1,2 \
	  --project=dbcomm -o translations/dbcomm.pot src/dbcomm
	$(BIN)/pybabel update --no-fuzzy-matching -D dbcomm -i translations/dbcomm.pot -d translations

run: $(STAMP) translations  ## set up and start dbcomm (DB=path to use another database, ARGS=…)
	$(BIN)/dbcomm $(if $(DB),--db $(DB)) $(ARGS)

demo: $(STAMP) translations  ## start dbcomm on a separate database filled with demo data
	$(BIN)/dbcomm --db $(or $(DB),demo.sqlite3) demo-data --if-empty --demo-office
	$(BIN)/dbcomm --db $(or $(DB),demo.sqlite3) $(ARGS)

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check src tests bench scripts installer
	$(BIN)/mypy

# The suite runs in two processes (pytest-xdist), one test file at a time in each, so that a module's
# fixtures are still made once; each process has its own PostgreSQL cluster and temporary folders.
# TEST_WORKERS=0 runs it in this one process. The ten slowest steps are listed at the end.
TEST_WORKERS ?= 2

test: $(STAMP) translations lint  ## set up and run the whole test suite
	QT_QPA_PLATFORM=offscreen $(BIN)/python -X faulthandler -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=10

bench: $(STAMP) translations  ## measure speed at province scale (100,000 activities)
	@scripts/sysdeps.sh --optional $(BENCH_DEB_PACKAGES)
	$(BIN)/python bench/bench_all.py --readme

screenshots: $(STAMP) translations  ## regenerate the README screenshots
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py docs/img
	$(BIN)/python scripts/report_pages.py docs/img
	$(BIN)/python scripts/signed_pages.py docs/img

dist-windows: $(STAMP) translations  ## build dist/dbcomm-<version>-setup.exe (Windows installer) on Linux
	@scripts/sysdeps.sh $(WINDOWS_DEB_PACKAGES)
	$(BIN)/python installer/windows/build.py

check-windows: dist-windows  ## install the Windows build under Wine, run its self-test, upgrade, uninstall
	$(BIN)/python installer/windows/check.py

lock-windows: $(STAMP)  ## re-resolve the Windows wheels (installer/windows/requirements.lock)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-platform x86_64-pc-windows-msvc --python-version 3.13 \
	  --generate-hashes --no-header --no-annotate -o installer/windows/requirements.lock

dist-linux: $(STAMP) translations  ## build dist/dbcomm-<version>-linux-x86_64.tar.gz (PyInstaller bundle)
	bash installer/linux/build.sh

check-linux: dist-linux  ## run the Linux bundle's self-test in a clean Debian 12 root (as root)
	@scripts/sysdeps.sh $(LINUX_DEB_PACKAGES)
	bash installer/linux/check.sh

dist-check: check-windows check-linux  ## build both installers and check them

installer-screenshots: dist-windows  ## the installer's pages and the first start, for docs/install.md
	$(BIN)/python scripts/installer_screenshots.py

clean:  ## remove the virtual environment and build output
	rm -rf $(VENV) build dist src/*.egg-info src/dbcomm/locale
