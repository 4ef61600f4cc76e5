"""Reporting periods under both cut-off conventions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dbcomm.domain.periods import Cutoff, PeriodError, PeriodKind, parse_period, period_containing

CAL, D15 = Cutoff.CALENDAR, Cutoff.DAY15


@pytest.mark.parametrize(
    ("key", "cutoff", "kind", "start", "end"),
    [
        # calendar periods
        ("2026", CAL, PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-Q1", CAL, PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-Q3", CAL, PeriodKind.QUARTER, date(2026, 7, 1), date(2026, 9, 30)),
        ("2026-Q4", CAL, PeriodKind.QUARTER, date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-05", CAL, PeriodKind.MONTH, date(2026, 5, 1), date(2026, 5, 31)),
        ("2024-02", CAL, PeriodKind.MONTH, date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        ("2025-02", CAL, PeriodKind.MONTH, date(2025, 2, 1), date(2025, 2, 28)),
        ("2026-H1", CAL, PeriodKind.HALF, date(2026, 1, 1), date(2026, 6, 30)),
        ("2026-9M", CAL, PeriodKind.NINE, date(2026, 1, 1), date(2026, 9, 30)),
        # provincial data windows: 15th of the previous month to the 14th
        ("2026", D15, PeriodKind.YEAR, date(2025, 12, 15), date(2026, 12, 14)),
        ("2026-Q1", D15, PeriodKind.QUARTER, date(2025, 12, 15), date(2026, 3, 14)),
        ("2026-Q3", D15, PeriodKind.QUARTER, date(2026, 6, 15), date(2026, 9, 14)),
        ("2026-05", D15, PeriodKind.MONTH, date(2026, 4, 15), date(2026, 5, 14)),
        ("2026-01", D15, PeriodKind.MONTH, date(2025, 12, 15), date(2026, 1, 14)),
        ("2026-H1", D15, PeriodKind.HALF, date(2025, 12, 15), date(2026, 6, 14)),
        ("2026-9M", D15, PeriodKind.NINE, date(2025, 12, 15), date(2026, 9, 14)),
    ],
)
def test_period_keys_give_the_expected_first_and_last_day(key, cutoff, kind, start, end):
    period = parse_period(key, cutoff)
    assert (period.kind, period.start, period.end) == (kind, start, end)
    assert period.contains(start) and period.contains(end)
    assert not period.contains(start - timedelta(days=1))
    assert not period.contains(end + timedelta(days=1))


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("2026-q3", "2026-Q3"),
        (" 2026-Q3 ", "2026-Q3"),
        ("2026-6m", "2026-H1"),
        ("2026-h1", "2026-H1"),
        ("2026-9m", "2026-9M"),
        ("2026-5", "2026-05"),
        ("2026-01-15 .. 2026-03-14", "2026-01-15..2026-03-14"),
    ],
)
def test_the_way_a_period_is_typed_is_normalised_to_one_key(typed, key):
    assert parse_period(typed).key == key


def test_custom_range_is_used_as_typed_under_either_cutoff():
    for cutoff in (CAL, D15):
        period = parse_period("2026-01-15..2026-03-14", cutoff)
        assert period.kind == PeriodKind.CUSTOM
        assert (period.start, period.end) == (date(2026, 1, 15), date(2026, 3, 14))


def test_a_one_day_custom_range_is_allowed():
    period = parse_period("2026-04-21..2026-04-21")
    assert period.start == period.end == date(2026, 4, 21)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "2026-13",
        "2026-00",
        "2026-Q0",
        "2026-Q5",
        "2026-H2",
        "quý 3/2026",
        "Q3-2026",
        "26-Q3",
        "2026-02-30..2026-03-01",  # no 30 February
        "2026-03-10..2026-03-01",  # ends before it starts
        "2026-03-01..",
    ],
)
def test_bad_period_keys_raise_period_error(bad):
    with pytest.raises(PeriodError):
        parse_period(bad)


def test_day15_month_windows_tile_the_year_without_gap_or_overlap():
    windows = [parse_period(f"2026-{m:02d}", D15) for m in range(1, 13)]
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)
    assert windows[0].start == parse_period("2026", D15).start
    assert windows[-1].end == parse_period("2026", D15).end


def test_quarters_add_up_to_the_year_under_both_cutoffs():
    for cutoff in (CAL, D15):
        quarters = [parse_period(f"2026-Q{q}", cutoff) for q in range(1, 5)]
        days = sum((q.end - q.start).days + 1 for q in quarters)
        year = parse_period("2026", cutoff)
        assert days == (year.end - year.start).days + 1
        assert quarters[0].start == year.start and quarters[-1].end == year.end


@pytest.mark.parametrize(
    ("day", "kind", "cutoff", "key"),
    [
        (date(2026, 3, 14), PeriodKind.MONTH, D15, "2026-03"),
        (date(2026, 3, 15), PeriodKind.MONTH, D15, "2026-04"),
        (date(2026, 3, 15), PeriodKind.MONTH, CAL, "2026-03"),
        (date(2026, 12, 20), PeriodKind.MONTH, D15, "2027-01"),
        (date(2026, 12, 20), PeriodKind.QUARTER, D15, "2027-Q1"),
        (date(2026, 12, 20), PeriodKind.YEAR, D15, "2027"),
        (date(2026, 12, 20), PeriodKind.YEAR, CAL, "2026"),
        (date(2026, 9, 14), PeriodKind.QUARTER, D15, "2026-Q3"),
        (date(2026, 9, 15), PeriodKind.QUARTER, D15, "2026-Q4"),
        (date(2026, 8, 2), PeriodKind.QUARTER, CAL, "2026-Q3"),
    ],
)
def test_period_containing_a_day_follows_the_cutoff(day, kind, cutoff, key):
    period = period_containing(day, kind, cutoff)
    assert period.key == key
    assert period.contains(day)


def test_every_day_of_a_year_lies_in_the_month_window_said_to_contain_it():
    day = date(2025, 12, 1)
    while day <= date(2027, 1, 31):
        for cutoff in (CAL, D15):
            assert period_containing(day, PeriodKind.MONTH, cutoff).contains(day)
            assert period_containing(day, PeriodKind.QUARTER, cutoff).contains(day)
        day += timedelta(days=1)


def test_custom_is_not_a_kind_a_day_can_be_placed_in():
    with pytest.raises(PeriodError):
        period_containing(date(2026, 5, 1), PeriodKind.CUSTOM)
