"""The ``dbcomm`` command line, run in-process."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date

import pytest

from dbcomm.cli import main
from dbcomm.domain.models import ActivityFilter
from dbcomm.domain.text import fold
from dbcomm.services import activities, plans
from dbcomm.services.database import open_database


@pytest.fixture
def db_path(copied_db_path):
    """A new database, copied from one made once per run (no migration each time)."""
    return copied_db_path


@pytest.fixture
def run(capsys, db_path):
    """Run ``dbcomm --db <file> …``; returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", str(db_path), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def ids_printed(out: str) -> list[int]:
    return [int(line.split("\t")[0]) for line in lines(out)]


def open_db(db_path):
    return open_database(db_path)


TITLE = "Phát thanh về Ngày Sách và Văn hóa đọc Việt Nam"


def add_args(title: str = TITLE) -> list[str]:
    return [
        "activities", "add", "--date", "15/03/2025", "--form", "F3", "--title", title,
        "--place", "tua chua", "--language", "thai", "--language", "vi",
        "--objective", "2.1", "--programme", "P4",
        "--items", "3", "--minutes", "45", "--reach", "250",
        "--partner", "Đài Truyền thanh huyện",
    ]  # fmt: skip


def saved_id(out: str) -> int:
    """The number in "Saved activity #12." (in whichever language)."""
    return int("".join(ch for ch in out if ch.isdigit()))


def test_demo_data_adds_the_requested_number_of_activities(run, db_path):
    code, out, err = run("demo-data", "--count", "50")
    assert code == 0, err
    assert "50" in out
    db = open_db(db_path)
    try:
        assert activities.totals(db, ActivityFilter()).count == 50
    finally:
        db.close()


def test_demo_data_if_empty_adds_nothing_the_second_time(run, db_path):
    run("demo-data", "--count", "20")
    code, _out, _err = run("demo-data", "--count", "20", "--if-empty")
    assert code == 0
    db = open_db(db_path)
    try:
        assert activities.totals(db, ActivityFilter()).count == 20
    finally:
        db.close()


def test_listing_with_search_and_period_prints_exactly_the_matching_activities(run, db_path):
    # given a demo register
    run("demo-data", "--count", "300", "--seed", "7")

    # when searching without diacritics within a quarter
    code, out, err = run("activities", "list", "--search", "hoc tap", "--period", "2026-Q3")

    # then each printed activity is in the quarter and holds both words, and none is missing
    assert code == 0, err
    printed = ids_printed(out)
    assert printed
    db = open_db(db_path)
    try:
        plan_id = plans.default_plan(db).id
        q3 = activities.filter_for_period(db, plan_id, "2026-Q3")
        everything = activities.list_rows(db, ActivityFilter(), limit=10_000)
        expected = set()
        for row in everything:
            rec = activities.get(db, row.id)
            overlaps = (
                row.date_start <= q3.date_to and (row.date_end or row.date_start) >= q3.date_from
            )
            words = fold(f"{rec.title} {rec.description} {rec.partner} {rec.notes}")
            if overlaps and "hoc" in words and "tap" in words:
                expected.add(row.id)
    finally:
        db.close()
    assert set(printed) == expected
    assert len(printed) == len(set(printed))


def test_list_totals_go_to_stderr_and_match_the_lines(run):
    run("demo-data", "--count", "60")
    code, out, err = run("--lang", "en", "activities", "list", "--form", "F3", "--totals")
    assert code == 0
    n = len(lines(out))
    assert n > 0
    assert f"Total: {n} activities" in err
    assert all("\tF3\t" in line for line in lines(out))


def test_an_added_activity_is_saved_with_everything_and_listed(run, db_path):
    code, out, err = run(*add_args())
    assert code == 0, err
    new_id = saved_id(out)

    code, out, _err = run("activities", "list", "--search", "NGAY SACH")
    assert ids_printed(out) == [new_id]
    assert "Phát thanh về Ngày Sách và Văn hóa đọc Việt Nam" in out
    assert "Huyện Tủa Chùa" in out

    db = open_db(db_path)
    try:
        rec = activities.get(db, new_id)
        tree = plans.get_tree(db, rec.plan_id)
    finally:
        db.close()
    assert rec.date_start == date(2025, 3, 15)
    assert rec.languages == ["thai", "vi"]
    assert (rec.items, rec.minutes, rec.reach_total, rec.subtype) == (3, 45, 250, "loudspeaker")
    assert rec.partner == "Đài Truyền thanh huyện"
    task_21 = next(t for o in tree.objectives for t in o.children if t.code == "2.1")
    assert rec.node_ids == [task_21.id]
    assert [p.code for p in tree.programmes if p.id in rec.programme_ids] == ["P4"]


