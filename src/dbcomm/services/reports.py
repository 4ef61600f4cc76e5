"""Period reports: figures computed from the register, stored with their settings and narrative.

A report is a draft (settings + narrative) until it is built.  Building computes a
``ReportContent`` from the register, renders it to PDF and stores the content (compressed
JSON), the (uuid, version) list of the activities it counted and the PDF's SHA-256.
Rendering the stored content again gives the same PDF, byte for byte, so a report can be
printed or saved again years later exactly as it was sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import dbcomm
from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.periods import Cutoff, Period, PeriodError, PeriodKind, parse_period
from dbcomm.domain.report import (
    CONTENT_FORMAT,
    REPORT_SCOPES,
    AnnexRow,
    Comparison,
    Figures,
    Gap,
    Header,
    IndicatorProgress,
    Narrative,
    ReportContent,
    ReportSettings,
)
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold, nfc, nfc_line, vi_sort_key
from dbcomm.domain.validation import FieldError
from dbcomm.errors import NotFoundError, UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import audit, settings
from dbcomm.services.auth import require
from dbcomm.services.files import atomic_write_bytes
from dbcomm.store.activities import is_own
from dbcomm.store.engine import Database
from dbcomm.store.models import (
    Activity,
    ActivityNode,
    ActivityProgramme,
    ActivityReach,
    CommForm,
    Indicator,
    IndicatorValue,
    NilStatement,
    Organisation,
    Plan,
    PlanNode,
    ReceivedReport,
    Report,
    utcnow,
)

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# Vietnamese names used inside the document (the document is always Vietnamese).
VI_LANGUAGES = {
    "vi": "Tiếng Việt", "thai": "Tiếng Thái", "hmong": "Tiếng Mông", "dao": "Tiếng Dao",
    "khmu": "Tiếng Khơ Mú", "hanhi": "Tiếng Hà Nhì", "lao": "Tiếng Lào", "other": "Ngôn ngữ khác",
}
VI_REACH = {
    "sex": ("Giới tính", {"female": "Nữ", "male": "Nam"}),
    "ethnic": ("Dân tộc", {"thai": "Thái", "hmong": "Mông", "kinh": "Kinh", "dao": "Dao",
                           "khmu": "Khơ Mú", "other": "Dân tộc khác"}),
    "audience": ("Đối tượng", {"pupils": "Học sinh, sinh viên",
                               "officials": "Cán bộ, công chức, viên chức",
                               "rural_workers": "Lao động nông thôn",
                               "families": "Gia đình, dòng họ", "public": "Nhân dân"}),
}
ROMAN_QUARTERS = {1: "I", 2: "II", 3: "III", 4: "IV"}
MEASURES = ("activities", "items", "sessions", "minutes", "reach")
NO_PLACE = "Không ghi địa bàn"
SUBJECT_MAX = 300  # a trích yếu is a line or three, not a page


# --- periods in words ------------------------------------------------------------------


def period_label(period: Period) -> str:
    """The period as the document names it: "quý III năm 2026", "6 tháng đầu năm 2026"…"""
    year = period.key[:4]
    if period.kind == PeriodKind.YEAR:
        return f"năm {year}"
    if period.kind == PeriodKind.QUARTER:
        return f"quý {ROMAN_QUARTERS[int(period.key[-1])]} năm {year}"
    if period.kind == PeriodKind.HALF:
        return f"6 tháng đầu năm {year}"
    if period.kind == PeriodKind.NINE:
        return f"9 tháng đầu năm {year}"
    if period.kind == PeriodKind.MONTH:
        return f"tháng {int(period.key[5:7])} năm {year}"
    return (f"từ ngày {period.start.strftime('%d/%m/%Y')} "
            f"đến ngày {period.end.strftime('%d/%m/%Y')}")


def previous_year_period(period: Period, cutoff: Cutoff) -> Period:
    """The same period one year earlier."""
    if period.kind == PeriodKind.CUSTOM:
        def back(d: date) -> date:
            return d.replace(year=d.year - 1) if not (d.month == 2 and d.day == 29) else d.replace(
                year=d.year - 1, day=28)
        return parse_period(f"{back(period.start).isoformat()}..{back(period.end).isoformat()}")
    year = int(period.key[:4])
    return parse_period(f"{year - 1}{period.key[4:]}", cutoff)


def document_number(number: str) -> str:
    """"5" → "05"; anything else is kept as typed (without spaces)."""
    text = nfc_line(number).replace(" ", "")
    if text.isdigit() and int(text) < 10:
        return f"{int(text):02d}"
    return text


# --- the figures ---------------------------------------------------------------------------


def _plan(s: Session, plan_id: int) -> Plan:
    plan = s.get(Plan, plan_id)
    if plan is None:
        raise NotFoundError(_("The plan no longer exists."))
    return plan


def resolve_period(db: Database, plan_id: int, period_key: str) -> Period:
    with db.read() as s:
        cutoff = Cutoff(_plan(s, plan_id).cutoff)
    try:
        return parse_period(period_key, cutoff)
    except PeriodError as exc:
        bounds = [part.strip() for part in (period_key or "").split("..")]
        if len(bounds) == 2 and all(len(b) == 10 for b in bounds) and bounds[1] < bounds[0]:
            raise ValidationFailed([FieldError("period", _(
                "The period ends ({end}) before it starts ({start}).").format(
                    start=bounds[0], end=bounds[1]))]) from exc
        raise ValidationFailed([FieldError("period", _(
            "'{key}' is not a period. Write e.g. 2026, 2026-Q3, 2026-05, 2026-H1, 2026-9M "
            "or 2026-01-15..2026-03-14.").format(key=period_key))]) from exc


def _live(plan_id: int, start: date, end: date, scope: str = "own") -> list[Any]:
    """The activities a report counts: live, of the plan, started in the period; for scope
    "own" only the office's own, for "all" also those received from other offices (a
    superseded package's activities are soft-deleted when the newer one is imported)."""
    cond = [Activity.plan_id == plan_id, Activity.deleted_at.is_(None),
            Activity.date_start >= start, Activity.date_start <= end]
    if scope != "all":
        cond.append(is_own())
    return cond


