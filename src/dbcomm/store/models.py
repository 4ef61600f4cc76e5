"""The database schema (SQLAlchemy 2.x typed declarative models)."""

from __future__ import annotations

import uuid as uuid_mod
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_uuid() -> str:
    return str(uuid_mod.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Tracked:
    """Every record: a stable UUID, timestamps and a version counter."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AppSetting(Base):
    __tablename__ = "app_setting"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Plan(Tracked, Base):
    __tablename__ = "plan"
    code: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[date | None] = mapped_column(Date)
    issuer: Mapped[str] = mapped_column(Text, default="")
    start_year: Mapped[int] = mapped_column(Integer)
    end_year: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[str] = mapped_column(String(20), default="calendar")
    recipient: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")

    forms: Mapped[list[CommForm]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="CommForm.ordinal"
    )
    programmes: Mapped[list[Programme]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Programme.ordinal"
    )
    nodes: Mapped[list[PlanNode]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanNode.ordinal"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Indicator.ordinal"
    )


class CommForm(Tracked, Base):
    """One of the plan's communication forms (hình thức truyền thông)."""

    __tablename__ = "comm_form"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(Text)
    ordinal: Mapped[int] = mapped_column(Integer, default=0, index=True)  # the register's form order
    plan: Mapped[Plan] = relationship(back_populates="forms")


class Programme(Tracked, Base):
    """An integrated programme (chương trình lồng ghép)."""

    __tablename__ = "programme"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(Text)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[Plan] = relationship(back_populates="programmes")


class PlanNode(Tracked, Base):
    """An objective (kind='objective') or a task under it (kind='task')."""

    __tablename__ = "plan_node"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_node.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(Text)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[Plan] = relationship(back_populates="nodes")


class Indicator(Tracked, Base):
    __tablename__ = "indicator"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[int | None] = mapped_column(ForeignKey("plan_node.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(60), default="")
    baseline: Mapped[float | None] = mapped_column(Float)
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    # "manual" (the office reports the value each year) or a register measure:
    # activities | items | sessions | minutes | reach (summed from the activity register)
    measure: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[Plan] = relationship(back_populates="indicators")
    targets: Mapped[list[IndicatorTarget]] = relationship(
        cascade="all, delete-orphan", order_by="IndicatorTarget.year"
    )


class IndicatorTarget(Base):
    __tablename__ = "indicator_target"
    __table_args__ = (UniqueConstraint("indicator_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)


class IndicatorValue(Base):
    """The value an office reports for a manual indicator in one year (e.g. 47 %)."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("indicator_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Organisation(Tracked, Base):
    """Directory entry, date-effective: valid_from/valid_to (inclusive), parent, kind."""

    __tablename__ = "organisation"
    code: Mapped[str] = mapped_column(String(30), default="")
    name: Mapped[str] = mapped_column(Text)
    name_fold: Mapped[str] = mapped_column(Text, default="")
    name_sort: Mapped[str] = mapped_column(Text, default="", index=True)  # the register's place order
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    in_area: Mapped[bool] = mapped_column(Boolean, default=False)


class Activity(Tracked, Base):
    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_live_date", "plan_id", "deleted_at", "date_start", "id"),
        # The register's sort orders (migration 0008): each sortable column, then date and id.
        Index("ix_activity_title_sort", "plan_id", "deleted_at", "title_sort", "date_start", "id"),
        Index("ix_activity_reach", "plan_id", "deleted_at", "reach_total", "date_start", "id"),
        Index("ix_activity_subtype", "plan_id", "deleted_at", "subtype", "date_start", "id"),
        Index("ix_activity_languages", "plan_id", "deleted_at", "languages", "date_start", "id"),
        Index("ix_activity_items", "plan_id", "deleted_at", "items", "date_start", "id"),
        Index("ix_activity_minutes", "plan_id", "deleted_at", "minutes", "date_start", "id"),
        Index("ix_activity_partner", "plan_id", "deleted_at", "partner", "date_start", "id"),
        # each form's and place's activities in date order (the form and place sorts and filters)
        Index("ix_activity_place_date", "place_id", "plan_id", "deleted_at", "date_start", "id"),
        Index("ix_activity_form_date", "form_id", "plan_id", "deleted_at", "date_start", "id"),
        Index("ix_activity_dup", "date_start", "form_id", "title_fold"),
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="RESTRICT"))
    form_id: Mapped[int] = mapped_column(ForeignKey("comm_form.id", ondelete="RESTRICT"))
    subtype: Mapped[str] = mapped_column(String(20))
    date_start: Mapped[date] = mapped_column(Date)
    date_end: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text)
    title_fold: Mapped[str] = mapped_column(Text)
    title_sort: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    place_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    languages: Mapped[str] = mapped_column(String(200), default="vi")  # space-separated codes
    items: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    reach_total: Mapped[int] = mapped_column(Integer, default=0)
    partner: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[int] = mapped_column(Integer, default=0)
    funding: Mapped[str] = mapped_column(String(20), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Activities received from another office (a USB package) keep that office (an
    # ``organisation`` id) here; the office's own activities have none.  ``origin_report_id``:
    # the ``received_report`` that set them.  Plain columns, not foreign keys: they were added
    # to a table that may hold 100,000 rows without copying it (see migration 0005); the
    # services keep them consistent (a unit with received activities cannot be deleted).
    origin_id: Mapped[int | None] = mapped_column(Integer, index=True)
    origin_report_id: Mapped[int | None] = mapped_column(Integer)

    form: Mapped[CommForm] = relationship()
    place: Mapped[Organisation | None] = relationship(foreign_keys=[place_id])
    nodes: Mapped[list[PlanNode]] = relationship(secondary="activity_node")
    programmes: Mapped[list[Programme]] = relationship(secondary="activity_programme")
    reach: Mapped[list[ActivityReach]] = relationship(cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(
        cascade="all, delete-orphan", order_by="Attachment.id"
    )


class ActivityNode(Base):
    __tablename__ = "activity_node"
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[int] = mapped_column(
        ForeignKey("plan_node.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActivityProgramme(Base):
    __tablename__ = "activity_programme"
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programme.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActivityReach(Base):
    __tablename__ = "activity_reach"
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    category: Mapped[str] = mapped_column(String(30), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Attachment(Tracked, Base):
    """Evidence (photo, scanned clipping, PDF): content stored once, by SHA-256."""

    __tablename__ = "attachment"
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(Text)
    mime: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)


class NilStatement(Tracked, Base):
    """'No activity this period, because …' for a period (and optionally one form)."""

    __tablename__ = "nil_statement"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    period_key: Mapped[str] = mapped_column(String(40))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("comm_form.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)


class UserAccount(Tracked, Base):
    """A local account on this workstation; the password is stored only as an argon2 hash."""

    __tablename__ = "user_account"
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """Append-only, hash-chained record of what was done, by whom, when."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_uuid"), Index("ix_audit_at", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(60))
    full_name: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40), default="")
    entity_uuid: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[str] = mapped_column(Text, default="{}")  # JSON {field: [old, new]}
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PeriodStatus(Tracked, Base):
    """The workflow state of one reporting period of one plan."""

    __tablename__ = "period_status"
    __table_args__ = (UniqueConstraint("plan_id", "period_key"),)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(40))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    changed_by: Mapped[str] = mapped_column(Text, default="")  # the person's name, as shown
    note: Mapped[str] = mapped_column(Text, default="")


class Report(Tracked, Base):
    """A period report: its settings and narrative, and (once built) the exact content it showed.

    ``content`` is the zlib-compressed JSON of ``domain.report.ReportContent``; rendering
    it again gives the same PDF, whose SHA-256 is ``pdf_sha256``.
    """

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_plan_period", "plan_id", "period_key"),)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="RESTRICT"))
    period_key: Mapped[str] = mapped_column(String(40))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(Text, default="")
    number: Mapped[str] = mapped_column(String(20), default="")
    doc_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    settings: Mapped[str] = mapped_column(Text, default="{}")  # JSON of ReportSettings
    narrative: Mapped[str] = mapped_column(Text, default="{}")  # JSON of Narrative
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    activity_count: Mapped[int] = mapped_column(Integer, default=0)
    versions_sha256: Mapped[str] = mapped_column(String(64), default="")  # of the (uuid, version) list
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf_pages: Mapped[int] = mapped_column(Integer, default=0)
    built_at: Mapped[datetime | None] = mapped_column(DateTime)
    built_by: Mapped[str] = mapped_column(Text, default="")
    app_version: Mapped[str] = mapped_column(String(20), default="")
    # Signing (two steps): the leader signs ("signed"), the registry numbers and seals ("issued").
    # ``signed_pdf`` is the latest signed file, ``signed_sha256`` its hash.
    signed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    signed_sha256: Mapped[str] = mapped_column(String(64), default="")
    signature_level: Mapped[str] = mapped_column(String(10), default="")  # B-B | B-T
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    signed_by: Mapped[str] = mapped_column(Text, default="")
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sealed_by: Mapped[str] = mapped_column(Text, default="")
    signature_layout: Mapped[str] = mapped_column(Text, default="")  # JSON: where the images went
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"))
    # Exchange: sent on a USB stick, then accepted or returned by the receiving office.
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str] = mapped_column(Text, default="")
    decision_note: Mapped[str] = mapped_column(Text, default="")


