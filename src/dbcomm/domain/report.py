"""A period report as plain data: what the person chose, what they wrote, what the register holds.

``ReportContent`` is everything the PDF shows.  It is computed from the register by
``services.reports`` and stored with the report as JSON (``to_json``/``from_json``),
so a stored report can be rendered again byte for byte without touching the register.

The document itself is always Vietnamese: it is an administrative document sent to a
Vietnamese office, whatever language the application's screens are in.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from typing import Any, get_args, get_origin, get_type_hints

CONTENT_FORMAT = 1

# Narrative sections the person edits (Section II, the results, is computed).
NARRATIVE_SECTIONS: tuple[str, ...] = ("direction", "assessment", "next_steps", "proposals")


# The states in which an issued report may go to the office above on a USB stick (a returned
# report is corrected, not sent again).
SENDABLE_STATES = ("issued", "sent", "accepted")

@dataclass
class ReportSettings:
    """What the person chooses for one report."""

    plan_id: int
    period_key: str  # as in domain.periods: "2026-Q3", "2026", "2026-05", "2026-H1", "2026-9M", "a..b"
    recipient: str = ""  # "Kính gửi": one recipient per line
    subject: str = ""  # trích yếu, e.g. "Kết quả thực hiện công tác truyền thông … quý III năm 2026"
    place: str = ""  # place name of the date line, e.g. "Mường Phăng"
    doc_date: date | None = None  # date of the document; None = the day it is built
    number: str = ""  # "" = left blank for the registry; else e.g. "05"
    date_by_registry: bool = False  # leave the date for the registry to fill in when it seals
    distribution: list[str] = field(default_factory=list)  # "Nơi nhận" lines after "Như trên;"
    archive_unit: str = ""  # "Lưu: VT, <unit>."
    include_annex: bool = True
    compare_last_year: bool = True
    # Whose activities the report counts: "own" (the office's register) or "all" (its own and
    # every activity received from other offices, with a table per office).
    scope: str = "own"


REPORT_SCOPES: tuple[str, ...] = ("own", "all")


@dataclass
class Narrative:
    """The sections the person writes; pre-filled with a draft from the figures."""

    direction: str = ""  # I. Công tác chỉ đạo, triển khai
    results_note: str = ""  # optional paragraph at the top of II. Kết quả
    assessment: str = ""  # III. Đánh giá chung (ưu điểm, hạn chế, nguyên nhân)
    next_steps: str = ""  # IV. Phương hướng, nhiệm vụ kỳ tới
    proposals: str = ""  # V. Đề xuất, kiến nghị


@dataclass
class Header:
    """Everything of the document's frame (header blocks, date line, signature block)."""

    parent_agency: str  # "UBND TỈNH ĐIỆN BIÊN" (written upper-case by the renderer)
    agency: str  # "ỦY BAN NHÂN DÂN XÃ MƯỜNG PHĂNG"
    symbol: str  # "UBND" → "Số: 05/BC-UBND"
    number: str  # "" or "05"
    place: str
    doc_date: date
    subject: str
    recipients: list[str]  # Kính gửi
    distribution: list[str]  # Nơi nhận, after "- Như trên;"
    archive_unit: str
    signer_title: str  # lines, e.g. "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH"
    signer_name: str
    date_blank: bool = False  # the date line leaves day, month and year to the registry


@dataclass
class Figures:
    """One line of a results table."""

    code: str
    label: str
    activities: int = 0
    items: int = 0
    sessions: int = 0
    minutes: int = 0
    reach: int = 0
    cost: int = 0
    level: int = 0  # 0 = objective / top line, 1 = task under it


@dataclass
class Comparison:
    """This period against the same period one year earlier."""

    label: str
    current: int
    previous: int


@dataclass
class IndicatorProgress:
    code: str
    name: str
    unit: str
    measure: str  # "manual" or a register measure: activities|items|sessions|minutes|reach
    year: int
    year_target: float | None
    year_value: float | None  # manual: the value reported for the year; else the sum to the period end
    cumulative: float | None  # sum from the plan's first year to the period end (register measures)
    milestones: list[tuple[int, float]] = field(default_factory=list)  # (2025, 50.0), (2030, 70.0)

    @property
    def percent_of_year(self) -> float | None:
        if self.year_target in (None, 0) or self.year_value is None:
            return None
        return 100.0 * self.year_value / self.year_target  # type: ignore[operator]


@dataclass
class Gap:
    kind: str  # "objective" | "task" | "form"
    code: str
    label: str
    nil_reason: str = ""  # the office's "no activity, because …" statement, if any


