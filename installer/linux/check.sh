#!/usr/bin/env bash
# Check the Linux bundle on a bare Debian 12: a minimal bookworm root (debootstrap, variant
# minbase) with only libgl1 and libegl1 added, the tarball unpacked into it, and the bundle's
# own self-test run there under chroot with Qt's offscreen platform.
#
#   sudo bash installer/linux/check.sh [--prepare-only] [TARBALL]
#
# The root is built once and kept in build/debian12-root (delete it to start afresh).
# TARBALL defaults to dist/dbcomm-<version>-linux-x86_64.tar.gz of this checkout.
# Exits 0 only when the self-test passes; 2 when not run as root or a tool is missing.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"

if [ "$(id -u)" -ne 0 ]; then
  echo "check.sh needs root: it builds a Debian root with debootstrap, mounts /proc and /dev" >&2
  echo "into it and runs the bundle under chroot. Run it again with: sudo bash $0 $*" >&2
  exit 2
fi
for tool in debootstrap chroot mount umount mountpoint tar; do
  if ! command -v "$tool" >/dev/null; then
    echo "check.sh needs '$tool' (Debian: apt-get install debootstrap)." >&2
    exit 2
  fi
done

PREPARE_ONLY=0
if [ "${1:-}" = "--prepare-only" ]; then
  PREPARE_ONLY=1
  shift
fi

VERSION=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' pyproject.toml | head -n1)
TARBALL=${1:-dist/dbcomm-$VERSION-linux-x86_64.tar.gz}
ROOT="$REPO/build/debian12-root"
READY="$ROOT/.dbcomm-root-ready"
EXTRA_PACKAGES=(libgl1 libegl1)  # the only packages added to the bare system

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The Debian mirror this machine already uses (deb822 .sources or one-line .list files).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources)
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
               uris = ""; suites = ""
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
                 if ($i ~ /^Suites:/) { suites = " " $i " "; sub(/^Suites:/, "", suites) }
               }
               if (suites ~ /[ \t]bookworm[ \t]/ && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit }
             }' "$f"
        ;;
      *)
        awk '$1 == "deb" {
               for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) break
               if ($(i + 1) == "bookworm") { print $i; exit }
             }' "$f"
        ;;
    esac
  done | head -n1
}

