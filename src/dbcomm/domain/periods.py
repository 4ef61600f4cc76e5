"""Reporting periods: month, quarter, 6 and 9 months, year, custom ranges.

A period key is text a person can type: ``2026``, ``2026-Q3``, ``2026-05``,
``2026-H1`` (6 months), ``2026-9M`` (9 months), or ``2026-01-15..2026-03-14``.
Two cut-off conventions exist: calendar periods, and the provincial data
windows that run from the 15th of the previous month to the 14th.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Cutoff(StrEnum):
    CALENDAR = "calendar"
    DAY15 = "day15"  # 15th of the previous month → 14th


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"  # 6 months
    NINE = "nine"  # 9 months
    YEAR = "year"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    key: str
    start: date
    end: date  # inclusive

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class PeriodError(ValueError):
    pass


_RE_YEAR = re.compile(r"^(\d{4})$")
_RE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RE_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_RE_HALF = re.compile(r"^(\d{4})-(?:[Hh]1|6[Mm])$")
_RE_NINE = re.compile(r"^(\d{4})-9[Mm]$")
_RE_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _window(year: int, first_month: int, last_month: int, cutoff: Cutoff) -> tuple[date, date]:
    """Calendar months first..last of ``year``, or their 15th→14th data window."""
    if cutoff == Cutoff.CALENDAR:
        return date(year, first_month, 1), _month_end(year, last_month)
    start_anchor = date(year, first_month, 1) - timedelta(days=1)  # last day of previous month
    return date(start_anchor.year, start_anchor.month, 15), date(year, last_month, 14)


def parse_period(text: str, cutoff: Cutoff = Cutoff.CALENDAR) -> Period:
    """Parse a period key; raises PeriodError with a message fit for a person."""
    key = (text or "").strip()
    if m := _RE_YEAR.match(key):
        y = int(m.group(1))
        s, e = _window(y, 1, 12, cutoff)
        return Period(PeriodKind.YEAR, f"{y}", s, e)
    if m := _RE_QUARTER.match(key):
        y, q = int(m.group(1)), int(m.group(2))
        s, e = _window(y, 3 * q - 2, 3 * q, cutoff)
        return Period(PeriodKind.QUARTER, f"{y}-Q{q}", s, e)
    if m := _RE_HALF.match(key):
        y = int(m.group(1))
        s, e = _window(y, 1, 6, cutoff)
        return Period(PeriodKind.HALF, f"{y}-H1", s, e)
    if m := _RE_NINE.match(key):
        y = int(m.group(1))
        s, e = _window(y, 1, 9, cutoff)
        return Period(PeriodKind.NINE, f"{y}-9M", s, e)
    if m := _RE_MONTH.match(key):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise PeriodError(key)
        s, e = _window(y, mo, mo, cutoff)
        return Period(PeriodKind.MONTH, f"{y}-{mo:02d}", s, e)
    if m := _RE_RANGE.match(key):
        try:
            s, e = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        except ValueError as exc:
            raise PeriodError(key) from exc
        if e < s:
            raise PeriodError(key)
        return Period(PeriodKind.CUSTOM, f"{s.isoformat()}..{e.isoformat()}", s, e)
    raise PeriodError(key)


def period_containing(day: date, kind: PeriodKind, cutoff: Cutoff = Cutoff.CALENDAR) -> Period:
    """The period of ``kind`` that holds ``day`` (under the cut-off convention)."""
    year, month = day.year, day.month
    if cutoff == Cutoff.DAY15 and day.day >= 15:
        # from the 15th a day belongs to next month's window
        month += 1
        if month == 13:
            year, month = year + 1, 1
    if kind == PeriodKind.MONTH:
        return parse_period(f"{year}-{month:02d}", cutoff)
    if kind == PeriodKind.QUARTER:
        return parse_period(f"{year}-Q{(month - 1) // 3 + 1}", cutoff)
    if kind == PeriodKind.YEAR:
        return parse_period(f"{year}", cutoff)
    if kind == PeriodKind.HALF:
        return parse_period(f"{year}-H1", cutoff)
    if kind == PeriodKind.NINE:
        return parse_period(f"{year}-9M", cutoff)
    raise PeriodError(kind)