def test_adding_a_likely_duplicate_exits_3_and_saves_nothing(run, db_path):
    run(*add_args())
    retyped = add_args("PHAT THANH VE NGAY SACH VA VAN HOA DOC VIET NAM")

    code, _out, err = run(*retyped)
    assert code == 3
    assert "--allow-duplicate" in err
    _, listed, _ = run("activities", "list")
    assert len(lines(listed)) == 1

    code, out, err = run(*retyped, "--allow-duplicate")
    assert code == 0
    _, listed, _ = run("activities", "list")
    assert len(lines(listed)) == 2


def test_an_activity_that_fails_validation_exits_2_with_one_message_per_problem(run):
    code, out, err = run(
        "activities",
        "add",
        "--date",
        "01/01/2099",
        "--form",
        "F1",
        "--title",
        "Bài viết",
        "--items",
        "-2",
        "--cost",
        "100000",
    )
    assert code == 2
    from dbcomm.i18n import _

    messages = lines(err)
    assert len(messages) == 3
    for expected in (_("The date is outside the plan ({start}–{end}).").format(start=2022, end=2030),
                     _("This cannot be negative."), _("Choose the funding source of the cost.")):
        assert any(expected in m for m in messages), (expected, messages)
    _, listed, _ = run("activities", "list")
    assert listed == ""


