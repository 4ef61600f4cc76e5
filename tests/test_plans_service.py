"""The plan: the shipped Plan 386/KH-UBND, editing it, plan definition files."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from importlib import resources

import pytest

from dbcomm.domain.models import ActivityInput, PlanTree
from dbcomm.errors import ImportFileError, UserError, ValidationFailed
from dbcomm.services import activities, plans
from dbcomm.services.database import open_database
from dbcomm.services.plans import PlanFields


@pytest.fixture
def db_path(copied_db_path):
    """A new database, copied from one made once per run (no migration each time)."""
    return copied_db_path


def summary(tree: PlanTree) -> dict:
    """Everything a person sees of a plan, by code, title and uuid (not database ids)."""
    node_codes = {n.id: n.code for o in tree.objectives for n in (o, *o.children)}
    p = tree.plan
    return {
        "plan": (
            p.uuid,
            p.code,
            p.title,
            p.issued_on,
            p.issuer,
            p.start_year,
            p.end_year,
            p.cutoff,
            p.recipient,
            p.note,
        ),
        "forms": [(f.code, f.name) for f in tree.forms],
        "programmes": [(g.code, g.name) for g in tree.programmes],
        "objectives": [
            (o.uuid, o.code, o.title, [(t.uuid, t.code, t.title) for t in o.children])
            for o in tree.objectives
        ],
        "indicators": [
            (
                i.uuid,
                i.code,
                i.name,
                i.unit,
                i.baseline,
                i.baseline_year,
                node_codes.get(i.node_id),
                i.targets,
            )
            for i in tree.indicators
        ],
    }


def without_uuids(s: dict) -> dict:
    return {
        "plan": s["plan"][1:],
        "forms": s["forms"],
        "programmes": s["programmes"],
        "objectives": [(o[1], o[2], [t[1:] for t in o[3]]) for o in s["objectives"]],
        "indicators": [i[1:] for i in s["indicators"]],
    }


def find_node(tree: PlanTree, code: str):
    for o in tree.objectives:
        for n in (o, *o.children):
            if n.code == code:
                return n
    raise KeyError(code)


def log_activity(db, tree: PlanTree, *node_codes: str) -> int:
    value = ActivityInput(
        plan_id=tree.plan.id,
        date_start=date(2025, 10, 2),
        form_id=tree.forms[0].id,
        title="Bài viết về xây dựng xã hội học tập",
        node_ids=[find_node(tree, c).id for c in node_codes],
    )
    return activities.create(db, value).id


def shipped_file() -> dict:
    return json.loads(resources.files("dbcomm.data").joinpath("plan_386.json").read_text("utf-8"))


def count_plans(db) -> int:
    con = sqlite3.connect(db.path)
    try:
        return con.execute("SELECT count(*) FROM plan").fetchone()[0]
    finally:
        con.close()


# --- the shipped plan -----------------------------------------------------------------


def test_a_new_database_holds_plan_386_as_the_default_plan(db, plan):
    assert [p.code for p in plans.list_plans(db)] == ["386/KH-UBND"]
    assert plan.plan.is_default
    assert (plan.plan.start_year, plan.plan.end_year) == (2022, 2030)
    assert plan.plan.issued_on == date(2022, 2, 15)


def test_plan_386_has_five_forms_and_seven_programmes(plan):
    assert [f.code for f in plan.forms] == ["F1", "F2", "F3", "F4", "F5"]
    assert [g.code for g in plan.programmes] == [f"P{i}" for i in range(1, 8)]
    assert all(f.name for f in plan.forms) and all(g.name for g in plan.programmes)


def test_plan_386_objectives_have_tasks_and_indicators_with_2025_and_2030_targets(plan):
    assert len(plan.objectives) >= 3
    for objective in plan.objectives:
        assert objective.kind == "objective"
        assert objective.children, f"objective {objective.code} has no task"
        assert all(t.kind == "task" and t.parent_id == objective.id for t in objective.children)
    objective_ids = {o.id for o in plan.objectives}
    assert plan.indicators
    assert all(i.node_id in objective_ids for i in plan.indicators)
    assert any(2025 in i.targets for i in plan.indicators)
    assert any(2030 in i.targets for i in plan.indicators)
    assert all(0 < v <= 100 for i in plan.indicators if i.unit == "%" for v in i.targets.values())


def test_the_database_holds_exactly_the_shipped_definition_file(plan):
    data = shipped_file()
    s = summary(plan)
    assert s["plan"][:3] == (data["plan"]["uuid"], data["plan"]["code"], data["plan"]["title"])
    assert s["forms"] == [(f["code"], f["name"]) for f in data["forms"]]
    assert [(o[1], o[2], [t[1] for t in o[3]]) for o in s["objectives"]] == [
        (o["code"], o["title"], [t["code"] for t in o["tasks"]]) for o in data["objectives"]
    ]
    assert [(i[1], i[6], i[7]) for i in s["indicators"]] == [
        (i["code"], i["objective"], {int(y): float(v) for y, v in i["targets"].items()})
        for i in data["indicators"]
    ]


def test_reopening_does_not_load_the_shipped_plan_twice(db_path):
    open_database(db_path).close()
    db = open_database(db_path)
    try:
        assert len(plans.list_plans(db)) == 1
        assert len(plans.get_tree(db, plans.default_plan(db).id).forms) == 5
    finally:
        db.close()


# --- plan definition files ------------------------------------------------------------


def test_export_then_import_into_a_fresh_database_reproduces_the_plan(db, plan, tmp_path):
    # given a plan edited locally: a new task and a changed target
    objective = plan.objectives[0]
    plans.save_node(
        db,
        plan.plan.id,
        None,
        kind="task",
        code="1.9",
        title="Tuyên truyền trên loa truyền thanh bằng tiếng Mông",
        parent_id=objective.id,
    )
    ind = plan.indicators[0]
    plans.save_indicator(
        db,
        plan.plan.id,
        ind.id,
        code=ind.code,
        name=ind.name,
        unit=ind.unit,
        baseline=12.5,
        baseline_year=2021,
        node_id=ind.node_id,
        targets={2025: 55.0, 2030: 75.0},
    )
    edited = summary(plans.get_tree(db, plan.plan.id))
    target = tmp_path / "kế hoạch 386.json"
    plans.export_plan(db, plan.plan.id, target)

    # when it is imported into a fresh database
    other = open_database(tmp_path / "khác.sqlite3")
    try:
        result = plans.import_plan_file(other, target)
        imported = summary(plans.get_tree(other, result.plan.id))
        assert len(plans.list_plans(other)) == 1
    finally:
        other.close()

    # then the fresh database holds the same tree, uuids included
    assert imported == edited
    assert not result.created  # same plan uuid as the shipped one: updated in place


def test_a_plan_new_to_the_database_is_added_with_its_uuids(db, plan, tmp_path):
    yearly = plans.create_plan(
        db,
        PlanFields(
            code="45/KH-UBND",
            title="Kế hoạch truyền thông năm 2026",
            start_year=2026,
            end_year=2026,
            issued_on=date(2026, 1, 20),
            issuer="UBND huyện Tủa Chùa",
            cutoff="day15",
        ),
        copy_from=plan.plan.id,
    )
    original = summary(plans.get_tree(db, yearly.id))
    target = tmp_path / "45.json"
    plans.export_plan(db, yearly.id, target)

    other = open_database(tmp_path / "khác.sqlite3")
    try:
        result = plans.import_plan_file(other, target)
        imported = summary(plans.get_tree(other, result.plan.id))
        codes = [p.code for p in plans.list_plans(other)]
    finally:
        other.close()

    assert result.created
    assert imported == original
    assert codes == ["386/KH-UBND", "45/KH-UBND"]  # the default plan stays first


def test_importing_an_edited_file_updates_the_plan_in_place_and_keeps_items_in_use(
    db, plan, tmp_path
):
    # given activities linked to task 2.1, and an exported file
    log_activity(db, plan, "2.1")
    target = tmp_path / "386.json"
    plans.export_plan(db, plan.plan.id, target)
    data = json.loads(target.read_text("utf-8"))

    # when the file is edited: a title changed, tasks 2.1 (used) and 2.2 (unused) removed,
    # a programme removed, a target changed
    data["plan"]["title"] = "Kế hoạch truyền thông (sửa đổi 2026)"
    objective_2 = next(o for o in data["objectives"] if o["code"] == "2")
    objective_2["title"] = "Mục tiêu 2 (đã sửa)"
    objective_2["tasks"] = [t for t in objective_2["tasks"] if t["code"] not in ("2.1", "2.2")]
    data["programmes"] = data["programmes"][:-1]
    data["indicators"][0]["targets"]["2030"] = 90
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = plans.import_plan_file(db, target)

    # then the same plan (same uuid, same id) is updated
    tree = plans.get_tree(db, plan.plan.id)
    assert not result.created
    assert result.plan.id == plan.plan.id and tree.plan.uuid == plan.plan.uuid
    assert tree.plan.title == "Kế hoạch truyền thông (sửa đổi 2026)"
    assert find_node(tree, "2").title == "Mục tiêu 2 (đã sửa)"
    assert tree.indicators[0].targets[2030] == 90
    assert [g.code for g in tree.programmes] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    # the unused task is gone, the used one kept and reported
    with pytest.raises(KeyError):
        find_node(tree, "2.2")
    assert find_node(tree, "2.1").uuid == find_node(plan, "2.1").uuid
    assert len(result.kept) == 1 and result.kept[0].startswith("2.1")
    assert len(plans.list_plans(db)) == 1


def write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def an_edited_plan_file(change) -> str:
    """The shipped plan's file with its title edited, then ``change`` applied to it."""
    data = shipped_file()
    data["plan"]["title"] = "Kế hoạch 386 (đã sửa)"
    change(data)
    return json.dumps(data, ensure_ascii=False)


