"""The machine-readable data of a signed report: what travels inside it to the receiving office.

When the leader signs a report (``report_signing.sign_report``), ``collect`` gathers the
period's data — the office, the plan, the period, every activity the report counted (with
its UUID and version), the "no activity" statements and the audit entries of the period —
as canonical JSON, and the JSON is embedded in the PDF (``DATA_FILE``) in the revision the
leader's signature covers.  A changed figure therefore breaks the signature.

``parse`` is the receiving side's strict reader: UTF-8, JSON, the expected shape, text
normalised to NFC, dates inside the period, no UUID twice.  Anything else raises
:class:`DataError` with a message that says what is wrong.
"""

from __future__ import annotations

import json
import unicodedata
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

import dbcomm
from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.services import settings
from dbcomm.store.engine import Database

DATA_FILE = "dbcomm-data.json"
DATA_MIME = "application/json"
FORMAT = "dbcomm.period-data"
FORMAT_VERSION = 1
MAX_ACTIVITIES = 200_000
MAX_TEXT = 20_000  # characters in one text field


class DataError(UserError):
    """The data of a package is not what dbcomm writes; ``code`` names the check that failed."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class ActivityData:
    uuid: str
    version: int
    date_start: date
    date_end: date | None
    form: str  # the form's code in the plan, e.g. "F3"
    subtype: str
    title: str
    description: str
    place: str  # the place's name ("" for none)
    languages: list[str]
    items: int
    minutes: int
    sessions: int
    reach_total: int
    reach: dict[str, dict[str, int]]
    objectives: list[str]  # plan node codes, e.g. ["1.1", "4.3"]
    programmes: list[str]  # programme codes
    partner: str
    cost: int
    funding: str
    notes: str


@dataclass(frozen=True)
class NilData:
    uuid: str
    version: int
    period_key: str
    form: str  # "" = the whole period
    reason: str


@dataclass(frozen=True)
class AuditData:
    at: str
    username: str
    full_name: str
    action: str
    entity: str
    entity_uuid: str
    summary: str


@dataclass(frozen=True)
class PeriodData:
    format_version: int
    office_uuid: str
    office_name: str
    office_parent: str
    office_symbol: str
    office_kind: str
    plan_code: str
    plan_title: str
    period_key: str
    date_from: date
    date_to: date
    report_uuid: str
    report_subject: str
    supersedes: str | None
    created_at: str
    app_version: str
    activities: list[ActivityData] = field(default_factory=list)
    nil_statements: list[NilData] = field(default_factory=list)
    audit: list[AuditData] = field(default_factory=list)


# --- the sending side ---------------------------------------------------------------------


def office_uuid(db: Database) -> str:
    """This office's stable identifier in exchanges (made once, kept in the settings)."""
    value = settings.get_value(db, "office.uuid")
    if not value:
        value = str(uuidlib.uuid4())
        settings.set_value(db, "office.uuid", value)
    return str(value)


def collect(db: Database, report_id: int) -> bytes:
    """The period data of a built report, as canonical JSON bytes (sorted keys, UTF-8)."""
    from dbcomm.services import reports
    from dbcomm.store.models import (
        Activity,
        AuditEntry,
        CommForm,
        NilStatement,
        PeriodStatus,
        Plan,
        Report,
    )

    content = reports.stored_content(db, report_id)
    detail = reports.get_report(db, report_id)
    office = settings.get_office(db)
    wanted = dict(content.activity_versions)
    with db.read() as s:
        report = s.get(Report, report_id)
        assert report is not None
        plan = s.get(Plan, report.plan_id)
        assert plan is not None
        older = s.get(Report, report.supersedes_id) if report.supersedes_id else None
        supersedes = older.uuid if older is not None else None
        rows = list(s.scalars(select(Activity).where(Activity.uuid.in_(list(wanted)))) if wanted else [])
        if len(rows) != len(wanted) or any(a.version != wanted[a.uuid] for a in rows):
            raise UserError(_("The register changed since the report was built; build it again."))
        activities = [_activity(a) for a in sorted(rows, key=lambda a: (a.date_start, a.uuid))]
        forms = {f.id: f.code for f in s.scalars(select(CommForm).where(CommForm.plan_id == plan.id))}
        nils = [NilData(n.uuid, n.version, n.period_key, forms.get(n.form_id, "") if n.form_id else "", n.reason)
                for n in s.scalars(select(NilStatement).where(NilStatement.plan_id == plan.id)
                                   .order_by(NilStatement.id))
                if _period_within(n.period_key, content.date_from, content.date_to, plan.cutoff)]
        entity_uuids = set(wanted) | {report.uuid} | {n.uuid for n in nils}
        period_rows = s.scalars(select(PeriodStatus.uuid).where(PeriodStatus.plan_id == plan.id,
                                                                 PeriodStatus.period_key == report.period_key))
        entity_uuids |= set(period_rows)
        audit = [AuditData(e.at.isoformat(), e.username, e.full_name, e.action, e.entity, e.entity_uuid, e.summary)
                 for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
                 if e.entity_uuid in entity_uuids]
        payload = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "office": {"uuid": office_uuid(db), "name": office.name, "parent_agency": office.parent_agency,
                       "symbol": office.symbol, "kind": office.kind},
            "plan": {"code": plan.code, "title": plan.title},
            "period": {"key": report.period_key, "from": content.date_from.isoformat(),
                       "to": content.date_to.isoformat()},
            "report": {"uuid": report.uuid, "subject": detail.info.subject, "supersedes": supersedes},
            "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "app_version": dbcomm.__version__,
            "activities": [_plain(a) for a in activities],
            "nil_statements": [_plain(n) for n in nils],
            "audit": [_plain(e) for e in audit],
        }
    return dumps(payload)


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _plain(value: Any) -> dict[str, Any]:
    out = {}
    for key, item in value.__dict__.items():
        out[key] = item.isoformat() if isinstance(item, date) else item
    return out


