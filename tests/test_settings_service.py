"""Office identity and application settings."""

from __future__ import annotations

import unicodedata

import pytest

from dbcomm.domain.models import OfficeIdentity
from dbcomm.errors import ValidationFailed
from dbcomm.services import settings
from dbcomm.services.database import open_database


@pytest.fixture
def db_path(copied_db_path):
    """A new database, copied from one made once per run (no migration each time)."""
    return copied_db_path


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def an_office(**changes) -> OfficeIdentity:
    values = {
        "name": "Ủy ban nhân dân xã Mường Phăng",
        "parent_agency": "Ủy ban nhân dân huyện Điện Biên",
        "kind": "commune",
        "place_name": "Mường Phăng",
        "symbol": "UBND",
        "signer_title": "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
        "signer_name": "Lò Văn Đức",
    }
    values.update(changes)
    return OfficeIdentity(**values)


def test_a_new_database_has_no_office_and_no_setup(db):
    office = settings.get_office(db)
    assert not office.is_complete
    assert office.name == ""
    assert not settings.is_setup_done(db)


@pytest.mark.sqlite_only
def test_office_is_saved_and_read_back_from_another_window(db, db_path):
    settings.save_office(db, an_office())
    settings.mark_setup_done(db)

    other = open_database(db_path)
    try:
        office = settings.get_office(other)
        assert office == an_office()
        assert office.is_complete
        assert settings.is_setup_done(other)
    finally:
        other.close()


def test_empty_required_fields_are_refused_and_nothing_is_saved(db):
    with pytest.raises(ValidationFailed) as caught:
        settings.save_office(
            db, an_office(name=" ", parent_agency="", place_name="\t", symbol="  ")
        )
    assert {e.field for e in caught.value.errors} == {
        "name",
        "parent_agency",
        "place_name",
        "symbol",
    }
    assert settings.get_office(db) == OfficeIdentity()


def test_unknown_office_kind_is_refused(db):
    with pytest.raises(ValidationFailed) as caught:
        settings.save_office(db, an_office(kind="village"))
    assert [e.field for e in caught.value.errors] == ["kind"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ubnd", "UBND"),
        (" vh tt ", "VHTT"),
        ("sgdđt", "SGDĐT"),
        ("ubnd-vx", "UBND-VX"),
    ],
)
def test_document_symbol_is_upper_cased_without_spaces(db, typed, stored):
    assert settings.save_office(db, an_office(symbol=typed)).symbol == stored
    assert settings.get_office(db).symbol == stored


@pytest.mark.parametrize("bad", ["KH/UBND", "UBND.", "UB#ND"])
def test_document_symbol_with_other_characters_is_refused(db, bad):
    with pytest.raises(ValidationFailed) as caught:
        settings.save_office(db, an_office(symbol=bad))
    assert [e.field for e in caught.value.errors] == ["symbol"]


def test_office_text_is_stored_in_nfc_with_spaces_tidied(db):
    typed = an_office(
        name=nfd("  Phòng Văn hóa   và Thông tin huyện Tủa Chùa "),
        place_name=nfd("Tủa  Chùa"),
        signer_title=nfd("KT. TRƯỞNG PHÒNG\nPHÓ TRƯỞNG PHÒNG\n"),
        signer_name=nfd("Giàng  A Dính"),
        kind="district",
    )
    settings.save_office(db, typed)

    office = settings.get_office(db)
    assert office.name == "Phòng Văn hóa và Thông tin huyện Tủa Chùa"
    assert office.place_name == "Tủa Chùa"
    assert office.signer_title == "KT. TRƯỞNG PHÒNG\nPHÓ TRƯỞNG PHÒNG"
    assert office.signer_name == "Giàng A Dính"
    assert all(unicodedata.is_normalized("NFC", v) for v in vars(office).values())


def test_settings_written_by_a_newer_version_with_extra_fields_still_load(db):
    stored = vars(an_office()) | {"email": "vhtt@tuachua.dienbien.gov.vn"}
    settings.set_value(db, settings.OFFICE_KEY, stored)
    assert settings.get_office(db) == an_office()


def test_language_is_remembered_and_unknown_languages_refused(db):
    assert settings.get_language(db) is None
    settings.set_language(db, "en")
    assert settings.get_language(db) == "en"
    with pytest.raises(ValueError):
        settings.set_language(db, "fr")
    assert settings.get_language(db) == "en"


def test_a_stored_language_that_is_no_longer_offered_is_ignored(db):
    settings.set_value(db, settings.LANGUAGE_KEY, "th")
    assert settings.get_language(db) is None


def test_values_keep_vietnamese_text_and_structure(db):
    value = {"gần đây": ["Tủa Chùa", "Tuần Giáo"], "số": 386}
    settings.set_value(db, "recent", value)
    settings.set_value(db, "recent", value | {"số": 387})
    assert settings.get_value(db, "recent") == {"gần đây": ["Tủa Chùa", "Tuần Giáo"], "số": 387}
    assert settings.get_value(db, "missing", "mặc định") == "mặc định"