@pytest.mark.parametrize(
    ("args", "mentioned"),
    [
        (
            ["activities", "add", "--date", "15/03/2025", "--form", "F9", "--title", "Bài viết"],
            "F9",
        ),
        (
            [
                "activities",
                "add",
                "--date",
                "15/03/2025",
                "--form",
                "F1",
                "--title",
                "Bài viết",
                "--place",
                "Xã Không Tồn Tại",
            ],
            "Xã Không Tồn Tại",
        ),
        (
            [
                "activities",
                "add",
                "--date",
                "15/03/2025",
                "--form",
                "F1",
                "--title",
                "Bài viết",
                "--language",
                "tiếng Pháp",
            ],
            "tiếng Pháp",
        ),
        (
            [
                "activities",
                "add",
                "--date",
                "15/03/2025",
                "--form",
                "F1",
                "--title",
                "Bài viết",
                "--objective",
                "9.9",
            ],
            "9.9",
        ),
        (["activities", "list", "--period", "quý 3"], "quý 3"),
        (["activities", "list", "--programme", "P99"], "P99"),
        (["activities", "list", "--plan", "999/KH-UBND"], "999/KH-UBND"),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_it(run, args, mentioned):
    code, out, err = run(*args)
    assert code == 2
    assert mentioned in err
    assert "Traceback" not in err


def test_a_date_that_does_not_exist_is_refused_by_the_parser(run, capsys):
    with pytest.raises(SystemExit) as caught:
        run("activities", "add", "--date", "31/02/2025", "--form", "F1", "--title", "Bài viết")
    assert caught.value.code == 2
    assert "31/02/2025" in capsys.readouterr().err


def test_a_text_file_as_database_exits_2_and_is_left_alone(capsys, tmp_path):
    notes = tmp_path / "ghi chú.txt"
    notes.write_text("không phải cơ sở dữ liệu", encoding="utf-8")
    digest = hashlib.sha256(notes.read_bytes()).hexdigest()

    code = main(["--db", str(notes), "activities", "list"])

    assert code == 2
    assert str(notes) in capsys.readouterr().err
    assert hashlib.sha256(notes.read_bytes()).hexdigest() == digest


def test_messages_follow_lang_en(run):
    code, out, _err = run("--lang", "en", *add_args())
    assert code == 0
    assert out.startswith("Saved activity #")


def test_export_csv_writes_what_list_shows(run, tmp_path):
    run("demo-data", "--count", "40")
    target = tmp_path / "xuất" / "Sổ theo dõi.csv"

    code, out, err = run("activities", "export-csv", str(target), "--language", "thai")

    assert code == 0, err
    _, listed, _ = run("activities", "list", "--language", "thai")
    with target.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    assert sorted(r["title"] for r in rows) == sorted(line.split("\t")[4] for line in lines(listed))
    assert all("thai" in r["languages"].split() for r in rows)
    assert str(len(rows)) in out


def test_delete_and_restore_from_the_command_line(run):
    _, out, _ = run(*add_args())
    new_id = saved_id(out)
    assert run("activities", "delete", str(new_id))[0] == 0
    assert run("activities", "list")[1] == ""
    assert ids_printed(run("activities", "list", "--deleted")[1]) == [new_id]
    assert run("activities", "restore", str(new_id))[0] == 0
    assert ids_printed(run("activities", "list")[1]) == [new_id]


def test_plan_export_then_import_round_trip(run, tmp_path, capsys):
    # given the plan exported and edited by hand
    target = tmp_path / "kế hoạch.json"
    code, _out, err = run("plan", "export", str(target))
    assert code == 0, err
    data = json.loads(target.read_text("utf-8"))
    assert data["plan"]["code"] == "386/KH-UBND"
    data["plan"]["title"] = "Kế hoạch truyền thông (bản sửa năm 2026)"
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    # when it is imported again
    code, out, err = run("plan", "import", str(target))

    # then the one plan is updated, not duplicated
    assert code == 0, err
    _, listed, _ = run("plan", "list")
    assert lines(listed) == ["386/KH-UBND\t2022–2030\tKế hoạch truyền thông (bản sửa năm 2026)\t*"]

    # and the same file imports into another database
    other = tmp_path / "khác.sqlite3"
    assert main(["--db", str(other), "plan", "import", str(target)]) == 0
    capsys.readouterr()
    assert main(["--db", str(other), "plan", "list"]) == 0
    assert "bản sửa năm 2026" in capsys.readouterr().out


def test_importing_a_broken_plan_file_exits_2(run, tmp_path):
    broken = tmp_path / "hỏng.json"
    broken.write_text("{ chưa xong", encoding="utf-8")
    code, _out, err = run("plan", "import", str(broken))
    assert code == 2 and err
    _, listed, _ = run("plan", "list")
    assert len(lines(listed)) == 1


def test_orgs_import_then_list(run, tmp_path):
    path = tmp_path / "xa.csv"
    path.write_bytes("\ufeffTên,Loại,Cấp trên\nXã Sín Thầu,Xã,MN\n".encode())
    code, out, err = run("orgs", "import", str(path))
    assert code == 0, err
    _, listed, _ = run("orgs", "list")
    row = next(line for line in lines(listed) if "Xã Sín Thầu" in line)
    assert "Huyện Mường Nhé" in row


# --- reports -------------------------------------------------------------------------------------


def test_report_build_writes_the_pdf_and_pdf_rewrites_it_identically(run, db_path, tmp_path):
    from dbcomm.services import demo

    db = open_database(db_path)
    demo.generate(db, 200, seed=5, end=date(2026, 11, 1))
    demo.set_demo_office(db)
    db.close()
    narrative = tmp_path / "n.json"
    narrative.write_text(json.dumps({"proposals": "Đề nghị cấp kinh phí in pa-nô."}, ensure_ascii=False),
                         encoding="utf-8")
    out = tmp_path / "BC-Q3.pdf"
    code, stdout, stderr = run("report", "build", "--period", "2026-Q3", "--out", str(out), "--number", "7",
                               "--date", "05/10/2026", "--narrative", str(narrative),
                               "--distribution", "Như trên;UBND tỉnh (b/c)", "--archive", "VHXH")
    assert code == 0, stderr
    assert out.read_bytes().startswith(b"%PDF")
    import subprocess

    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Số: 07/BC-UBND" in text and "Đề nghị cấp kinh phí in pa-nô./." in text
    assert text.count("- Như trên;") == 1 and "- Lưu: VT, VHXH." in text
    code, stdout, _ = run("report", "list")
    assert code == 0 and "2026-Q3" in stdout
    report_id = stdout.split("\t")[0]
    again = tmp_path / "again.pdf"
    assert run("report", "pdf", report_id, "--out", str(again))[0] == 0
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(out.read_bytes()).digest()


def test_report_build_says_what_is_wrong(run, db_path, tmp_path):
    code, _, stderr = run("report", "build", "--period", "2026-Q3", "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and ("Tên đơn vị" in stderr or "Office name" in stderr)  # no office settings yet
    assert not (tmp_path / "x.pdf").exists()
    from dbcomm.services import demo

    db = open_database(db_path)
    demo.set_demo_office(db)
    db.close()
    code, _, stderr = run("report", "build", "--period", "quý 3")
    assert code == 2 and "2026-Q3" in stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"chapter": "x"}', encoding="utf-8")
    code, _, stderr = run("report", "build", "--period", "2026-Q3", "--narrative", str(bad),
                          "--out", str(tmp_path / "y.pdf"))
    assert code == 2 and "direction" in stderr and not (tmp_path / "y.pdf").exists()
    code, _, stderr = run("report", "build", "--period", "2031", "--out", str(tmp_path / "z.pdf"))
    assert code == 0 and "2022–2030" in stderr  # built, with a note