_SUMS = (func.count(Activity.id), func.coalesce(func.sum(Activity.items), 0),
         func.coalesce(func.sum(Activity.sessions), 0), func.coalesce(func.sum(Activity.minutes), 0),
         func.coalesce(func.sum(Activity.reach_total), 0), func.coalesce(func.sum(Activity.cost), 0))


def _figures(code: str, label: str, sums: Any, level: int = 0) -> Figures:
    n, items, sessions, minutes, reach, cost = (int(v or 0) for v in sums) if sums else (0,) * 6
    return Figures(code, label, n, items, sessions, minutes, reach, cost, level)


def _totals(s: Session, plan_id: int, start: date, end: date, scope: str = "own") -> Figures:
    row = s.execute(select(*_SUMS).where(*_live(plan_id, start, end, scope))).one()
    return _figures("", "Tổng cộng", row)


def _by_form(s: Session, plan: Plan, start: date, end: date, scope: str = "own") -> list[Figures]:
    sums = {r[0]: r[1:] for r in s.execute(
        select(Activity.form_id, *_SUMS).where(*_live(plan.id, start, end, scope)).group_by(Activity.form_id))}
    return [_figures(f.code, f.name, sums.get(f.id)) for f in plan.forms]


def _by_objective(s: Session, plan: Plan, start: date, end: date, scope: str = "own") -> list[Figures]:
    """Objectives, each followed by its tasks.  An objective counts each activity once,
    whether it is linked to the objective itself or to one or more of its tasks."""
    parent = {n.id: (n.parent_id or n.id) for n in plan.nodes}
    per_node: dict[int, set[int]] = defaultdict(set)
    values: dict[int, tuple[int, ...]] = {}
    for node_id, activity_id, *numbers in s.execute(
            select(ActivityNode.node_id, ActivityNode.activity_id, Activity.items, Activity.sessions,
                   Activity.minutes, Activity.reach_total, Activity.cost)
            .join(Activity, Activity.id == ActivityNode.activity_id)
            .where(*_live(plan.id, start, end, scope))):
        per_node[node_id].add(activity_id)
        if parent.get(node_id, node_id) != node_id:
            per_node[parent[node_id]].add(activity_id)
        values[activity_id] = tuple(int(v or 0) for v in numbers)
    out: list[Figures] = []
    for n in plan.nodes:
        if n.parent_id is not None:
            continue
        out.append(_sum_of(n.code, n.title, per_node.get(n.id, set()), values, 0))
        out.extend(_sum_of(t.code, t.title, per_node.get(t.id, set()), values, 1)
                   for t in plan.nodes if t.parent_id == n.id)
    return out


def _sum_of(code: str, label: str, ids: set[int], values: dict[int, tuple[int, ...]], level: int) -> Figures:
    f = Figures(code, label, len(ids), level=level)
    for i in ids:
        items, sessions, minutes, reach, cost = values[i]
        f.items += items
        f.sessions += sessions
        f.minutes += minutes
        f.reach += reach
        f.cost += cost
    return f


def _by_programme(s: Session, plan: Plan, start: date, end: date, scope: str = "own") -> list[Figures]:
    sums = {r[0]: r[1:] for r in s.execute(
        select(ActivityProgramme.programme_id, *_SUMS)
        .join(Activity, Activity.id == ActivityProgramme.activity_id)
        .where(*_live(plan.id, start, end, scope)).group_by(ActivityProgramme.programme_id))}
    return [_figures(g.code, g.name, sums.get(g.id)) for g in plan.programmes]


def _by_place(s: Session, plan: Plan, start: date, end: date, scope: str = "own") -> list[Figures]:
    rows = s.execute(
        select(Organisation.name, *_SUMS).select_from(Activity)
        .outerjoin(Organisation, Organisation.id == Activity.place_id)
        .where(*_live(plan.id, start, end, scope)).group_by(Activity.place_id, Organisation.name)).all()
    out = [_figures("", r[0] or NO_PLACE, r[1:]) for r in rows]
    out.sort(key=lambda f: (f.label == NO_PLACE, vi_sort_key(f.label)))
    return out


def _by_language(s: Session, plan: Plan, start: date, end: date, scope: str = "own") -> list[Figures]:
    acc: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for row in s.execute(select(Activity.languages, *_SUMS).where(*_live(plan.id, start, end, scope))
                         .group_by(Activity.languages)):
        for code in dict.fromkeys((row[0] or "vi").split()):
            for i, v in enumerate(row[1:]):
                acc[code][i] += int(v or 0)
    order = list(VI_LANGUAGES)
    return [_figures(code, VI_LANGUAGES.get(code, code), acc[code])
            for code in sorted(acc, key=lambda c: order.index(c) if c in order else 99)]


def _reach_by(s: Session, plan: Plan, start: date, end: date, scope: str = "own") -> dict[str, list[tuple[str, int]]]:
    sums: dict[tuple[str, str], int] = {
        (r[0], r[1]): int(r[2] or 0) for r in s.execute(
            select(ActivityReach.dimension, ActivityReach.category, func.sum(ActivityReach.count))
            .join(Activity, Activity.id == ActivityReach.activity_id)
            .where(*_live(plan.id, start, end, scope))
            .group_by(ActivityReach.dimension, ActivityReach.category))}
    out: dict[str, list[tuple[str, int]]] = {}
    for dim, (title, labels) in VI_REACH.items():
        rows = [(labels[c], sums[(dim, c)]) for c in labels if sums.get((dim, c))]
        rows += [(c, v) for (d, c), v in sums.items() if d == dim and c not in labels and v]
        if rows:
            out[title] = rows
    return out


