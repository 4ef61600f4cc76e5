"""Plan update packages: the province exports its plan with a revision number; offices import
only a newer revision."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dbcomm.errors import UserError
from dbcomm.services import package_files, plan_packages, plans
from dbcomm.services.database import open_database

CODE = "386/KH-UBND"


@pytest.fixture(autouse=True)
def _english():
    from dbcomm import i18n

    i18n.set_language("en")


@pytest.fixture
def province(tmp_path: Path, new_database_file: Path):
    shutil.copyfile(new_database_file, tmp_path / "province.sqlite3")
    db = open_database(tmp_path / "province.sqlite3")
    yield db
    db.close()


@pytest.fixture
def office(tmp_path: Path, new_database_file: Path):
    shutil.copyfile(new_database_file, tmp_path / "office.sqlite3")
    db = open_database(tmp_path / "office.sqlite3")
    yield db
    db.close()


@pytest.fixture
def stick(tmp_path: Path) -> Path:
    path = tmp_path / "stick"
    path.mkdir()
    return path


def _plan_386(db) -> int:
    return next(p.id for p in plans.list_plans(db) if p.code == CODE)


def _add_task(db, plan_id: int, code: str, title: str) -> None:
    tree = plans.get_tree(db, plan_id)
    plans.save_node(db, plan_id, None, kind="task", code=code, title=title, parent_id=tree.objectives[0].id)


def _task_titles(db, plan_id: int) -> dict[str, str]:
    tree = plans.get_tree(db, plan_id)
    return {t.code: t.title for o in tree.objectives for t in o.children}


def test_a_new_plan_exported_by_the_province_arrives_in_the_office(province, office, stick):
    source = plans.create_plan(province, plans.PlanFields(
        code="12/KH-SGDĐT", title="Kế hoạch truyền thông học tập suốt đời năm 2026", start_year=2026,
        end_year=2026), copy_from=_plan_386(province))
    _add_task(province, source.id, "1.9", "Truyền thông bằng tiếng Thái trên loa truyền thanh xã")

    path = plan_packages.export_plan_package(province, source.id, stick)

    assert path.name == "KeHoach_12-KH-SGDDT_r1.dbcpkg"
    info = plan_packages.inspect_plan_package(office, path)
    assert (info.status, info.revision, info.last_revision, info.exists_here) == ("new", 1, 0, False)
    assert info.plan_code == "12/KH-SGDĐT"
    result = plan_packages.import_plan_package(office, path)
    assert result.created and result.revision == 1
    imported = next(p for p in plans.list_plans(office) if p.code == "12/KH-SGDĐT")
    assert imported.uuid == source.uuid and imported.title == source.title
    assert _task_titles(office, imported.id)["1.9"] == "Truyền thông bằng tiếng Thái trên loa truyền thanh xã"
    assert plan_packages.last_revision(office, "12/KH-SGDĐT") == 1


def test_each_export_takes_the_next_revision(province, stick):
    plan_id = _plan_386(province)
    first = plan_packages.export_plan_package(province, plan_id, stick)
    second = plan_packages.export_plan_package(province, plan_id, stick)
    revisions = [package_files.read(p, ("plan.json",)).manifest["revision"] for p in (first, second)]
    assert revisions == [1, 2]
    assert plan_packages.last_revision(province, CODE) == 2
    raw = package_files.read(second, ("plan.json",))
    assert raw.manifest["kind"] == "plan" and raw.manifest["plan"]["code"] == CODE
    # plan.json is the plan definition file as plans.export_plan writes it
    assert plans.validate_plan_dict(json.loads(raw.members["plan.json"]))["plan"]["code"] == CODE


def test_the_same_revision_twice_is_refused_as_already_imported(province, office, stick):
    path = plan_packages.export_plan_package(province, _plan_386(province), stick)
    plan_packages.import_plan_package(office, path)
    count = len(plans.list_plans(office))

    info = plan_packages.inspect_plan_package(office, path)
    assert info.status == "already" and path.name in info.problem
    with pytest.raises(UserError, match="already"):
        plan_packages.import_plan_package(office, path)
    assert len(plans.list_plans(office)) == count


def test_a_newer_revision_updates_the_plan_in_place(province, office, stick):
    plan_id = _plan_386(province)
    first = plan_packages.export_plan_package(province, plan_id, stick)
    plan_packages.import_plan_package(office, first)
    _add_task(province, plan_id, "1.9", "Truyền thông bằng tiếng Mông trên Zalo")
    info = plans.get_plan(province, plan_id)
    plans.update_plan(province, plan_id, plans.PlanFields(
        code=CODE, title=info.title + " (điều chỉnh)", start_year=info.start_year, end_year=info.end_year,
        issued_on=info.issued_on, issuer=info.issuer, cutoff=info.cutoff, recipient=info.recipient,
        note=info.note))
    second = plan_packages.export_plan_package(province, plan_id, stick)
    count = len(plans.list_plans(office))

    inspected = plan_packages.inspect_plan_package(office, second)
    assert (inspected.status, inspected.revision, inspected.last_revision, inspected.exists_here) == (
        "new", 2, 1, True)
    result = plan_packages.import_plan_package(office, second)

    assert not result.created and result.added == 1
    assert len(plans.list_plans(office)) == count  # updated, not added
    here = _plan_386(office)
    assert plans.get_plan(office, here).title.endswith("(điều chỉnh)")
    assert _task_titles(office, here)["1.9"] == "Truyền thông bằng tiếng Mông trên Zalo"
    assert plan_packages.last_revision(office, CODE) == 2


def test_an_older_revision_is_refused_and_changes_nothing(province, office, stick, tmp_path):
    plan_id = _plan_386(province)
    old = plan_packages.export_plan_package(province, plan_id, stick)
    _add_task(province, plan_id, "1.9", "Truyền thông bằng tiếng Dao")
    new = plan_packages.export_plan_package(province, plan_id, stick)
    plan_packages.import_plan_package(office, new)
    here = _plan_386(office)
    before = _task_titles(office, here)

    info = plan_packages.inspect_plan_package(office, old)
    assert (info.status, info.revision, info.last_revision) == ("older", 1, 2)
    with pytest.raises(UserError, match="older than revision 2"):
        plan_packages.import_plan_package(office, old)
    assert _task_titles(office, here) == before and "1.9" in before
    assert plan_packages.last_revision(office, CODE) == 2


def test_a_changed_plan_file_is_refused(province, office, stick):
    path = plan_packages.export_plan_package(province, _plan_386(province), stick)
    raw = package_files.read(path, ("plan.json",))
    plan = json.loads(raw.members["plan.json"])
    plan["plan"]["title"] = "Kế hoạch giả mạo"
    manifest = dict(raw.manifest)  # the old parts: the SHA-256 of plan.json no longer matches
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest))
        z.writestr("plan.json", json.dumps(plan, ensure_ascii=False))
    path.write_bytes(out.getvalue())
    info = plan_packages.inspect_plan_package(office, path)
    assert info.status == "invalid" and "SHA-256" in info.problem
    with pytest.raises(UserError):
        plan_packages.import_plan_package(office, path)
    assert plans.get_plan(office, _plan_386(office)).title != "Kế hoạch giả mạo"


def test_an_index_that_names_another_plan_is_refused(province, office, stick):
    path = plan_packages.export_plan_package(province, _plan_386(province), stick)
    raw = package_files.read(path, ("plan.json",))
    manifest = {k: v for k, v in raw.manifest.items() if k != "parts"}
    manifest["plan"] = {**manifest["plan"], "code": "99/KH-UBND"}
    path.write_bytes(package_files.build(manifest, raw.members))
    info = plan_packages.inspect_plan_package(office, path)
    assert info.status == "invalid" and "another plan" in info.problem


@pytest.mark.parametrize("kind", ["receipt", "report"])
def test_other_packages_are_not_plan_packages(office, stick, kind):
    path = stick / f"{kind}.dbcpkg"
    path.write_bytes(package_files.build({"kind": kind}, {"plan.json": b"{}"}))
    info = plan_packages.inspect_plan_package(office, path)
    assert info.status == "invalid" and "KeHoach_" in info.problem


def test_a_random_file_is_refused_with_its_name(office, stick):
    path = stick / "KeHoach_x_r1.dbcpkg"
    path.write_bytes(b"\x00garbage")
    info = plan_packages.inspect_plan_package(office, path)
    assert info.status == "invalid" and path.name in info.problem
    with pytest.raises(UserError):
        plan_packages.import_plan_package(office, path)


def test_importing_needs_the_import_permission(province, office, stick):
    from dbcomm.domain.roles import Role
    from dbcomm.errors import PermissionDenied
    from dbcomm.services import auth

    path = plan_packages.export_plan_package(province, _plan_386(province), stick)
    auth.create_user(office, "quantri", "Quàng Văn Minh", Role.ADMIN, "mat-khau-dai-1")
    auth.authenticate(office, "quantri", "mat-khau-dai-1")
    auth.create_user(office, "nhaplieu", "Lò Thị Mai", Role.ENTRY, "mat-khau-dai-2")
    auth.authenticate(office, "nhaplieu", "mat-khau-dai-2")
    with pytest.raises(PermissionDenied):
        plan_packages.import_plan_package(office, path)
