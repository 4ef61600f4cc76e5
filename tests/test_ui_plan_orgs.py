"""The plan and directory tabs, driven like a person: small dialogs, deleting, plan files."""

from __future__ import annotations

import json
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTreeWidget, QTreeWidgetItem

from dbcomm.domain.models import ActivityInput
from dbcomm.i18n import _
from dbcomm.services import activities, orgs, plans
from dbcomm.ui.activity_dialog import ActivityDialog
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.orgs_view import OrgDialog, OrgsView
from dbcomm.ui.plan_view import NodeDialog, PlanView
from ui_helpers import (
    FakeInteraction,
    click,
    click_row,
    drive_modal,
    install_fake,
    replace_text,
    type_text,
)

OBJECTIVE = "Đưa văn hóa đọc đến với đồng bào vùng cao"
TASK = "Tổ chức Ngày hội đọc sách tại các điểm trường bản"
COMMUNE = "Xã Mường Phăng"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def plan_view(qtbot, db, plan, fake) -> PlanView:  # type: ignore[no-untyped-def]
    v = PlanView(db, plan.plan.id)
    qtbot.addWidget(v)
    v.resize(1000, 900)
    v.show()
    return v


def button(widget, name: str) -> QPushButton:  # type: ignore[no-untyped-def]
    b = widget.findChild(QPushButton, name)
    assert b is not None, name
    return b


def find_item(tree: QTreeWidget, text: str) -> QTreeWidgetItem | None:
    found = tree.findItems(text, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive, 0)
    return found[0] if found else None


def click_item(qtbot, tree: QTreeWidget, item: QTreeWidgetItem) -> None:  # type: ignore[no-untyped-def]
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    assert tree.currentItem() is item


def save_node_as(qtbot, title: str):  # type: ignore[no-untyped-def]
    def fill(d: NodeDialog) -> None:
        type_text(d.title_edit, title)
        click(qtbot, d.ok_button)

    return fill


# --- objectives and tasks ----------------------------------------------------------------


def test_an_objective_and_its_task_added_through_the_dialogs_appear_in_the_tree(qtbot, db, plan, plan_view, monkeypatch):  # type: ignore[no-untyped-def]
    opened = drive_modal(monkeypatch, NodeDialog, save_node_as(qtbot, OBJECTIVE))
    code = str(len(plan.objectives) + 1)  # the dialog proposes the next number

    click(qtbot, button(plan_view, "add_objective"))

    assert len(opened) == 1 and opened[0].result() == NodeDialog.DialogCode.Accepted
    objective_item = find_item(plan_view.tree_widget, f"{code}. {OBJECTIVE}")
    assert objective_item is not None

    click_item(qtbot, plan_view.tree_widget, objective_item)
    drive_modal(monkeypatch, NodeDialog, save_node_as(qtbot, TASK))
    click(qtbot, button(plan_view, "add_task"))

    objective_item = find_item(plan_view.tree_widget, f"{code}. {OBJECTIVE}")
    assert objective_item is not None
    assert [objective_item.child(i).text(0) for i in range(objective_item.childCount())] == [f"{code}.1. {TASK}"]
    stored = next(o for o in plans.get_tree(db, plan.plan.id).objectives if o.code == code)
    assert stored.title == OBJECTIVE
    assert [(t.code, t.title) for t in stored.children] == [(f"{code}.1", TASK)]


def test_the_objective_dialog_refuses_an_empty_title_and_a_number_in_use(qtbot, db, plan, plan_view, monkeypatch):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def fill(d: NodeDialog) -> None:
        click(qtbot, d.ok_button)  # nothing typed
        seen.append(d.error.text() if d.error.isVisible() else "")
        replace_text(qtbot, d.code_edit, plan.objectives[0].code)  # already used
        type_text(d.title_edit, OBJECTIVE)
        click(qtbot, d.ok_button)
        seen.append(d.error.text() if d.error.isVisible() else "")
        assert d.isVisible()  # still open: the person cancels

    opened = drive_modal(monkeypatch, NodeDialog, fill)
    click(qtbot, button(plan_view, "add_objective"))

    assert opened[0].result() == NodeDialog.DialogCode.Rejected
    assert _("Enter a title.") in seen[0]
    assert plan.objectives[0].code in seen[1]
    titles = [o.title for o in plans.get_tree(db, plan.plan.id).objectives]
    assert OBJECTIVE not in titles
    assert len(titles) == len(plan.objectives)


