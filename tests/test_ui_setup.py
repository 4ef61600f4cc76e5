"""First-run setup, settings and the interface language, driven like a person."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from dbcomm import i18n
from dbcomm.domain.models import ActivityFilter, OfficeIdentity
from dbcomm.i18n import _, format_number
from dbcomm.services import activities, plans, settings
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.settings_dialog import SettingsDialog
from dbcomm.ui.setup_wizard import SetupWizard
from ui_helpers import (
    FakeInteraction,
    choose,
    click,
    click_check,
    install_fake,
    replace_text,
    type_text,
)

OFFICE = OfficeIdentity(
    name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên", kind="commune",
    place_name="Mường Phăng", symbol="UBND",
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeInteraction:
    return install_fake(monkeypatch)


@pytest.fixture
def wizard(qtbot, db, fake) -> SetupWizard:  # type: ignore[no-untyped-def]
    w = SetupWizard(db)
    qtbot.addWidget(w)
    w.show()
    return w


def press(qtbot, wizard: QWizard, which: QWizard.WizardButton) -> None:  # type: ignore[no-untyped-def]
    click(qtbot, wizard.button(which))


ADMIN_PASSWORD = "quantri-2026"


def to_office_page(qtbot, wizard: SetupWizard) -> None:  # type: ignore[no-untyped-def]
    """From the welcome page, through the administrator's account, to the office page."""
    press(qtbot, wizard, QWizard.WizardButton.NextButton)
    if wizard.admin_page is not None:
        page = wizard.admin_page
        assert wizard.currentPage() is page
        qtbot.keyClicks(page.username_edit, "quantri")
        type_text(page.full_name_edit, "Nguyễn Văn Quản")
        qtbot.keyClicks(page.password_edit, ADMIN_PASSWORD)
        qtbot.keyClicks(page.repeat_edit, ADMIN_PASSWORD)
        press(qtbot, wizard, QWizard.WizardButton.NextButton)
    assert wizard.currentPage() is wizard.office_page


# --- first-run setup -----------------------------------------------------------------------


def test_a_missing_symbol_keeps_the_office_page_open_with_a_message(qtbot, db, wizard):  # type: ignore[no-untyped-def]
    to_office_page(qtbot, wizard)
    form = wizard.office_page.form
    type_text(form.name_edit, OFFICE.name)
    type_text(form.parent_edit, OFFICE.parent_agency)
    type_text(form.place_edit, OFFICE.place_name)

    press(qtbot, wizard, QWizard.WizardButton.NextButton)

    assert wizard.currentPage() is wizard.office_page
    assert form.errors["symbol"].isVisible()
    assert form.errors["symbol"].text() == _("Enter the document-symbol abbreviation, e.g. UBND.")
    assert not form.errors["name"].isVisible()
    assert settings.get_office(db).name == ""  # nothing half-saved
    assert not settings.is_setup_done(db)


def test_completing_the_setup_with_the_demo_register_saves_everything(qtbot, db, wizard):  # type: ignore[no-untyped-def]
    to_office_page(qtbot, wizard)
    form = wizard.office_page.form
    type_text(form.name_edit, OFFICE.name)
    type_text(form.parent_edit, OFFICE.parent_agency)
    choose(form.kind_combo, "commune")
    type_text(form.place_edit, OFFICE.place_name)
    qtbot.keyClicks(form.symbol_edit, "ubnd")  # lower case: stored as UBND

    press(qtbot, wizard, QWizard.WizardButton.NextButton)
    assert wizard.currentPage() is wizard.signer_page
    signer = wizard.signer_page.form
    assert "CHỦ TỊCH" in signer.signer_title_edit.toPlainText()  # suggested for a commune
    type_text(signer.signer_name_edit, "Lò Văn Đức")

    press(qtbot, wizard, QWizard.WizardButton.NextButton)
    assert wizard.currentPage() is wizard.finish_page
    click_check(qtbot, wizard.finish_page.demo_check)
    press(qtbot, wizard, QWizard.WizardButton.FinishButton)

    assert not wizard.isVisible()
    office = settings.get_office(db)
    assert (office.name, office.parent_agency, office.kind, office.place_name, office.symbol) == (
        OFFICE.name, OFFICE.parent_agency, "commune", OFFICE.place_name, "UBND")
    assert office.signer_name == "Lò Văn Đức"
    assert "CHỦ TỊCH" in office.signer_title
    assert settings.is_setup_done(db)
    assert settings.get_language(db) == "vi"
    plan_id = plans.default_plan(db).id
    assert activities.totals(db, ActivityFilter(plan_id=plan_id)).count > 0


def test_setup_without_the_demo_leaves_the_register_empty(qtbot, db, wizard):  # type: ignore[no-untyped-def]
    to_office_page(qtbot, wizard)
    form = wizard.office_page.form
    type_text(form.name_edit, OFFICE.name)
    type_text(form.parent_edit, OFFICE.parent_agency)
    type_text(form.place_edit, OFFICE.place_name)
    type_text(form.symbol_edit, "UBND")
    press(qtbot, wizard, QWizard.WizardButton.NextButton)
    press(qtbot, wizard, QWizard.WizardButton.NextButton)

    press(qtbot, wizard, QWizard.WizardButton.FinishButton)

    assert settings.is_setup_done(db)
    assert activities.totals(db, ActivityFilter(plan_id=plans.default_plan(db).id)).count == 0