# --- mounts: /proc and a minimal /dev, always taken down again --------------------------------
MOUNTED=()
mount_minimal() {  # $1: the root
  local r=$1 node
  mount -t proc proc "$r/proc"
  MOUNTED+=("$r/proc")
  mount -t tmpfs -o mode=755,size=64k,nosuid,noexec tmpfs "$r/dev"
  MOUNTED+=("$r/dev")
  for node in null zero full random urandom tty; do
    touch "$r/dev/$node"
    mount --bind "/dev/$node" "$r/dev/$node"
    MOUNTED+=("$r/dev/$node")
  done
  mkdir -p "$r/dev/shm"
  mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev tmpfs "$r/dev/shm"
  MOUNTED+=("$r/dev/shm")
  ln -sf /proc/self/fd "$r/dev/fd"
}
unmount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" 2>/dev/null || true
  done
  MOUNTED=()
}
still_mounted() {  # anything still mounted under $1?
  awk -v p="$1/" 'index($2 "/", p) == 1 { found = 1 } END { exit !found }' /proc/mounts
}
CLEANUP_PATHS=()
cleanup() {
  unmount_all
  local p
  for p in "${CLEANUP_PATHS[@]}"; do
    if still_mounted "$p"; then
      echo "Left $p in place: something is still mounted under it." >&2
    else
      rm -rf -- "$p"
    fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the bare Debian 12 root ------------------------------------------------------------------
if [ -f "$READY" ]; then
  echo "Debian 12 root: reusing $ROOT ($(cat "$READY"))"
else
  MIRROR=$(debian_mirror)
  if [ -z "$MIRROR" ]; then
    echo "No bookworm mirror found in /etc/apt/sources.list{,.d}." >&2
    exit 1
  fi
  PARTIAL="$ROOT.partial"
  if still_mounted "$PARTIAL"; then
    echo "Something is still mounted under $PARTIAL; unmount it first." >&2
    exit 1
  fi
  rm -rf -- "$PARTIAL"
  CLEANUP_PATHS+=("$PARTIAL")  # a half-made root is never reused
  echo "Debian 12 root: debootstrap --variant=minbase bookworm from $MIRROR"
  began=$(now)
  debootstrap --variant=minbase bookworm "$PARTIAL" "$MIRROR" >"$REPO/build/debootstrap.log" 2>&1 || {
    echo "debootstrap failed; see build/debootstrap.log" >&2
    tail -n 20 "$REPO/build/debootstrap.log" >&2
    exit 1
  }
  mount_minimal "$PARTIAL"
  cp /etc/resolv.conf "$PARTIAL/etc/resolv.conf"
  chroot "$PARTIAL" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get -q update && apt-get -q install -y --no-install-recommends ${EXTRA_PACKAGES[*]} \
           && apt-get clean && rm -rf /var/lib/apt/lists/*" >>"$REPO/build/debootstrap.log" 2>&1 || {
    echo "apt-get install ${EXTRA_PACKAGES[*]} failed in the root; see build/debootstrap.log" >&2
    tail -n 20 "$REPO/build/debootstrap.log" >&2
    exit 1
  }
  rm -f "$PARTIAL/etc/resolv.conf"
  unmount_all
  if still_mounted "$PARTIAL"; then
    echo "Could not unmount everything under $PARTIAL." >&2
    exit 1
  fi
  rm -rf -- "$ROOT"
  mv "$PARTIAL" "$ROOT"
  CLEANUP_PATHS=()
  seconds=$(elapsed "$began")
  echo "debootstrap minbase bookworm + ${EXTRA_PACKAGES[*]}, made $(date -u +%Y-%m-%dT%H:%MZ) in $seconds s" >"$READY"
  echo "Debian 12 root made in $seconds s ($(du -sm "$ROOT" | cut -f1) MB)"
fi
[ "$PREPARE_ONLY" = 1 ] && exit 0

# --- the bundle inside it ---------------------------------------------------------------------
if [ ! -f "$TARBALL" ]; then
  echo "No bundle at $TARBALL: run installer/linux/build.sh first." >&2
  exit 1
fi
rm -rf -- "$ROOT/opt/dbcomm"
mkdir -p "$ROOT/opt"
tar -xzf "$TARBALL" -C "$ROOT/opt"
CLEANUP_PATHS+=("$ROOT/opt/dbcomm")
echo "Bundle: $TARBALL unpacked into the root's /opt/dbcomm"

mount_minimal "$ROOT"
HOME_IN_ROOT=$(mktemp -d "$ROOT/tmp/dbcomm-home.XXXXXX")
CLEANUP_PATHS+=("$HOME_IN_ROOT")
HOME_IN_CHROOT=/tmp/$(basename "$HOME_IN_ROOT")
run_in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME="$HOME_IN_CHROOT" PATH=/usr/bin:/bin LANG=C.UTF-8 \
    QT_QPA_PLATFORM=offscreen "$@"
}

# Every shared library of the bundle, resolved the way the loader will inside the bare system.
# Only libwayland-* may be missing: the wayland platform runs only inside a Wayland session,
# which always has them (the bundle leaves them, like the GL stack, to the system).
echo "Libraries the bare system lacks (ldd over the bundle):"
run_in_root /bin/bash -c '
  cd /opt/dbcomm/_internal
  export LD_LIBRARY_PATH=/opt/dbcomm/_internal
  bad=0 wayland=0
  while IFS= read -r -d "" so; do
    missing=$(ldd "$so" 2>/dev/null | awk "/not found/ { print \$1 }" | sort -u)
    [ -n "$missing" ] || continue
    others=$(grep -v "^libwayland-" <<<"$missing" || true)
    if [ -n "$others" ]; then
      echo "  MISSING for ${so#./}: $(tr "\n" " " <<<"$others")"
      bad=1
    else
      wayland=$((wayland + 1))
    fi
  done < <(find . -name "*.so*" -type f -print0)
  [ "$bad" = 0 ] && echo "  none (libwayland-* for $wayland Wayland parts come from the Wayland session)"
  exit $bad
' || {
  echo "FAILED: the bundle needs libraries the bare Debian 12 system lacks (listed above)." >&2
  exit 1
}

echo "Self-test: /opt/dbcomm/dbcomm --lang en self-test (offscreen, HOME=$HOME_IN_CHROOT)"
began=$(now)
set +e
run_in_root /opt/dbcomm/dbcomm --lang en self-test
code=$?
set -e
seconds=$(elapsed "$began")
if [ "$code" -ne 0 ]; then
  echo "FAILED: the bundle's self-test exited with $code inside the bare Debian 12 root ($seconds s)." >&2
  exit 1
fi
echo "PASSED: the bundle's self-test inside the bare Debian 12 root took $seconds s."