def set_in(*path_and_value):
    *path, key, value = path_and_value

    def change(data):
        for step in path:
            data = data[step]
        data[key] = value

    return change


def duplicate_task_number(data):
    data["objectives"][1]["tasks"][0]["code"] = data["objectives"][0]["tasks"][0]["code"]


def years_backwards(data):
    data["plan"]["start_year"], data["plan"]["end_year"] = 2030, 2022


INVALID_FILES = {
    "not JSON": "Kế hoạch 386 — bản nháp, chưa phải JSON",
    "not UTF-8": "Kế hoạch".encode("utf-16"),
    "a list": "[1, 2, 3]",
    "another format": json.dumps({"format": "some-other-app", "plan": {}}),
    "newer format": an_edited_plan_file(set_in("format_version", 99)),
    "format version not a number": an_edited_plan_file(set_in("format_version", "một")),
    "plan without number": an_edited_plan_file(set_in("plan", "code", "")),
    "plan as a list": an_edited_plan_file(set_in("plan", ["386/KH-UBND"])),
    "plan number not text": an_edited_plan_file(set_in("plan", "code", 386)),
    "years backwards": an_edited_plan_file(years_backwards),
    "year not a number": an_edited_plan_file(set_in("plan", "start_year", "năm 2022")),
    "date not ISO": an_edited_plan_file(set_in("plan", "issued_on", "15/02/2022")),
    "duplicate task number": an_edited_plan_file(duplicate_task_number),
    "form without name": an_edited_plan_file(set_in("forms", [{"code": "F1"}])),
    "programme without code": an_edited_plan_file(set_in("programmes", [{"name": "Chương trình"}])),
    "objectives not a list": an_edited_plan_file(set_in("objectives", {"1": "Mục tiêu"})),
    "tasks not a list": an_edited_plan_file(set_in("objectives", 0, "tasks", "1.1")),
    "task as text": an_edited_plan_file(set_in("objectives", 0, "tasks", ["1.1"])),
    "title not text": an_edited_plan_file(set_in("objectives", 0, "title", 5)),
    "target not a number": an_edited_plan_file(
        set_in("indicators", 0, "targets", {"2025": "năm mươi"})
    ),
    "target year not a year": an_edited_plan_file(
        set_in("indicators", 0, "targets", {"năm 2025": 50})
    ),
    "targets as a list": an_edited_plan_file(set_in("indicators", 0, "targets", [50, 70])),
    "baseline not a number": an_edited_plan_file(set_in("indicators", 0, "baseline", "cao")),
}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("defect", list(INVALID_FILES))
def test_an_invalid_plan_file_is_refused_and_changes_nothing(db, plan, tmp_path, defect):
    # given a file that edits the plan but is malformed
    before = summary(plans.get_tree(db, plan.plan.id))
    path = write(tmp_path, "kế hoạch.json", INVALID_FILES[defect])

    # when it is imported, it is refused as a whole
    with pytest.raises(ImportFileError):
        plans.import_plan_file(db, path)

    assert count_plans(db) == 1
    assert summary(plans.get_tree(db, plan.plan.id)) == before