def _measure_sum(s: Session, plan_id: int, measure: str, start: date, end: date, scope: str = "own") -> int:
    column = {"activities": func.count(Activity.id), "items": func.sum(Activity.items),
              "sessions": func.sum(Activity.sessions), "minutes": func.sum(Activity.minutes),
              "reach": func.sum(Activity.reach_total)}[measure]
    return int(s.scalar(select(func.coalesce(column, 0)).where(*_live(plan_id, start, end, scope))) or 0)


def _indicators(s: Session, plan: Plan, period: Period, scope: str = "own") -> list[IndicatorProgress]:
    cutoff = Cutoff(plan.cutoff)
    year = period.end.year if period.kind == PeriodKind.CUSTOM else int(period.key[:4])
    year_start = parse_period(str(year), cutoff).start
    plan_start = parse_period(str(plan.start_year), cutoff).start
    reported = {(v.indicator_id, v.year): v.value for v in s.scalars(
        select(IndicatorValue).join(Indicator).where(Indicator.plan_id == plan.id))}
    out = []
    for ind in plan.indicators:
        targets = {t.year: t.value for t in ind.targets}
        milestones = [(y, targets[y]) for y in sorted(targets) if y % 5 == 0 or y == plan.end_year]
        measure = ind.measure or "manual"
        if measure in MEASURES:
            year_value: float | None = float(_measure_sum(s, plan.id, measure, max(year_start, plan_start),
                                                          period.end, scope))
            cumulative: float | None = float(_measure_sum(s, plan.id, measure, plan_start, period.end, scope))
        else:
            year_value = reported.get((ind.id, year))
            cumulative = None
        out.append(IndicatorProgress(ind.code, ind.name, ind.unit, measure, year, targets.get(year),
                                     year_value, cumulative, milestones))
    return out


def _comparison(s: Session, plan: Plan, period: Period, current: Figures,
                current_forms: list[Figures], scope: str = "own") -> tuple[list[Comparison], str]:
    prev = previous_year_period(period, Cutoff(plan.cutoff))
    before = _totals(s, plan.id, prev.start, prev.end, scope)
    before_forms = {f.code: f for f in _by_form(s, plan, prev.start, prev.end, scope)}
    rows = [
        Comparison("Số hoạt động truyền thông", current.activities, before.activities),
        Comparison("Số tin, bài, sản phẩm", current.items, before.items),
        Comparison("Số buổi, lượt phát", current.sessions, before.sessions),
        Comparison("Thời lượng phát (phút)", current.minutes, before.minutes),
        Comparison("Số lượt người được tiếp cận", current.reach, before.reach),
    ]
    rows += [Comparison(f"{f.code}. {f.label}", f.activities, before_forms[f.code].activities
                        if f.code in before_forms else 0) for f in current_forms]
    if period.kind == PeriodKind.CUSTOM:
        label = f"cùng kỳ năm trước ({period_label(prev)})"
    else:
        label = f"cùng kỳ năm {prev.key[:4]}"
    return rows, label


def _gaps(s: Session, plan: Plan, period: Period, by_form: list[Figures],
          by_objective: list[Figures]) -> tuple[list[Gap], list[str]]:
    nils = s.scalars(select(NilStatement).where(NilStatement.plan_id == plan.id,
                                                NilStatement.period_key == period.key)).all()
    form_reason = {n.form_id: n.reason for n in nils if n.form_id is not None}
    form_ids = {f.code: f.id for f in plan.forms}
    gaps = [Gap("objective" if f.level == 0 else "task", f.code, f.label)
            for f in by_objective if f.activities == 0]
    gaps += [Gap("form", f.code, f.label, form_reason.get(form_ids.get(f.code, -1), ""))
             for f in by_form if f.activities == 0]
    general = [n.reason for n in nils if n.form_id is None]
    return gaps, general


def _annex(s: Session, plan: Plan, start: date, end: date, cancelled: Cancelled | None,
           scope: str = "own", office_names: dict[int | None, str] | None = None) -> list[AnnexRow]:
    codes: dict[int, list[str]] = defaultdict(list)
    for activity_id, code in s.execute(
            select(ActivityNode.activity_id, PlanNode.code)
            .join(PlanNode, PlanNode.id == ActivityNode.node_id)
            .join(Activity, Activity.id == ActivityNode.activity_id)
            .where(*_live(plan.id, start, end, scope)).order_by(PlanNode.ordinal)):
        codes[activity_id].append(code)
    if cancelled and cancelled():
        raise BuildCancelled(_("The report was not built: cancelled."))
    rows = s.execute(
        select(Activity.id, Activity.uuid, Activity.version, Activity.date_start, Activity.date_end,
               CommForm.code, Activity.title, Organisation.name, Activity.languages, Activity.items,
               Activity.sessions, Activity.minutes, Activity.reach_total, Activity.origin_id)
        .join(CommForm, CommForm.id == Activity.form_id)
        .outerjoin(Organisation, Organisation.id == Activity.place_id)
        .where(*_live(plan.id, start, end, scope))
        .order_by(Activity.date_start, Activity.id))
    lang_cache: dict[str, str] = {}
    names = office_names if scope == "all" and office_names else {}
    out = []
    for r in rows:
        langs = r[8] or "vi"
        if langs not in lang_cache:
            lang_cache[langs] = ", ".join(VI_LANGUAGES.get(c, c) for c in langs.split())
        out.append(AnnexRow(r[1], r[2], r[3], r[4], r[5], r[6], r[7] or "", lang_cache[langs],
                            ", ".join(codes.get(r[0], ())), r[9], r[10], r[11], r[12],
                            names.get(r[13], "")))
    return out