class ReceivedReport(Tracked, Base):
    """A report another office sent on a USB stick, as imported here (one row per version).

    ``state``: ``received`` (waiting for a decision), ``accepted``, ``returned`` (with
    ``note``), or ``superseded`` (a newer version of the same office's period came in).
    The activities it carried are in ``activity`` with ``origin_id`` = ``sender_id``.
    """

    __tablename__ = "received_report"
    __table_args__ = (Index("ix_received_sender_period", "sender_id", "period_key"),)
    sender_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    sender_office_uuid: Mapped[str] = mapped_column(String(36))
    sender_name: Mapped[str] = mapped_column(Text)
    report_uuid: Mapped[str] = mapped_column(String(36), index=True)
    plan_code: Mapped[str] = mapped_column(String(60))
    period_key: Mapped[str] = mapped_column(String(40))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(40), default="")
    doc_date: Mapped[date | None] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(Text, default="")
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime)
    signers: Mapped[str] = mapped_column(Text, default="")  # names, one per line
    verdict: Mapped[str] = mapped_column(String(20), default="")
    activity_count: Mapped[int] = mapped_column(Integer, default=0)
    signed_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64), index=True)
    package_sha256: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    received_by: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="received")
    note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str] = mapped_column(Text, default="")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("received_report.id", ondelete="SET NULL"))


