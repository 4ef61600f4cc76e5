#!/bin/sh
# Install dbcomm for the current user, without administrator rights:
#   the program in ~/.local/opt/dbcomm, a "dbcomm" command in ~/.local/bin,
#   the menu entry in ~/.local/share/applications and the icon in ~/.local/share/icons.
#
#   ./install.sh              install (or update) from the folder this script is in
#   ./install.sh --uninstall  remove all of that again (your data in ~/.local/share/dbcomm stays)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
TARGET=$HOME/.local/opt/dbcomm
BIN_DIR=$HOME/.local/bin
APPS=$DATA_HOME/applications
ICONS=$DATA_HOME/icons/hicolor/256x256/apps

if [ "$(id -u)" -eq 0 ] && [ "${DBCOMM_INSTALL_AS_ROOT:-}" != 1 ]; then
  echo "install.sh installs dbcomm for one user: run it as that user, not as root." >&2
  echo "(To install into root's own home anyway, set DBCOMM_INSTALL_AS_ROOT=1.)" >&2
  exit 2
fi

refresh_menus() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" 2>/dev/null || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 \
    && gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$TARGET"
  rm -f "$APPS/dbcomm.desktop" "$ICONS/dbcomm.png"
  if [ -L "$BIN_DIR/dbcomm" ]; then rm -f "$BIN_DIR/dbcomm"; fi
  refresh_menus
  echo "dbcomm removed. Your data (~/.local/share/dbcomm) was left in place."
  exit 0
fi

if [ ! -x "$HERE/dbcomm" ] || [ ! -d "$HERE/_internal" ]; then
  echo "install.sh must stay in the unpacked dbcomm folder (next to the dbcomm program)." >&2
  exit 1
fi

# Copy to a new folder first, then swap: an interrupted copy never leaves a broken install.
mkdir -p "$(dirname "$TARGET")"
if [ "$HERE" != "$TARGET" ]; then
  rm -rf "$TARGET.new"
  cp -a "$HERE" "$TARGET.new"
  rm -rf "$TARGET.old"
  if [ -e "$TARGET" ]; then mv "$TARGET" "$TARGET.old"; fi
  mv "$TARGET.new" "$TARGET"
  rm -rf "$TARGET.old"
fi

mkdir -p "$APPS" "$ICONS" "$BIN_DIR"
cp "$TARGET/dbcomm.png" "$ICONS/dbcomm.png"
# The menu entry starts the installed copy by its full path (~/.local/bin may not be on PATH).
sed -e "s|^Exec=.*|Exec=\"$TARGET/dbcomm\"|" -e "s|^TryExec=.*|TryExec=$TARGET/dbcomm|" \
  "$TARGET/dbcomm.desktop" >"$APPS/dbcomm.desktop"
chmod 644 "$APPS/dbcomm.desktop"
ln -sfn "$TARGET/dbcomm" "$BIN_DIR/dbcomm"
refresh_menus

echo "dbcomm installed in $TARGET."
echo "Start it from the applications menu (Office), or run: $BIN_DIR/dbcomm"
