"""A corpus of bad report packages: each one must be refused with its own clear message.

``build(folder, base)`` writes every case of ``CASES`` into ``folder`` and returns the paths.
Some cases damage the container (the zip) or the manifest; others carry a report whose
signatures are perfectly valid but whose signed data is wrong — those are made by
``signed_package``, which signs a real report's unsigned rendering twice with the test PKI,
with crafted data embedded (as ``report_signing.sign_report`` does with the real data).
"""

from __future__ import annotations

import copy
import io
import json
import os
import struct
import unicodedata
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pki
from dbcomm.services import exchange_data, package_files, packages, report_signing, signing


@dataclass
class Base:
    """What the cases are made from: one real issued report and its package."""

    package: bytes  # the real package (valid)
    pdf: bytes  # its signed report
    unsigned_pdf: bytes  # the report as rendered, before any signature
    data: dict[str, Any]  # the signed data, as JSON
    leader: signing.Identity
    office: signing.Identity
    stranger_leader: signing.Identity  # from another PKI, which the receiving office does not trust
    stranger_office: signing.Identity
    own_uuid: str  # an activity of the receiving office itself
    number: str = "07"
    doc_date: str = "2026-10-06"


# --- helpers --------------------------------------------------------------------------------


def manifest_for(data: dict[str, Any], number: str, doc_date: str | None) -> dict[str, Any]:
    """The manifest ``packages.build_report_package`` writes, made from the data's JSON."""
    return {
        "kind": packages.KIND,
        "sender": {"uuid": data["office"]["uuid"], "name": data["office"]["name"]},
        "period": dict(data["period"]),
        "plan": {"code": data["plan"]["code"]},
        "report": {"uuid": data["report"]["uuid"], "number": number, "date": doc_date,
                   "supersedes": data["report"]["supersedes"]},
        "counts": {"activities": len(data["activities"]), "audit": len(data["audit"])},
        "app_version": data.get("app_version", ""),
    }


def sign_with_data(base: Base, raw: bytes, *, leader: signing.Identity | None = None,
                   office: signing.Identity | None = None, seal: bool = True) -> bytes:
    """The unsigned report signed by a leader with ``raw`` embedded, then sealed (unless not)."""
    pdf = signing.sign_pdf_ex(
        base.unsigned_pdf, leader or base.leader, field_name=report_signing.LEADER_FIELD,
        attachments=[(exchange_data.DATA_FILE, raw, exchange_data.DATA_MIME)]).data
    if seal:
        pdf = signing.sign_pdf(pdf, office or base.office, field_name=report_signing.SEAL_FIELD)
    return pdf


def signed_package(base: Base, change: Callable[[dict[str, Any]], None] | None = None, *,
                   raw: bytes | None = None, manifest_data: dict[str, Any] | None = None,
                   **sign_args: Any) -> bytes:
    """A package whose report is validly signed over crafted data: ``change`` edits a copy of
    the real data (or ``raw`` gives the bytes outright)."""
    data = copy.deepcopy(base.data)
    if change is not None:
        change(data)
    if raw is None:
        raw = exchange_data.dumps(data)
    pdf = sign_with_data(base, raw, **sign_args)
    return package_files.build(manifest_for(manifest_data or data, "", None), {packages.PDF_MEMBER: pdf})