def _period_within(key: str, start: date, end: date, cutoff: str) -> bool:
    from dbcomm.domain.periods import Cutoff, PeriodError, parse_period

    try:
        p = parse_period(key, Cutoff(cutoff))
    except (PeriodError, ValueError):
        return False
    return start <= p.start and p.end <= end


def _activity(a: Any) -> ActivityData:
    reach: dict[str, dict[str, int]] = {}
    for r in a.reach:
        if r.count:
            reach.setdefault(r.dimension, {})[r.category] = r.count
    return ActivityData(
        uuid=a.uuid, version=a.version, date_start=a.date_start, date_end=a.date_end, form=a.form.code,
        subtype=a.subtype, title=a.title, description=a.description or "",
        place=a.place.name if a.place is not None else "", languages=[x for x in a.languages.split() if x],
        items=a.items, minutes=a.minutes, sessions=a.sessions, reach_total=a.reach_total, reach=reach,
        objectives=sorted(n.code for n in a.nodes), programmes=sorted(p.code for p in a.programmes),
        partner=a.partner or "", cost=a.cost or 0, funding=a.funding or "", notes=a.notes or "")


# --- the receiving side -------------------------------------------------------------------


class _Item:
    """An item's name in a message, such as “activity 12”: translated only when a message is
    made (a package carries thousands of items, and nearly always no message)."""

    __slots__ = ("kind", "n")

    def __init__(self, kind: str, n: int) -> None:
        self.kind, self.n = kind, n

    def __str__(self) -> str:
        if self.kind == "activity":
            return _("activity {n}").format(n=self.n)
        if self.kind == "statement":
            return _("statement {n}").format(n=self.n)
        return _("audit entry {n}").format(n=self.n)


Where = str | _Item


def _nfc(value: Any, where: Where) -> str:
    if not isinstance(value, str):
        raise DataError("type", _("The data is damaged: {where} is not text.").format(where=where))
    if len(value) > MAX_TEXT:
        raise DataError("too_long", _("The data is damaged: {where} is too long.").format(where=where))
    if "\x00" in value:
        raise DataError("type", _("The data is damaged: {where} holds a NUL character.").format(where=where))
    return unicodedata.normalize("NFC", value)


