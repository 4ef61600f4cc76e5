#!/usr/bin/env bash
# Install the Debian/Ubuntu packages dbcomm needs (when root), or say exactly which are missing.
set -euo pipefail
optional=0
if [[ "${1:-}" == "--optional" ]]; then  # missing packages only reduce what can be measured
  optional=1
  shift
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "sysdeps: not a Debian/Ubuntu system; make sure Qt's runtime libraries, Xvfb and poppler-utils are installed." >&2
  exit 0
fi
missing=()
for pkg in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]]; then
  echo "sysdeps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  if [[ $optional -eq 1 ]]; then
    echo "Optional packages not installed (install them for the full measurement):" >&2
    echo "    sudo apt-get install ${missing[*]}" >&2
    exit 0
  fi
  echo "dbcomm needs these system packages, which are not installed:" >&2
  echo "    sudo apt-get install ${missing[*]}" >&2
  echo "Run that command (or run make as root), then run make again." >&2
  exit 1
fi