def test_deleting_an_objective_used_by_an_activity_is_refused_and_it_stays(qtbot, db, plan, plan_view, fake):  # type: ignore[no-untyped-def]
    objective = plan.objectives[0]
    activities.create(db, ActivityInput(
        plan_id=plan.plan.id, date_start=date(2025, 4, 21), form_id=plan.forms[0].id,
        title="Bài viết về Ngày Sách và Văn hóa đọc", subtype="press", node_ids=[objective.children[0].id]))
    item = find_item(plan_view.tree_widget, f"{objective.code}. {objective.title}")
    assert item is not None
    click_item(qtbot, plan_view.tree_widget, item)
    fake.confirm_answers = [True]

    click(qtbot, button(plan_view, "delete_item"))

    (error,) = fake.of_kind("error")
    assert error.title == _("Delete") and error.text
    assert find_item(plan_view.tree_widget, f"{objective.code}. {objective.title}") is not None
    assert objective.id in [o.id for o in plans.get_tree(db, plan.plan.id).objectives]


def test_deleting_an_unused_objective_removes_it_from_the_tree(qtbot, db, plan, plan_view, fake):  # type: ignore[no-untyped-def]
    node = plans.save_node(db, plan.plan.id, None, kind="objective", code="9", title=OBJECTIVE)
    plan_view.reload()
    item = find_item(plan_view.tree_widget, f"9. {OBJECTIVE}")
    assert item is not None
    click_item(qtbot, plan_view.tree_widget, item)
    fake.confirm_answers = [True]

    with qtbot.waitSignal(plan_view.changed, timeout=1000):
        click(qtbot, button(plan_view, "delete_item"))

    assert fake.of_kind("error") == []
    assert find_item(plan_view.tree_widget, f"9. {OBJECTIVE}") is None
    assert node.id not in [o.id for o in plans.get_tree(db, plan.plan.id).objectives]


# --- plan files ---------------------------------------------------------------------------