def _int(value: Any, where: Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
        raise DataError("type", _("The data is damaged: {where} is not a whole number.").format(where=where))
    return value


def _date(value: Any, where: Where) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DataError("type", _("The data is damaged: {where} is not a date.").format(where=where)) from None


def _uuid(value: Any, where: Where) -> str:
    try:
        return str(uuidlib.UUID(str(value)))
    except ValueError:
        raise DataError("type", _("The data is damaged: {where} is not an identifier.").format(where=where)) from None


def _obj(value: Any, where: Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError("shape", _("The data is damaged: {where} is missing.").format(where=where))
    return value


def _list(value: Any, where: Where) -> list[Any]:
    if not isinstance(value, list):
        raise DataError("shape", _("The data is damaged: {where} is not a list.").format(where=where))
    return value


def parse(raw: bytes) -> PeriodData:
    """Read and check the embedded data of a package (see the module's docstring)."""
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise DataError("utf8", _("The data is not valid UTF-8 text (byte {pos}).").format(pos=exc.start)) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError("json", _("The data is not valid JSON (line {line}).").format(line=exc.lineno)) from exc
    data = _obj(data, _("the data"))
    if data.get("format") != FORMAT:
        raise DataError("format", _("This is not dbcomm period data."))
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DataError("format", _("The data does not say its format version."))
    if version > FORMAT_VERSION:
        raise DataError("newer", _("The data was written by a newer dbcomm (format {got}; this one reads up to "
                                   "{max}). Update dbcomm on this computer first.").format(
            got=version, max=FORMAT_VERSION))
    office = _obj(data.get("office"), _("the office"))
    plan = _obj(data.get("plan"), _("the plan"))
    period = _obj(data.get("period"), _("the period"))
    report = _obj(data.get("report"), _("the report"))
    start, end = _date(period.get("from"), _("the period's start")), _date(period.get("to"), _("the period's end"))
    if end < start:
        raise DataError("period", _("The data is damaged: the period ends before it starts."))
    raw_activities = _list(data.get("activities"), _("the activities"))
    if len(raw_activities) > MAX_ACTIVITIES:
        raise DataError("too_many", _("The data holds {n} activities, more than an office's period can.").format(
            n=len(raw_activities)))
    activities: list[ActivityData] = []
    seen: set[str] = set()
    for index, item in enumerate(raw_activities, start=1):
        where = _Item("activity", index)
        a = _obj(item, where)
        uid = _uuid(a.get("uuid"), where)
        if uid in seen:
            raise DataError("duplicate", _("The data lists activity {uuid} twice.").format(uuid=uid))
        seen.add(uid)
        day = _date(a.get("date_start"), where)
        until = _date(a["date_end"], where) if a.get("date_end") else None
        if not start <= day <= end:
            raise DataError("outside", _("Activity {n} is dated {day}, outside the period {start} – {end}.").format(
                n=index, day=day.strftime("%d/%m/%Y"), start=start.strftime("%d/%m/%Y"),
                end=end.strftime("%d/%m/%Y")))
        if until is not None and until < day:
            raise DataError("dates", _("Activity {n} ends before it starts.").format(n=index))
        reach_raw = _obj(a.get("reach", {}), where)
        reach = {_nfc(dim, where): {_nfc(cat, where): _int(n, where) for cat, n in _obj(cats, where).items()}
                 for dim, cats in reach_raw.items()}
        title = _nfc(a.get("title"), where).strip()
        if not title:
            raise DataError("shape", _("Activity {n} has no title.").format(n=index))
        activities.append(ActivityData(
            uuid=uid, version=max(1, _int(a.get("version"), where)), date_start=day, date_end=until,
            form=_nfc(a.get("form"), where), subtype=_nfc(a.get("subtype", "other"), where), title=title,
            description=_nfc(a.get("description", ""), where), place=_nfc(a.get("place", ""), where),
            languages=[_nfc(x, where) for x in _list(a.get("languages", []), where)],
            items=_int(a.get("items", 0), where), minutes=_int(a.get("minutes", 0), where),
            sessions=_int(a.get("sessions", 0), where), reach_total=_int(a.get("reach_total", 0), where),
            reach=reach, objectives=[_nfc(x, where) for x in _list(a.get("objectives", []), where)],
            programmes=[_nfc(x, where) for x in _list(a.get("programmes", []), where)],
            partner=_nfc(a.get("partner", ""), where), cost=_int(a.get("cost", 0), where),
            funding=_nfc(a.get("funding", ""), where), notes=_nfc(a.get("notes", ""), where)))
    nils = []
    for index, item in enumerate(_list(data.get("nil_statements", []), _("the statements")), start=1):
        where = _Item("statement", index)
        n = _obj(item, where)
        nils.append(NilData(_uuid(n.get("uuid"), where), max(1, _int(n.get("version", 1), where)),
                            _nfc(n.get("period_key"), where), _nfc(n.get("form", ""), where),
                            _nfc(n.get("reason"), where)))
    audit = []
    for index, item in enumerate(_list(data.get("audit", []), _("the audit entries")), start=1):
        where = _Item("audit entry", index)
        e = _obj(item, where)
        audit.append(AuditData(_nfc(e.get("at"), where), _nfc(e.get("username", ""), where),
                               _nfc(e.get("full_name", ""), where), _nfc(e.get("action", ""), where),
                               _nfc(e.get("entity", ""), where), _nfc(e.get("entity_uuid", ""), where),
                               _nfc(e.get("summary", ""), where)))
    supersedes = report.get("supersedes")
    return PeriodData(
        format_version=version, office_uuid=_uuid(office.get("uuid"), _("the office")),
        office_name=_nfc(office.get("name"), _("the office's name")).strip(),
        office_parent=_nfc(office.get("parent_agency", ""), _("the office")),
        office_symbol=_nfc(office.get("symbol", ""), _("the office")),
        office_kind=_nfc(office.get("kind", ""), _("the office")),
        plan_code=_nfc(plan.get("code"), _("the plan")), plan_title=_nfc(plan.get("title", ""), _("the plan")),
        period_key=_nfc(period.get("key"), _("the period")), date_from=start, date_to=end,
        report_uuid=_uuid(report.get("uuid"), _("the report")),
        report_subject=_nfc(report.get("subject", ""), _("the report")),
        supersedes=_uuid(supersedes, _("the report")) if supersedes else None,
        created_at=_nfc(data.get("created_at", ""), _("the data")),
        app_version=_nfc(data.get("app_version", ""), _("the data")),
        activities=activities, nil_statements=nils, audit=audit)
