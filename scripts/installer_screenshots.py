"""Screenshots of the Windows installer for docs/install.md: docs/img/install-*.png.

    .venv/bin/python scripts/installer_screenshots.py [--out docs/img] [--display 77] [--keep]

Runs dist/dbcomm-<version>-setup.exe the way a person does (not silently) under Wine, on a
virtual X screen (Xvfb), in Vietnamese, in a throwaway Wine prefix, and saves:

  install-1-welcome.png      the welcome page
  install-2-folder.png       the folder page
  install-3-done.png         the finish page (after the files are copied)
  install-desktop-icon.png   the desktop shortcut, as Wine's desktop shows it
  install-4-first-start.png  dbcomm's first start (its setup wizard), opened by the finish
                             page's "Mở dbcomm ngay" box on a fresh data folder
  install-5-uninstall.png    the uninstaller's components page, the data box unticked

Pages are advanced with xdotool (Return), as a person presses Enter. Then the uninstall is
finished and the script checks that the program folder is gone and the data folder kept.

The prefix is set up as in installer/windows/check.py (the same WINEDLLOVERRIDES and the
stand-in DLLs from installer/windows/wine/, which Qt needs under Wine 8.0), but with a screen
and Qt's normal windows platform, and with these test-prefix-only settings:

* a Wine virtual desktop, so that windows get a title bar as on Windows;
* the Vietnamese locale (LANG=vi_VN.UTF-8): the installer picks its language from it;
* the dialog font mapped to Noto Sans and the message font (Qt's interface font) set to
  Liberation Sans, because Wine has no Windows fonts and its own Tahoma has no Vietnamese
  letters. Real Windows draws these windows in Tahoma and Segoe UI;
* Wine's Marlett font (Debian package fonts-wine) for the title-bar buttons, when present;
* the user "canbo", a home folder inside the prefix, real Desktop/Documents folders (Wine
  links them to the Linux home otherwise) and no Wine menu builder, so that nothing is
  written outside the prefix.

The X display is :77, or the next free one when another program holds it. Xvfb and the
prefix's Wine processes are stopped at the end, and the prefix deleted (unless --keep).

Needs: Xvfb, xdotool, ImageMagick's ``import``, wine64, mingw-w64, fonts-noto-core,
fonts-liberation2 and the vi_VN.UTF-8 locale (made with localedef when run as root).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import unicodedata
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parent.parent
WINE_DIR = ROOT / "installer" / "windows" / "wine"
WINE = next((p for p in ("/usr/lib/wine/wine64", shutil.which("wine64") or "", shutil.which("wine") or "")
             if p and Path(p).exists()), "")
DESKTOP = (1024, 720)  # the Wine virtual desktop, inside a 1280x800 screen
USER = "canbo"  # the Windows user name in the screenshots' paths (C:\users\canbo\...)
DIALOG_FONT = "Noto Sans"  # stands in for Tahoma / MS Shell Dlg (installer pages)
MESSAGE_FONT = "Liberation Sans"  # stands in for Segoe UI (Qt's interface font)


class ShotFailed(Exception):
    pass


def say(text: str) -> None:
    print(text, flush=True)


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


# --- the screen ---------------------------------------------------------------------------------


def free_display(wanted: int) -> int:
    for number in range(wanted, wanted + 40):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise ShotFailed(f"no free X display between :{wanted} and :{wanted + 39}")


def start_xvfb(number: int) -> subprocess.Popen[bytes]:
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            return xvfb
        if xvfb.poll() is not None:
            break
        time.sleep(0.1)
    xvfb.kill()
    raise ShotFailed(f"Xvfb did not start on :{number}")


class Screen:
    def __init__(self, display: str) -> None:
        self.env = dict(os.environ, DISPLAY=display)

    def xdotool(self, *args: str) -> str:
        run = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True)
        return run.stdout.strip()

    def window_names(self) -> list[str]:
        ids = self.xdotool("search", "--name", ".").split()
        # NFC: NSIS's own Vietnamese texts are written with combining accents
        return [unicodedata.normalize("NFC", self.xdotool("getwindowname", i)) for i in ids]

    def has_window(self, part: str) -> bool:
        return any(part in name for name in self.window_names())

    def grab(self) -> Image.Image:
        data = subprocess.run(["import", "-window", "root", "png:-"], env=self.env, capture_output=True,
                              check=True).stdout
        return Image.open(io.BytesIO(data)).convert("RGB").crop((0, 0, *DESKTOP))

    def focus_desktop(self) -> None:
        desktop = self.xdotool("search", "--name", "Wine desktop").split()
        if desktop:
            self.xdotool("windowfocus", desktop[0])

    def key(self, name: str, shot: Image.Image) -> None:
        """Press a key in the window on ``shot``, after a click on its title bar makes it active
        (a key would otherwise go to the desktop, where Return opens the selected shortcut)."""
        left, top, _, _ = window_box(shot)
        self.focus_desktop()
        self.xdotool("mousemove", str(left + 120), str(top + 10), "click", "1")
        time.sleep(0.5)
        self.xdotool("key", name)

    def settle(self, previous: Image.Image | None = None, timeout: float = 120) -> Image.Image:
        """The screen once it stops changing (and differs from ``previous``, when given)."""
        end = time.monotonic() + timeout
        last = self.grab()
        still = 0
        while time.monotonic() < end:
            time.sleep(0.7)
            now = self.grab()
            box = ImageChops.difference(now, last).getbbox()
            small = box is None or (box[2] - box[0]) * (box[3] - box[1]) <= 60  # a blinking caret
            moved_on = previous is None or ImageChops.difference(now, previous).getbbox() is not None
            still = still + 1 if small and moved_on else 0
            last = now
            if still >= 2:
                return now
        raise ShotFailed("the screen did not settle")


def window_box(shot: Image.Image) -> tuple[int, int, int, int]:
    """Where the window is on the virtual desktop's plain background (desktop icons left out).

    The window is the block of rows and columns with long runs of drawn pixels; an icon and its
    label (at most about 100 pixels each way) never make one.
    """
    background = shot.getpixel((2, 2))
    plain = Image.new("RGB", shot.size, background)
    mask = ImageChops.difference(shot, plain).convert("L").point(lambda v: 1 if v > 12 else 0)
    width, height = mask.size
    pixels = mask.load()
    rows = [y for y in range(height) if sum(pixels[x, y] for x in range(0, width, 2)) * 2 >= 160]
    cols = [x for x in range(width) if sum(pixels[x, y] for y in range(0, height, 2)) * 2 >= 160]
    if not rows or not cols:
        raise ShotFailed("no window is drawn on the desktop")
    box = mask.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)).getbbox()
    if box is None:
        raise ShotFailed("no window is drawn on the desktop")
    return (cols[0] + box[0], rows[0] + box[1], cols[0] + box[2], rows[0] + box[3])


def window_size(shot: Image.Image) -> tuple[int, int]:
    try:
        left, top, right, bottom = window_box(shot)
    except ShotFailed:
        return (0, 0)
    return (right - left, bottom - top)


def save_window(shot: Image.Image, path: Path) -> tuple[int, int, int, int]:
    box = window_box(shot)
    window = shot.crop(box)
    if len(window.getcolors(1 << 20) or [0] * 100) < 8:
        raise ShotFailed(f"{path.name}: the window is blank")
    path.parent.mkdir(parents=True, exist_ok=True)
    window.save(path, optimize=True)
    say(f"  saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
        f"({window.width}x{window.height})")
    return box


def save_icon(shot: Image.Image, path: Path) -> None:
    """The desktop shortcut, which Wine's desktop shows at its top left corner."""
    corner = shot.crop((0, 0, 160, 130))
    background = Image.new("RGB", corner.size, shot.getpixel((2, 2)))
    box = ImageChops.difference(corner, background).convert("L").point(lambda v: 255 if v > 12 else 0).getbbox()
    if box is None:
        say("  (no desktop shortcut shown)")
        return
    icon = corner.crop((max(box[0] - 8, 0), max(box[1] - 6, 0), box[2] + 8, box[3] + 6))
    icon.save(path, optimize=True)
    say(f"  saved {path.name} ({icon.width}x{icon.height})")


