"""Smoke-test the Windows installer under Wine: ``make check-windows``.

In a throwaway Wine prefix: install silently, run the installed dbcomm's ``self-test``, create
the office's data, install again over it (an upgrade), refuse to install while dbcomm is open,
uninstall silently, and check that the program is gone and the data kept.

A pass means the installer is complete and dbcomm starts and works on Wine. It does not prove
SmartScreen, antivirus, printing or screen scaling on a real Windows PC (see docs/install.md).

Only the test prefix gets the stand-in DLLs from ``wine/`` (Wine 8.0 lacks the system ICU and
some colour functions that Qt needs, and ProcessPrng, which Rust-built extensions use); they are never part of the installer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WINE = next((p for p in ("/usr/lib/wine/wine64", shutil.which("wine64") or "", shutil.which("wine") or "")
             if p and Path(p).exists()), "")


VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


class CheckFailed(Exception):
    pass


def say(text: str) -> None:
    print(text, flush=True)


class Prefix:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = dict(os.environ, WINEPREFIX=str(folder), WINEARCH="win64", WINEDEBUG="-all",
                        # no Mono/Gecko prompts; Python's platform module crashes on Wine's WMI;
                        # Qt's colour functions come from the stand-in, not Wine's partial mscms;
                        # no menu entries or desktop links for the test prefix on this machine
                        WINEDLLOVERRIDES="mscoree,mshtml=;wbemprox=;mscms=n;winemenubuilder.exe=d",
                        WINEQT_QPA_PLATFORM="offscreen", DISPLAY="")
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "root"
        self.local = folder / "drive_c" / "users" / user / "AppData" / "Local"

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        # Wine cannot hand a redirected file to the program's output; a pipe works.
        return subprocess.run([WINE, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, encoding="utf-8", errors="replace", timeout=timeout)

    def status(self, *args: str, timeout: float = 600) -> int:
        """Run a program whose output is not needed: only its exit status. (A pipe would stay open
        as long as any Wine service started meanwhile holds it, and the call would never return.)"""
        return subprocess.run([WINE, *args], env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout).returncode

    def wait(self) -> None:
        subprocess.run(["wineserver", "-w"], env=self.env, timeout=600)

    def windows_path(self, path: Path) -> str:
        return "C:\\" + str(path.relative_to(self.folder / "drive_c")).replace("/", "\\")


def build_stand_ins(system32: Path) -> None:
    for name in ("icuuc", "mscms", "bcryptprimitives"):
        subprocess.run(["x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", str(system32 / f"{name}.dll"),
                        str(HERE / "wine" / f"{name}.c"), "-lbcrypt"], check=True)


def product_version(path: Path) -> str:
    """The ProductVersion in a program's file properties (its version resource)."""
    data = path.read_bytes()
    key = "ProductVersion".encode("utf-16-le")
    at = data.find(key)
    if at < 0:
        return ""
    tail = data[at + len(key):at + len(key) + 120].decode("utf-16-le", errors="replace")
    return next((part for part in tail.split("\x00") if part.strip()), "")


def check_bad_targets(prefix: Prefix, setup: Path) -> dict[str, float]:
    """A drive that is full, and one that cannot be written: a clear refusal, nothing left behind.

    Needs root (to mount two small file systems as drives E: and F:); skipped otherwise.
    """
    if os.geteuid() != 0 or shutil.which("mount") is None:
        say("  (full and read-only drives not tried: that needs root)")
        return {}
    mounts = []
    began = time.perf_counter()
    try:
        for letter, options in (("e", "size=8m"), ("f", "size=8m,ro")):
            point = prefix.folder / f"drive_{letter}"
            point.mkdir()
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "dbcomm-check", str(point)],
                                     capture_output=True, text=True)
            if mounted.returncode != 0:
                say(f"  (full and read-only drives not tried: cannot mount here: {mounted.stderr.strip()})")
                return {}
            mounts.append(point)
            link = prefix.folder / "dosdevices" / f"{letter}:"
            link.unlink(missing_ok=True)
            link.symlink_to(point)
        for letter, expected, what in (("E", 5, "a drive without enough space"), ("F", 4, "a read-only drive")):
            code = prefix.status(str(setup), "/S", f"/D={letter}:\\dbcomm")
            prefix.wait()
            point = prefix.folder / f"drive_{letter.lower()}"
            left = [p.name for p in point.iterdir()]
            if code != expected or left:
                raise CheckFailed(f"installing on {what} gave status {code} (expected {expected}) "
                                  f"and left {left}")
            say(f"  installing on {what}: refused (status {expected}), nothing left on the drive")
    finally:
        for point in mounts:
            subprocess.run(["umount", str(point)], check=False)
    return {"refusals (full, read-only)": time.perf_counter() - began}