def test_an_exported_plan_file_edited_and_imported_updates_the_plan(qtbot, db, plan, plan_view, fake, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "kế hoạch 386.json"
    fake.save_file_result = path

    click(qtbot, button(plan_view, "export_plan"))

    assert path.is_file()
    assert [a.kind for a in fake.asked] == ["save_file", "info"]
    data = json.loads(path.read_text("utf-8"))
    assert data["plan"]["code"] == plan.plan.code
    data["plan"]["title"] = "Kế hoạch truyền thông xây dựng xã hội học tập (sửa đổi)"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    fake.open_file_result = path

    click(qtbot, button(plan_view, "import_plan"))

    assert fake.of_kind("error") == []
    assert fake.asked[-1].kind == "info" and plan.plan.code in fake.asked[-1].text
    assert "Kế hoạch truyền thông xây dựng xã hội học tập (sửa đổi)" in plan_view.header.text()
    assert plans.get_plan(db, plan.plan.id).title == "Kế hoạch truyền thông xây dựng xã hội học tập (sửa đổi)"
    assert len(plans.list_plans(db)) == 1  # updated, not added


def test_a_broken_plan_file_is_refused_with_a_message(qtbot, db, plan, plan_view, fake, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "hỏng.json"
    path.write_text('{"format": "dbcomm-plan", "plan": ', "utf-8")
    fake.open_file_result = path

    click(qtbot, button(plan_view, "import_plan"))

    (error,) = fake.of_kind("error")
    assert error.text
    assert [p.id for p in plans.list_plans(db)] == [plan.plan.id]


# --- the directory --------------------------------------------------------------------------


@pytest.fixture
def orgs_view(qtbot, db, fake) -> OrgsView:  # type: ignore[no-untyped-def]
    v = OrgsView(db)
    qtbot.addWidget(v)
    v.resize(1000, 700)
    v.show()
    return v


def table_names(view: OrgsView) -> list[str]:
    return [view.table.item(r, 1).text() for r in range(view.table.rowCount())]


def add_commune_as(qtbot, name: str):  # type: ignore[no-untyped-def]
    def fill(d: OrgDialog) -> None:
        type_text(d.name_edit, name)
        assert d.area_check.isChecked()  # a new unit is in the office's area unless unticked
        click(qtbot, d.ok_button)

    return fill


def test_a_commune_added_in_the_directory_is_offered_as_an_activity_place(qtbot, db, plan, orgs_view, monkeypatch):  # type: ignore[no-untyped-def]
    drive_modal(monkeypatch, OrgDialog, add_commune_as(qtbot, COMMUNE))

    with qtbot.waitSignal(orgs_view.changed, timeout=1000):
        click(qtbot, button(orgs_view, "add"))

    assert COMMUNE in table_names(orgs_view)
    (stored,) = [o for o in orgs.list_orgs(db) if o.name == COMMUNE]
    assert stored.in_area and stored.kind == "commune"

    d = ActivityDialog(db, plan)
    qtbot.addWidget(d)
    offered = {d.place_combo.itemText(i): d.place_combo.itemData(i) for i in range(d.place_combo.count())}
    assert offered.get(COMMUNE) == stored.id


def test_searching_the_directory_without_diacritics(qtbot, db, orgs_view):  # type: ignore[no-untyped-def]
    orgs.save_org(db, None, orgs.OrgFields(name=COMMUNE, kind="commune", in_area=True))
    orgs.save_org(db, None, orgs.OrgFields(name="Xã Nà Tấu", kind="commune", in_area=True))
    orgs_view.reload()

    qtbot.keyClicks(orgs_view.search_edit, "muong phang")

    assert table_names(orgs_view) == [COMMUNE]


def test_deleting_a_place_where_activities_happened_is_refused(qtbot, db, plan, orgs_view, fake):  # type: ignore[no-untyped-def]
    place = orgs.save_org(db, None, orgs.OrgFields(name=COMMUNE, kind="commune", in_area=True))
    activities.create(db, ActivityInput(
        plan_id=plan.plan.id, date_start=date(2025, 10, 2), form_id=plan.forms[2].id,
        title="Phát thanh về Ngày Khuyến học", subtype="loudspeaker", place_id=place.id))
    orgs_view.reload()
    click_row(qtbot, orgs_view.table, table_names(orgs_view).index(COMMUNE), 1)
    fake.confirm_answers = [True]

    click(qtbot, button(orgs_view, "delete"))

    (error,) = fake.of_kind("error")
    assert COMMUNE in error.text
    assert COMMUNE in table_names(orgs_view)
    assert place.id in [o.id for o in orgs.list_orgs(db)]


def test_deleting_an_unused_commune_removes_it(qtbot, db, orgs_view, fake):  # type: ignore[no-untyped-def]
    orgs.save_org(db, None, orgs.OrgFields(name=COMMUNE, kind="commune", in_area=True))
    orgs_view.reload()
    click_row(qtbot, orgs_view.table, table_names(orgs_view).index(COMMUNE), 1)
    fake.confirm_answers = [True]

    click(qtbot, button(orgs_view, "delete"))

    assert fake.of_kind("error") == []
    assert COMMUNE not in table_names(orgs_view)
    assert COMMUNE not in [o.name for o in orgs.list_orgs(db)]


def test_a_commune_added_in_the_directory_tab_reaches_the_register_filter(qtbot, db, fake, monkeypatch):  # type: ignore[no-untyped-def]
    window = MainWindow(db)
    qtbot.addWidget(window)
    window.show()
    assert window.register is not None
    assert window.register.place_combo.findText(COMMUNE) < 0
    drive_modal(monkeypatch, OrgDialog, add_commune_as(qtbot, COMMUNE))

    click(qtbot, button(window.orgs_view, "add"))

    assert window.register.place_combo.findText(COMMUNE) >= 0


def test_a_data_entry_clerk_sees_the_plan_and_directory_but_cannot_edit_them(qtbot, db):  # type: ignore[no-untyped-def]
    # given an office with an administrator and a data-entry clerk, the clerk logged in
    from PySide6.QtWidgets import QPushButton

    from dbcomm.domain.roles import Role
    from dbcomm.services import auth, plans
    from dbcomm.ui.orgs_view import OrgsView
    from dbcomm.ui.plan_view import PlanView

    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, "quantri-2026")
    auth.authenticate(db, "quantri", "quantri-2026")
    auth.create_user(db, "lan", "Lò Thị Lan", Role.ENTRY, "nhaplieu-2026")
    auth.logout(db)
    auth.authenticate(db, "lan", "nhaplieu-2026")

    # when the clerk opens the plan and the directory
    plan_view = PlanView(db, plans.default_plan(db).id)
    orgs_view = OrgsView(db)
    qtbot.addWidget(plan_view)
    qtbot.addWidget(orgs_view)

    # then editing buttons are off, exporting stays on, and the tree is shown
    def enabled(w, name: str) -> bool:  # type: ignore[no-untyped-def]
        return w.findChild(QPushButton, name).isEnabled()

    assert not enabled(plan_view, "add_objective") and not enabled(plan_view, "import_plan")
    assert enabled(plan_view, "export_plan")
    assert not enabled(orgs_view, "add") and not enabled(orgs_view, "import")
    assert plan_view.tree_widget.topLevelItemCount() == 4