def _by_office(s: Session, plan: Plan, period: Period, own_name: str) -> tuple[list[Figures], dict[int | None, str]]:
    """One line per office whose activities a report over received data counts: every office
    with activities in the period or with a (not superseded) report received for a period that
    overlaps it, and the office itself (``own_name``); sorted in Vietnamese order.  Also the
    name of each origin (None: the office itself), for the annex."""
    start, end = period.start, period.end
    sums: dict[int | None, Any] = {r[0]: r[1:] for r in s.execute(
        select(Activity.origin_id, *_SUMS).where(*_live(plan.id, start, end, "all"))
        .group_by(Activity.origin_id))}
    senders = set(s.scalars(select(ReceivedReport.sender_id).where(
        ReceivedReport.state != "superseded", ReceivedReport.date_from <= end,
        ReceivedReport.date_to >= start).distinct()))
    ids = sorted({i for i in sums if i is not None} | senders)
    orgs = {o.id: o for o in s.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}
    names: dict[int | None, str] = {None: own_name}
    for i in ids:
        org = orgs.get(i)
        names[i] = org.name if org is not None else f"#{i}"
    rows = [_figures("" if i is None else (orgs[i].code if i in orgs else ""), names[i], sums.get(i))
            for i in [None, *ids]]
    rows.sort(key=lambda f: vi_sort_key(f.label))
    return rows, names


class BuildCancelled(UserError):
    """The person cancelled a build; nothing was stored."""


def missing_office_fields(office: OfficeIdentity) -> list[str]:
    """What the office settings lack for a report, as the names shown on the settings page."""
    names = {
        "name": _("Office name"), "parent_agency": _("Parent agency"),
        "place_name": _("Place name in document dates"), "symbol": _("Document-symbol abbreviation"),
        "signer_title": _("Signer's title block"), "signer_name": _("Signer's name"),
    }
    return [label for key, label in names.items() if not getattr(office, key).strip()]


def check_office(db: Database) -> OfficeIdentity:
    office = settings.get_office(db)
    missing = missing_office_fields(office)
    if missing:
        raise UserError(_(
            "The office settings are incomplete: {fields}. Fill them in under File → Settings…, "
            "then build the report again.").format(fields=", ".join(missing)))
    return office


def warnings(db: Database, cfg: ReportSettings, report_id: int | None = None,
             today: date | None = None) -> list[str]:
    """What the person should know before building (nothing here stops the build)."""
    period = resolve_period(db, cfg.plan_id, cfg.period_key)
    out: list[str] = []
    with db.read() as s:
        plan = _plan(s, cfg.plan_id)
        if period.end > date(plan.end_year, 12, 31) or period.start < date(plan.start_year, 1, 1):
            out.append(_("The period runs outside the plan's years ({start}–{end}).").format(
                start=plan.start_year, end=plan.end_year))
        count = s.scalar(select(func.count(Activity.id)).where(
            *_live(plan.id, period.start, period.end, cfg.scope))) or 0
        if count == 0:
            out.append(_("The register holds no activity in this period: the report will say so."))
        others = s.scalars(select(Report).where(Report.plan_id == plan.id, Report.period_key == period.key,
                                                Report.id != (report_id or -1))
                           .order_by(Report.id)).all()
        if others:
            out.append(_("There is already a report for this period (no. {ids}); this one is another.").format(
                ids=", ".join(f"#{r.id}" for r in others)))
    day = cfg.doc_date or today or date.today()
    if day < period.end and not cfg.date_by_registry:
        out.append(_("The document date ({day}) is before the end of the period ({end}).").format(
            day=day.strftime("%d/%m/%Y"), end=period.end.strftime("%d/%m/%Y")))
    return out


def last_complete_period(plan_cutoff: str, kind: PeriodKind, today: date | None = None) -> Period:
    """The latest period of ``kind`` that has ended by ``today`` (the one usually reported on)."""
    from datetime import timedelta

    from dbcomm.domain.periods import period_containing

    cutoff = Cutoff(plan_cutoff)
    today = today or date.today()
    current = period_containing(today, kind, cutoff)
    return current if current.end < today else period_containing(current.start - timedelta(days=1), kind, cutoff)


def default_settings(db: Database, plan_id: int, period_key: str) -> ReportSettings:
    period = resolve_period(db, plan_id, period_key)
    office = settings.get_office(db)
    with db.read() as s:
        plan = _plan(s, plan_id)
        recipient = plan.recipient
    # an office never writes to itself: the plan's recipient may be this very office (the
    # department that collects the communes' reports); the person then fills in its superior
    recipient = "\n".join(line for line in recipient.splitlines() if fold(line) != fold(office.name))
    subject = (f"Kết quả thực hiện công tác truyền thông về xây dựng xã hội học tập "
               f"{period_label(period)}")
    return ReportSettings(plan_id=plan_id, period_key=period.key, recipient=recipient, subject=subject,
                          place=office.place_name, archive_unit="")


# One computation at a time: two drafts counting at once in two threads (a period changed
# while the first was still counting) crashed the process inside the lazy loading of the
# plan's relationships.  A computation takes well under a second for an office.
_COMPUTE_LOCK = threading.RLock()


def compute(db: Database, cfg: ReportSettings, narrative: Narrative, *, today: date | None = None,
            progress: Progress | None = None, cancelled: Cancelled | None = None) -> ReportContent:
    """Everything the report shows, computed from the register now."""
    with _COMPUTE_LOCK:
        return _compute(db, cfg, narrative, today=today, progress=progress, cancelled=cancelled)