def test_the_unedited_base_of_the_invalid_files_is_itself_valid(db, plan, tmp_path):
    path = write(tmp_path, "kế hoạch.json", an_edited_plan_file(lambda data: None))
    plans.import_plan_file(db, path)
    assert plans.get_tree(db, plan.plan.id).plan.title == "Kế hoạch 386 (đã sửa)"


def test_a_missing_plan_file_is_refused(db, tmp_path):
    with pytest.raises(ImportFileError):
        plans.import_plan_file(db, tmp_path / "không có.json")


def a_copy_of_plan_386_under_a_new_number(data):
    data["plan"]["uuid"] = "0b6f6ad2-2f0a-4c1d-9d43-7f0c4a1c0001"
    data["plan"]["code"] = "99/KH-UBND"


def test_a_plan_file_saved_with_a_bom_is_accepted(db, tmp_path):
    content = an_edited_plan_file(a_copy_of_plan_386_under_a_new_number)
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + content.encode("utf-8"))
    result = plans.import_plan_file(db, path)
    assert result.created and result.plan.code == "99/KH-UBND"


@pytest.mark.sqlite_only
def test_a_copy_of_another_plans_file_becomes_a_separate_plan(db, plan, tmp_path):
    # given the shipped file copied by hand, with only the plan's number and uuid changed
    path = write(tmp_path, "99.json", an_edited_plan_file(a_copy_of_plan_386_under_a_new_number))

    # when it is imported
    result = plans.import_plan_file(db, path)

    # then it is a new plan with its own items, and plan 386 is untouched
    copy = plans.get_tree(db, result.plan.id)
    assert result.created
    assert without_uuids(summary(copy))["objectives"] == without_uuids(summary(plan))["objectives"]
    assert summary(plans.get_tree(db, plan.plan.id)) == summary(plan)
    copied_uuids = {n.uuid for o in copy.objectives for n in (o, *o.children)}
    original_uuids = {n.uuid for o in plan.objectives for n in (o, *o.children)}
    assert copied_uuids.isdisjoint(original_uuids)

    # and importing it again updates the copy instead of adding a third plan
    plans.export_plan(db, result.plan.id, path)
    again = plans.import_plan_file(db, path)
    assert not again.created and again.plan.id == result.plan.id
    assert count_plans(db) == 2


