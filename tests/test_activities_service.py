"""Logging activities: save, edit, find, total, delete, export."""

from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
import unicodedata
from dataclasses import replace
from datetime import date

import pytest

from dbcomm.domain.models import ActivityFilter, ActivityInput, PlanTree, ReachBreakdown
from dbcomm.domain.text import fold, vi_sort_key
from dbcomm.errors import AttachmentError, ConflictError, NotFoundError, ValidationFailed
from dbcomm.i18n import format_number
from dbcomm.services import activities, attachments, orgs, plans
from dbcomm.services.orgs import OrgFields

BOTH_ENGINES = True  # the register is the same on a shared PostgreSQL server


@pytest.fixture
def db_path(copied_db_path):
    """A new database, copied from one made once per run (no migration each time)."""
    return copied_db_path


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def form_id(plan: PlanTree, code: str) -> int:
    return next(f.id for f in plan.forms if f.code == code)


def programme_id(plan: PlanTree, code: str) -> int:
    return next(p.id for p in plan.programmes if p.code == code)


def node_id(plan: PlanTree, code: str) -> int:
    for objective in plan.objectives:
        if objective.code == code:
            return objective.id
        for task in objective.children:
            if task.code == code:
                return task.id
    raise KeyError(code)


def an_activity(plan: PlanTree, **changes) -> ActivityInput:
    value = ActivityInput(
        plan_id=plan.plan.id,
        date_start=date(2025, 10, 2),
        form_id=form_id(plan, "F3"),
        subtype="loudspeaker",
        title="Phát thanh hưởng ứng Tuần lễ học tập suốt đời",
    )
    return replace(value, **changes)


def a_commune(db, name: str) -> int:
    return orgs.save_org(db, None, OrgFields(name=name, kind="commune", in_area=True)).id


def titles(db, f: ActivityFilter, **kw) -> list[str]:
    return [r.title for r in activities.list_rows(db, f, limit=10_000, **kw)]


