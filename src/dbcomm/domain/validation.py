"""Rules an activity must satisfy before it is saved; messages are for people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dbcomm.domain.models import ActivityInput
from dbcomm.domain.vocab import FUNDING_SOURCES, LANGUAGES, REACH_DIMENSIONS, SUBTYPES
from dbcomm.i18n import _, format_number

MAX_TITLE = 300
MAX_COUNT = 10_000_000
MAX_MINUTES = 100_000


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def validate_activity(
    value: ActivityInput, plan_start_year: int, plan_end_year: int, today: date | None = None
) -> list[FieldError]:
    today = today or date.today()
    errors: list[FieldError] = []

    def err(field: str, message: str) -> None:
        errors.append(FieldError(field, message))

    if value.date_start is None:
        err("date_start", _("Enter the date of the activity."))
    else:
        if not plan_start_year <= value.date_start.year <= plan_end_year:
            err(
                "date_start",
                _("The date is outside the plan ({start}–{end}).").format(
                    start=plan_start_year, end=plan_end_year
                ),
            )
        elif value.date_start > today:
            err("date_start", _("The date is in the future: log an activity once it has happened."))
        if value.date_end is not None:
            if value.date_end < value.date_start:
                err("date_end", _("The end date is before the start date."))
            elif value.date_end.year > plan_end_year:
                err("date_end", _("The end date is outside the plan."))
    if value.form_id is None:
        err("form_id", _("Choose the communication form."))
    if value.subtype not in SUBTYPES:
        err("subtype", _("Choose the kind of activity."))
    if not value.title.strip():
        err("title", _("Enter a title."))
    elif len(value.title) > MAX_TITLE:
        err("title", _("The title is too long (at most {n} characters).").format(n=MAX_TITLE))
    if not value.languages:
        err("languages", _("Choose at least one language of communication."))
    elif any(code not in LANGUAGES for code in value.languages):
        err("languages", _("Unknown language."))

    for field_name, amount, limit in (
        ("items", value.items, MAX_COUNT),
        ("minutes", value.minutes, MAX_MINUTES),
        ("sessions", value.sessions, MAX_COUNT),
        ("reach_total", value.reach_total, MAX_COUNT),
        ("cost", value.cost, 10**12),
    ):
        if amount < 0:
            err(field_name, _("This cannot be negative."))
        elif amount > limit:
            err(field_name, _("This is too large (at most {n}).").format(n=format_number(limit)))

    for dimension in REACH_DIMENSIONS:
        if value.reach_total < 0:
            break  # the total's own message says it all
        counts = value.reach.values.get(dimension, {})
        if any(c < 0 for c in counts.values()):
            err(f"reach.{dimension}", _("People reached cannot be negative."))
            continue
        total = sum(counts.values())
        if total > value.reach_total:
            err(
                f"reach.{dimension}",
                _("The breakdown adds up to {part}, more than the {total} people reached.").format(
                    part=format_number(total), total=format_number(value.reach_total)
                ),
            )
    if value.cost > 0 and not value.funding:
        err("funding", _("Choose the funding source of the cost."))
    if value.funding and value.funding not in FUNDING_SOURCES:
        err("funding", _("Unknown funding source."))
    return errors