def _compute(db: Database, cfg: ReportSettings, narrative: Narrative, *, today: date | None,
             progress: Progress | None, cancelled: Cancelled | None) -> ReportContent:
    office = check_office(db)
    period = resolve_period(db, cfg.plan_id, cfg.period_key)
    step = 0

    def tick() -> None:
        nonlocal step
        step += 1
        if progress:
            progress(step, 10)
        if cancelled and cancelled():
            raise BuildCancelled(_("The report was not built: cancelled."))

    with db.read() as s:
        plan = _plan(s, cfg.plan_id)
        start, end = period.start, period.end
        scope = cfg.scope
        totals = _totals(s, plan.id, start, end, scope)
        by_form = _by_form(s, plan, start, end, scope)
        tick()
        by_objective = _by_objective(s, plan, start, end, scope)
        tick()
        by_programme = _by_programme(s, plan, start, end, scope)
        by_place = _by_place(s, plan, start, end, scope)
        by_language = _by_language(s, plan, start, end, scope)
        reach_by = _reach_by(s, plan, start, end, scope)
        by_office: list[Figures] = []
        office_names: dict[int | None, str] = {}
        if scope == "all":
            by_office, office_names = _by_office(s, plan, period, office.name)
        tick()
        indicators = _indicators(s, plan, period, scope)
        comparison: list[Comparison] = []
        comparison_label = ""
        if cfg.compare_last_year:
            comparison, comparison_label = _comparison(s, plan, period, totals, by_form, scope)
        tick()
        gaps, nil_reasons = _gaps(s, plan, period, by_form, by_objective)
        annex = _annex(s, plan, start, end, cancelled, scope, office_names)
        tick()
        notes = []
        plan_from, plan_to = date(plan.start_year, 1, 1), date(plan.end_year, 12, 31)
        if period.end > plan_to or period.start < plan_from:
            notes.append(
                f"Kỳ báo cáo ({period_label(period)}) vượt ra ngoài thời gian thực hiện Kế hoạch "
                f"({plan.start_year}–{plan.end_year}); báo cáo chỉ tổng hợp các hoạt động đã ghi "
                f"nhận theo Kế hoạch.")
        plan_code, plan_title = plan.code, plan.title
        plan_issued_on, plan_issuer = plan.issued_on, plan.issuer

    distribution, archive_unit = clean_distribution(cfg.distribution, cfg.archive_unit)
    header = Header(
        parent_agency=office.parent_agency, agency=office.name, symbol=office.symbol,
        number=document_number(cfg.number), place=nfc_line(cfg.place) or office.place_name,
        doc_date=cfg.doc_date or today or date.today(), subject=nfc(cfg.subject).strip(),
        recipients=[line for line in (nfc_line(x) for x in nfc(cfg.recipient).splitlines()) if line],
        distribution=distribution, archive_unit=archive_unit, signer_title=office.signer_title,
        signer_name=office.signer_name, date_blank=cfg.date_by_registry)
    clean_narrative = Narrative(**{k: nfc(v).strip() for k, v in asdict(narrative).items()})
    content = ReportContent(
        format=CONTENT_FORMAT, header=header, plan_code=plan_code, plan_title=plan_title,
        plan_issued_on=plan_issued_on, plan_issuer=plan_issuer, period_kind=str(period.kind),
        period_key=period.key, period_label=period_label(period), date_from=start, date_to=end,
        totals=totals, by_form=by_form, by_objective=by_objective, by_programme=by_programme,
        by_place=by_place, by_language=by_language, reach_by=reach_by, indicators=indicators,
        comparison=comparison, comparison_label=comparison_label, gaps=gaps,
        nil_statements=nil_reasons, narrative=clean_narrative, annex=annex if cfg.include_annex else [],
        include_annex=cfg.include_annex, notes=notes,
        activity_versions=sorted((a.uuid, a.version) for a in annex),
        scope="all" if scope == "all" else "own", by_office=by_office)
    return content


# --- the draft narrative -----------------------------------------------------------------------


