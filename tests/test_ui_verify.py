"""File → Verify a signed PDF: dropping or choosing a file, the verdict a person reads, the
signatures table, and the trust list behind "Trusted authorities…"."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from dbcomm.i18n import _, format_datetime
from dbcomm.services import audit, signing, trust
from dbcomm.ui.main_window import MainWindow
from dbcomm.ui.verify_dialog import COLOURS, COLUMNS, TrustDialog, VerifyDialog
from test_trust import Samples, make_samples
from ui_helpers import click, drive_modal, install_fake

SIGNED_BY, SIGNED_AT, RESULT, ISSUER, VALIDITY, TRUSTED, CHANGED = range(7)


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> Samples:
    return make_samples(tmp_path_factory.mktemp("verify-ui"))


@pytest.fixture
def fake(monkeypatch):
    return install_fake(monkeypatch)


def drop_file(target: QWidget, path: Path) -> tuple[bool, bool]:
    """Drag ``path`` from a file manager over ``target`` and release it there.

    Returns whether the drag was welcomed and whether the drop was taken."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = target.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False, False
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return True, drop.isAccepted()


def wait_for_result(qtbot, dialog: VerifyDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: dialog.verdict not in ("checking", "none"), timeout=30_000)


def icon_colour(dialog: VerifyDialog) -> str:
    """The colour of the verdict's round icon, left of its sign."""
    image = dialog.icon_label.pixmap().toImage()
    return QColor(image.pixelColor(QPoint(6, image.height() // 2))).name()


def table_rows(dialog: VerifyDialog) -> list[list[str]]:
    return [[dialog.cell(r, c) for c in range(len(COLUMNS))] for r in range(dialog.table.rowCount())]


def open_dialog(qtbot, db, path: Path | None = None) -> VerifyDialog:  # type: ignore[no-untyped-def]
    dialog = VerifyDialog(db, None, path)
    qtbot.addWidget(dialog)
    dialog.show()
    if path is not None:
        wait_for_result(qtbot, dialog)
    return dialog


def import_in_trust_dialog(monkeypatch, fake, *files: Path, tab: int = 0) -> list[TrustDialog]:  # type: ignore[no-untyped-def]
    """Script the trust dialog: on ``tab``, import each file with Import…, then close."""

    def fill(d: TrustDialog) -> None:
        d.tabs.setCurrentIndex(tab)
        for path in files:
            fake.open_file_result = path
            (d.import_root_button if tab == 0 else d.import_crl_button).click()
        d.reject()

    return drive_modal(monkeypatch, TrustDialog, fill)  # type: ignore[arg-type]


# --- opening a file ------------------------------------------------------------------------

def test_a_pdf_dropped_on_the_main_window_opens_the_check(qtbot, db, fake, samples):
    w = MainWindow(db)
    qtbot.addWidget(w)
    w.show()
    assert drop_file(w, samples.not_pdf) == (False, False)  # only PDFs open the check from here
    assert w.verify_dialog is None
    assert drop_file(w, samples.signed) == (True, True)
    dialog = w.verify_dialog
    assert dialog is not None and dialog.isVisible()
    wait_for_result(qtbot, dialog)
    assert dialog.file_label.text() == "bao-cao-da-ky.pdf"
    # Nothing is trusted yet: intact, but amber, with the advice to import the root.
    assert dialog.verdict == "untrusted"
    assert dialog.verdict_label.text() == signing.Verification([], "untrusted").message()
    assert icon_colour(dialog) == COLOURS["untrusted"][0]
    [row] = table_rows(dialog)
    assert row[SIGNED_BY] == "Lò Văn Thắng"
    assert row[RESULT] == _("Not trusted")
    assert row[ISSUER] == "Test Intermediate CA"
    assert row[TRUSTED] == _("No")
    assert row[CHANGED] == _("None")
    result = trust.verify_file(db, samples.signed)
    assert row[SIGNED_AT] == format_datetime(result.signatures[0].signing_time)
    assert "/" in row[VALIDITY] and " – " in row[VALIDITY]  # dd/mm/yyyy – dd/mm/yyyy
    assert "Lò Văn Thắng" in dialog.details.toPlainText()
    assert fake.asked == []  # no message box: everything is in the dialog


def test_the_menu_entry_and_the_file_chooser(qtbot, db, fake, samples):
    w = MainWindow(db)
    qtbot.addWidget(w)
    file_menu = w.menuBar().actions()[0].menu()
    entry = next(a for a in file_menu.actions() if a.text() == _("Verify a signed PDF…"))
    entry.trigger()
    dialog = w.verify_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.verdict == "none" and dialog.table.rowCount() == 0
    fake.open_file_result = None  # the person cancels the chooser: nothing happens
    qtbot.keyClick(dialog.choose_button, Qt.Key.Key_Space)  # the keyboard reaches it
    assert [a.kind for a in fake.asked] == ["open_file"] and dialog.verdict == "none"
    fake.open_file_result = samples.unsigned
    click(qtbot, dialog.choose_button)
    wait_for_result(qtbot, dialog)
    assert dialog.verdict == "unsigned"
    assert dialog.verdict_label.text() == signing.Verification([], "unsigned").message()
    assert icon_colour(dialog) == COLOURS["unsigned"][0]
    assert dialog.table.rowCount() == 0
    entry.trigger()  # the same dialog comes forward
    assert w.verify_dialog is dialog


# --- the trust list changes the verdict ----------------------------------------------------

def test_importing_the_root_in_the_trust_dialog_makes_the_signature_valid(qtbot, db, fake, samples,
                                                                         monkeypatch):
    dialog = open_dialog(qtbot, db, samples.signed)
    assert dialog.verdict == "untrusted"
    opened = import_in_trust_dialog(monkeypatch, fake, samples.root_der)
    click(qtbot, dialog.trust_button)
    assert len(opened) == 1
    trust_dialog = opened[0]
    assert trust_dialog.root_table.rowCount() == 1
    assert trust_dialog.root_table.item(0, 0).text() == "Test Root CA Điện Biên"
    wait_for_result(qtbot, dialog)  # checked again by itself
    assert dialog.verdict == "valid"
    assert dialog.verdict_label.text() == trust.verify_file(db, samples.signed).message()
    assert icon_colour(dialog) == COLOURS["valid"][0]
    [row] = table_rows(dialog)
    assert (row[RESULT], row[TRUSTED]) == (_("Valid"), _("Yes"))
    assert any("Test Root CA Điện Biên" in e.summary for e in audit.entries(db))


def test_a_refused_certificate_shows_why_and_adds_nothing(qtbot, db, fake, samples, monkeypatch):
    opened = import_in_trust_dialog(monkeypatch, fake, samples.leaf_pem, samples.expired_root)
    dialog = open_dialog(qtbot, db)
    click(qtbot, dialog.trust_button)
    errors = fake.of_kind("error")
    assert len(errors) == 2
    assert "Lò Văn Thắng" in errors[0].text and "Test Intermediate CA" in errors[0].text
    assert "CA cũ đã hết hạn" in errors[1].text
    assert opened[0].root_table.rowCount() == 0 and trust.list_roots(db) == []
    assert dialog.verdict == "none"  # no file yet: nothing to check again


def test_removing_the_root_asks_first_and_the_check_runs_again(qtbot, db, fake, samples, monkeypatch):
    trust.import_roots(db, samples.root_pem)
    dialog = open_dialog(qtbot, db, samples.signed)
    assert dialog.verdict == "valid"
    fake.confirm_answers = [False, True]

    def fill(d: TrustDialog) -> None:
        d.root_table.selectRow(0)
        d.remove_root_button.click()  # "No": still there
        assert d.root_table.rowCount() == 1
        d.remove_root_button.click()
        assert d.root_table.rowCount() == 0
        d.reject()

    drive_modal(monkeypatch, TrustDialog, fill)
    click(qtbot, dialog.trust_button)
    assert "Test Root CA Điện Biên" in fake.of_kind("confirm")[0].text
    wait_for_result(qtbot, dialog)
    assert dialog.verdict == "untrusted"


def test_a_revoked_signer_is_red_once_the_crl_is_imported(qtbot, db, fake, samples, monkeypatch):
    trust.import_roots(db, samples.root_pem)
    dialog = open_dialog(qtbot, db, samples.signed_by_revoked)
    assert dialog.verdict == "valid"  # no revocation list yet: the check cannot know
    opened = import_in_trust_dialog(monkeypatch, fake, samples.crl, tab=1)
    click(qtbot, dialog.trust_button)
    crls = opened[0].crl_table
    assert crls.item(0, 0).text() == "Test Intermediate CA"
    assert crls.item(0, 4).text() == _("Its authority is not in the list")  # kept, but flagged
    wait_for_result(qtbot, dialog)
    assert dialog.verdict == "invalid"
    assert icon_colour(dialog) == COLOURS["invalid"][0]
    [row] = table_rows(dialog)
    assert row[SIGNED_BY] == "Chứng thư bị thu hồi" and row[RESULT] == _("Invalid")
    assert row[TRUSTED] == _("No: revoked")
    details = dialog.details.toPlainText()
    assert f"{_('Revoked')} {_('Yes')}" in " ".join(details.split())


# --- damaged and wrong files ---------------------------------------------------------------

def test_one_flipped_byte_gives_the_red_verdict(qtbot, db, fake, samples, tmp_path):
    trust.import_roots(db, samples.root_pem)
    data = bytearray(samples.signed.read_bytes())
    data[2000] ^= 0x01  # inside the signed content
    changed = tmp_path / "bao-cao-bi-sua.pdf"
    changed.write_bytes(bytes(data))
    dialog = open_dialog(qtbot, db, samples.signed)
    assert dialog.verdict == "valid"
    assert drop_file(dialog, changed) == (True, True)
    wait_for_result(qtbot, dialog)
    assert dialog.verdict in ("invalid", "modified")
    assert dialog.verdict_label.text() == trust.verify_file(db, changed).message()
    assert icon_colour(dialog) == COLOURS["invalid"][0]
    assert [r[RESULT] for r in table_rows(dialog)] != [_("Valid")]


def test_a_file_that_is_not_a_pdf_gives_a_clear_message(qtbot, db, fake, samples):
    dialog = open_dialog(qtbot, db)
    assert drop_file(dialog, samples.not_pdf) == (True, True)  # any file may be dropped here
    wait_for_result(qtbot, dialog)
    assert dialog.verdict == "error"
    assert dialog.verdict_label.text() == _("This is not a PDF file.")
    assert icon_colour(dialog) == COLOURS["error"][0]
    assert dialog.table.rowCount() == 0
    assert fake.asked == []
    dialog.open_file(samples.unsigned.with_name("khong-con-nua.pdf"))
    wait_for_result(qtbot, dialog)
    assert dialog.verdict == "error" and "khong-con-nua.pdf" in dialog.verdict_label.text()