# --- editing the plan --------------------------------------------------------------------


def test_a_new_task_appears_under_its_objective(db, plan):
    objective = find_node(plan, "3")
    saved = plans.save_node(
        db,
        plan.plan.id,
        None,
        kind="task",
        code="3.9",
        title="  Tuyên truyền  trên Zalo của bản ",
        parent_id=objective.id,
    )
    tree = plans.get_tree(db, plan.plan.id)
    assert saved.title == "Tuyên truyền trên Zalo của bản"
    assert [t.code for t in find_node(tree, "3").children][-1] == "3.9"


def test_a_node_number_already_used_in_the_plan_is_refused(db, plan):
    with pytest.raises(ValidationFailed) as caught:
        plans.save_node(
            db,
            plan.plan.id,
            None,
            kind="task",
            code="2.1",
            title="Trùng số",
            parent_id=find_node(plan, "2").id,
        )
    assert [e.field for e in caught.value.errors] == ["code"]


def test_a_task_without_objective_and_an_empty_title_are_refused(db, plan):
    with pytest.raises(ValidationFailed) as caught:
        plans.save_node(db, plan.plan.id, None, kind="task", code="9.1", title=" ")
    assert {e.field for e in caught.value.errors} == {"title", "parent_id"}


def test_renaming_a_task_keeps_its_uuid(db, plan):
    task = find_node(plan, "1.1")
    plans.save_node(
        db,
        plan.plan.id,
        task.id,
        kind="task",
        code="1.1",
        title="Tuyên truyền trên báo Điện Biên Phủ",
        parent_id=task.parent_id,
    )
    renamed = find_node(plans.get_tree(db, plan.plan.id), "1.1")
    assert (renamed.uuid, renamed.title) == (task.uuid, "Tuyên truyền trên báo Điện Biên Phủ")