def test_the_wizard_offers_no_second_demo_register_over_existing_activities(qtbot, demo_db, fake):  # type: ignore[no-untyped-def]
    before = activities.totals(demo_db, ActivityFilter()).count
    w = SetupWizard(demo_db)
    qtbot.addWidget(w)
    w.show()
    to_office_page(qtbot, w)
    form = w.office_page.form
    type_text(form.name_edit, OFFICE.name)
    type_text(form.parent_edit, OFFICE.parent_agency)
    type_text(form.place_edit, OFFICE.place_name)
    type_text(form.symbol_edit, "UBND")
    press(qtbot, w, QWizard.WizardButton.NextButton)
    press(qtbot, w, QWizard.WizardButton.NextButton)

    assert w.currentPage() is w.finish_page
    assert not w.finish_page.demo_check.isEnabled()
    assert format_number(before) in w.finish_page.demo_check.text()
    press(qtbot, w, QWizard.WizardButton.FinishButton)

    assert settings.is_setup_done(demo_db)
    assert activities.totals(demo_db, ActivityFilter()).count == before


def test_choosing_english_in_the_wizard_is_remembered(qtbot, db, wizard):  # type: ignore[no-untyped-def]
    choose(wizard.language_combo, "en")
    to_office_page(qtbot, wizard)
    form = wizard.office_page.form
    type_text(form.name_edit, OFFICE.name)
    type_text(form.parent_edit, OFFICE.parent_agency)
    type_text(form.place_edit, OFFICE.place_name)
    type_text(form.symbol_edit, "UBND")
    press(qtbot, wizard, QWizard.WizardButton.NextButton)
    press(qtbot, wizard, QWizard.WizardButton.NextButton)
    press(qtbot, wizard, QWizard.WizardButton.FinishButton)

    assert wizard.chosen_language == "en"
    assert settings.get_language(db) == "en"


# --- settings ------------------------------------------------------------------------------


@pytest.fixture
def set_up(db):  # type: ignore[no-untyped-def]
    settings.save_office(db, OFFICE)
    settings.mark_setup_done(db)
    return db


def test_switching_the_language_to_english_in_settings_is_saved(qtbot, set_up, fake):  # type: ignore[no-untyped-def]
    db = set_up
    d = SettingsDialog(db)
    qtbot.addWidget(d)
    d.show()
    assert d.form.name_edit.text() == OFFICE.name  # the stored office is shown

    choose(d.language_combo, "en")
    click(qtbot, d.save_button)

    assert not d.isVisible()
    assert d.language_changed
    assert settings.get_language(db) == "en"


def test_settings_refuse_an_empty_office_name_and_keep_the_language(qtbot, set_up, fake):  # type: ignore[no-untyped-def]
    db = set_up
    d = SettingsDialog(db)
    qtbot.addWidget(d)
    d.show()
    d.form.name_edit.clear()
    choose(d.language_combo, "en")

    click(qtbot, d.save_button)

    assert d.isVisible()
    assert d.form.errors["name"].isVisible()
    assert settings.get_office(db).name == OFFICE.name
    assert settings.get_language(db) is None


def test_changing_the_office_name_in_settings_updates_the_window_title(qtbot, set_up, fake, monkeypatch):  # type: ignore[no-untyped-def]
    db = set_up
    window = MainWindow(db)
    qtbot.addWidget(window)
    window.show()
    assert OFFICE.name in window.windowTitle()

    def fill(d: SettingsDialog) -> int:
        d.show()
        replace_text(qtbot, d.form.name_edit, "UBND xã Nà Tấu")
        click(qtbot, d.save_button)
        return d.result()

    monkeypatch.setattr(SettingsDialog, "exec", fill)
    window.open_settings()

    assert "UBND xã Nà Tấu" in window.windowTitle()
    assert settings.get_office(db).name == "UBND xã Nà Tấu"


# --- the interface language ------------------------------------------------------------------


def test_the_main_window_in_english_shows_english_names(qtbot, set_up, fake):  # type: ignore[no-untyped-def]
    i18n.set_language("en")
    window = MainWindow(set_up)
    qtbot.addWidget(window)
    window.show()

    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["Register", "Reports", "Received reports", "Coverage", "Plan", "Directory", "Periods",
                    "Audit trail"]
    menus = [a.text() for a in window.menuBar().actions()]
    assert (menus[0], menus[-1]) == ("&File", "&Help")
    assert "&Administration" in menus  # no account yet: the set-up runs with every right
    assert window.register is not None
    assert window.register.search_edit.placeholderText() == "Search (diacritics not needed)…"
    model = window.register.model
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(3)] == ["Date", "Form", "Kind"]


def test_the_main_window_in_vietnamese_translates_the_tabs(qtbot, set_up, fake):  # type: ignore[no-untyped-def]
    window = MainWindow(set_up)
    qtbot.addWidget(window)
    window.show()

    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == [_("Register"), _("Reports"), _("Received reports"), _("Coverage"), _("Plan"), _("Directory"),
                    _("Periods"), _("Audit trail")]
    assert "Register" not in tabs  # the Vietnamese catalogue is in use