def check(setup: Path, keep: bool) -> dict[str, float]:
    times: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="dbcomm-wine-"))
    prefix = Prefix(folder)
    app = None
    try:
        began = time.perf_counter()
        prefix.status("wineboot", "-i")
        prefix.wait()
        build_stand_ins(folder / "drive_c" / "windows" / "system32")
        times["new Wine prefix"] = time.perf_counter() - began

        install_dir = prefix.local / "Programs" / "dbcomm"
        data_dir = prefix.local / "dbcomm"
        began = time.perf_counter()
        code = prefix.status(str(setup), "/S")
        prefix.wait()
        times["silent install"] = time.perf_counter() - began
        if code != 0 or not (install_dir / "dbcomm-cli.exe").exists():
            raise CheckFailed(f"the silent install did not install dbcomm (status {code})")
        for program in (setup, install_dir / "dbcomm.exe", install_dir / "dbcomm-cli.exe"):
            if product_version(program) != VERSION:
                raise CheckFailed(f"{program.name} shows version {product_version(program)!r} in its file "
                                  f"properties, not {VERSION}")
        if os.environ.get("DBCOMM_SIGN_P12"):  # the build was asked to sign: every program must be signed
            for program in (setup, install_dir / "dbcomm.exe", install_dir / "dbcomm-cli.exe",
                            install_dir / "uninstall.exe"):
                probe = subprocess.run(["osslsigncode", "extract-signature", "-in", str(program), "-out",
                                        str(folder / f"{program.name}.sig")], capture_output=True, text=True)
                if probe.returncode != 0:
                    raise CheckFailed(f"{program.name} is not code-signed")
            say("  the installer, both launchers and the uninstaller are code-signed")
        menu = folder / "drive_c" / "users"
        shortcuts = [p.name for p in menu.rglob("*.lnk")]
        if not any("Truyền thông" in s for s in shortcuts):
            raise CheckFailed(f"no Start-menu or desktop shortcut was made: {shortcuts}")
        say(f"  installed in {prefix.windows_path(install_dir)}, version {VERSION} in the file properties; shortcuts: {', '.join(sorted(shortcuts))}")

        times.update(check_bad_targets(prefix, setup))

        cli = str(install_dir / "dbcomm-cli.exe")
        began = time.perf_counter()
        result = prefix.run(cli, "--lang", "en", "self-test")
        times["installed self-test"] = time.perf_counter() - began
        say("  " + result.stdout.strip().replace("\n", "\n  "))
        if result.returncode != 0 or "Self-test passed" not in result.stdout:
            raise CheckFailed(f"the installed dbcomm's self-test failed (status {result.returncode})")

        result = prefix.run(cli, "demo-data", "--if-empty", "--demo-office", "--count", "50")
        database = data_dir / "dbcomm.sqlite3"
        if result.returncode != 0 or not database.exists():
            raise CheckFailed("the installed dbcomm did not create the office's database:\n" + result.stdout[-2000:])
        before = database.stat().st_size

        began = time.perf_counter()
        prefix.status(str(setup), "/S")
        prefix.wait()
        times["upgrade install"] = time.perf_counter() - began
        result = prefix.run(cli, "activities", "list")
        if result.returncode != 0 or len(result.stdout.strip().splitlines()) < 50:
            raise CheckFailed("after installing again, the office's activities are not all there:\n"
                              + result.stdout[-2000:])
        say(f"  installed again over it: {len(result.stdout.strip().splitlines())} activities still listed")

        # While dbcomm is open, a new install must refuse and leave everything as it was.
        app = subprocess.Popen([WINE, str(install_dir / "dbcomm.exe")], env=prefix.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        refused = None
        for _ in range(90):
            time.sleep(1)
            if prefix.status(str(setup), "/S", timeout=120) == 3:
                refused = True
                break
            if app.poll() is not None:
                break
        if not refused:
            raise CheckFailed("installing while dbcomm was open was not refused")
        say("  installing while dbcomm is open: refused (status 3)")
        subprocess.run(["wineserver", "-k"], env=prefix.env)
        app.wait(timeout=60)
        app = None

        began = time.perf_counter()
        prefix.status(str(install_dir / "uninstall.exe"), "/S")
        prefix.wait()
        times["silent uninstall"] = time.perf_counter() - began
        left = [str(p.relative_to(install_dir)) for p in install_dir.rglob("*")] if install_dir.exists() else []
        if left:
            raise CheckFailed(f"the uninstaller left program files behind: {left[:10]}")
        if [p.name for p in menu.rglob("*.lnk") if "dbcomm" in p.name or "Truyền thông" in p.name]:
            raise CheckFailed("the uninstaller left shortcuts behind")
        if not database.exists() or database.stat().st_size < before:
            raise CheckFailed("the uninstaller did not keep the office's data")
        say(f"  uninstalled: program folder removed, data kept ({prefix.windows_path(database)})")
        return times
    finally:
        if app is not None:
            subprocess.run(["wineserver", "-k"], env=prefix.env)
        if keep:
            say(f"  Wine prefix kept: {folder}")
        else:
            subprocess.run(["wineserver", "-k"], env=prefix.env, capture_output=True)
            shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    setup = ROOT / "dist" / f"dbcomm-{VERSION}-setup.exe"
    if not WINE:
        print("Wine is needed (Debian packages wine and wine64).", file=sys.stderr)
        return 2
    if not setup.exists():
        print(f"{setup} does not exist: run `make dist-windows` first.", file=sys.stderr)
        return 2
    say(f"Checking {setup.relative_to(ROOT)} ({setup.stat().st_size / 1e6:.1f} MB) under Wine")
    try:
        times = check(setup, keep="--keep" in sys.argv)
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        print(f"\nWINDOWS CHECK FAILED: {exc}", file=sys.stderr)
        return 1
    say("\nWindows check passed:")
    for name, seconds in times.items():
        say(f"  {name:<28} {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