def _n(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _joined(items: list[str]) -> str:
    """"a", "a và b", "a, b và c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " và " + items[-1]


def offices_sentence(content: ReportContent) -> str:
    """For a report over received data: whose reports it brings together ("" otherwise)."""
    if content.scope != "all":
        return ""
    own = nfc_line(content.header.agency)
    others = [f.label for f in content.by_office if f.label != own]
    if not others:
        return (f"Trong {content.period_label}, chưa có đơn vị nào gửi báo cáo; báo cáo này chỉ gồm "
                f"kết quả của {own}.")
    return (f"Báo cáo này tổng hợp kết quả của {own} và báo cáo của {_n(len(others))} đơn vị đã gửi về "
            f"({_joined(others)}).")


def draft_narrative(content: ReportContent) -> Narrative:
    """A first draft of the narrative sections, written from the figures; the person edits it.

    It states only what the figures show; what the office did besides (documents issued,
    meetings held) is for the person to add.
    """
    t = content.totals
    plan_ref = f"Kế hoạch số {content.plan_code}"
    if content.plan_issuer:
        plan_ref += f" của {content.plan_issuer}"
    gaps = [g for g in content.gaps if g.kind in ("objective", "form")]
    gap_names = [("mục tiêu " if g.kind == "objective" else "hình thức ") + g.code for g in gaps]
    offices = offices_sentence(content)
    if not t.activities:
        return Narrative(
            direction=offices,
            assessment=(f"Trong {content.period_label}, đơn vị chưa tổ chức được hoạt động truyền thông "
                        f"nào theo {plan_ref}."),
            next_steps=("Xây dựng kế hoạch cụ thể và tổ chức các hoạt động truyền thông theo các mục tiêu, "
                        "hình thức của Kế hoạch trong kỳ tới."),
            proposals="")
    direction = (f"Trong {content.period_label}, {content.header.agency} tiếp tục triển khai {plan_ref}, "
                 f"phân công nhiệm vụ tuyên truyền cho các bộ phận, thôn, bản và các cơ sở giáo dục "
                 f"trên địa bàn.")
    if offices:
        direction += "\n\n" + offices
    most = max(f.activities for f in content.by_form)
    best = [f for f in content.by_form if f.activities == most]
    if len(best) == 1:
        used = f"hình thức được sử dụng nhiều nhất là {_lower_first(best[0].label)}, với {_n(most)} hoạt động"
    else:
        used = (f"các hình thức được sử dụng nhiều nhất là {_joined([f.code for f in best])}, mỗi hình thức "
                f"{_n(most)} hoạt động")
    minority = [f for f in content.by_language if f.code not in ("vi", "other") and f.activities]
    assessment = (f"Ưu điểm: đơn vị đã tổ chức {_n(t.activities)} hoạt động truyền thông, tiếp cận "
                  f"{_n(t.reach)} lượt người; {used}.")
    if minority:
        assessment += (" Thông tin được truyền tải bằng " + _joined([_lower_first(f.label) for f in minority])
                       + ", phù hợp với đồng bào các dân tộc trên địa bàn.")
    if gaps:
        assessment += "\n\nHạn chế: " + _joined(gap_names) + " chưa có hoạt động trong kỳ."
    if gaps:
        next_steps = ("Tổ chức các hoạt động cho " + _joined(gap_names) + "; tiếp tục duy trì các hình thức "
                      "đã thực hiện hiệu quả trong kỳ.")
    else:
        next_steps = ("Tiếp tục duy trì các hình thức truyền thông đã thực hiện hiệu quả, chú trọng tiếng dân "
                      "tộc trên hệ thống thông tin cơ sở.")
    return Narrative(direction=direction, assessment=assessment, next_steps=next_steps, proposals="")


# --- stored reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInfo:
    id: int
    uuid: str
    version: int
    plan_id: int
    period_key: str
    date_from: date
    date_to: date
    subject: str
    number: str
    doc_date: date | None
    state: str
    activity_count: int
    pdf_sha256: str
    pdf_pages: int
    built_at: datetime | None
    built_by: str
    signed_sha256: str = ""
    signature_level: str = ""
    signed_at: datetime | None = None
    signed_by: str = ""
    sealed_at: datetime | None = None
    sealed_by: str = ""
    supersedes_id: int | None = None
    sent_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str = ""
    decision_note: str = ""  # the receiving office's note when it returned (or accepted) the report

    @property
    def is_signed(self) -> bool:
        return self.state in SIGNED_STATES


# signed by the leader; then numbered and sealed; then sent on a USB stick; then answered
SIGNED_STATES = ("signed", "issued", "sent", "returned", "accepted")
ISSUED_STATES = ("issued", "sent", "returned", "accepted")


@dataclass
class ReportDetail:
    info: ReportInfo
    settings: ReportSettings
    narrative: Narrative


def _info(r: Report) -> ReportInfo:
    return ReportInfo(r.id, r.uuid, r.version, r.plan_id, r.period_key, r.date_from, r.date_to,
                      r.subject, r.number, r.doc_date, r.state, r.activity_count, r.pdf_sha256,
                      r.pdf_pages, r.built_at, r.built_by, r.signed_sha256, r.signature_level, r.signed_at,
                      r.signed_by, r.sealed_at, r.sealed_by, r.supersedes_id, r.sent_at, r.decided_at,
                      r.decided_by, r.decision_note)


def _settings_json(cfg: ReportSettings) -> str:
    data = asdict(cfg)
    data["doc_date"] = cfg.doc_date.isoformat() if cfg.doc_date else None
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _settings_from(text: str) -> ReportSettings:
    data = json.loads(text)
    if data.get("doc_date"):
        data["doc_date"] = date.fromisoformat(data["doc_date"])
    known = {k: v for k, v in data.items() if k in ReportSettings.__dataclass_fields__}
    return ReportSettings(**known)


def _narrative_from(text: str) -> Narrative:
    data = json.loads(text or "{}")
    return Narrative(**{k: v for k, v in data.items() if k in Narrative.__dataclass_fields__})


def _clean_settings(cfg: ReportSettings, period: Period) -> ReportSettings:
    errors = []
    number = document_number(cfg.number)
    if number and not all(ch.isalnum() or ch in "-." for ch in number):
        errors.append(FieldError("number", _("The document number may hold only digits and letters.")))
    if not nfc(cfg.subject).strip():
        errors.append(FieldError("subject", _("Enter the subject line of the report.")))
    elif len(nfc(cfg.subject).strip()) > SUBJECT_MAX:
        errors.append(FieldError("subject", _("The subject line is too long ({n} characters); keep it under "
                                              "{max}.").format(n=len(nfc(cfg.subject).strip()), max=SUBJECT_MAX)))
    if cfg.scope not in REPORT_SCOPES:
        errors.append(FieldError("scope", _("Choose whose activities the report counts: the office's own, "
                                            "or also those received from other offices.")))
    if errors:
        raise ValidationFailed(errors)
    distribution, archive_unit = clean_distribution(cfg.distribution, cfg.archive_unit)
    return replace(cfg, period_key=period.key, number=number, subject=nfc(cfg.subject).strip(),
                   recipient=nfc(cfg.recipient).strip(), place=nfc_line(cfg.place),
                   distribution=distribution, archive_unit=archive_unit)


def clean_distribution(lines: list[str], archive_unit: str) -> tuple[list[str], str]:
    """The "Nơi nhận" lines as the person typed them, without what the document adds itself.

    "- Như trên;" opens the list and "- Lưu: VT, …." closes it; typed copies of either are
    dropped (a typed "Lưu: VT, VHXH" gives the archive unit when none was given), and the
    leading dash and trailing punctuation are the document's to write.
    """
    out: list[str] = []
    unit = nfc_line(archive_unit).strip(" .;,")
    for raw in lines:
        line = nfc_line(raw).lstrip("-–•+ ").rstrip(" ;.,")
        folded = line.casefold()
        if not line or folded in ("như trên", "nhu tren"):
            continue
        if folded.startswith(("lưu", "luu")):
            rest = line.split(":", 1)[1] if ":" in line else line[3:]
            rest = rest.strip()
            if rest.upper().startswith("VT"):
                rest = rest[2:].lstrip(" ,")
            if rest and not unit:
                unit = rest.strip(" .;,")
            continue
        if line not in out:
            out.append(line)
    return out, unit


def save_draft(db: Database, report_id: int | None, cfg: ReportSettings, narrative: Narrative,
               expected_version: int | None = None) -> ReportInfo:
    """Create or update a report's settings and narrative (not its figures)."""
    actor = require(db, Perm.BUILD_REPORT)
    period = resolve_period(db, cfg.plan_id, cfg.period_key)
    cfg = _clean_settings(cfg, period)
    narrative = Narrative(**{k: nfc(v) for k, v in asdict(narrative).items()})
    with db.write() as s:
        if report_id is None:
            r = Report(plan_id=cfg.plan_id)
            s.add(r)
            action = "create"
        else:
            found = s.get(Report, report_id)
            if found is None:
                raise NotFoundError(_("The report no longer exists."))
            r = found
            _check_not_final(r)
            if expected_version is not None and r.version != expected_version:
                from dbcomm.errors import ConflictError
                raise ConflictError(_("Someone else changed this report since you opened it. "
                                      "Close it and open it again."))
            r.version += 1
            action = "update"
        r.period_key, r.date_from, r.date_to = period.key, period.start, period.end
        r.subject, r.number, r.doc_date = cfg.subject, cfg.number, cfg.doc_date
        r.settings = _settings_json(cfg)
        r.narrative = json.dumps(asdict(narrative), ensure_ascii=False, sort_keys=True)
        s.flush()
        audit.record(s, actor, action, entity="report", entity_uuid=r.uuid,
                     summary=f"{period.key}: {cfg.subject}")
        return _info(r)


def _check_not_final(r: Report) -> None:
    if r.state != "draft":
        raise UserError(_("This report has been signed; it cannot change. Make a new report "
                          "that corrects it."))


def list_reports(db: Database, plan_id: int | None = None) -> list[ReportInfo]:
    with db.read() as s:
        q = select(Report).order_by(Report.date_to.desc(), Report.id.desc())
        if plan_id is not None:
            q = q.where(Report.plan_id == plan_id)
        return [_info(r) for r in s.scalars(q)]


def get_report(db: Database, report_id: int) -> ReportDetail:
    with db.read() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        return ReportDetail(_info(r), _settings_from(r.settings), _narrative_from(r.narrative))


def delete_report(db: Database, report_id: int) -> None:
    actor = require(db, Perm.BUILD_REPORT)
    with db.write() as s:
        r = s.get(Report, report_id)
        if r is None:
            return
        _check_not_final(r)
        audit.record(s, actor, "delete", entity="report", entity_uuid=r.uuid,
                     summary=f"{r.period_key}: {r.subject}")
        s.delete(r)


def versions_digest(versions: list[tuple[str, int]]) -> str:
    return hashlib.sha256("\n".join(f"{u} {v}" for u, v in versions).encode()).hexdigest()


@dataclass
class BuiltReport:
    info: ReportInfo
    content: ReportContent
    pdf: bytes


def build(db: Database, report_id: int, *, today: date | None = None, progress: Progress | None = None,
          cancelled: Cancelled | None = None) -> BuiltReport:
    """Compute the figures now, render the PDF and store both with the report."""
    from dbcomm.services.report_pdf import render_pdf

    actor = require(db, Perm.BUILD_REPORT)
    detail = get_report(db, report_id)
    with db.read() as s:
        r = s.get(Report, report_id)
        if r is not None:
            _check_not_final(r)
    content = compute(db, detail.settings, detail.narrative, today=today, progress=progress,
                      cancelled=cancelled)
    pdf = render_pdf(content)
    if cancelled and cancelled():
        raise BuildCancelled(_("The report was not built: cancelled."))
    digest = hashlib.sha256(pdf).hexdigest()
    with db.write() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        _check_not_final(r)
        r.content = zlib.compress(content.to_json().encode("utf-8"), 6)
        r.activity_count = content.totals.activities
        r.versions_sha256 = versions_digest(content.activity_versions)
        r.pdf_sha256 = digest
        r.pdf_pages = page_count(pdf)
        r.built_at = utcnow()
        # nobody to name on a workstation without accounts
        r.built_by = "" if actor.username == "system" else (actor.full_name or actor.username)
        r.app_version = dbcomm.__version__
        r.doc_date = content.header.doc_date
        r.version += 1
        audit.record(s, actor, "build", entity="report", entity_uuid=r.uuid,
                     summary=f"{r.period_key}: {r.subject} — {r.activity_count} / {digest[:12]}")
        s.flush()
        info = _info(r)
    if progress:
        progress(10, 10)
    return BuiltReport(info, content, pdf)


# PDFium (the PDF reader behind page counts, the preview and printing) may be used by one
# thread at a time: every call into it, in any layer, holds this lock.
PDFIUM_LOCK = threading.RLock()


def page_count(pdf: bytes) -> int:
    import pypdfium2

    with PDFIUM_LOCK:
        doc = pypdfium2.PdfDocument(pdf)
        try:
            return len(doc)
        finally:
            doc.close()


def stored_content(db: Database, report_id: int) -> ReportContent:
    with db.read() as s:
        r = s.get(Report, report_id)
        if r is None:
            raise NotFoundError(_("The report no longer exists."))
        if r.content is None:
            raise UserError(_("This report has not been built yet."))
        return ReportContent.from_json(zlib.decompress(r.content).decode("utf-8"))


@dataclass
class Rendered:
    pdf: bytes
    identical: bool  # the PDF is byte for byte the one built (same SHA-256)


def render_stored(db: Database, report_id: int) -> Rendered:
    """The stored report's PDF again, from its stored content (not from today's register)."""
    from dbcomm.services.report_pdf import render_pdf

    content = stored_content(db, report_id)
    pdf = render_pdf(content)
    info = get_report(db, report_id).info
    return Rendered(pdf, hashlib.sha256(pdf).hexdigest() == info.pdf_sha256)


def changed_since_build(db: Database, report_id: int) -> int:
    """How many activities of the period were added, changed or removed since the report was built."""
    content = stored_content(db, report_id)
    detail = get_report(db, report_id)
    with db.read() as s:
        now = {r[0]: r[1] for r in s.execute(select(Activity.uuid, Activity.version).where(
            *_live(detail.settings.plan_id, content.date_from, content.date_to, content.scope)))}
    then = dict(content.activity_versions)
    return sum(1 for u in now.keys() | then.keys() if now.get(u) != then.get(u))


def save_pdf(db: Database, pdf: bytes, path: Path, report_id: int | None = None) -> Path:
    """Write the PDF safely (never a half-written file) and record it in the audit trail."""
    actor = require(db, Perm.EXPORT)
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        path = path.with_suffix(".pdf")
    atomic_write_bytes(path, pdf)
    with db.write() as s:
        uuid = ""
        if report_id is not None:
            r = s.get(Report, report_id)
            uuid = r.uuid if r else ""
        audit.record(s, actor, "export", entity="report", entity_uuid=uuid,
                     summary=f"{path.name} ({hashlib.sha256(pdf).hexdigest()[:12]})")
    return path


# --- indicator values reported by the office ---------------------------------------------------


def set_indicator_value(db: Database, indicator_id: int, year: int, value: float | None,
                        note: str = "") -> None:
    """Record (or clear, with None) the value of a manual indicator for a year."""
    import math

    actor = require(db, Perm.EDIT_ACTIVITIES)
    if value is not None and not math.isfinite(value):
        raise ValidationFailed([FieldError("value", _("Enter a number."))])
    if value is not None and value < 0:
        raise ValidationFailed([FieldError("value", _("The value cannot be negative."))])
    if not 2000 <= year <= 2100:
        raise ValidationFailed([FieldError("year", _("The year must be between 2000 and 2100."))])
    with db.write() as s:
        ind = s.get(Indicator, indicator_id)
        if ind is None:
            raise NotFoundError(_("The indicator no longer exists."))
        if value is not None and ind.unit.strip() == "%" and value > 100:
            raise ValidationFailed([FieldError("value", _("A percentage cannot be more than 100."))])
        row = s.scalar(select(IndicatorValue).where(IndicatorValue.indicator_id == indicator_id,
                                                    IndicatorValue.year == year))
        old = row.value if row else None
        if value is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(IndicatorValue(indicator_id=indicator_id, year=year, value=value, note=nfc(note)))
        else:
            row.value, row.note = value, nfc(note)
        audit.record(s, actor, "update", entity="indicator", entity_uuid=ind.uuid,
                     summary=f"{ind.code} {year}", changes={"value": [old, value]})


def indicator_progress(db: Database, plan_id: int, year: int) -> list[IndicatorProgress]:
    """Every indicator's progress for ``year`` (to the end of that year, or today)."""
    with _COMPUTE_LOCK, db.read() as s:
        plan = _plan(s, plan_id)
        period = parse_period(str(year), Cutoff(plan.cutoff))
        return _indicators(s, plan, period)


# --- coverage dashboard ------------------------------------------------------------------------


@dataclass
class CoverageRow:
    kind: str  # objective | task | form
    code: str
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class CoverageGrid:
    year: int
    by: str  # month | place
    columns: list[str]
    rows: list[CoverageRow]
    column_totals: list[int]


def coverage(db: Database, plan_id: int, year: int, by: str = "month") -> CoverageGrid:
    """Activity counts per objective, task and form × month (or place) for a plan year."""
    with _COMPUTE_LOCK, db.read() as s:
        plan = _plan(s, plan_id)
        cutoff = Cutoff(plan.cutoff)
        yp = parse_period(str(year), cutoff)
        if by == "month":
            months = [parse_period(f"{year}-{m:02d}", cutoff) for m in range(1, 13)]
            columns = [f"{m:02d}" for m in range(1, 13)]

            def col_of(day: date) -> int:
                for i, p in enumerate(months):
                    if p.start <= day <= p.end:
                        return i
                return -1
        else:
            places: list[tuple[int, str]] = [(r[0], r[1]) for r in s.execute(
                select(Organisation.id, Organisation.name).join(Activity, Activity.place_id == Organisation.id)
                .where(*_live(plan.id, yp.start, yp.end)).distinct())]
            places.sort(key=lambda p: vi_sort_key(p[1]))
            columns = [p[1] for p in places]
            index = {p[0]: i for i, p in enumerate(places)}
        n = len(columns)
        key_col = Activity.date_start if by == "month" else Activity.place_id
        per_key_form: dict[tuple[Any, int], int] = {
            (r[0], r[1]): r[2] for r in s.execute(
                select(key_col, Activity.form_id, func.count()).where(*_live(plan.id, yp.start, yp.end))
                .group_by(key_col, Activity.form_id))}

        def col(key: Any) -> int:
            if by == "month":
                return col_of(key) if key else -1
            return index.get(key, -1)

        form_counts: dict[int, list[int]] = defaultdict(lambda: [0] * n)
        column_totals = [0] * n
        for (key, form_id), count in per_key_form.items():
            c = col(key)
            if c >= 0:
                form_counts[form_id][c] += count
                column_totals[c] += count
        parent = {nd.id: (nd.parent_id or nd.id) for nd in plan.nodes}
        node_sets: dict[int, list[set[int]]] = defaultdict(lambda: [set() for _ in range(n)])
        for node_id, activity_id, key in s.execute(
                select(ActivityNode.node_id, ActivityNode.activity_id, key_col)
                .join(Activity, Activity.id == ActivityNode.activity_id)
                .where(*_live(plan.id, yp.start, yp.end))):
            c = col(key)
            if c < 0:
                continue
            node_sets[node_id][c].add(activity_id)
            if parent.get(node_id, node_id) != node_id:
                node_sets[parent[node_id]][c].add(activity_id)
        rows: list[CoverageRow] = []
        for nd in plan.nodes:
            if nd.parent_id is not None:
                continue
            rows.append(CoverageRow("objective", nd.code, nd.title,
                                    [len(x) for x in node_sets[nd.id]] if nd.id in node_sets else [0] * n))
            for t in plan.nodes:
                if t.parent_id == nd.id:
                    rows.append(CoverageRow("task", t.code, t.title,
                                            [len(x) for x in node_sets[t.id]] if t.id in node_sets else [0] * n))
        rows += [CoverageRow("form", f.code, f.name, list(form_counts[f.id]) if f.id in form_counts else [0] * n)
                 for f in plan.forms]
        return CoverageGrid(year, by, columns, rows, column_totals)