def count_rows(db, table: str) -> int:
    con = sqlite3.connect(db.path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


# --- saving and reading back ----------------------------------------------------


def test_every_field_survives_a_save_and_reload(db, plan, tmp_path):
    # given an activity with every field filled, and a photo as evidence
    photo = tmp_path / nfd("Ảnh buổi phát thanh.jpg")
    photo_bytes = b"\xff\xd8\xff\xe0" + "ảnh chụp loa truyền thanh".encode() * 50
    photo.write_bytes(photo_bytes)
    place = a_commune(db, "Xã Mường Phăng")
    value = an_activity(
        plan,
        date_start=date(2025, 9, 29),
        date_end=date(2025, 10, 5),
        description="Phát 3 lần/ngày bằng tiếng Việt và tiếng Thái.",
        node_ids=[node_id(plan, "2.1"), node_id(plan, "3")],
        programme_ids=[programme_id(plan, "P4"), programme_id(plan, "P6")],
        place_id=place,
        languages=["vi", "thai"],
        items=21,
        minutes=315,
        sessions=7,
        reach_total=2400,
        reach=ReachBreakdown(
            {
                "sex": {"female": 1300, "male": 1100},
                "ethnic": {"thai": 1500, "kinh": 900},
                "audience": {"public": 2400},
            }
        ),
        partner="Đài Truyền thanh xã",
        cost=1_200_000,
        funding="ntp",
        notes="Kinh phí từ Chương trình MTQG nông thôn mới.",
        new_attachments=[photo],
    )

    # when it is saved and opened again
    saved = activities.create(db, value)
    loaded = activities.get(db, saved.id)

    # then everything typed is there
    for name in (
        "plan_id",
        "date_start",
        "date_end",
        "form_id",
        "subtype",
        "title",
        "description",
        "place_id",
        "items",
        "minutes",
        "sessions",
        "reach_total",
        "partner",
        "cost",
        "funding",
        "notes",
    ):
        assert getattr(loaded, name) == getattr(value, name), name
    assert sorted(loaded.node_ids) == sorted(value.node_ids)
    assert sorted(loaded.programme_ids) == sorted(value.programme_ids)
    assert loaded.languages == ["vi", "thai"]
    assert loaded.reach.values == value.reach.values
    assert loaded.version == 1 and loaded.uuid

    # and the photo was stored by its checksum, with its name in NFC
    [evidence] = loaded.attachments
    assert evidence.filename == "Ảnh buổi phát thanh.jpg"
    assert evidence.sha256 == hashlib.sha256(photo_bytes).hexdigest()
    assert evidence.size == len(photo_bytes)
    assert evidence.mime == "image/jpeg"
    assert evidence.path is not None and evidence.path.read_bytes() == photo_bytes
    assert attachments.verify(db.attachments_dir, evidence.sha256)


def test_text_is_stored_in_nfc_with_spaces_tidied(db, plan):
    saved = activities.create(
        db,
        an_activity(
            plan, title=nfd("  Họp   thôn bản về  khuyến học "), partner=nfd("Hội Khuyến học ")
        ),
    )
    loaded = activities.get(db, saved.id)
    assert loaded.title == "Họp thôn bản về khuyến học"
    assert loaded.partner == "Hội Khuyến học"


def test_a_one_day_activity_keeps_no_end_date(db, plan):
    saved = activities.create(
        db, an_activity(plan, date_start=date(2025, 4, 21), date_end=date(2025, 4, 21))
    )
    assert activities.get(db, saved.id).date_end is None


def test_an_invalid_activity_is_refused_and_nothing_is_saved(db, plan):
    with pytest.raises(ValidationFailed) as caught:
        activities.create(db, an_activity(plan, title="  ", items=-1))
    assert {e.field for e in caught.value.errors} == {"title", "items"}
    assert caught.value.for_field("title")
    assert activities.totals(db, ActivityFilter()).count == 0


def test_a_form_or_task_of_another_plan_is_refused(db, plan):
    other = plans.create_plan(
        db,
        plans.PlanFields(
            code="12/KH-UBND", title="Kế hoạch năm 2025", start_year=2025, end_year=2025
        ),
        copy_from=plan.plan.id,
    )
    other_tree = plans.get_tree(db, other.id)
    value = an_activity(
        plan,
        form_id=form_id(other_tree, "F3"),
        node_ids=[node_id(other_tree, "1.1")],
        programme_ids=[programme_id(other_tree, "P1")],
    )
    with pytest.raises(ValidationFailed) as caught:
        activities.create(db, value)
    assert {e.field for e in caught.value.errors} == {"form_id", "node_ids", "programme_ids"}


def test_editing_saves_changes_and_counts_the_version(db, plan, tmp_path):
    first_file, second_file = tmp_path / "giấy mời.pdf", tmp_path / "danh sách.pdf"
    first_file.write_bytes(b"%PDF-1.4 giay moi")
    second_file.write_bytes(b"%PDF-1.4 danh sach")
    saved = activities.create(db, an_activity(plan, new_attachments=[first_file]))
    old_evidence = saved.attachments[0].uuid

    # when the title is corrected, the first file removed and another attached
    edited = replace(
        activities.get(db, saved.id),
        title="Phát thanh Tuần lễ học tập suốt đời (đợt 2)",
        new_attachments=[second_file],
        removed_attachments=[old_evidence],
    )
    updated = activities.update(db, saved.id, edited, expected_version=saved.version)

    loaded = activities.get(db, saved.id)
    assert loaded.title == "Phát thanh Tuần lễ học tập suốt đời (đợt 2)"
    assert loaded.version == updated.version == saved.version + 1
    assert [a.filename for a in loaded.attachments] == ["danh sách.pdf"]


def test_saving_over_somebody_elses_newer_save_is_refused(db, plan):
    # given two people who opened the same activity at version 1
    saved = activities.create(db, an_activity(plan))
    mine = replace(activities.get(db, saved.id), title="Phát thanh về Ngày Sách và Văn hóa đọc")
    theirs = replace(activities.get(db, saved.id), title="Phát thanh về khuyến học, khuyến tài")

    # when the first saves and the second then saves too
    activities.update(db, saved.id, mine, expected_version=saved.version)
    with pytest.raises(ConflictError) as refused:
        activities.update(db, saved.id, replace(theirs, minutes=45), expected_version=saved.version)

    # then the first save is what the database holds, and the refusal shows both versions
    loaded = activities.get(db, saved.id)
    assert loaded.title == "Phát thanh về Ngày Sách và Văn hóa đọc"
    assert loaded.version == saved.version + 1
    details = refused.value.details
    assert details is not None and details.current_version == saved.version + 1
    assert dict((label, (mine, saved_value)) for label, mine, saved_value in details.differences) == {
        "Tiêu đề": ("Phát thanh về khuyến học, khuyến tài", "Phát thanh về Ngày Sách và Văn hóa đọc"),
        "Số phút": ("45", format_number(saved.minutes)),
    }
    # nothing of the refused values leaked into the stored record
    assert activities.get(db, saved.id).minutes == saved.minutes

    # saving over it on purpose, from the version now stored, works
    forced = activities.update(db, saved.id, replace(theirs, minutes=45), expected_version=details.current_version)
    assert (forced.title, forced.minutes) == ("Phát thanh về khuyến học, khuyến tài", 45)


def test_editing_a_deleted_activity_is_refused(db, plan):
    saved = activities.create(db, an_activity(plan))
    activities.delete(db, [saved.id])
    with pytest.raises(NotFoundError):
        activities.update(
            db, saved.id, an_activity(plan, title="Sửa"), expected_version=saved.version + 1
        )


def test_opening_an_activity_that_does_not_exist_is_not_found(db):
    with pytest.raises(NotFoundError):
        activities.get(db, 98765)


# --- evidence files ---------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_file_over_the_size_limit_is_refused_and_nothing_is_saved(db, plan, tmp_path):
    # given a (sparse) video one byte over the limit
    video = tmp_path / "video lễ phát động.mp4"
    with video.open("wb") as fh:
        fh.truncate(attachments.MAX_ATTACHMENT_BYTES + 1)

    with pytest.raises(AttachmentError):
        activities.create(db, an_activity(plan, new_attachments=[video]))

    assert activities.totals(db, ActivityFilter()).count == 0
    assert count_rows(db, "attachment") == 0
    stored = list(db.attachments_dir.rglob("*")) if db.attachments_dir.exists() else []
    assert [p for p in stored if p.is_file()] == []


def test_a_missing_evidence_file_is_refused(db, plan, tmp_path):
    with pytest.raises(AttachmentError):
        activities.create(db, an_activity(plan, new_attachments=[tmp_path / "không có.jpg"]))
    assert activities.totals(db, ActivityFilter()).count == 0


@pytest.mark.sqlite_only
def test_the_same_photo_attached_twice_is_stored_once(db, plan, tmp_path):
    photo = tmp_path / "pano.png"
    photo.write_bytes(os.urandom(2048))
    copy = tmp_path / "pano (1).png"
    copy.write_bytes(photo.read_bytes())
    activities.create(db, an_activity(plan, new_attachments=[photo]))
    activities.create(db, an_activity(plan, title="Treo pa-nô", new_attachments=[copy]))

    stored = [p for p in db.attachments_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1
    assert count_rows(db, "attachment") == 2


# --- search, sort, filters, totals ---------------------------------------------------


@pytest.fixture
def register(db, plan):
    """A small register whose every row is known."""
    thanh_nua, muong_phang = a_commune(db, "Xã Thanh Nưa"), a_commune(db, "Xã Mường Phăng")
    rows = {
        "hoc_tap": an_activity(
            plan,
            title="Phát thanh hưởng ứng Tuần lễ học tập suốt đời",
            date_start=date(2025, 10, 2),
            node_ids=[node_id(plan, "2.1")],
            programme_ids=[programme_id(plan, "P6")],
            place_id=thanh_nua,
            languages=["vi", "thai"],
            items=3,
            minutes=45,
            reach_total=800,
        ),
        "ngay_sach": an_activity(
            plan,
            title="Ngày hội đọc sách tại thư viện huyện",
            form_id=form_id(plan, "F5"),
            subtype="event",
            date_start=date(2025, 4, 21),
            node_ids=[node_id(plan, "2")],
            place_id=muong_phang,
            sessions=2,
            reach_total=350,
            partner="Đoàn Thanh niên",
            cost=2_000_000,
            funding="state",
        ),
        "khuyen_hoc": an_activity(
            plan,
            title="Bài viết về khuyến học, khuyến tài",
            form_id=form_id(plan, "F1"),
            subtype="press",
            date_start=date(2025, 6, 30),
            node_ids=[node_id(plan, "1.1")],
            programme_ids=[programme_id(plan, "P4")],
            languages=["vi", "hmong"],
            items=1,
            reach_total=5000,
            description="Gương gia đình học tập tiêu biểu ở bản Nà Tấu.",
        ),
        "gia_dinh": an_activity(
            plan,
            title="Họp thôn tuyên truyền mô hình Gia đình học tập",
            form_id=form_id(plan, "F3"),
            subtype="event",
            date_start=date(2025, 7, 1),
            place_id=thanh_nua,
            programme_ids=[programme_id(plan, "P4"), programme_id(plan, "P6")],
            sessions=1,
            reach_total=60,
            notes="Ghi chú nội bộ",
        ),
    }
    ids = {key: activities.create(db, value).id for key, value in rows.items()}
    return {"ids": ids, "values": rows, "thanh_nua": thanh_nua, "muong_phang": muong_phang}


def found(db, register, **filters) -> set[str]:
    f = ActivityFilter(**filters)
    by_id = {v: k for k, v in register["ids"].items()}
    return {by_id[r.id] for r in activities.list_rows(db, f, limit=1000)}


@pytest.mark.parametrize("typed", ["hoc tap", "HỌC TẬP", "học tập", nfd("học tập"), "Học  Tập"])
def test_search_finds_hoc_tap_however_it_is_typed(db, register, typed):
    assert found(db, register, text=typed) == {"hoc_tap", "khuyen_hoc", "gia_dinh"}


def test_search_without_diacritics_finds_d_with_stroke(db, register):
    assert found(db, register, text="doan thanh nien") == {"ngay_sach"}
    assert found(db, register, text="ĐOÀN") == {"ngay_sach"}


def test_search_requires_every_word(db, register):
    assert found(db, register, text="hoc tap suot doi") == {"hoc_tap"}
    assert found(db, register, text="hoc tap tuyen truyen") == {"gia_dinh"}
    assert found(db, register, text="hoc tap bong da") == set()


def test_search_looks_into_description_and_notes(db, register):
    assert found(db, register, text="na tau") == {"khuyen_hoc"}
    assert found(db, register, text="ghi chu noi bo") == {"gia_dinh"}


def test_filter_by_form(db, register, plan):
    assert found(db, register, form_id=form_id(plan, "F3")) == {"hoc_tap", "gia_dinh"}
    assert found(db, register, form_id=form_id(plan, "F2")) == set()


def test_filter_by_objective_includes_the_activities_of_its_tasks(db, register, plan):
    assert found(db, register, node_id=node_id(plan, "2")) == {"hoc_tap", "ngay_sach"}
    assert found(db, register, node_id=node_id(plan, "2.1")) == {"hoc_tap"}
    assert found(db, register, node_id=node_id(plan, "1")) == {"khuyen_hoc"}
    assert found(db, register, node_id=node_id(plan, "4")) == set()


def test_filter_by_programme(db, register, plan):
    assert found(db, register, programme_id=programme_id(plan, "P4")) == {"khuyen_hoc", "gia_dinh"}
    assert found(db, register, programme_id=programme_id(plan, "P6")) == {"hoc_tap", "gia_dinh"}


def test_filter_by_place(db, register):
    assert found(db, register, place_id=register["thanh_nua"]) == {"hoc_tap", "gia_dinh"}
    assert found(db, register, place_id=register["muong_phang"]) == {"ngay_sach"}


def test_filter_by_language(db, register):
    assert found(db, register, language="thai") == {"hoc_tap"}
    assert found(db, register, language="hmong") == {"khuyen_hoc"}
    assert found(db, register, language="vi") == set(register["ids"])
    assert found(db, register, language="dao") == set()


def test_filter_by_period(db, register, plan):
    def in_period(key: str) -> set[str]:
        f = activities.filter_for_period(db, plan.plan.id, key)
        return found(db, register, plan_id=f.plan_id, date_from=f.date_from, date_to=f.date_to)

    assert in_period("2025-Q2") == {"ngay_sach", "khuyen_hoc"}  # 21/4 and 30/6
    assert in_period("2025-Q3") == {"gia_dinh"}  # 1/7
    assert in_period("2025-Q4") == {"hoc_tap"}  # 2/10
    assert in_period("2025-H1") == {"ngay_sach", "khuyen_hoc"}
    assert in_period("2025-04") == {"ngay_sach"}
    assert in_period("2025") == set(register["ids"])
    assert in_period("2024") == set()


def test_filter_by_period_follows_the_plans_day15_cutoff(db, register, plan):
    # given the plan reports on data windows from the 15th to the 14th
    info = plan.plan
    plans.update_plan(
        db,
        info.id,
        plans.PlanFields(
            code=info.code,
            title=info.title,
            start_year=info.start_year,
            end_year=info.end_year,
            issued_on=info.issued_on,
            issuer=info.issuer,
            cutoff="day15",
            recipient=info.recipient,
        ),
    )

    def in_period(key: str) -> set[str]:
        f = activities.filter_for_period(db, info.id, key)
        return found(db, register, plan_id=f.plan_id, date_from=f.date_from, date_to=f.date_to)

    # then 30 June falls in the third quarter's window (15/6–14/9)
    assert in_period("2025-Q2") == {"ngay_sach"}
    assert in_period("2025-Q3") == {"khuyen_hoc", "gia_dinh"}
    assert in_period("2025-Q4") == {"hoc_tap"}


def test_filters_combine(db, register, plan):
    assert found(
        db,
        register,
        text="hoc tap",
        programme_id=programme_id(plan, "P4"),
        place_id=register["thanh_nua"],
    ) == {"gia_dinh"}


def test_register_sorted_by_title_is_in_vietnamese_order(db, plan):
    # given titles whose code-point order differs from Vietnamese order
    typed = [
        "Tuần Giáo: họp bản",
        "Điện Biên: ngày hội đọc sách",
        nfd("Ẳng Nưa: phát thanh"),
        "Tủa Chùa: treo pa-nô",
        "Em Tùng: bài viết",
        "Dũng Tiến: câu lạc bộ",
    ]
    for title in typed:
        activities.create(db, an_activity(plan, title=title))
    expected = [
        "Ẳng Nưa: phát thanh",
        "Dũng Tiến: câu lạc bộ",
        "Điện Biên: ngày hội đọc sách",
        "Em Tùng: bài viết",
        "Tủa Chùa: treo pa-nô",
        "Tuần Giáo: họp bản",
    ]
    assert sorted(unicodedata.normalize("NFC", t) for t in typed) != expected

    assert titles(db, ActivityFilter(), sort="title", descending=False) == expected
    assert titles(db, ActivityFilter(), sort="title", descending=True) == expected[::-1]


def test_register_sorted_by_date_shows_newest_first(db, register):
    rows = activities.list_rows(db, ActivityFilter())
    assert [r.date_start for r in rows] == sorted(
        (v.date_start for v in register["values"].values()), reverse=True
    )


@pytest.fixture
def sortable(db, plan):
    """Activities that tie on every sort key, some without a place, at places whose code-point
    order is not their Vietnamese order (Ẳ, Đ)."""
    places = {a_commune(db, name): name for name in ("Xã Tủa Chùa", "Xã Ẳng Cang", "Xã Điện Biên", "Xã Dũng Tiến")}
    place_ids = list(places)
    kinds = [("F1", "press"), ("F3", "loudspeaker"), ("F5", "event")]
    values = {}
    for i in range(24):
        code, subtype = kinds[i % 3]
        value = an_activity(
            plan,
            title=["Bài viết khuyến học", "Đêm văn nghệ", "Ẩm thực bản Mông", "Họp thôn"][i % 4],
            date_start=date(2025, 1 + i % 5, 1 + i % 2),  # the same day several times
            form_id=form_id(plan, code),
            subtype=subtype,
            place_id=None if i % 5 == 0 else place_ids[i % 4],
            languages=[["vi"], ["vi", "thai"], ["hmong"]][i % 3],
            items=i % 3,
            minutes=[0, 15, 15, 45][i % 4],
            reach_total=[0, 100, 100, 5000][i % 4],
            partner=["", "Hoi Phu nu", "Doan Thanh nien"][i % 3],
        )
        values[activities.create(db, value).id] = value
    return {"values": values, "places": places}


SORT_KEYS = ["date", "form", "subtype", "title", "place", "languages", "items", "minutes", "sessions",
             "reach", "partner", "cost"]


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_every_sort_pages_and_lists_ids_in_one_order_and_reverses_exactly(db, sortable, sort):
    f = ActivityFilter(plan_id=sortable["values"][next(iter(sortable["values"]))].plan_id)
    for descending in (False, True):
        rows = [r.id for r in activities.list_rows(db, f, sort=sort, descending=descending, limit=10_000)]
        assert sorted(rows) == sorted(sortable["values"])
        # the background's ordered id list is the same order as the rows a page at a time
        assert activities.list_ids(db, f, sort=sort, descending=descending) == rows
        paged: list[int] = []
        for offset in range(0, 30, 7):  # pages that start inside and past the activities without a place
            paged += [r.id for r in activities.list_rows(db, f, sort=sort, descending=descending,
                                                         offset=offset, limit=7)]
        assert paged == rows
    ascending = [r.id for r in activities.list_rows(db, f, sort=sort, descending=False, limit=10_000)]
    descending_ = [r.id for r in activities.list_rows(db, f, sort=sort, descending=True, limit=10_000)]
    assert descending_ == ascending[::-1]  # ascending is the exact reverse, ties included


def test_sorting_by_place_puts_activities_without_a_place_first_then_places_in_vietnamese_order(db, plan, sortable):
    values, places = sortable["values"], sortable["places"]

    def expected_key(activity_id: int) -> tuple:  # type: ignore[type-arg]
        v = values[activity_id]
        place = (0, b"", 0) if v.place_id is None else (1, vi_sort_key(places[v.place_id]).encode(), v.place_id)
        return (*place, v.date_start, activity_id)

    expected = sorted(values, key=expected_key)
    assert [places.get(values[i].place_id) for i in expected] != sorted(
        (places.get(values[i].place_id) for i in expected), key=lambda n: (n is not None, n or ""))  # Ẳ, Đ
    shown = activities.list_rows(db, ActivityFilter(plan_id=plan.plan.id), sort="place", descending=False, limit=100)
    assert [r.id for r in shown] == expected
    assert [r.place_name for r in shown][:5] == [""] * 5  # 24 activities, every fifth without a place


@pytest.mark.parametrize("sort", ["date", "form", "title", "items", "minutes", "reach"])
def test_each_sort_orders_by_its_column_then_date_then_entry(db, plan, sortable, sort):
    values = sortable["values"]
    ordinal = {f.id: i for i, f in enumerate(plan.forms)}
    column = {
        "date": lambda v: (),
        "form": lambda v: (ordinal[v.form_id], v.form_id),
        "title": lambda v: (vi_sort_key(v.title).encode(),),
        "items": lambda v: (v.items,),
        "minutes": lambda v: (v.minutes,),
        "reach": lambda v: (v.reach_total,),
    }[sort]
    expected = sorted(values, key=lambda i: (*column(values[i]), values[i].date_start, i), reverse=True)
    rows = activities.list_rows(db, ActivityFilter(plan_id=plan.plan.id), sort=sort, descending=True, limit=100)
    assert [r.id for r in rows] == expected


@pytest.mark.sqlite_only
@pytest.mark.parametrize("sort", ["date", "form", "subtype", "title", "place", "languages", "items", "minutes",
                                  "reach", "partner"])
def test_a_screenful_in_any_column_order_is_read_from_an_index_without_sorting(db, plan, sortable, sort):
    # A database that was never analysed (no statistics), as an office's file usually is: the
    # first page must still be read in index order, stopping after 200 rows, not by sorting them all.
    from sqlalchemy import event

    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for descending in (False, True):
            activities.list_rows(db, ActivityFilter(plan_id=plan.plan.id), sort=sort, descending=descending)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statements
    con = sqlite3.connect(db.path)
    try:
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()[0] == 0
        for statement, parameters in statements:
            plan_rows = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
            assert not any("TEMP B-TREE" in step for step in plan_rows), (sort, plan_rows)
            assert not any(step.startswith("SCAN activity") for step in plan_rows), (sort, plan_rows)
    finally:
        con.close()


def test_paging_through_the_register_returns_each_row_once(demo_db):
    everything = {r.id for r in activities.list_rows(demo_db, ActivityFilter(), limit=10_000)}
    paged: list[int] = []
    for offset in range(0, 400, 70):
        paged += [
            r.id for r in activities.list_rows(demo_db, ActivityFilter(), offset=offset, limit=70)
        ]
    assert len(paged) == len(set(paged)) == len(everything) == 300


def test_totals_of_a_filtered_set_equal_the_sums_of_its_rows(demo_db):
    plan = plans.get_tree(demo_db, plans.default_plan(demo_db).id)
    for f in (
        ActivityFilter(),
        ActivityFilter(form_id=form_id(plan, "F3")),
        ActivityFilter(text="hoc tap"),
        activities.filter_for_period(demo_db, plan.plan.id, "2025"),
        ActivityFilter(language="thai", node_id=node_id(plan, "2")),
    ):
        rows = activities.list_rows(demo_db, f, limit=10_000)
        t = activities.totals(demo_db, f)
        assert rows, f
        assert t.count == len(rows)
        assert t.items == sum(r.items for r in rows)
        assert t.minutes == sum(r.minutes for r in rows)
        assert t.sessions == sum(r.sessions for r in rows)
        assert t.reach == sum(r.reach_total for r in rows)
        assert t.cost == sum(r.cost for r in rows)


def test_demo_rows_found_by_search_really_contain_the_words(demo_db):
    rows = activities.list_rows(demo_db, ActivityFilter(text="HỌC TẬP"), limit=10_000)
    assert rows
    for r in rows:
        record = activities.get(demo_db, r.id)
        assert "hoc tap" in fold(f"{record.title} {record.description} {record.partner}")


# --- delete and restore ------------------------------------------------------------


def test_deleted_activity_leaves_the_register_and_totals_and_restore_brings_it_back(db, register):
    gone = register["ids"]["ngay_sach"]
    before = activities.totals(db, ActivityFilter())

    assert activities.delete(db, [gone]) == 1
    assert "ngay_sach" not in found(db, register)
    assert found(db, register, deleted=True) == {"ngay_sach"}
    after = activities.totals(db, ActivityFilter())
    assert after.count == before.count - 1
    assert after.reach == before.reach - register["values"]["ngay_sach"].reach_total

    assert activities.restore(db, [gone]) == 1
    assert found(db, register) == set(register["ids"])
    assert found(db, register, deleted=True) == set()
    assert activities.totals(db, ActivityFilter()) == before


def test_deleting_twice_counts_once(db, register):
    gone = register["ids"]["hoc_tap"]
    assert activities.delete(db, [gone]) == 1
    assert activities.delete(db, [gone]) == 0
    assert activities.restore(db, [gone, register["ids"]["gia_dinh"]]) == 1


def test_a_deleted_activity_is_not_a_duplicate(db, plan):
    saved = activities.create(db, an_activity(plan))
    activities.delete(db, [saved.id])
    assert activities.likely_duplicates(db, an_activity(plan)) == []


# --- duplicates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "retyped",
    [
        "PHÁT THANH HƯỞNG ỨNG TUẦN LỄ HỌC TẬP SUỐT ĐỜI",
        "phat thanh huong ung tuan le hoc tap suot doi",
        nfd("Phát thanh  hưởng ứng Tuần lễ học tập suốt đời "),
    ],
)
def test_same_date_form_and_title_is_a_likely_duplicate(db, plan, retyped):
    saved = activities.create(db, an_activity(plan))
    hints = activities.likely_duplicates(db, an_activity(plan, title=retyped))
    assert [(h.id, h.title, h.date_start) for h in hints] == [
        (saved.id, saved.title, saved.date_start)
    ]


def test_another_day_form_or_title_is_not_a_duplicate(db, plan):
    saved = activities.create(db, an_activity(plan))
    assert activities.likely_duplicates(db, an_activity(plan, date_start=date(2025, 10, 3))) == []
    assert activities.likely_duplicates(db, an_activity(plan, form_id=form_id(plan, "F1"))) == []
    assert (
        activities.likely_duplicates(db, an_activity(plan, title="Phát thanh Tuần lễ học tập"))
        == []
    )
    # an activity is not its own duplicate when it is edited
    assert activities.likely_duplicates(db, an_activity(plan), exclude_id=saved.id) == []


def test_duplicating_copies_the_fields_but_not_the_evidence(db, plan, tmp_path):
    photo = tmp_path / "ảnh.jpg"
    photo.write_bytes(b"\xff\xd8 anh")
    original = activities.create(
        db,
        an_activity(
            plan,
            date_end=date(2025, 10, 4),
            languages=["thai"],
            items=2,
            minutes=30,
            reach_total=100,
            reach=ReachBreakdown({"sex": {"female": 60, "male": 40}}),
            node_ids=[node_id(plan, "2.2")],
            programme_ids=[programme_id(plan, "P5")],
            partner="Đài Truyền thanh xã",
            new_attachments=[photo],
        ),
    )

    copy = activities.duplicate_input(db, original.id, new_date=date(2025, 10, 9))
    again = activities.create(db, copy)

    loaded = activities.get(db, again.id)
    assert loaded.id != original.id and loaded.uuid != original.uuid
    assert loaded.date_start == date(2025, 10, 9) and loaded.date_end is None
    assert (loaded.title, loaded.languages, loaded.items, loaded.minutes, loaded.partner) == (
        original.title,
        original.languages,
        original.items,
        original.minutes,
        original.partner,
    )
    assert loaded.reach.values == original.reach.values
    assert loaded.node_ids == original.node_ids and loaded.programme_ids == original.programme_ids
    assert loaded.attachments == [] and len(activities.get(db, original.id).attachments) == 1


def test_changing_the_copy_leaves_the_original_alone(db, plan):
    original = activities.create(
        db, an_activity(plan, reach_total=100, reach=ReachBreakdown({"sex": {"female": 60}}))
    )
    copy = activities.duplicate_input(db, original.id)
    copy.reach.values["sex"]["female"] = 1
    copy.node_ids.append(node_id(plan, "1.1"))
    assert activities.get(db, original.id).reach.values == {"sex": {"female": 60}}


# --- "no activity this period" ---------------------------------------------------------


def test_nil_statement_is_saved_under_the_normalised_period_key(db, plan):
    f5 = form_id(plan, "F5")
    saved = activities.add_nil_statement(
        db,
        plan.plan.id,
        "2026-q3",
        nfd("Thư viện huyện đang sửa chữa, không tổ chức sự kiện."),
        form_id=f5,
    )
    [listed] = activities.nil_statements(db, plan.plan.id)
    assert (listed.id, listed.period_key, listed.form_id) == (saved.id, "2026-Q3", f5)
    assert listed.reason == "Thư viện huyện đang sửa chữa, không tổ chức sự kiện."

    activities.delete_nil_statement(db, saved.id)
    assert activities.nil_statements(db, plan.plan.id) == []


def test_nil_statement_needs_a_period_and_a_reason(db, plan):
    with pytest.raises(ValidationFailed) as caught:
        activities.add_nil_statement(db, plan.plan.id, "quý 3", "  ")
    assert {e.field for e in caught.value.errors} == {"period", "reason"}
    assert activities.nil_statements(db, plan.plan.id) == []


def test_nil_statements_are_listed_newest_period_first(db, plan):
    for key in ("2025-Q4", "2026-Q2", "2026-Q1"):
        activities.add_nil_statement(db, plan.plan.id, key, "Không có hoạt động")
    assert [n.period_key for n in activities.nil_statements(db, plan.plan.id)] == [
        "2026-Q2",
        "2026-Q1",
        "2025-Q4",
    ]


# --- CSV export -------------------------------------------------------------------------


def test_csv_export_is_utf8_with_bom_and_reads_back_with_identical_text(db, register, tmp_path):
    target = tmp_path / "Sổ hoạt động.csv"
    n = activities.export_csv(db, ActivityFilter(), target)

    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with target.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = activities.list_rows(db, ActivityFilter(), descending=False)
    assert n == len(rows) == len(expected) == 4
    assert [r["title"] for r in rows] == [r.title for r in expected]
    assert [r["uuid"] for r in rows] == [r.uuid for r in expected]
    by_title = {r["title"]: r for r in rows}
    ngay_sach = by_title["Ngày hội đọc sách tại thư viện huyện"]
    assert (ngay_sach["place"], ngay_sach["partner"], ngay_sach["funding"], ngay_sach["cost"]) == (
        "Xã Mường Phăng",
        "Đoàn Thanh niên",
        "state",
        "2000000",
    )
    assert by_title["Họp thôn tuyên truyền mô hình Gia đình học tập"]["notes"] == "Ghi chú nội bộ"


def test_csv_export_of_a_filtered_set_holds_only_that_set(db, register, plan, tmp_path):
    target = tmp_path / "f1.csv"
    n = activities.export_csv(db, ActivityFilter(form_id=form_id(plan, "F1")), target)
    with target.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert n == 1
    assert [r["title"] for r in rows] == ["Bài viết về khuyến học, khuyến tài"]
    assert rows[0]["description"] == "Gương gia đình học tập tiêu biểu ở bản Nà Tấu."
