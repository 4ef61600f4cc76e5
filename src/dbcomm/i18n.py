"""Translations (gettext catalogs managed with Babel) and locale formatting.

English is the source language of every marked string; Vietnamese is the
default language of the application.  ``_()`` translates now, ``N_()`` marks
a string for extraction and translates later.  Dates and numbers are
formatted here, once, for the Qt models and the documents alike.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

DOMAIN = "dbcomm"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"

_PACKAGE_LOCALE = Path(__file__).resolve().parent / "locale"
_SOURCE_CATALOGS = Path(__file__).resolve().parents[2] / "translations"

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT_LANGUAGE
_locale = Locale.parse("vi_VN")
_group = "."
_listeners: list[Callable[[str], None]] = []


def _load_catalog(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    mo = _PACKAGE_LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if mo.is_file():
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    po = _SOURCE_CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if po.is_file():  # a source checkout whose catalogs were not compiled yet
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        return gettext.GNUTranslations(buf)
    return gettext.NullTranslations()


def set_language(language: str) -> None:
    global _translations, _language, _locale, _group
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    _translations = _load_catalog(language)
    _language = language
    _locale = Locale.parse("vi_VN" if language == "vi" else "en_GB")
    _group = babel_numbers.get_group_symbol(_locale)
    for listener in list(_listeners):
        listener(language)


def on_language_changed(listener: Callable[[str], None]) -> None:
    _listeners.append(listener)


def language() -> str:
    return _language


def locale() -> Locale:
    return _locale


def _(message: str) -> str:
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark for extraction only; translate with ``_()`` where shown."""
    return message


# --- formatting ------------------------------------------------------------


def format_date(value: date | None) -> str:
    """``05/01/2024`` in both languages (the administrative convention)."""
    if value is None:
        return ""
    return babel_dates.format_date(value, "dd/MM/yyyy", locale=_locale)


VIETNAM = timezone(timedelta(hours=7))


def format_datetime(value: datetime | None) -> str:
    """Stored times are UTC; people read them in Vietnam's time (UTC+7)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def format_number(value: int | float | Decimal | None) -> str:
    """``1.234.567`` in Vietnamese, ``1,234,567`` in English."""
    if value is None:
        return ""
    if isinstance(value, int):  # the common case, on every table cell: no need for Babel
        text = f"{value:,}"
        return text if _group == "," else text.replace(",", _group)
    return babel_numbers.format_decimal(value, locale=_locale)


def parse_number(text: str) -> int:
    """Parse a whole number typed in the current locale (group separators allowed)."""
    cleaned = (text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        return 0
    value = babel_numbers.parse_decimal(cleaned, locale=_locale, strict=False)
    if value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def date_order_hint() -> str:
    return "dd/MM/yyyy"


set_language(DEFAULT_LANGUAGE)
