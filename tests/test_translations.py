"""The Vietnamese catalog covers every marked string, and the interface switches language.

The marked strings are re-extracted from the source here (not read from the
template), so a string added to the interface without a translation fails the
test until ``make extract`` has merged it and someone has translated it.
"""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dbcomm import i18n

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "dbcomm"
VI_PO = ROOT / "translations" / "vi" / "LC_MESSAGES" / "dbcomm.po"

METHOD_MAP = [("**.py", "python")]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _extracted() -> dict[str, str | tuple[str, ...]]:
    """Every marked msgid in the source, keyed by its singular text."""
    found: dict[str, str | tuple[str, ...]] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(SOURCE), method_map=METHOD_MAP, keywords=KEYWORDS
    ):
        key = message[0] if isinstance(message, tuple) else message
        if key:
            found[key] = message
    return found


def _catalog() -> Catalog:
    with VI_PO.open("rb") as fh:
        return read_po(fh, locale="vi")


def _strings(message: Message) -> list[str]:
    value = message.string
    if isinstance(value, (tuple, list)):
        return list(value)
    return [value]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, (tuple, list)) else [message.id]


def _placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a str.format template (``{{`` escapes excluded)."""
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


@pytest.fixture(scope="module")
def extracted() -> dict[str, str | tuple[str, ...]]:
    return _extracted()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return _catalog()


# --- (a) completeness ---------------------------------------------------------


def test_extraction_finds_the_marked_strings(extracted):
    assert len(extracted) > 300
    assert "Save" in extracted
    assert extracted["{count} activity"] == ("{count} activity", "{count} activities")


def test_catalog_header_is_vietnamese_and_not_fuzzy(catalog):
    assert not catalog.fuzzy
    assert str(catalog.locale) == "vi"
    assert catalog.num_plurals == 1
    assert catalog.plural_expr.strip() == "0"


def test_every_marked_string_has_a_vietnamese_translation(extracted, catalog):
    missing = []
    for key, message in sorted(extracted.items()):
        entry = catalog.get(message)
        if entry is None:
            missing.append(f"{key!r} (not in the catalog: run `make extract`)")
        elif entry.fuzzy:
            missing.append(f"{key!r} (fuzzy)")
        elif not all(s.strip() for s in _strings(entry)):
            missing.append(f"{key!r} (empty)")
        elif isinstance(message, tuple) and not entry.pluralizable:
            missing.append(f"{key!r} (catalog entry has no plural form)")
    assert not missing, f"{len(missing)} untranslated msgid(s):\n" + "\n".join(missing)


def test_no_catalog_entry_is_fuzzy_or_empty(catalog):
    bad = [
        entry.id
        for entry in catalog
        if entry.id and (entry.fuzzy or not all(s.strip() for s in _strings(entry)))
    ]
    assert not bad, "fuzzy or empty entries:\n" + "\n".join(map(repr, bad))


# --- (b) placeholders ---------------------------------------------------------


def test_translations_keep_the_placeholders_of_their_msgid(catalog):
    wrong = []
    for entry in catalog:
        if not entry.id:
            continue
        expected = set().union(*(_placeholders(i) for i in _ids(entry)))
        for translated in _strings(entry):
            if not translated:
                continue
            try:
                got = _placeholders(translated)
            except ValueError as exc:  # unbalanced braces
                wrong.append(f"{entry.id!r}: {exc}")
                continue
            if got != expected:
                wrong.append(f"{entry.id!r}: expected {sorted(expected)}, got {sorted(got)}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_translations_keep_line_breaks_and_are_nfc(catalog):
    import unicodedata

    wrong = []
    for entry in catalog:
        if not entry.id:
            continue
        source = _ids(entry)[0]
        for translated in _strings(entry):
            if translated.count("\n") != source.count("\n"):
                wrong.append(f"{entry.id!r}: line breaks differ")
            if not unicodedata.is_normalized("NFC", translated):
                wrong.append(f"{entry.id!r}: not NFC")
    assert not wrong, "\n".join(wrong)


# --- (c) switching language -----------------------------------------------------


@pytest.fixture
def restore_language():
    before = i18n.language()
    yield
    i18n.set_language(before)


def test_set_language_switches_between_vietnamese_and_english(restore_language):
    i18n.set_language("vi")
    assert i18n.language() == "vi"
    assert i18n._("Save") == "Lưu"
    assert i18n._("Recycle bin") == "Thùng rác"
    assert i18n.ngettext("{n} activity", "{n} activities", 3).format(n=3) == "3 hoạt động"

    i18n.set_language("en")
    assert i18n.language() == "en"
    assert i18n._("Save") == "Save"
    assert i18n._("Recycle bin") == "Recycle bin"
    assert i18n.ngettext("{n} activity", "{n} activities", 1).format(n=1) == "1 activity"
    assert i18n.ngettext("{n} activity", "{n} activities", 3).format(n=3) == "3 activities"

    i18n.set_language("vi")
    assert i18n._("Save") == "Lưu"


def test_loaded_catalog_matches_the_source_catalog(catalog, restore_language):
    """A stale compiled catalog (.mo) would show outdated text: run `make translations`."""
    i18n.set_language("vi")
    stale = []
    for entry in catalog:
        if not entry.id or isinstance(entry.id, tuple):
            continue
        if i18n._(entry.id) != entry.string:
            stale.append(entry.id)
    assert not stale, "the loaded catalog differs for:\n" + "\n".join(map(repr, stale))


# --- (d) locale formatting ----------------------------------------------------


def test_number_and_date_formats(restore_language):
    i18n.set_language("vi")
    assert i18n.format_number(1234567) == "1.234.567"
    assert i18n.format_date(date(2024, 1, 5)) == "05/01/2024"

    i18n.set_language("en")
    assert i18n.format_number(1234567) == "1,234,567"
    assert i18n.format_date(date(2024, 1, 5)) == "05/01/2024"