@dataclass
class AnnexRow:
    uuid: str
    version: int
    date_start: date
    date_end: date | None
    form_code: str
    title: str
    place: str
    languages: str  # Vietnamese language names, comma-separated
    objectives: str  # codes, comma-separated, e.g. "1.1, 2.3"
    items: int
    sessions: int
    minutes: int
    reach: int
    office: str = ""  # the office the activity comes from (reports over received data only)


@dataclass
class ReportContent:
    """Everything the PDF shows."""

    format: int
    header: Header
    plan_code: str  # "386/KH-UBND"
    plan_title: str
    plan_issued_on: date | None
    plan_issuer: str
    period_kind: str  # domain.periods.PeriodKind value
    period_key: str
    period_label: str  # "quý III năm 2026", "6 tháng đầu năm 2026", "từ ngày 15/01/2026 đến ngày 14/03/2026"
    date_from: date
    date_to: date
    totals: Figures
    by_form: list[Figures]
    by_objective: list[Figures]  # objectives (level 0) each followed by its tasks (level 1)
    by_programme: list[Figures]
    by_place: list[Figures]
    by_language: list[Figures]
    reach_by: dict[str, list[tuple[str, int]]]  # "Giới tính"/"Dân tộc"/"Đối tượng" → (label, people)
    indicators: list[IndicatorProgress]
    comparison: list[Comparison]  # empty when not asked for
    comparison_label: str  # "cùng kỳ năm 2025"
    gaps: list[Gap]
    nil_statements: list[str]
    narrative: Narrative
    annex: list[AnnexRow]
    include_annex: bool
    notes: list[str]  # facts the reader must know, e.g. "the period runs past the plan's end"
    activity_versions: list[tuple[str, int]]  # (uuid, version) of every activity counted
    # Added with the USB exchange; a content stored before has neither (and loads with these).
    scope: str = "own"  # as in ReportSettings
    by_office: list[Figures] = field(default_factory=list)  # scope "all": one line per office

    # --- serialisation -----------------------------------------------------------------

    def to_json(self) -> str:
        # dataclasses.asdict deep-copies every value: 9 s for 100,000 annex rows; this is ~1 s.
        return json.dumps(_plain(self), ensure_ascii=False, default=_json_default, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ReportContent:
        return _build(cls, json.loads(text))


# Fields added after contents were first stored: left out of the JSON while they hold their
# default, so that a content without them serialises exactly as before (its PDF identifier
# is a digest of that JSON: the same report must keep giving the same bytes).
_OMIT_DEFAULT: dict[type, dict[str, Any]] = {}


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, tuples as lists, recursively (dates are left to ``_json_default``)."""
    if isinstance(value, AnnexRow):  # the bulk of a province report: one flat dict per row
        row = dict(value.__dict__)
        if not row["office"]:
            del row["office"]
        return row
    if is_dataclass(value) and not isinstance(value, type):
        omit = _OMIT_DEFAULT.get(type(value), {})
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)
                if f.name not in omit or getattr(value, f.name) != omit[f.name]}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value))


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is list:
        if args[0] is AnnexRow:
            return [_annex_row(v) for v in value]
        return [_convert(args[0], v) for v in value]
    if origin is tuple:
        return tuple(_convert(a, v) for a, v in zip(args, value, strict=False))
    if origin is dict:
        return {k: _convert(args[1], v) for k, v in value.items()}
    if args and type(None) in args:  # Optional[X]
        inner = [a for a in args if a is not type(None)][0]
        return _convert(inner, value)
    if tp is date:
        return date.fromisoformat(value)
    if is_dataclass(tp):
        return _build(tp, value)  # type: ignore[arg-type]
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _annex_row(data: dict[str, Any]) -> AnnexRow:
    end = data.get("date_end")
    return AnnexRow(data["uuid"], data["version"], date.fromisoformat(data["date_start"]),
                    date.fromisoformat(end) if end else None, data["form_code"], data["title"],
                    data["place"], data["languages"], data["objectives"], data["items"],
                    data["sessions"], data["minutes"], data["reach"], data.get("office", ""))


def _build(cls: type, data: dict[str, Any]) -> Any:
    if cls is AnnexRow:
        return _annex_row(data)
    hints = _hints(cls)
    kwargs = {f.name: _convert(hints[f.name], data[f.name]) for f in fields(cls) if f.name in data}
    return cls(**kwargs)


_OMIT_DEFAULT[ReportContent] = {"scope": "own", "by_office": []}
