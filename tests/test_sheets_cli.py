"""``dbcomm sheets``: import (a dry run, then --yes), template, export, export-report — run in-process."""

from __future__ import annotations

import openpyxl
import pytest

import dbcomm.cli as cli
from dbcomm.domain.models import ActivityFilter
from dbcomm.services import activities, demo
from dbcomm.services.database import open_database
from sheet_files import office_log, old_xls, protected_xlsx, workbook


@pytest.fixture
def db_path(copied_db_path):
    db = open_database(copied_db_path)
    demo.ensure_demo_communes(db)
    db.close()
    return copied_db_path


@pytest.fixture
def run(capsys, db_path):
    def _run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["--db", str(db_path), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def activity_count(db_path) -> int:
    db = open_database(db_path)
    try:
        return activities.totals(db, ActivityFilter()).count
    finally:
        db.close()


def test_import_shows_the_mapping_and_dry_run_then_imports_with_yes(run, db_path, tmp_path):
    path = office_log(tmp_path / "so-theo-doi.xlsx")
    code, out, err = run("sheets", "import", str(path), "--value", "place:Bản Co Líu=Xã Mường Phăng", "--yes")
    assert code == 0, err
    assert "Năm 2025" in out and "Ghi chú 2024" in out  # the sheet read, and the other one named
    assert "B\tNgày thực hiện" in out
    # every row not imported, with its number and reason
    lines = {line.split("\t")[0]: line for line in out.splitlines() if "\t" in line and line[:1] != " "}
    assert any("31/02/2025" in line for line in lines.values())
    assert sum(1 for line in out.splitlines() if line.split("\t")[0].split()[-1:] in (["10"], ["12"], ["13"])) == 3
    assert activity_count(db_path) == 4

    code, out, _err = run("sheets", "import", str(path), "--value", "place:Bản Co Líu=Xã Mường Phăng", "--yes")
    assert code == 0 and activity_count(db_path) == 4  # the same file again adds nothing


def test_import_without_yes_and_without_a_terminal_imports_nothing(run, db_path, tmp_path):
    code, _out, err = run("sheets", "import", str(office_log(tmp_path / "so.xlsx")))
    assert code == 5 and "--yes" in err
    assert activity_count(db_path) == 0


@pytest.mark.parametrize(("maker", "name"), [(protected_xlsx, "mat-khau.xlsx"), (old_xls, "so-cu.xls")])
def test_a_file_that_cannot_be_read_is_refused_with_a_plain_message(run, db_path, tmp_path, maker, name):
    code, _out, err = run("sheets", "import", str(maker(tmp_path / name)), "--yes")
    assert code == 2 and name in err and ".xlsx" in err
    assert activity_count(db_path) == 0


def test_a_column_mapped_twice_is_refused_and_nothing_imported(run, db_path, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    code, _out, err = run("sheets", "import", str(path), "--map", "date_start=B", "--map", "date_end=B", "--yes")
    assert code == 2 and "B" in err
    code, _out, err = run("sheets", "import", str(path), "--map", "title=D", "--map", "title=E", "--yes")
    assert code == 2 and "D" in err and "E" in err
    assert activity_count(db_path) == 0


def test_a_sheet_without_a_form_column_takes_one_form_for_every_row(run, db_path, tmp_path):
    path = workbook(tmp_path / "loa.xlsx", [["Ngày", "Nội dung phát thanh", "Thời lượng (phút)"],
                                            ["05/03/2026", "Bản tin khuyến học", 15],
                                            ["12/03/2026", "Bản tin học tập suốt đời", 20]])
    code, _out, err = run("sheets", "import", str(path), "--yes")
    assert code == 2 and "Nothing was imported" in err or "Không" in err
    code, out, err = run("sheets", "import", str(path), "--set", "form=F3", "--yes")
    assert code == 0, err
    assert activity_count(db_path) == 2


def test_nothing_importable_is_an_error(run, db_path, tmp_path):
    path = workbook(tmp_path / "sai.xlsx", [["Ngày", "Hình thức", "Tên hoạt động"], ["31/02/2026", "F3", "Phát thanh"]])
    code, out, _err = run("sheets", "import", str(path), "--yes")
    assert code == 2 and "31/02/2026" in out


def test_template_export_and_report_export(run, db_path, tmp_path):
    code, _out, err = run("sheets", "template", str(tmp_path / "mau.xlsx"))
    assert code == 0, err
    assert openpyxl.load_workbook(tmp_path / "mau.xlsx").sheetnames[0] == "Nhật ký hoạt động"

    run("demo-data", "--count", "80", "--demo-office")
    code, out, err = run("sheets", "export", str(tmp_path / "so.xlsx"), "--form", "F3")
    assert code == 0, err
    ws = openpyxl.load_workbook(tmp_path / "so.xlsx").worksheets[0]
    n = ws.max_row - 2  # header and totals
    assert str(n) in out and n > 0
    assert {ws.cell(r, 4).value[:2] for r in range(2, n + 2)} == {"F3"}

    code, _out, err = run("sheets", "export", str(tmp_path / "so.csv"))
    assert code == 0, err and (tmp_path / "so.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    code, out, err = run("sheets", "export-report", str(tmp_path / "bc.xlsx"), "--period", "2025")
    assert code == 0, err
    assert "Theo hình thức" in openpyxl.load_workbook(tmp_path / "bc.xlsx").sheetnames


def test_an_export_named_without_an_extension_or_into_a_missing_folder(run, db_path, tmp_path):
    run("demo-data", "--count", "20", "--demo-office")
    code, out, err = run("sheets", "export", str(tmp_path / "so-tat-ca"))
    assert code == 0, err
    assert (tmp_path / "so-tat-ca.xlsx").exists() and not (tmp_path / "so-tat-ca").exists()
    code, _out, err = run("sheets", "export", str(tmp_path / "so-csv"), "--format", "csv")
    assert code == 0 and (tmp_path / "so-csv.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # a mistyped folder is not made up: a plain refusal, and nothing written
    code, _out, err = run("sheets", "export", str(tmp_path / "khong-co" / "so.xlsx"))
    assert code != 0 and "khong-co" in err
    assert not (tmp_path / "khong-co").exists()


def test_a_chosen_value_is_shown_by_its_name_not_its_number(run, db_path, tmp_path):
    path = office_log(tmp_path / "so.xlsx")
    code, out, err = run("sheets", "import", str(path), "--value", "place:Bản Co Líu=Xã Mường Phăng")
    line = next(line for line in out.splitlines() if "Bản Co Líu" in line and "→" in line)
    assert "Xã Mường Phăng" in line and not any(part.strip().isdigit() for part in line.split("→")[1].split("("))


def test_a_file_that_is_not_there_is_said_plainly(run, tmp_path):
    code, _out, err = run("sheets", "import", str(tmp_path / "da-chuyen-di.xlsx"))
    assert code != 0 and "da-chuyen-di.xlsx" in err and "No such file" not in err


def test_the_encodings_offered_are_the_ones_the_import_reads():
    from dbcomm import cli_sheets
    from dbcomm.services.sheets.encodings import ENCODINGS

    assert set(cli_sheets.ENCODING_NAMES) == set(ENCODINGS)
