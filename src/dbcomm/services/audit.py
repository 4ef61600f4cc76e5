"""The audit trail: append-only, each entry chained to the previous one by SHA-256."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dbcomm.domain.roles import Actor, Perm
from dbcomm.domain.text import fold
from dbcomm.i18n import N_, _
from dbcomm.store.engine import Database
from dbcomm.store.models import AppSetting, AuditEntry, utcnow

GENESIS = "0" * 64
HEAD_KEY = "audit_head"

ACTIONS: dict[str, str] = {
    "create": N_("created"),
    "update": N_("edited"),
    "delete": N_("deleted"),
    "restore": N_("restored"),
    "status": N_("changed the status of"),
    "login": N_("logged in"),
    "login_failed": N_("failed to log in"),
    "logout": N_("logged out"),
    "export": N_("exported"),
    "import": N_("imported"),
    "backup": N_("backed up"),
    "restore_backup": N_("restored a backup"),
    "sign": N_("signed"),
    "seal": N_("numbered and sealed"),
    "build": N_("built"),
    "user": N_("changed an account"),
    "settings": N_("changed the settings"),
}


ENTITY_LABELS: dict[str, str] = {
    "activity": N_("activity"),
    "nil_statement": N_("no-activity statement"),
    "office": N_("office"),
    "period": N_("period"),
    "register": N_("register"),
    "settings": N_("settings"),
    "user": N_("account"),
    "indicator": N_("indicator"),
    "organisation": N_("unit"),
    "plan": N_("plan"),
    "plan_node": N_("objective or task"),
    "database": N_("database"),
    "handover": N_("hand-over file"),
    "report": N_("report"),
    "signing_identity": N_("signing certificate"),
    "received_report": N_("received report"),
}

FIELD_LABELS: dict[str, str] = {
    "date_start": N_("Start date"),
    "date_end": N_("End date"),
    "form": N_("Form"),
    "subtype": N_("Kind"),
    "title": N_("Title"),
    "description": N_("Description"),
    "place": N_("Place"),
    "languages": N_("Languages"),
    "items": N_("Items"),
    "minutes": N_("Minutes"),
    "sessions": N_("Sessions"),
    "reach_total": N_("People reached"),
    "partner": N_("Partner"),
    "cost": N_("Cost (VND)"),
    "funding": N_("Funding"),
    "notes": N_("Notes"),
    "objectives": N_("Objectives"),
    "programmes": N_("Programmes"),
    "reach": N_("Reach breakdown"),
    "attachments": N_("Attachments"),
    "state": N_("State"),
    "period": N_("Period"),
    "role": N_("Role"),
    "full_name": N_("Full name"),
    "active": N_("Active"),
}


def _canonical(e: AuditEntry) -> bytes:
    payload = [
        e.at.isoformat(timespec="microseconds"), e.username, e.full_name, e.action, e.entity,
        e.entity_uuid, e.summary, e.changes, e.prev_hash,
    ]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_default(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields that differ."""
    return {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def record(session: Session, actor: Actor, action: str, *, entity: str = "", entity_uuid: str = "",
           summary: str = "", changes: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (so it is saved with the change, or not at all)."""
    last = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    entry = AuditEntry(
        at=at or utcnow(), username=actor.username, full_name=actor.full_name, action=action,
        entity=entity, entity_uuid=entity_uuid, summary=summary,
        changes=json.dumps(changes or {}, ensure_ascii=False, sort_keys=True, default=_json_default),
        prev_hash=last or GENESIS, hash="",
    )
    entry.hash = hashlib.sha256(_canonical(entry)).hexdigest()
    session.add(entry)
    session.flush()
    head = session.get(AppSetting, HEAD_KEY)
    value = json.dumps({"id": entry.id, "hash": entry.hash})
    if head is None:
        session.add(AppSetting(key=HEAD_KEY, value=value))
    else:
        head.value = value
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    bad_id: int | None = None
    message: str = ""


def verify(db: Database) -> ChainReport:
    """Recompute the chain: an edited, inserted or deleted entry breaks it."""
    with db.read() as s:
        prev = GENESIS
        count = 0
        last_id = 0
        for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(2000):
            count += 1
            if e.prev_hash != prev:
                return ChainReport(False, count, e.id, _(
                    "The audit trail is broken before entry #{id}: an entry was deleted or inserted.").format(id=e.id))
            if hashlib.sha256(_canonical(e)).hexdigest() != e.hash:
                return ChainReport(False, count, e.id, _(
                    "Audit entry #{id} was altered after it was written.").format(id=e.id))
            prev = e.hash
            last_id = e.id
        head = s.get(AppSetting, HEAD_KEY)
        if head is not None:
            expected = json.loads(head.value)
            if expected.get("hash") != prev or expected.get("id") != last_id:
                return ChainReport(False, count, last_id or None, _(
                    "The last entries of the audit trail are missing (the trail ends at #{id}, "
                    "but #{expected} was written).").format(id=last_id, expected=expected.get("id")))
    return ChainReport(True, count, None, _("The audit trail is intact: {n} entries.").format(n=count))


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    username: str
    full_name: str
    action: str
    entity: str
    entity_uuid: str
    summary: str
    changes: dict[str, Any]


def entries(db: Database, *, entity_uuid: str = "", username: str = "", date_from: date | None = None,
            date_to: date | None = None, text: str = "", limit: int = 2000) -> list[AuditRow]:
    """Newest first, filtered by record, person, period and text."""
    from dbcomm.services.auth import require

    require(db, Perm.VIEW_AUDIT)
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity_uuid:
        stmt = stmt.where(AuditEntry.entity_uuid == entity_uuid)
    if username:
        stmt = stmt.where(AuditEntry.username == username)
    if date_from:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(date_from, datetime.min.time()) - timedelta(hours=7))
    if date_to:
        stmt = stmt.where(AuditEntry.at < datetime.combine(date_to, datetime.min.time()) + timedelta(hours=17))
    key = fold(text)
    out: list[AuditRow] = []
    with db.read() as s:
        for e in s.scalars(stmt.limit(limit * (5 if key else 1))):
            if key and key not in fold(f"{e.summary} {e.full_name} {e.username} {e.changes}"):
                continue
            out.append(AuditRow(e.id, e.at, e.username, e.full_name, e.action, e.entity, e.entity_uuid,
                                e.summary, json.loads(e.changes or "{}")))
            if len(out) >= limit:
                break
    return out


def usernames(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(AuditEntry.username).distinct().order_by(AuditEntry.username)))
