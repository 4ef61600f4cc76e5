"""Who has reported: the receiving office's grid of sending offices × periods, with due dates."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest

from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.periods import PeriodKind, parse_period
from dbcomm.errors import ValidationFailed
from dbcomm.services import completeness, orgs, settings
from dbcomm.services.orgs import OrgFields
from dbcomm.store.models import ReceivedReport

TODAY = date(2026, 10, 20)
OFFICE = OfficeIdentity(
    name="Sở Văn hóa, Thể thao và Du lịch", parent_agency="UBND tỉnh Điện Biên", kind="department",
    place_name="Điện Biên Phủ", symbol="SVHTTDL", signer_title="GIÁM ĐỐC", signer_name="Lò Thị Hoa")


@pytest.fixture
def db_path(copied_db_path):
    return copied_db_path


def org(db, name: str, kind: str, *, in_area: bool = True, valid_from=None, valid_to=None) -> int:
    return orgs.save_org(db, None, OrgFields(name=name, kind=kind, in_area=in_area, valid_from=valid_from,
                                             valid_to=valid_to)).id


def receive(db, plan, sender_id: int, period_key: str, received_at: datetime, *, state: str = "received",
            plan_code: str | None = None) -> int:
    """A report received from ``sender_id`` (no activities needed here), as the importer stores it."""
    period = parse_period(period_key)
    with db.write() as s:
        rr = ReceivedReport(
            sender_id=sender_id, sender_office_uuid=str(uuid.uuid4()), sender_name="", report_uuid=str(uuid.uuid4()),
            plan_code=plan_code or plan.plan.code, period_key=period.key, date_from=period.start,
            date_to=period.end, signed_pdf=b"%PDF-1.7", pdf_sha256="0" * 64, received_at=received_at, state=state)
        s.add(rr)
        s.flush()
        return rr.id


@pytest.fixture
def offices(db, plan):
    settings.save_office(db, OFFICE)
    ids = {
        "ang": org(db, "Xã Ẳng Cang", "commune"),
        "chieng": org(db, "Xã Chiềng Đông", "commune"),
        "ward": org(db, "Phường Mường Thanh", "ward", valid_from=date(2025, 7, 1)),
        "district": org(db, "Huyện Tuần Giáo", "district", valid_to=date(2025, 6, 30)),
        "centre": org(db, "Trung tâm Văn hóa tỉnh", "other"),  # does not report upward
        "self": org(db, "Sở Văn hóa, Thể thao và Du lịch", "department"),  # the office itself
        "education": org(db, "Sở Giáo dục và Đào tạo", "department", in_area=False),  # sends anyway
    }
    r = {}
    # times are UTC, as stored; due dates are local days (UTC+7): Q1 10/04, Q2 10/07, Q3 10/10
    r["ang_q1"] = receive(db, plan, ids["ang"], "2026-Q1", datetime(2026, 4, 5, 2, 0), state="accepted")
    r["ang_q2"] = receive(db, plan, ids["ang"], "2026-Q2", datetime(2026, 7, 10, 16, 0))  # 23:00 on 10/07
    r["ang_q3"] = receive(db, plan, ids["ang"], "2026-Q3", datetime(2026, 10, 15, 2, 0))
    receive(db, plan, ids["ang"], "2026-Q4", datetime(2026, 10, 16, 2, 0), plan_code="99/KH-UBND")  # other plan
    r["chieng_q1"] = receive(db, plan, ids["chieng"], "2026-Q1", datetime(2026, 4, 8, 2, 0), state="returned")
    r["chieng_q3_old"] = receive(db, plan, ids["chieng"], "2026-Q3", datetime(2026, 10, 8, 2, 0),
                                 state="superseded")
    r["chieng_q3"] = receive(db, plan, ids["chieng"], "2026-Q3", datetime(2026, 10, 18, 2, 0))
    r["education_q2"] = receive(db, plan, ids["education"], "2026-Q2", datetime(2026, 7, 10, 17, 30))  # 00:30 on 11/07
    return ids, r


def statuses(grid) -> dict[str, list[str]]:
    return {row.name: [c.status for c in row.cells] for row in grid.rows}


def test_the_grid_shows_each_offices_report_for_each_quarter_so_far(db, plan, offices):
    ids, r = offices
    grid = completeness.completeness(db, plan.plan.id, PeriodKind.QUARTER, 2026, today=TODAY)
    assert [c.key for c in grid.columns] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert [c.due for c in grid.columns] == [date(2026, 4, 10), date(2026, 7, 10), date(2026, 10, 10),
                                             date(2027, 1, 10)]
    # Vietnamese order (Ẳ before C); not the office itself, the district gone in 2025, nor "other"
    assert [row.name for row in grid.rows] == ["Phường Mường Thanh", "Sở Giáo dục và Đào tạo", "Xã Ẳng Cang",
                                               "Xã Chiềng Đông"]
    assert statuses(grid) == {
        "Phường Mường Thanh": ["missing", "missing", "missing", "not_due"],
        "Sở Giáo dục và Đào tạo": ["missing", "received_late", "missing", "not_due"],
        "Xã Ẳng Cang": ["accepted", "received_on_time", "received_late", "not_due"],
        # the first version of Q3 came on time; the one in hand is the newer
        "Xã Chiềng Đông": ["returned", "missing", "received_on_time", "not_due"],
    }
    cells = {row.name: row.cells for row in grid.rows}
    assert [c.report_id for c in cells["Xã Ẳng Cang"]] == [r["ang_q1"], r["ang_q2"], r["ang_q3"], None]
    assert cells["Xã Chiềng Đông"][2].report_id == r["chieng_q3"]
    assert cells["Xã Chiềng Đông"][0].report_id == r["chieng_q1"]
    assert grid.received == [1, 2, 2, 0]  # returned reports are not counted as received
    assert grid.expected == [4, 4, 4, 4]
    assert grid.due_days == 10


def test_months_run_up_to_today_and_a_unit_that_no_longer_exists_is_not_expected(db, plan, offices):
    months = completeness.completeness(db, plan.plan.id, "month", 2026, today=TODAY)
    assert [c.key for c in months.columns][-1] == "2026-10" and len(months.columns) == 10
    grid = completeness.completeness(db, plan.plan.id, "quarter", 2025, today=TODAY)
    st = statuses(grid)
    assert st["Huyện Tuần Giáo"] == ["missing", "missing", "not_expected", "not_expected"]
    assert st["Phường Mường Thanh"] == ["not_expected", "not_expected", "missing", "missing"]
    assert grid.expected == [4, 4, 4, 4]  # Tuần Giáo then the ward, plus the three others


def test_a_longer_deadline_turns_late_into_on_time_and_missing_into_not_due(db, plan, offices):
    assert completeness.get_due_days(db) == 10
    completeness.set_due_days(db, 20)
    assert completeness.get_due_days(db) == 20
    grid = completeness.completeness(db, plan.plan.id, PeriodKind.QUARTER, 2026, today=TODAY)
    st = statuses(grid)
    assert grid.columns[2].due == date(2026, 10, 20) == TODAY
    assert st["Xã Ẳng Cang"][2] == "received_on_time"
    assert st["Phường Mường Thanh"][2] == "not_due"  # due today: not missing yet
    later = completeness.completeness(db, plan.plan.id, PeriodKind.QUARTER, 2026, today=date(2026, 10, 21))
    assert statuses(later)["Phường Mường Thanh"][2] == "missing"


@pytest.mark.parametrize("days", [-1, 61, 2.5, True, "10", None])
def test_the_deadline_setting_accepts_only_whole_days_from_0_to_60(db, days):
    with pytest.raises(ValidationFailed) as refused:
        completeness.set_due_days(db, days)
    assert refused.value.for_field("due_days")
    assert completeness.get_due_days(db) == 10


def test_the_deadline_setting_keeps_0_and_60_and_ignores_a_damaged_value(db):
    assert completeness.set_due_days(db, 0) == 0 and completeness.get_due_days(db) == 0
    assert completeness.set_due_days(db, 60) == 60 and completeness.get_due_days(db) == 60
    settings.set_value(db, completeness.DUE_DAYS_KEY, "many")
    assert completeness.get_due_days(db) == completeness.DEFAULT_DUE_DAYS


def test_a_custom_period_kind_is_refused(db, plan):
    with pytest.raises(ValidationFailed):
        completeness.completeness(db, plan.plan.id, PeriodKind.CUSTOM, 2026, today=TODAY)
    with pytest.raises(ValidationFailed):
        completeness.completeness(db, plan.plan.id, "fortnight", 2026, today=TODAY)
