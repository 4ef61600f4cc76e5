"""The rules an activity must satisfy before it is saved."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dbcomm import i18n
from dbcomm.domain.models import ActivityInput, ReachBreakdown
from dbcomm.domain.validation import MAX_TITLE, validate_activity

TODAY = date(2026, 11, 27)
PLAN_YEARS = (2022, 2030)


def a_valid_activity(**changes) -> ActivityInput:
    value = ActivityInput(
        plan_id=1,
        date_start=date(2026, 10, 2),
        date_end=date(2026, 10, 4),
        form_id=3,
        subtype="loudspeaker",
        title="Phát thanh hưởng ứng Tuần lễ học tập suốt đời bằng tiếng Thái",
        languages=["vi", "thai"],
        items=4,
        minutes=60,
        reach_total=1200,
        reach=ReachBreakdown(
            {
                "sex": {"female": 650, "male": 550},
                "ethnic": {"thai": 700, "hmong": 300, "kinh": 200},
                "audience": {"public": 1200},
            }
        ),
        cost=1_500_000,
        funding="ntp",
    )
    return replace(value, **changes)


def fields_in_error(value: ActivityInput, today: date = TODAY) -> set[str]:
    return {e.field for e in validate_activity(value, *PLAN_YEARS, today=today)}


def test_a_complete_activity_has_no_errors():
    assert validate_activity(a_valid_activity(), *PLAN_YEARS, today=TODAY) == []


def test_an_activity_on_today_is_accepted():
    assert fields_in_error(a_valid_activity(date_start=TODAY, date_end=None)) == set()


@pytest.mark.parametrize("title", ["", "   ", "\t\n"])
def test_empty_title_is_refused(title):
    assert fields_in_error(a_valid_activity(title=title)) == {"title"}


def test_title_longer_than_the_limit_is_refused():
    assert fields_in_error(a_valid_activity(title="Đ" * (MAX_TITLE + 1))) == {"title"}
    assert fields_in_error(a_valid_activity(title="Đ" * MAX_TITLE)) == set()


@pytest.mark.parametrize("field", ["items", "minutes", "sessions", "reach_total", "cost"])
def test_negative_counts_are_refused(field):
    value = a_valid_activity(**{field: -1})
    assert field in fields_in_error(value)


def test_absurdly_large_minutes_are_refused():
    assert "minutes" in fields_in_error(a_valid_activity(minutes=1_000_000))


def test_negative_count_in_the_breakdown_is_refused():
    value = a_valid_activity(reach=ReachBreakdown({"ethnic": {"thai": -5}}))
    assert fields_in_error(value) == {"reach.ethnic"}


def test_end_before_start_is_refused():
    value = a_valid_activity(date_start=date(2026, 10, 2), date_end=date(2026, 10, 1))
    assert fields_in_error(value) == {"date_end"}


def test_end_after_the_plan_is_refused():
    value = a_valid_activity(date_start=date(2026, 10, 2), date_end=date(2031, 1, 2))
    assert "date_end" in fields_in_error(value, today=date(2031, 6, 1))


@pytest.mark.parametrize("day", [date(2021, 12, 31), date(2031, 1, 1)])
def test_date_outside_the_plan_years_is_refused(day):
    value = a_valid_activity(date_start=day, date_end=None)
    assert fields_in_error(value, today=date(2032, 1, 1)) == {"date_start"}


def test_first_and_last_day_of_the_plan_are_accepted():
    for day in (date(2022, 1, 1), date(2030, 12, 31)):
        value = a_valid_activity(date_start=day, date_end=None)
        assert fields_in_error(value, today=date(2031, 1, 1)) == set()


def test_future_date_is_refused():
    value = a_valid_activity(date_start=date(2026, 11, 28), date_end=None)
    assert fields_in_error(value) == {"date_start"}


def test_missing_date_and_form_are_refused():
    assert fields_in_error(a_valid_activity(date_start=None, date_end=None, form_id=None)) == {
        "date_start",
        "form_id",
    }


def test_breakdown_exceeding_the_people_reached_is_refused_per_dimension():
    # given 1,200 people reached, but 1,300 women and men
    value = a_valid_activity(
        reach=ReachBreakdown({"sex": {"female": 700, "male": 600}, "ethnic": {"thai": 1200}})
    )
    assert fields_in_error(value) == {"reach.sex"}


def test_a_partial_breakdown_below_the_total_is_accepted():
    value = a_valid_activity(reach=ReachBreakdown({"ethnic": {"hmong": 300}}))
    assert fields_in_error(value) == set()


def test_cost_without_funding_source_is_refused():
    assert fields_in_error(a_valid_activity(cost=500_000, funding="")) == {"funding"}


def test_no_cost_needs_no_funding_source():
    assert fields_in_error(a_valid_activity(cost=0, funding="")) == set()


def test_unknown_funding_source_language_and_subtype_are_refused():
    value = a_valid_activity(funding="lottery", languages=["vi", "klingon"], subtype="tiktok")
    assert fields_in_error(value) == {"funding", "languages", "subtype"}


def test_no_language_is_refused():
    assert fields_in_error(a_valid_activity(languages=[])) == {"languages"}


def test_all_problems_are_reported_together():
    value = a_valid_activity(
        title="", items=-3, cost=10, funding="", date_start=date(2027, 1, 1), date_end=None
    )
    assert fields_in_error(value) == {"title", "items", "funding", "date_start"}


def test_messages_in_english_name_the_plan_years_and_the_amounts():
    i18n.set_language("en")
    errors = validate_activity(
        a_valid_activity(
            date_start=date(2021, 5, 1),
            date_end=None,
            reach_total=1000,
            reach=ReachBreakdown({"sex": {"female": 700, "male": 600}}),
        ),
        *PLAN_YEARS,
        today=TODAY,
    )
    messages = {e.field: e.message for e in errors}
    assert "2022" in messages["date_start"] and "2030" in messages["date_start"]
    assert "1,300" in messages["reach.sex"] and "1,000" in messages["reach.sex"]
