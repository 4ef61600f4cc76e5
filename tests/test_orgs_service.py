"""The organisation directory: shipped units, CSV import, places valid on a date."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from dbcomm import i18n
from dbcomm.domain.models import ActivityFilter, ActivityInput
from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.errors import ImportFileError, UserError, ValidationFailed
from dbcomm.services import activities, orgs
from dbcomm.services.orgs import OrgFields


@pytest.fixture
def db_path(copied_db_path):
    """A new database, copied from one made once per run (no migration each time)."""
    return copied_db_path


DISTRICT_LEVEL = {"city", "town", "district"}


def write_csv(tmp_path, name: str, text: str, *, bom: bool = True, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def names(units) -> list[str]:
    return [o.name for o in units]


def by_name(db, name: str):
    return next(o for o in orgs.list_orgs(db) if o.name == name)


# --- the shipped directory -------------------------------------------------------------


def test_ten_district_level_units_ship_valid_until_the_2025_reorganisation(db):
    units = orgs.list_orgs(db)
    district_level = [o for o in units if o.kind in DISTRICT_LEVEL]
    province = next(o for o in units if o.kind == "province")

    assert province.name == "Tỉnh Điện Biên" and province.valid_to is None
    assert len(district_level) == 10
    assert {o.valid_to for o in district_level} == {date(2025, 6, 30)}
    assert {o.parent_id for o in district_level} == {province.id}
    assert {o.parent_name for o in district_level} == {"Tỉnh Điện Biên"}
    assert {
        "Huyện Tủa Chùa",
        "Huyện Tuần Giáo",
        "Thành phố Điện Biên Phủ",
        "Thị xã Mường Lay",
    } <= set(names(district_level))


def test_directory_lists_in_vietnamese_order(db):
    listed = names(orgs.list_orgs(db))
    assert listed.index("Huyện Tủa Chùa") < listed.index("Huyện Tuần Giáo")
    assert listed.index("Huyện Điện Biên Đông") < listed.index("Huyện Mường Ảng")
    assert listed.index("Huyện Mường Ảng") < listed.index("Huyện Mường Chà")
    assert listed.index("Thành phố Điện Biên Phủ") < listed.index("Thị xã Mường Lay")


def test_units_valid_on_a_date_follow_their_validity(db):
    before = names(orgs.list_orgs(db, valid_on=date(2025, 6, 30)))
    after = names(orgs.list_orgs(db, valid_on=date(2025, 7, 1)))
    assert "Huyện Tủa Chùa" in before
    assert "Huyện Tủa Chùa" not in after
    assert "Tỉnh Điện Biên" in after


# --- CSV import ---------------------------------------------------------------------------


def test_csv_with_english_headers_adds_communes_under_their_district(db, tmp_path):
    path = write_csv(
        tmp_path,
        "communes.csv",
        "code,name,kind,parent,valid_from,valid_to,in_area\n"
        "TC01,Xã Sính Phình,commune,TC,,30/06/2025,x\n"
        "TC02,Xã Tủa Thàng,xã,Huyện Tủa Chùa,01/01/2020,2025-06-30,1\n"
        "TC03,Thị trấn Tủa Chùa,township,TC,,,\n",
        bom=False,
    )

    assert orgs.import_orgs_csv(db, path) == 3

    sinh_phinh, tua_thang, town = (
        by_name(db, n) for n in ("Xã Sính Phình", "Xã Tủa Thàng", "Thị trấn Tủa Chùa")
    )
    assert (sinh_phinh.code, sinh_phinh.kind, sinh_phinh.parent_name) == (
        "TC01",
        "commune",
        "Huyện Tủa Chùa",
    )
    assert sinh_phinh.valid_to == date(2025, 6, 30) and sinh_phinh.in_area
    assert (tua_thang.kind, tua_thang.valid_from, tua_thang.in_area) == (
        "commune",
        date(2020, 1, 1),
        True,
    )
    assert (town.kind, town.in_area, town.valid_to) == ("township", False, None)


def test_csv_from_excel_with_bom_and_vietnamese_headers_is_understood(db, tmp_path):
    # given Excel's "CSV UTF-8": BOM, Vietnamese headers, names typed in NFD, parent without marks
    path = write_csv(
        tmp_path,
        "danh sách xã.csv",
        unicodedata.normalize(
            "NFD",
            "Mã,Tên,Loại,Cấp trên,Từ ngày,Đến ngày,Địa bàn\n"
            "TG01,Xã Quài Nưa,Xã,huyen tuan giao,,30/06/2025,có\n"
            "TG02,Xã Quài Tở,Xã,TG,,30/06/2025,\n"
            "TG03,Phường Mường Thanh,Phường,,01/07/2025,,x\n",
        ),
    )

    assert orgs.import_orgs_csv(db, path) == 3

    quai_nua = by_name(db, "Xã Quài Nưa")  # found under its NFC name
    assert (quai_nua.code, quai_nua.kind, quai_nua.parent_name, quai_nua.in_area) == (
        "TG01",
        "commune",
        "Huyện Tuần Giáo",
        True,
    )
    assert by_name(db, "Xã Quài Tở").in_area is False
    ward = by_name(db, "Phường Mường Thanh")
    assert (ward.kind, ward.valid_from, ward.parent_id) == ("ward", date(2025, 7, 1), None)


def test_importing_the_same_file_twice_updates_rather_than_duplicates(db, tmp_path):
    path = write_csv(tmp_path, "a.csv", "code,name,kind,parent\nMN01,Xã Sín Thầu,commune,MN\n")
    orgs.import_orgs_csv(db, path)
    count = len(orgs.list_orgs(db))
    renamed = write_csv(
        tmp_path, "b.csv", "code,name,kind,parent\nMN01,Xã Sín Thầu (mới),commune,MN\n"
    )

    orgs.import_orgs_csv(db, renamed)

    assert len(orgs.list_orgs(db)) == count
    assert [o.name for o in orgs.list_orgs(db) if o.code == "MN01"] == ["Xã Sín Thầu (mới)"]


def test_rows_without_code_match_by_name_and_kind(db, tmp_path):
    path = write_csv(tmp_path, "a.csv", "name,kind,in_area\nXã Chà Cang,commune,\n")
    orgs.import_orgs_csv(db, path)
    again = write_csv(tmp_path, "b.csv", "name,kind,in_area\nXA CHA CANG,commune,x\n")
    orgs.import_orgs_csv(db, again)
    matches = [o for o in orgs.list_orgs(db) if fold(o.name) == "xa cha cang"]
    assert len(matches) == 1 and matches[0].in_area


def test_communes_of_one_name_in_different_districts_stay_apart(db, tmp_path):
    path = write_csv(tmp_path, "c.csv", "name,kind,parent\nXã Thanh Xuân,commune,DBI\nXã Thanh Xuân,commune,TG\n")
    orgs.import_orgs_csv(db, path)
    orgs.import_orgs_csv(db, path)  # and importing again merges each with itself only
    parents = sorted((o.parent_name for o in orgs.list_orgs(db) if o.name == "Xã Thanh Xuân"), key=vi_sort_key)
    assert parents == ["Huyện Điện Biên", "Huyện Tuần Giáo"]


HEADER = "code,name,kind,parent,valid_from,valid_to\n"
GOOD_LINE = "A1,Xã Nà Khoa,commune,NP,,\n"


@pytest.mark.parametrize(
    "bad_line",
    [
        "A2,Xã Nà Hỳ,commune,NP,31/02/2025,",  # no 31 February
        "A2,Xã Nà Hỳ,commune,NP,ngày 1/7,",
        "A2,Xã Nà Hỳ,commune,NP,,2025.06.30",
        "A2,Xã Nà Hỳ,commune,NP,01/07/2025,30/06/2025",  # ends before it starts
        "A2,Xã Nà Hỳ,bản,NP,,",  # unknown kind
        "A2,,commune,NP,,",  # no name
        "A2,Xã Nà Hỳ,commune,Huyện Không Có,,",  # unknown parent
    ],
)
def test_a_bad_line_refuses_the_whole_file(db, tmp_path, bad_line):
    # given a file whose first line is fine and whose second is not
    body = HEADER + GOOD_LINE + bad_line + "\n"
    before = orgs.list_orgs(db)
    path = write_csv(tmp_path, "bad.csv", body)

    with pytest.raises(ImportFileError):
        orgs.import_orgs_csv(db, path)

    assert orgs.list_orgs(db) == before
    assert "Xã Nà Khoa" not in names(orgs.list_orgs(db))


def test_a_file_without_a_name_column_is_refused(db, tmp_path):
    path = write_csv(tmp_path, "bad.csv", "ma so,ten goi\nA1,Xã Nà Khoa\n")
    with pytest.raises(ImportFileError):
        orgs.import_orgs_csv(db, path)
    assert "Xã Nà Khoa" not in names(orgs.list_orgs(db))


def test_the_error_names_the_bad_line_and_value(db, tmp_path):
    i18n.set_language("en")
    path = write_csv(
        tmp_path,
        "bad.csv",
        "code,name,kind,parent,valid_from\nA1,Xã Nà Khoa,commune,,\nA2,Xã Nà Hỳ,commune,,31/02/2025\n",
    )
    with pytest.raises(ImportFileError) as caught:
        orgs.import_orgs_csv(db, path)
    assert "Line 3" in str(caught.value) and "31/02/2025" in str(caught.value)


def test_a_file_not_in_utf8_is_refused(db, tmp_path):
    # given a file saved as "CSV" by an old Excel: Windows-1258, marks as separate characters
    text = unicodedata.normalize("NFD", "code,name,kind\nA1,Xã Nà Khoa,commune\n")
    path = write_csv(tmp_path, "ansi.csv", text, bom=False, encoding="cp1258")
    before = orgs.list_orgs(db)
    with pytest.raises(ImportFileError):
        orgs.import_orgs_csv(db, path)
    assert orgs.list_orgs(db) == before


# --- editing units ----------------------------------------------------------------------


def test_saving_a_unit_checks_name_kind_and_dates(db):
    with pytest.raises(ValidationFailed) as caught:
        orgs.save_org(
            db,
            None,
            OrgFields(
                name=" ", kind="village", valid_from=date(2025, 7, 1), valid_to=date(2025, 6, 30)
            ),
        )
    assert {e.field for e in caught.value.errors} == {"name", "kind", "valid_to"}


def test_a_unit_cannot_be_its_own_parent(db):
    unit = orgs.save_org(db, None, OrgFields(name="Xã Mường Mùn", kind="commune"))
    with pytest.raises(ValidationFailed) as caught:
        orgs.save_org(
            db, unit.id, OrgFields(name="Xã Mường Mùn", kind="commune", parent_id=unit.id)
        )
    assert [e.field for e in caught.value.errors] == ["parent_id"]


def test_a_unit_where_activities_took_place_cannot_be_deleted(db, plan):
    commune = orgs.save_org(db, None, OrgFields(name="Xã Pú Nhung", kind="commune", in_area=True))
    activities.create(
        db,
        ActivityInput(
            plan_id=plan.plan.id,
            date_start=date(2025, 5, 5),
            form_id=plan.forms[2].id,
            title="Họp bản tuyên truyền khuyến học",
            place_id=commune.id,
        ),
    )
    with pytest.raises(UserError):
        orgs.delete_org(db, commune.id)
    assert "Xã Pú Nhung" in names(orgs.list_orgs(db))


def test_a_unit_with_units_under_it_cannot_be_deleted(db):
    district = by_name(db, "Huyện Nậm Pồ")
    orgs.save_org(db, None, OrgFields(name="Xã Nà Hỳ", kind="commune", parent_id=district.id))
    with pytest.raises(UserError):
        orgs.delete_org(db, district.id)
    unused = orgs.save_org(db, None, OrgFields(name="Xã Nà Bủng", kind="commune"))
    orgs.delete_org(db, unused.id)
    assert "Xã Nà Bủng" not in names(orgs.list_orgs(db))


def test_places_are_the_offices_own_communes_when_it_has_some(db):
    all_communes = orgs.places(db)
    assert all(o.kind in {"commune", "ward", "township"} for o in all_communes)
    orgs.save_org(db, None, OrgFields(name="Xã Chiềng Sinh", kind="commune", in_area=True))
    orgs.save_org(db, None, OrgFields(name="Xã Mường Mùn", kind="commune", in_area=False))
    assert names(orgs.places(db)) == ["Xã Chiềng Sinh"]


# --- a place must exist on the activity's date -----------------------------------------------


def test_an_activity_at_a_district_abolished_before_its_date_is_refused(db, plan):
    tua_chua = by_name(db, "Huyện Tủa Chùa")
    value = ActivityInput(
        plan_id=plan.plan.id,
        date_start=date(2025, 7, 15),
        form_id=plan.forms[0].id,
        title="Phóng sự về mô hình Dòng họ học tập",
        place_id=tua_chua.id,
    )

    with pytest.raises(ValidationFailed) as caught:
        activities.create(db, value)
    assert [e.field for e in caught.value.errors] == ["place_id"]
    assert activities.totals(db, ActivityFilter()).count == 0

    # on its last day it still existed
    value.date_start = date(2025, 6, 30)
    saved = activities.create(db, value)
    assert activities.get(db, saved.id).place_id == tua_chua.id


def test_an_activity_before_a_new_ward_existed_is_refused(db, plan):
    ward = orgs.save_org(
        db, None, OrgFields(name="Phường Him Lam", kind="ward", valid_from=date(2025, 7, 1))
    )
    value = ActivityInput(
        plan_id=plan.plan.id,
        date_start=date(2025, 6, 30),
        form_id=plan.forms[0].id,
        title="Ngày hội đọc sách",
        place_id=ward.id,
    )
    with pytest.raises(ValidationFailed):
        activities.create(db, value)
    value.date_start = date(2025, 7, 1)
    assert activities.create(db, value).place_id == ward.id