def test_deleting_a_task_used_by_an_activity_is_refused(db, plan):
    log_activity(db, plan, "2.1")
    for code in ("2.1", "2"):  # the task itself, and its objective
        with pytest.raises(UserError):
            plans.delete_node(db, find_node(plan, code).id)
    tree = plans.get_tree(db, plan.plan.id)
    assert find_node(tree, "2.1") and find_node(tree, "2")


def test_deleting_an_unused_objective_removes_its_tasks(db, plan):
    objective = plans.save_node(
        db, plan.plan.id, None, kind="objective", code="5", title="Mục tiêu thử"
    )
    plans.save_node(
        db,
        plan.plan.id,
        None,
        kind="task",
        code="5.1",
        title="Nhiệm vụ thử",
        parent_id=objective.id,
    )

    plans.delete_node(db, objective.id)

    tree = plans.get_tree(db, plan.plan.id)
    codes = {n.code for o in tree.objectives for n in (o, *o.children)}
    assert "5" not in codes and "5.1" not in codes
    assert summary(tree) == summary(plan)


def test_a_new_plan_copied_from_another_has_the_same_structure_and_new_uuids(db, plan):
    copy = plans.create_plan(
        db,
        PlanFields(
            code="  120/KH-UBND ", title="Kế hoạch năm 2026", start_year=2026, end_year=2026
        ),
        copy_from=plan.plan.id,
    )
    tree = plans.get_tree(db, copy.id)

    assert copy.code == "120/KH-UBND" and not copy.is_default
    assert plans.default_plan(db).id == plan.plan.id
    assert without_uuids(summary(tree))["objectives"] == without_uuids(summary(plan))["objectives"]
    assert without_uuids(summary(tree))["indicators"] == without_uuids(summary(plan))["indicators"]
    assert summary(tree)["forms"] == summary(plan)["forms"]
    old_uuids = {n.uuid for o in plan.objectives for n in (o, *o.children)}
    new_uuids = {n.uuid for o in tree.objectives for n in (o, *o.children)}
    assert old_uuids.isdisjoint(new_uuids)
    assert {f.id for f in tree.forms}.isdisjoint({f.id for f in plan.forms})


def test_a_new_plan_without_copy_starts_empty(db):
    empty = plans.create_plan(
        db, PlanFields(code="7/KH-SGD", title="Kế hoạch riêng", start_year=2025, end_year=2027)
    )
    tree = plans.get_tree(db, empty.id)
    assert (tree.forms, tree.programmes, tree.objectives, tree.indicators) == ([], [], [], [])


@pytest.mark.sqlite_only
def test_plan_fields_are_checked(db):
    with pytest.raises(ValidationFailed) as caught:
        plans.create_plan(
            db, PlanFields(code="", title="", start_year=2030, end_year=2022, cutoff="weekly")
        )
    assert {e.field for e in caught.value.errors} == {"code", "title", "years", "cutoff"}
    assert count_plans(db) == 1


def test_set_default_plan_moves_the_default(db, plan):
    other = plans.create_plan(
        db, PlanFields(code="8/KH", title="Kế hoạch 8", start_year=2026, end_year=2026)
    )
    plans.set_default_plan(db, other.id)
    assert plans.default_plan(db).id == other.id
    assert [p.is_default for p in plans.list_plans(db)] == [True, False]


def test_indicator_targets_are_checked(db, plan):
    with pytest.raises(ValidationFailed) as caught:
        plans.save_indicator(
            db,
            plan.plan.id,
            None,
            code="",
            name="Tỷ lệ",
            unit="%",
            baseline=-1,
            baseline_year=None,
            node_id=None,
            targets={1999: 10},
        )
    assert {e.field for e in caught.value.errors} == {"code", "targets"}


def test_editing_an_indicators_targets_changes_them_year_by_year(db, plan):
    # given an indicator with targets for 2025 and 2030
    ind = next(i for i in plan.indicators if {2025, 2030} <= set(i.targets))

    # when 2025 is changed, 2030 dropped and 2028 added
    plans.save_indicator(
        db, plan.plan.id, ind.id, code=ind.code, name=ind.name, unit=ind.unit,
        baseline=ind.baseline, baseline_year=ind.baseline_year, node_id=ind.node_id,
        targets={2025: 55.0, 2028: 60.0},
    )  # fmt: skip

    saved = next(i for i in plans.get_tree(db, plan.plan.id).indicators if i.id == ind.id)
    assert saved.targets == {2025: 55.0, 2028: 60.0}
    assert saved.uuid == ind.uuid
