#!/usr/bin/env bash
# Build dbcomm's Linux bundle: dist/dbcomm-<version>-linux-x86_64.tar.gz.
#
#   bash installer/linux/build.sh
#
# Uses its own virtual environment (build/linux-venv) with PyInstaller and dbcomm installed as
# a normal package, compiles the translations when they are missing, freezes dbcomm into
# build/linux/dist/dbcomm (one folder), adds the desktop entry, the icon and install.sh, runs
# the bundle's self-test, and packs the folder. Needs Python 3.11+ (a shared libpython) and the
# Debian packages listed below (installed when run as root). PYTHON picks the interpreter.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
HERE=installer/linux
PYTHON=${PYTHON:-python3}
VENV=build/linux-venv
WORK=build/linux
BUDGET_MB=120
began=$(date +%s.%N)

VERSION=$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
TARBALL=dist/dbcomm-$VERSION-linux-x86_64.tar.gz
echo "== dbcomm $VERSION: Linux bundle"

# --- the build host's packages: their libraries go into the bundle -----------------------------
# Qt's offscreen, xcb and wayland platforms, CUPS printing, and Noto Sans for the interface.
HOST_PACKAGES=(python3-venv fonts-noto-core libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1
  libfreetype6 libglib2.0-0 libxkbcommon0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-util1 libxcb-xkb1
  libxkbcommon-x11-0 libcups2)
scripts/sysdeps.sh "${HOST_PACKAGES[@]}"

# --- the build environment ------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
"$VENV/bin/python" -m pip install --quiet 'pyinstaller>=6.10'

# --- files the package needs that are made, not kept in git ----------------------------------
if [ ! -d src/dbcomm/locale ]; then
  echo "== compiling the translations"
  if [ -x .venv/bin/pybabel ]; then
    make --no-print-directory -o .venv/.installed translations
  else  # no development environment: the build environment has Babel once dbcomm's deps are in
    "$VENV/bin/python" -m pip install --quiet Babel
    make --no-print-directory -o .venv/.installed BIN="$VENV/bin" translations
  fi
fi
if [ ! -f src/dbcomm/icons/dbcomm.png ]; then
  echo "== drawing the icon"
  "$VENV/bin/python" -m pip install --quiet Pillow
  "$VENV/bin/python" scripts/make_icon.py "$WORK/icon"
  cp "$WORK/icon/dbcomm.png" src/dbcomm/icons/dbcomm.png
fi

# dbcomm itself, as a release installs it (not editable): package data comes from the wheel.
"$VENV/bin/python" -m pip install --quiet .

# --- freeze -----------------------------------------------------------------------------------
echo "== PyInstaller"
rm -rf "$WORK/dist" "$WORK/work"
DBCOMM_BUILD_DIR="$REPO/$WORK" "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$WORK/dist" --workpath "$WORK/work" "$HERE/dbcomm.spec"
BUNDLE=$WORK/dist/dbcomm

# --- the desktop entry, the icon and the per-user installer -----------------------------------
cp "$HERE/dbcomm.desktop" "$BUNDLE/dbcomm.desktop"
cp src/dbcomm/icons/dbcomm.png "$BUNDLE/dbcomm.png"
install -m 755 "$HERE/install.sh" "$BUNDLE/install.sh"
# Licence texts: dbcomm is GPL-3.0-or-later, Qt and PySide6 are LGPL-3.0 (the fonts' are beside them).
mkdir -p "$BUNDLE/licenses"
cp LICENSE* COPYING* "$BUNDLE/licenses/" 2>/dev/null || true
for text in GPL-3 LGPL-3; do
  if [ -f "/usr/share/common-licenses/$text" ]; then cp "/usr/share/common-licenses/$text" "$BUNDLE/licenses/$text.txt"; fi
done
cat >"$BUNDLE/README.txt" <<EOF
dbcomm $VERSION for Linux (x86_64, glibc 2.36 or newer: Debian 12, Ubuntu 23.04, Fedora 37 or later)

Install for yourself (no administrator rights needed):   ./install.sh
  copies this folder to ~/.local/opt/dbcomm and adds dbcomm to the applications menu.
Remove it again:                                         ./install.sh --uninstall
Run without installing:                                  ./dbcomm
Check this computer can run it:                          ./dbcomm self-test

Licences: dbcomm is free software under the GNU GPL, version 3 or later; it runs on Qt and
PySide6 (GNU LGPL, version 3) and Python; texts in licenses/. Fonts: Liberation Serif,
Noto Serif and Noto Sans (SIL Open Font License 1.1), licences in _internal/dbcomm/fonts/.
EOF

# --- the bundle must pass its own self-test before it is packed --------------------------------
echo "== self-test of the bundle (offscreen)"
selftest_home=$(mktemp -d "$REPO/$WORK/selftest-home.XXXXXX")
if ! env -u PYTHONPATH -u LD_LIBRARY_PATH HOME="$selftest_home" QT_QPA_PLATFORM=offscreen \
    "$BUNDLE/dbcomm" --lang en self-test; then
  rm -rf "$selftest_home"
  echo "The bundle's self-test failed: not packed." >&2
  exit 1
fi
rm -rf "$selftest_home"

# --- pack -------------------------------------------------------------------------------------
mkdir -p dist
rm -f "$TARBALL"
tar -C "$WORK/dist" --owner=0 --group=0 --numeric-owner -czf "$TARBALL" dbcomm

tar_bytes=$(stat -c %s "$TARBALL")
unpacked_kb=$(du -sk "$BUNDLE" | cut -f1)
seconds=$(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
awk -v t="$tar_bytes" -v u="$unpacked_kb" -v s="$seconds" -v budget="$BUDGET_MB" -v f="$TARBALL" 'BEGIN {
  mb = t / 1048576
  printf "%s: %.1f MB of the %d MB budget (%s); unpacked %.1f MB; built in %d min %02d s\n",
         f, mb, budget, (mb <= budget ? "OK" : "OVER"), u / 1024, int(s / 60), s % 60
}'