def wait_until(test: Callable[[], bool], timeout: float, what: str, step: float = 1.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if test():
            return
        time.sleep(step)
    raise ShotFailed(f"timed out waiting for {what}")


# --- the Wine prefix ---------------------------------------------------------------------------


def ensure_locale() -> str:
    names = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().split()
    if "vi_vn.utf8" not in names:
        if os.geteuid() != 0:
            raise ShotFailed("the vi_VN.UTF-8 locale is missing: run `localedef -i vi_VN -f UTF-8 vi_VN.UTF-8` "
                             "as root (or install locales-all)")
        subprocess.run(["localedef", "-i", "vi_VN", "-f", "UTF-8", "vi_VN.UTF-8"], check=True)
    return "vi_VN.UTF-8"


def logfont(face: str, height: int, weight: int = 400) -> str:
    """A LOGFONTW as the hex string ``reg add /t REG_BINARY`` takes."""
    head = struct.pack("<lllll8B", height, 0, 0, 0, weight, 0, 0, 0, 0, 0, 0, 0, 0x22)
    return (head + face.encode("utf-16-le").ljust(64, b"\0")).hex()


class Prefix:
    def __init__(self, folder: Path, display: str) -> None:
        self.folder = folder
        lang = ensure_locale()
        self.env = dict(os.environ, WINEPREFIX=str(folder), WINEARCH="win64", WINEDEBUG="-all",
                        # as check.py, and no menu entries or desktop files made on this Linux host
                        WINEDLLOVERRIDES="mscoree,mshtml=;wbemprox=;mscms=n;winemenubuilder.exe=d",
                        DISPLAY=display, LANG=lang, LC_ALL=lang, USER=USER, LOGNAME=USER,
                        HOME=str(folder / "home"))
        for name in list(self.env):
            if name.startswith(("QT_", "WINEQT_")):
                del self.env[name]  # Qt under Wine uses its normal windows platform
        self.local = folder / "drive_c" / "users" / USER / "AppData" / "Local"
        self.logs: list[str] = []

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([WINE, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, encoding="utf-8", errors="replace", timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a Windows program; its output goes through a pipe (Wine cannot hand it a file)."""
        process = subprocess.Popen([WINE, *args], env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)

        def drain() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.logs.append(line.decode("utf-8", "replace").rstrip())

        threading.Thread(target=drain, daemon=True).start()
        return process

    def wait(self) -> None:
        subprocess.run(["wineserver", "-w"], env=self.env, timeout=600)

    def kill(self) -> None:
        subprocess.run(["wineserver", "-k"], env=self.env, capture_output=True, timeout=60)

    def reg(self, key: str, name: str, value: str, kind: str = "REG_SZ") -> None:
        result = self.run("reg", "add", key, "/v", name, "/t", kind, "/d", value, "/f", timeout=120)
        if result.returncode != 0:
            raise ShotFailed(f"reg add {key} {name} failed: {result.stdout[-500:]}")

    def create(self) -> None:
        (self.folder / "home").mkdir()
        profile = self.folder / "drive_c" / "users" / USER
        for _ in range(3):  # a new prefix now and then fails to start on a busy machine: try again
            result = self.run("wineboot", "-i")
            self.wait()
            if profile.is_dir():
                break
            time.sleep(3)
        else:
            raise ShotFailed("Wine could not make a new prefix:\n" + result.stdout[-1500:])
        # Wine links Desktop, Documents… to the Linux home; make them real folders of the prefix,
        # so that the desktop shortcut lands on the Windows desktop.
        for link in profile.iterdir():
            if link.is_symlink():
                link.unlink()
                link.mkdir()
        system32 = self.folder / "drive_c" / "windows" / "system32"
        for name in ("icuuc", "mscms", "bcryptprimitives"):
            subprocess.run(["x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", str(system32 / f"{name}.dll"),
                            str(WINE_DIR / f"{name}.c"), "-lbcrypt"], check=True)
        # Every program in one virtual desktop: title bars drawn as on Windows.
        self.reg(r"HKCU\Software\Wine\Explorer", "Desktop", "Default")
        self.reg(r"HKCU\Software\Wine\Explorer\Desktops", "Default", f"{DESKTOP[0]}x{DESKTOP[1]}")
        # Fonts with every Vietnamese letter (see the module's docstring).
        subst = r"HKLM\Software\Microsoft\Windows NT\CurrentVersion\FontSubstitutes"
        for name in ("MS Shell Dlg", "MS Shell Dlg 2"):
            self.reg(subst, name, DIALOG_FONT)
        self.reg(r"HKCU\Software\Wine\Fonts\Replacements", "Tahoma", DIALOG_FONT)
        self.reg(r"HKCU\Control Panel\Desktop\WindowMetrics", "MessageFont", logfont(MESSAGE_FONT, -12),
                 "REG_BINARY")
        marlett = Path("/usr/share/wine/fonts/marlett.ttf")
        if marlett.exists():
            shutil.copy(marlett, self.folder / "drive_c" / "windows" / "Fonts" / "marlett.ttf")
        else:
            say("  (no /usr/share/wine/fonts/marlett.ttf: title-bar buttons will show letters; "
                "install fonts-wine)")
        self.wait()


# --- the walk-through ----------------------------------------------------------------------------


def check_tools() -> None:
    missing = [t for t in ("Xvfb", "xdotool", "import", "wineserver", "x86_64-w64-mingw32-gcc", "localedef")
               if shutil.which(t) is None]
    if not WINE:
        missing.append("wine64")
    if missing:
        raise ShotFailed("missing tools: " + ", ".join(missing)
                         + " (Debian: xvfb xdotool imagemagick wine wine64 gcc-mingw-w64-x86-64 fonts-wine)")
    fonts = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    for family in (DIALOG_FONT, MESSAGE_FONT):
        if family not in fonts:
            raise ShotFailed(f"the font {family} is missing (Debian: fonts-noto-core, fonts-liberation2)")


def is_sidebar_page(shot: Image.Image) -> bool:
    """The welcome and finish pages have the tall blue picture on the left."""
    left, top, right, bottom = window_box(shot)
    x, y = left + 40, top + (bottom - top) // 2
    r, g, b = shot.getpixel((x, y))[:3]
    return b > 100 and r < 60 and g < 110


def walk(setup: Path, out: Path, screen: Screen, prefix: Prefix) -> dict[str, float]:
    times: dict[str, float] = {}
    install_dir = prefix.local / "Programs" / "dbcomm"
    data_dir = prefix.local / "dbcomm"

    say("Installer: welcome page")
    prefix.start(str(setup))
    wait_until(lambda: screen.has_window("dbcomm"), 120, "the installer's window")
    shot = screen.settle()
    if not is_sidebar_page(shot):  # the language question comes first (Vietnamese chosen already)
        save_window(shot, out / "install-0-language.png")
        screen.key("Return", shot)
        shot = screen.settle(previous=shot)
    if not is_sidebar_page(shot):
        raise ShotFailed("the first installer page is not the welcome page")
    save_window(shot, out / "install-1-welcome.png")

    say("Installer: folder page")
    screen.key("Return", shot)
    shot = screen.settle(previous=shot)
    save_window(shot, out / "install-2-folder.png")

    say("Installer: installing (Return = “Cài đặt”)")
    began = time.perf_counter()
    screen.key("Return", shot)
    wait_until(lambda: (install_dir / "uninstall.exe").exists(), 1800, "the files to be installed", step=2)
    shot = screen.settle(timeout=600)
    wait_until(lambda: is_sidebar_page(screen.grab()), 600, "the finish page", step=2)
    times["install (window)"] = time.perf_counter() - began
    shot = screen.settle()
    save_window(shot, out / "install-3-done.png")
    save_icon(shot, out / "install-desktop-icon.png")
    shortcuts = sorted(p.name for p in (prefix.folder / "drive_c" / "users").rglob("*.lnk"))
    say(f"  shortcuts: {', '.join(shortcuts)}")

    say("First start: “Hoàn thành” with “Mở dbcomm ngay” ticked")
    began = time.perf_counter()
    screen.key("Return", shot)

    def app_window() -> bool:
        return any("dbcomm" in n and "Cài đặt" not in n and not n.startswith("Qt")
                   for n in screen.window_names())

    try:
        wait_until(app_window, 180, "dbcomm's window")
    except ShotFailed:
        say("  the finish page did not start dbcomm; starting dbcomm.exe from the install folder")
        prefix.start(str(install_dir / "dbcomm.exe"))
        wait_until(app_window, 300, "dbcomm's window")
    shot = screen.settle(timeout=300)
    while min(window_size(shot)[0] - 400, window_size(shot)[1] - 300) < 0:  # nothing drawn yet
        shot = screen.settle(previous=shot, timeout=300)
    times["first start (window)"] = time.perf_counter() - began
    save_window(shot, out / "install-4-first-start.png")
    if data_dir.exists():
        say(f"  data folder: {', '.join(sorted(p.name for p in data_dir.iterdir()))}")
    prefix.kill()  # closes dbcomm (and the desktop) without going through its wizard
    time.sleep(2)

    say("Uninstaller: components page")
    prefix.start(str(install_dir / "uninstall.exe"))
    wait_until(lambda: screen.has_window("Gỡ bỏ dbcomm"), 120, "the uninstaller's window")
    shot = screen.settle()
    screen.key("Return", shot)  # the confirmation page → the components page
    shot = screen.settle(previous=shot)
    left, top, right, bottom = window_box(shot)
    # Point at the data box so that its description shows, as a person reading the list would.
    screen.xdotool("mousemove", str(left + int((right - left) * 0.5)), str(top + int((bottom - top) * 0.475)))
    time.sleep(1.5)
    shot = screen.settle()
    save_window(shot, out / "install-5-uninstall.png")

    say("Uninstaller: “Gỡ bỏ” with the data box unticked")
    screen.key("Return", shot)
    wait_until(lambda: not install_dir.exists(), 900, "the program folder to be removed", step=2)
    shot = screen.settle(timeout=300)
    screen.key("Return", shot)  # “Tiến”: the last page says where the data was kept
    shot = screen.settle(previous=shot, timeout=300)
    save_window(shot, out / "install-6-uninstalled.png")
    screen.key("Return", shot)  # “Kết thúc”
    remaining = list(install_dir.rglob("*")) if install_dir.exists() else []
    say(f"  program folder: {'removed' if not remaining else f'{len(remaining)} files left'}; "
        f"data folder: {'kept' if data_dir.exists() else 'GONE'}")
    if remaining or not data_dir.exists():
        raise ShotFailed("the uninstall did not remove the program and keep the data")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description="Screenshots of the Windows installer under Wine.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--display", type=int, default=77, help="the X display to use (or the next free one)")
    parser.add_argument("--keep", action="store_true", help="keep the Wine prefix (its path is printed)")
    args = parser.parse_args()
    setup = ROOT / "dist" / f"dbcomm-{version()}-setup.exe"
    if not setup.exists():
        print(f"{setup} does not exist: run `make dist-windows` first.", file=sys.stderr)
        return 2
    xvfb = prefix = screen = None
    folder = Path(tempfile.mkdtemp(prefix="dbcomm-shots-wine-"))
    try:
        check_tools()
        number = free_display(args.display)
        xvfb = start_xvfb(number)
        say(f"Screen :{number}; Wine prefix {folder}")
        screen = Screen(f":{number}")
        prefix = Prefix(folder, f":{number}")
        prefix.create()
        times = walk(setup, args.out.resolve(), screen, prefix)
    except (ShotFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"\nSCREENSHOTS FAILED: {exc}", file=sys.stderr)
        if screen is not None:
            try:
                screen.grab().save(folder / "last-screen.png")
                print(f"The screen at that moment: {folder / 'last-screen.png'} (with --keep)", file=sys.stderr)
            except (subprocess.CalledProcessError, OSError):
                pass
        if prefix is not None and prefix.logs:
            print("Output of the Windows programs:\n  " + "\n  ".join(prefix.logs[-30:]), file=sys.stderr)
        return 1
    finally:
        if prefix is not None:
            prefix.kill()
        if xvfb is not None:
            xvfb.terminate()
            try:
                xvfb.wait(timeout=10)
            except subprocess.TimeoutExpired:
                xvfb.kill()
        if args.keep:
            say(f"Wine prefix kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    say("\nDone:")
    for name, seconds in times.items():
        say(f"  {name:<22} {seconds:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