def _zip(entries: list[tuple[str, bytes]], *, modes: dict[str, int] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (modes or {}).get(name, 0o100644) << 16
            archive.writestr(info, data)
    return out.getvalue()


def _members(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _manifest(package: bytes) -> dict[str, Any]:
    return json.loads(_members(package)[package_files.MANIFEST])


def _repack_manifest(base: Base, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The real package with its manifest edited, the parts' hashes left right."""
    manifest = _manifest(base.package)
    change(manifest)
    return package_files.build(manifest, {packages.PDF_MEMBER: base.pdf})


def _raw_manifest(base: Base, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The real package with its manifest edited as it stands (the hashes are not redone)."""
    manifest = _manifest(base.package)
    change(manifest)
    return _zip([(package_files.MANIFEST, json.dumps(manifest).encode()), (packages.PDF_MEMBER, base.pdf)])


def _declared_size(package: bytes, member: str, size: int) -> bytes:
    """Patch the central directory so that ``member`` declares ``size`` bytes uncompressed."""
    data = bytearray(package)
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        name = bytes(data[pos + 46:pos + 46 + name_len]).decode()
        if name == member:
            struct.pack_into("<I", data, pos + 24, size)
            return bytes(data)
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise KeyError(member)


def _append_data(pdf: bytes, raw: bytes) -> bytes:
    """Embed ``raw`` as the data file in an incremental update, without signing it."""
    from pyhanko.pdf_utils import embed, generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    stream = embed.EmbeddedFileObject.from_file_data(writer, raw, mime_type=exchange_data.DATA_MIME)
    embed.embed_file(writer, embed.FileSpec(file_spec_string=exchange_data.DATA_FILE,
                                            file_name=exchange_data.DATA_FILE, embedded_data=stream,
                                            af_relationship=generic.NameObject("/Data")))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _flip_in_data_stream(pdf: bytes) -> bytes:
    """Change one byte inside the (compressed) stream of the embedded data file."""
    data = bytearray(pdf)
    at = data.find(b"/EmbeddedFile")
    assert at != -1, "no embedded file in the signed report"
    start = data.find(b"stream", at) + len(b"stream\n") + 40
    data[start] ^= 0x5A
    return bytes(data)


# --- the cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    code: str  # the PackageError code it must be refused with
    fragment: str  # a distinctive part of its (English) message
    make: Callable[[Base], bytes] | None  # None: made specially by ``build``


def _other_office(data: dict[str, Any]) -> None:
    data["office"]["uuid"] = str(uuid.uuid4())
    data["office"]["name"] = "Ủy ban nhân dân xã Nà Tấu"


def _unknown_plan(data: dict[str, Any]) -> None:
    data["plan"]["code"] = "999/KH-UBND"


def _unknown_form(data: dict[str, Any]) -> None:
    data["activities"][0]["form"] = "F9"


def _duplicate(data: dict[str, Any]) -> None:
    twin = dict(data["activities"][1])
    twin["uuid"] = data["activities"][0]["uuid"]
    twin["title"] = "Bản sao khác nội dung"
    data["activities"][1] = twin


def _outside(data: dict[str, Any]) -> None:
    data["activities"][2]["date_start"] = "2026-06-15"


def _newer_data(data: dict[str, Any]) -> None:
    data["format_version"] = exchange_data.FORMAT_VERSION + 1


def _invalid_utf8(base: Base) -> bytes:
    raw = exchange_data.dumps(base.data)
    title = base.data["activities"][0]["title"].encode("utf-8")
    broken = raw.replace(title, title[:5] + b"\xff\xfe" + title[5:], 1)
    assert broken != raw
    return signed_package(base, raw=broken)


def _conflict_own(base: Base) -> bytes:
    def change(data: dict[str, Any]) -> None:
        data["activities"][0]["uuid"] = base.own_uuid

    return signed_package(base, change)


def _lying_count(manifest: dict[str, Any]) -> None:
    manifest["counts"]["activities"] += 1


def _lying_sender(manifest: dict[str, Any]) -> None:
    manifest["sender"]["name"] = "Ủy ban nhân dân xã Thanh Nưa"


def _wrong_hash(manifest: dict[str, Any]) -> None:
    manifest["parts"][packages.PDF_MEMBER]["sha256"] = "0" * 64


def _wrong_size(manifest: dict[str, Any]) -> None:
    manifest["parts"][packages.PDF_MEMBER]["size"] += 1


def _modified_after_signing(base: Base) -> bytes:
    data = copy.deepcopy(base.data)
    data["activities"][0]["reach_total"] += 10_000
    pdf = _append_data(base.pdf, exchange_data.dumps(data))
    return package_files.build(_manifest(base.package), {packages.PDF_MEMBER: pdf})


def _byte_flipped(base: Base) -> bytes:
    return package_files.build(_manifest(base.package), {packages.PDF_MEMBER: _flip_in_data_stream(base.pdf)})


def _unsigned_with_data(base: Base) -> bytes:
    pdf = _append_data(base.unsigned_pdf, exchange_data.dumps(base.data))
    return package_files.build(manifest_for(base.data, "", None), {packages.PDF_MEMBER: pdf})


def _zip_bomb(base: Base) -> bytes:
    return _zip([(package_files.MANIFEST, json.dumps(_manifest(base.package)).encode()),
                 (packages.PDF_MEMBER, bytes(20 * 1024 * 1024))])


def _zip_newer(base: Base) -> bytes:
    manifest = _manifest(base.package)
    manifest["format_version"] = package_files.FORMAT_VERSION + 1
    return _zip([(package_files.MANIFEST, json.dumps(manifest).encode()), (packages.PDF_MEMBER, base.pdf)])


CASES: list[Case] = [
    Case("truncated", "truncated", "damaged or incomplete", lambda b: b.package[: len(b.package) // 2]),
    Case("empty", "empty", "is empty", lambda b: b""),
    Case("pdf_not_package", "pdf", "is a PDF, not a dbcomm package", lambda b: b.pdf),
    Case("random_binary", "not_zip", "is not a dbcomm package", lambda b: os.urandom(4096)),
    Case("zip_bomb", "bomb", "would unpack to 20 MB", _zip_bomb),
    Case("traversal", "traversal", "“../evil”", lambda b: _zip(
        [*_members(b.package).items(), ("../evil", b"x")])),
    Case("absolute_path", "traversal", "“/etc/evil”", lambda b: _zip(
        [*_members(b.package).items(), ("/etc/evil", b"x")])),
    Case("symlink_entry", "symlink", "contains a link (“report.pdf”)", lambda b: _zip(
        list(_members(b.package).items()), modes={packages.PDF_MEMBER: 0o120777})),
    Case("extra_member", "members", "unexpected: notes.txt", lambda b: _zip(
        [*_members(b.package).items(), ("notes.txt", "Ghi chú".encode())])),
    Case("missing_member", "members", "missing: report.pdf", lambda b: _zip(
        [(package_files.MANIFEST, _members(b.package)[package_files.MANIFEST])])),
    Case("wrong_hash", "hash", "is not the file the manifest describes", lambda b: _raw_manifest(b, _wrong_hash)),
    Case("wrong_size", "hash", "SHA-256 or size differs", lambda b: _raw_manifest(b, _wrong_size)),
    Case("manifest_not_json", "manifest", "The manifest of", lambda b: _zip(
        [(package_files.MANIFEST, b"{not json"), (packages.PDF_MEMBER, b.pdf)])),
    Case("manifest_other_format", "manifest", "its manifest is not one", lambda b: _raw_manifest(
        b, lambda m: m.update(format="dbcomm.backup"))),
    Case("newer_package_format", "newer", f"package format {package_files.FORMAT_VERSION + 1}",
         _zip_newer),
    Case("manifest_kind", "kind", "not a report (it holds “plan”)", lambda b: _repack_manifest(
        b, lambda m: m.update(kind="plan"))),
    Case("newer_data_format", "data_newer", f"format {exchange_data.FORMAT_VERSION + 1}",
         lambda b: signed_package(b, _newer_data)),
    Case("modified_after_signing", "modified", "changed after it was signed", _modified_after_signing),
    Case("data_byte_flipped", "signature", "signature was altered", _byte_flipped),
    Case("untrusted", "untrusted", "→ “Trusted authorities”", lambda b: signed_package(
        b, leader=b.stranger_leader, office=b.stranger_office)),
    Case("leader_only", "not_sealed", "carries 1 signature", lambda b: signed_package(b, seal=False)),
    Case("unsigned_with_data", "unsigned", "is not signed", _unsigned_with_data),
    Case("sender_unknown", "unknown_sender", "add it on the Directory tab first", lambda b: signed_package(b, _other_office)),
    Case("plan_unknown", "unknown_plan", "plan “999/KH-UBND”", lambda b: signed_package(b, _unknown_plan)),
    Case("form_unknown", "unknown_code", "communication form F9", lambda b: signed_package(b, _unknown_form)),
    Case("duplicate_uuid", "data_duplicate", "twice", lambda b: signed_package(b, _duplicate)),
    Case("date_outside", "data_outside", "outside the period", lambda b: signed_package(b, _outside)),
    Case("invalid_utf8", "data_utf8", "not valid UTF-8", _invalid_utf8),
    Case("lying_count", "manifest_mismatch", "number of activities", lambda b: _repack_manifest(b, _lying_count)),
    Case("lying_sender", "manifest_mismatch", "about the sending office", lambda b: _repack_manifest(
        b, _lying_sender)),
    Case("huge_member", "bomb", "would unpack to 160 MB", lambda b: _declared_size(
        b.package, packages.PDF_MEMBER, 160 * 1024 * 1024)),
    Case("symlink_on_disk", "symlink", "is a link to another file", None),
    Case("conflict_own_activity", "conflict", "one of this office's own activities", _conflict_own),
]


def build(folder: Path, base: Base) -> dict[str, Path]:
    """Write every case into ``folder``; returns name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    good = folder / "good.dbcpkg"
    good.write_bytes(base.package)
    for case in CASES:
        path = folder / f"{case.name}{package_files.SUFFIX}"
        if case.make is None:  # the symlink on disk
            path.symlink_to(good)
        else:
            path.write_bytes(case.make(base))
        paths[case.name] = path
    return paths


def nfd_package(base: Base) -> bytes:
    """A valid package whose signed data holds its Vietnamese text decomposed (NFD)."""

    def change(data: dict[str, Any]) -> None:
        for a in data["activities"]:
            for key in ("title", "description", "place", "partner"):
                a[key] = unicodedata.normalize("NFD", a[key])
        data["office"]["name"] = unicodedata.normalize("NFD", data["office"]["name"])

    return signed_package(base, change)


def stranger_signers(folder: Path) -> tuple[signing.Identity, signing.Identity]:
    """A leader and an office certified by another PKI."""
    folder.mkdir(parents=True, exist_ok=True)
    other = pki.build(folder)
    return (signing.load_pkcs12(other.leader, other.password), signing.load_pkcs12(other.office, other.password))
