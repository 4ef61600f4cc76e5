"""Plan update packages: the province hands its plan to every office on the USB stick.

A package of ``kind`` "plan" holds ``plan.json`` — the plan definition file that
``services/plans.py`` exports and imports — and a manifest naming the plan (UUID, code,
title) and a **revision number**.  The exporting office counts the revisions of each plan
in the setting ``plan.revision.<code>``, one more at each export; the importing office keeps
the last revision it imported under the same key, and refuses a package whose revision is
not newer (the same one again: "already"; an older one: "older").

Integrity: the container's checks (``package_files.read``: members, sizes, SHA-256 of
``plan.json`` against the manifest).  The package is **not signed** — the manifest and its
revision could be forged by whoever can write a zip; the plan's content is checked as any
plan file is (``plans.validate_plan_dict``).  See docs/decisions/0005-exchange-packages.md.

Importing updates the plan with the same UUID (``plans.import_plan_dict``: items matched by
UUID are updated, new ones added, removed ones deleted unless activities use them), or adds
the plan if this office does not have it.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dbcomm.domain.models import PlanInfo
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import nfc_line
from dbcomm.errors import NotFoundError, UserError
from dbcomm.i18n import _
from dbcomm.services import audit, exchange_data, package_files, plans, settings
from dbcomm.services.auth import require
from dbcomm.store.engine import Database
from dbcomm.store.models import AppSetting, Plan

KIND = "plan"
MEMBER = "plan.json"
REVISION_PREFIX = "plan.revision."


@dataclass(frozen=True)
class PlanPackageInfo:
    """What a plan package is, before it is imported (:func:`inspect_plan_package`)."""

    path: Path
    status: str  # new | already | older | invalid
    problem: str = ""  # why it cannot be imported (translated); "" for new
    plan_code: str = ""
    plan_title: str = ""
    plan_uuid: str = ""
    revision: int = 0
    last_revision: int = 0  # the last revision imported (or exported) here; 0 for none
    sender_name: str = ""
    exported_at: str = ""
    exists_here: bool = False  # this office has the plan (the same UUID): it is updated


@dataclass
class PlanPackageResult:
    plan: PlanInfo
    revision: int
    created: bool
    added: int = 0
    updated: int = 0
    kept: list[str] = field(default_factory=list)  # items the plan dropped but activities still use


def revision_key(code: str) -> str:
    return REVISION_PREFIX + nfc_line(code)


def last_revision(db: Database, code: str) -> int:
    """The last revision of the plan ``code`` exported or imported here (0 for none)."""
    value = settings.get_value(db, revision_key(code), 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _set_revision(s: Session, code: str, revision: int) -> None:
    row = s.get(AppSetting, revision_key(code))
    if row is None:
        s.add(AppSetting(key=revision_key(code), value=json.dumps(revision)))
    else:
        row.value = json.dumps(revision)


def _stored_revision(s: Session, code: str) -> int:
    row = s.get(AppSetting, revision_key(code))
    try:
        value = json.loads(row.value) if row is not None else 0
    except ValueError:
        value = 0
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def file_name(code: str, revision: int) -> str:
    """``KeHoach_386-KH-UBND_r3.dbcpkg`` (ASCII, for any stick)."""
    plain = "".join(ch for ch in unicodedata.normalize("NFD", nfc_line(code).replace("đ", "d").replace("Đ", "D"))
                    if not unicodedata.combining(ch))
    plain = re.sub(r"[^A-Za-z0-9-]+", "-", plain).strip("-")[:40] or "KeHoach"
    return f"KeHoach_{plain}_r{revision}{package_files.SUFFIX}"


# --- exporting ---------------------------------------------------------------------------------


def export_plan_package(db: Database, plan_id: int, folder: Path) -> Path:
    """Write the plan as a package in ``folder``, with the next revision number of its code."""
    actor = require(db, Perm.EXPORT)
    with tempfile.TemporaryDirectory(prefix="dbcomm-plan-") as tmp:
        plans.export_plan(db, plan_id, Path(tmp) / MEMBER)
        plan_bytes = (Path(tmp) / MEMBER).read_bytes()
    head = json.loads(plan_bytes)["plan"]
    code = nfc_line(head["code"])
    office = settings.get_office(db)
    sender_uuid = exchange_data.office_uuid(db)
    with db.write() as s:  # the number is taken first: a failed write only skips one
        plan = s.get(Plan, plan_id)
        if plan is None:
            raise NotFoundError(_("The plan no longer exists."))
        revision = _stored_revision(s, code) + 1
        _set_revision(s, code, revision)
        audit.record(s, actor, "export", entity="plan", entity_uuid=plan.uuid,
                     summary=_("Plan {code}, revision {revision}, exported as a package.").format(
                         code=code, revision=revision),
                     changes={"revision": [revision - 1 or None, revision]})
    manifest = {
        "kind": KIND,
        "plan": {"uuid": head.get("uuid"), "code": code, "title": nfc_line(head.get("title"))},
        "revision": revision,
        "sender": {"uuid": sender_uuid, "name": office.name},
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    data = package_files.build(manifest, {MEMBER: plan_bytes})
    return package_files.write_safely(Path(folder), file_name(code, revision), data)


# --- importing ---------------------------------------------------------------------------------


class _Invalid(UserError):
    pass


def _read(db: Database, path: Path) -> tuple[PlanPackageInfo, dict[str, Any]]:
    """Every check of a plan package; raises :class:`UserError` for one that cannot be used."""
    name = path.name
    try:
        raw = package_files.read(path, (MEMBER,))
    except package_files.PackageError as exc:
        if exc.code == "members":
            raise _Invalid(_("{file} is not a plan package (it holds other files: a report or a receipt?). A "
                             "plan package is the KeHoach_… file the province hands out.").format(file=name)) from exc
        raise _Invalid(str(exc)) from exc
    manifest = raw.manifest
    if manifest.get("kind") != KIND:
        raise _Invalid(_("{file} is not a plan package but a package of another kind (“{kind}”). A plan package "
                         "is the KeHoach_… file the province hands out.").format(file=name, kind=manifest.get("kind")))
    revision = manifest.get("revision")
    head = manifest.get("plan")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1 or not isinstance(head, dict):
        raise _Invalid(_("{file}: the package does not say which plan and revision it holds; it is refused. Ask "
                         "the province for the plan package again.").format(file=name))
    try:
        data = plans.validate_plan_dict(json.loads(raw.members[MEMBER].decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Invalid(_("{file}: the plan inside cannot be read. Ask the province for the plan package "
                         "again.").format(file=name)) from exc
    except UserError as exc:
        raise _Invalid(_("{file}: {reason}").format(file=name, reason=exc)) from exc
    plan = data["plan"]
    code = nfc_line(plan["code"])
    if nfc_line(str(head.get("code", ""))) != code or (head.get("uuid") or None) != (plan.get("uuid") or None):
        raise _Invalid(_("{file}: the package's index names another plan than the one inside; it is refused. Ask "
                         "the province for the plan package again.").format(file=name))
    sender = manifest.get("sender") if isinstance(manifest.get("sender"), dict) else {}
    assert isinstance(sender, dict)
    with db.read() as s:
        last = _stored_revision(s, code)
        exists = bool(plan.get("uuid")) and s.scalar(select(Plan.id).where(Plan.uuid == plan["uuid"])) is not None
    status = "new" if revision > last else ("already" if revision == last else "older")
    problem = ""
    if status == "already":
        problem = _("{file} holds revision {revision} of plan {code}, which was imported (or exported) here "
                    "already. Nothing needs doing.").format(file=name, revision=revision, code=code)
    elif status == "older":
        problem = _("{file} holds revision {revision} of plan {code}, older than revision {last} that this office "
                    "has. It is refused, so that an old stick does not undo a newer plan; ask the province for "
                    "its latest plan package if in doubt.").format(file=name, revision=revision, code=code, last=last)
    info = PlanPackageInfo(
        path=path, status=status, problem=problem, plan_code=code, plan_title=nfc_line(plan.get("title")),
        plan_uuid=str(plan.get("uuid") or ""), revision=revision, last_revision=last,
        sender_name=nfc_line(str(sender.get("name", ""))), exported_at=str(manifest.get("created_at", "")),
        exists_here=exists)
    return info, data


def inspect_plan_package(db: Database, path: Path) -> PlanPackageInfo:
    """What a plan package is: ``new``, ``already``, ``older`` or ``invalid`` (never raises for a bad file)."""
    path = Path(path)
    try:
        return _read(db, path)[0]
    except UserError as exc:
        return PlanPackageInfo(path=path, status="invalid", problem=str(exc))


def import_plan_package(db: Database, path: Path) -> PlanPackageResult:
    """Import a newer revision of a plan: it updates this office's plan of the same UUID (or adds
    it); the same or an older revision is refused with a :class:`UserError`."""
    actor = require(db, Perm.IMPORT)
    path = Path(path)
    info, data = _read(db, path)
    if info.status != "new":
        raise UserError(info.problem)
    from dbcomm.services import backup

    backup.before(db, "plan-import")
    result = plans.import_plan_dict(db, data)
    # A second transaction: should it not happen, importing the package again does the same again.
    with db.write() as s:
        if _stored_revision(s, info.plan_code) < info.revision:
            _set_revision(s, info.plan_code, info.revision)
        audit.record(s, actor, "import", entity="plan", entity_uuid=result.plan.uuid,
                     summary=_("Plan {code}, revision {revision}, imported from {file} ({sender}).").format(
                         code=info.plan_code, revision=info.revision, file=path.name, sender=info.sender_name or "?"),
                     changes={"revision": [info.last_revision or None, info.revision]})
    return PlanPackageResult(result.plan, info.revision, result.created, result.added, result.updated,
                             list(result.kept))