class SigningIdentity(Tracked, Base):
    """A way to sign: a person's (the leader's) or the office's (the registry's seal).

    The key stays in its PKCS#12 file or on its token; only where to find it is kept, with
    the certificate (to show its holder and dates) and the signature or seal image.  No
    password or PIN is ever stored.
    """

    __tablename__ = "signing_identity"
    role: Mapped[str] = mapped_column(String(10))  # person | office
    label: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(10))  # file | token
    file_path: Mapped[str] = mapped_column(Text, default="")
    module: Mapped[str] = mapped_column(Text, default="")
    token_label: Mapped[str] = mapped_column(Text, default="")
    key_label: Mapped[str] = mapped_column(Text, default="")
    cert_der: Mapped[bytes | None] = mapped_column(LargeBinary)
    holder: Mapped[str] = mapped_column(Text, default="")
    issuer: Mapped[str] = mapped_column(Text, default="")
    not_before: Mapped[datetime | None] = mapped_column(DateTime)
    not_after: Mapped[datetime | None] = mapped_column(DateTime)
    image_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    seal_diameter_mm: Mapped[float] = mapped_column(Float, default=0.0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SheetSource(Base):
    """Where an activity imported from a spreadsheet came from: the file, sheet and row.

    ``row_key`` makes a re-import add nothing: the SHA-256 of the file's name, the sheet and
    what identifies the row (date, form, title and place as written, and its occurrence among
    identical rows); see docs/decisions/0007-spreadsheet-import.md.  The row goes with its
    activity when that is removed for good.
    """

    __tablename__ = "sheet_source"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    row_key: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(Text)
    sheet: Mapped[str] = mapped_column(Text, default="")
    row_number: Mapped[int] = mapped_column(Integer)
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
