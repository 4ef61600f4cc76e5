"""Plain data passed between the layers.  Services return these, never ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path


@dataclass
class OfficeIdentity:
    name: str = ""
    parent_agency: str = ""
    kind: str = "commune"
    place_name: str = ""  # used in "<place>, ngày … tháng … năm …"
    symbol: str = ""  # document-symbol abbreviation, e.g. UBND, VHTT
    signer_title: str = ""  # multi-line title block, e.g. "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH"
    signer_name: str = ""

    @property
    def is_complete(self) -> bool:
        return bool(self.name and self.parent_agency and self.place_name and self.symbol)


@dataclass
class ReachBreakdown:
    """People reached, by dimension (sex/ethnic/audience) → category → count."""

    values: dict[str, dict[str, int]] = field(default_factory=dict)

    def get(self, dimension: str, category: str) -> int:
        return self.values.get(dimension, {}).get(category, 0)

    def total(self, dimension: str) -> int:
        return sum(self.values.get(dimension, {}).values())


@dataclass
class AttachmentInfo:
    uuid: str
    filename: str
    size: int
    sha256: str
    mime: str
    path: Path | None = None  # where the stored copy can be opened


@dataclass
class ActivityInput:
    """What a person enters for one activity."""

    plan_id: int
    date_start: date | None
    form_id: int | None
    title: str
    subtype: str = "other"
    date_end: date | None = None
    description: str = ""
    node_ids: list[int] = field(default_factory=list)
    programme_ids: list[int] = field(default_factory=list)
    place_id: int | None = None
    languages: list[str] = field(default_factory=lambda: ["vi"])
    items: int = 0
    minutes: int = 0
    sessions: int = 0
    reach_total: int = 0
    reach: ReachBreakdown = field(default_factory=ReachBreakdown)
    partner: str = ""
    cost: int = 0
    funding: str = ""
    notes: str = ""
    new_attachments: list[Path] = field(default_factory=list)
    removed_attachments: list[str] = field(default_factory=list)  # attachment uuids


@dataclass(frozen=True)
class ConflictDetails:
    """What the person is told when someone else saved the same record first."""

    saved_by: str  # "" when not known (no accounts: one-person mode)
    saved_at: datetime
    current_version: int
    differences: tuple[tuple[str, str, str], ...]  # (field label, your value, the saved value)


@dataclass
class ActivityRecord(ActivityInput):
    """A stored activity, as the edit dialog needs it."""

    id: int = 0
    uuid: str = ""
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    attachments: list[AttachmentInfo] = field(default_factory=list)


@dataclass(frozen=True)
class ActivityRow:
    """One line of the register."""

    id: int
    uuid: str
    date_start: date
    date_end: date | None
    form_code: str
    form_name: str
    subtype: str
    title: str
    place_name: str
    languages: str
    items: int
    minutes: int
    sessions: int
    reach_total: int
    partner: str
    cost: int


@dataclass
class ActivityFilter:
    plan_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    form_id: int | None = None
    node_id: int | None = None
    programme_id: int | None = None
    place_id: int | None = None
    language: str | None = None
    subtype: str | None = None
    text: str = ""
    deleted: bool = False  # True lists the recycle bin instead
    # Whose activities: None = the office's own register (the default); "all" = its own and
    # every activity received from other offices; an organisation id = that sender's only.
    origin: int | str | None = None


@dataclass(frozen=True)
class Totals:
    count: int = 0
    items: int = 0
    minutes: int = 0
    sessions: int = 0
    reach: int = 0
    cost: int = 0


@dataclass(frozen=True)
class CodeName:
    id: int
    code: str
    name: str


@dataclass
class PlanNodeInfo:
    id: int
    uuid: str
    kind: str  # objective | task
    code: str
    title: str
    parent_id: int | None
    children: list[PlanNodeInfo] = field(default_factory=list)


@dataclass
class IndicatorInfo:
    id: int
    uuid: str
    code: str
    name: str
    unit: str
    baseline: float | None
    baseline_year: int | None
    node_id: int | None
    targets: dict[int, float] = field(default_factory=dict)
    measure: str = "manual"  # or a register measure, see domain.vocab.INDICATOR_MEASURES


@dataclass
class PlanInfo:
    id: int
    uuid: str
    code: str
    title: str
    issued_on: date | None
    issuer: str
    start_year: int
    end_year: int
    cutoff: str
    recipient: str
    is_default: bool = False
    note: str = ""


@dataclass
class PlanTree:
    plan: PlanInfo
    forms: list[CodeName]
    programmes: list[CodeName]
    objectives: list[PlanNodeInfo]
    indicators: list[IndicatorInfo]


@dataclass(frozen=True)
class OrgInfo:
    id: int
    uuid: str
    code: str
    name: str
    kind: str
    parent_id: int | None
    parent_name: str
    valid_from: date | None
    valid_to: date | None
    in_area: bool

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass
class NilStatement:
    """'No activity this period, because …'."""

    id: int
    uuid: str
    plan_id: int
    period_key: str
    form_id: int | None
    reason: str
    created_at: datetime | None = None
