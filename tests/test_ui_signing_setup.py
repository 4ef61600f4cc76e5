"""Signing → Digital signatures: office staff set up the leader's certificate and signature,
the office's certificate and seal, and the timestamp server, by clicking through the dialog."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialog, QLabel, QPushButton

import pki
import signature_images as images
from dbcomm.domain.roles import Role
from dbcomm.errors import UserError
from dbcomm.i18n import _
from dbcomm.services import auth, identities, report_signing
from dbcomm.store.models import SigningIdentity
from dbcomm.ui import signing_setup
from dbcomm.ui.signing_setup import (
    HOLDER,
    IMAGE,
    RED,
    STATUS,
    VALID,
    WHERE,
    AddIdentityDialog,
    ChangeImageDialog,
    SigningSetupDialog,
)
from ui_helpers import (
    FakeInteraction,
    click,
    click_row,
    click_tab,
    drive_modal,
    install_fake,
    replace_text,
    type_text,
)

LEADER = "Lò Văn Thắng"
OFFICE = "UBND xã Mường Phăng"


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory) -> pki.TestPKI:
    return pki.build(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def pngs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    files = {"signature": images.blue_signature(), "seal": images.red_seal(), "opaque": images.opaque_png()}
    out = {}
    for name, data in files.items():
        out[name] = folder / f"{name}.png"
        out[name].write_bytes(data)
    return out


@pytest.fixture
def fake(monkeypatch) -> FakeInteraction:  # type: ignore[no-untyped-def]
    return install_fake(monkeypatch)


@pytest.fixture
def setup(qtbot, db) -> SigningSetupDialog:  # type: ignore[no-untyped-def]
    dialog = SigningSetupDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def button(widget, name: str) -> QPushButton:  # type: ignore[no-untyped-def]
    found = widget.findChild(QPushButton, name)
    assert found is not None, name
    return found


def add_from_file(qtbot, monkeypatch, fake: FakeInteraction, setup: SigningSetupDialog, role: str,  # type: ignore[no-untyped-def]
                  p12: Path, password: str, image: Path | None, diameter: str | None = None) -> AddIdentityDialog:
    """Click "Add from a certificate file…" on the role's tab, then play the person: choose the
    file, type the password, read the certificate, choose the image, click Add."""

    def fill(d: AddIdentityDialog) -> None:
        fake.open_file_result = p12
        click(qtbot, button(d, "choose_file"))
        d.secret.setFocus()
        type_text(d.secret, password)
        click(qtbot, button(d, "read"))
        if image is not None:
            fake.open_file_result = image
            click(qtbot, button(d, "choose_image"))
        if diameter is not None:
            replace_text(qtbot, d.picker.diameter, diameter)
        click(qtbot, button(d, "add"))

    opened = drive_modal(monkeypatch, AddIdentityDialog, fill)  # type: ignore[arg-type]
    click_tab(qtbot, setup.tabs, list(identities.ROLES).index(role))
    click(qtbot, button(setup, f"{role}_add_file"))
    assert len(opened) == 1
    return opened[0]  # type: ignore[return-value]


def errors(fake: FakeInteraction) -> list[str]:
    return [a.text for a in fake.of_kind("error")]


# --- adding from a certificate file --------------------------------------------------------------


def test_adding_the_leaders_certificate_file_with_the_signature_shows_the_holder(
        qtbot, db, db_path, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    dialog = add_from_file(qtbot, monkeypatch, fake, setup, "person", test_pki.leader, pki.PASSWORD,
                           pngs["signature"])

    assert errors(fake) == []
    assert dialog.result() == QDialog.DialogCode.Accepted.value
    rows = setup.rows("person")
    assert len(rows) == 1
    assert rows[0][HOLDER] == LEADER
    assert rows[0][STATUS] == "✓ " + _("Valid")
    assert rows[0][WHERE] == str(test_pki.leader.resolve())
    assert "/" in rows[0][VALID] and " – " in rows[0][VALID]  # dd/mm/yyyy – dd/mm/yyyy
    assert setup.rows("office") == []
    assert LEADER in setup.status.text()

    saved = identities.list_identities(db, "person")
    assert [(i.holder, i.source, i.has_image) for i in saved] == [(LEADER, "file", True)]
    assert identities.image_of(db, saved[0].id) == pngs["signature"].read_bytes()
    assert dialog.secret.text() == ""  # not even kept in the closed dialog

    stored = b"".join(p.read_bytes() for p in (db_path, Path(f"{db_path}-wal")) if p.exists())
    for form in ("NFC", "NFD"):
        secret = unicodedata.normalize(form, pki.PASSWORD)
        assert secret.encode("utf-8") not in stored
        assert secret.encode("utf-16-le") not in stored


def test_the_file_dialog_says_the_password_is_not_stored(qtbot, db, fake, monkeypatch, setup, test_pki):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def fill(d: AddIdentityDialog) -> None:
        hint = d.findChild(QLabel, "secret_hint")
        seen.append(hint.text() if hint is not None else "")

    drive_modal(monkeypatch, AddIdentityDialog, fill)  # type: ignore[arg-type]
    click(qtbot, button(setup, "person_add_file"))
    assert seen == [_(signing_setup.PASSWORD_HINT)]


def test_a_wrong_password_says_so_and_adds_nothing(qtbot, db, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    dialog = add_from_file(qtbot, monkeypatch, fake, setup, "person", test_pki.leader, "mat-khau-sai",
                           pngs["signature"])

    said = errors(fake)
    assert len(said) == 2  # once on reading the certificate, once on Add
    assert all("mật khẩu không đúng" in text for text in said)
    assert all(test_pki.leader.name in text for text in said)
    assert dialog.result() == QDialog.DialogCode.Rejected.value  # it stayed open until the person gave up
    assert dialog.cert_status == ""
    assert identities.list_identities(db) == []
    assert setup.rows("person") == []


def test_an_expired_certificate_is_refused_with_the_reason(qtbot, db, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    dialog = add_from_file(qtbot, monkeypatch, fake, setup, "person", test_pki.expired, pki.PASSWORD,
                           pngs["signature"])

    said = errors(fake)
    assert len(said) == 2
    assert all("Cán bộ hết hạn" in text and "đã hết hạn" in text for text in said)
    assert dialog.cert_status == "expired"  # the details said it too, in words
    assert _("Expired on {date}: cannot sign").split("{")[0] in dialog.details.text()
    assert identities.list_identities(db) == []
    assert setup.rows("person") == []


def test_the_office_seal_is_added_at_its_diameter(qtbot, db, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    dialog = add_from_file(qtbot, monkeypatch, fake, setup, "office", test_pki.office, pki.PASSWORD, pngs["seal"])

    assert errors(fake) == []
    assert dialog.picker.diameter.value() == 36  # the default
    assert not dialog.picker.warning_label.text()  # a red seal: nothing to warn about
    assert "36" in dialog.picker.size_label.text()
    saved = identities.list_identities(db, "office")
    assert [(i.holder, i.seal_diameter_mm) for i in saved] == [(OFFICE, 36.0)]
    assert identities.list_identities(db, "person") == []
    assert setup.tabs.currentIndex() == 1
    assert setup.rows("office")[0][HOLDER] == OFFICE
    assert setup.rows("office")[0][IMAGE] == _("Seal, {d} mm").format(d="36")


def test_the_seal_preview_is_drawn_at_the_real_diameter(qtbot, db, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    widths: list[float] = []

    def fill(d: AddIdentityDialog) -> None:
        fake.open_file_result = pngs["seal"]
        click(qtbot, button(d, "choose_image"))
        widths.append(d.picker.preview.image_rect().width())
        replace_text(qtbot, d.picker.diameter, "42")
        widths.append(d.picker.preview.image_rect().width())

    drive_modal(monkeypatch, AddIdentityDialog, fill)  # type: ignore[arg-type]
    click_tab(qtbot, setup.tabs, 1)
    click(qtbot, button(setup, "office_add_file"))
    per_mm = signing_setup.px_per_mm(setup)
    assert widths == [pytest.approx(36 * per_mm), pytest.approx(42 * per_mm)]


def test_a_seal_that_is_not_red_is_accepted_with_a_warning(qtbot, db, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    dialog = add_from_file(qtbot, monkeypatch, fake, setup, "office", test_pki.office, pki.PASSWORD,
                           pngs["signature"])

    assert errors(fake) == []
    expected = identities.check_image(pngs["signature"].read_bytes(), "seal").warnings
    assert expected and expected[0] in dialog.picker.warning_label.text()
    assert len(identities.list_identities(db, "office")) == 1


def test_an_opaque_image_is_refused_with_the_reason(qtbot, db, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    with pytest.raises(UserError) as refusal:
        identities.check_image(pngs["opaque"].read_bytes(), "seal")

    dialog = add_from_file(qtbot, monkeypatch, fake, setup, "office", test_pki.office, pki.PASSWORD, pngs["opaque"])

    assert errors(fake) == [str(refusal.value), _("Choose the seal image: it is printed on the sealed report.")]
    assert dialog.picker.png is None
    assert identities.list_identities(db) == []


# --- changing and removing -----------------------------------------------------------------------


def test_the_seal_image_and_diameter_can_be_changed(qtbot, db, fake, monkeypatch, setup, test_pki, pngs):  # type: ignore[no-untyped-def]
    info = identities.add_file_identity(db, "office", test_pki.office, pki.PASSWORD,
                                        image_png=images.red_seal(200), seal_diameter_mm=36)
    setup.reload()

    def fill(d: ChangeImageDialog) -> None:
        assert d.picker.diameter.value() == 36
        fake.open_file_result = pngs["seal"]
        click(qtbot, button(d, "choose_image"))
        replace_text(qtbot, d.picker.diameter, "40")
        click(qtbot, button(d, "save"))

    drive_modal(monkeypatch, ChangeImageDialog, fill)  # type: ignore[arg-type]
    click_tab(qtbot, setup.tabs, 1)
    click_row(qtbot, setup.pages["office"].table, 0)
    click(qtbot, button(setup, "office_image"))

    assert errors(fake) == []
    assert identities.get_identity(db, info.id).seal_diameter_mm == 40
    assert identities.image_of(db, info.id) == pngs["seal"].read_bytes()
    assert setup.rows("office")[0][IMAGE] == _("Seal, {d} mm").format(d="40")


def test_removing_asks_first(qtbot, db, fake, monkeypatch, setup, test_pki):  # type: ignore[no-untyped-def]
    identities.add_file_identity(db, "person", test_pki.leader, pki.PASSWORD, image_png=images.blue_signature())
    setup.reload()
    fake.confirm_answers = [False, True]

    click_row(qtbot, setup.pages["person"].table, 0)
    click(qtbot, button(setup, "person_remove"))
    assert len(identities.list_identities(db)) == 1  # "Cancel": nothing removed
    assert LEADER in fake.of_kind("confirm")[0].text

    click(qtbot, button(setup, "person_remove"))
    assert identities.list_identities(db) == []
    assert setup.rows("person") == []
    assert not button(setup, "person_remove").isEnabled()  # nothing left to remove


def test_an_expired_identity_is_shown_in_red_with_words(qtbot, db, fake, setup, test_pki):  # type: ignore[no-untyped-def]
    info = identities.add_file_identity(db, "person", test_pki.leader, pki.PASSWORD, image_png=images.blue_signature())
    with db.write() as s:  # a year later: the certificate has run out
        row = s.get(SigningIdentity, info.id)
        row.not_after = datetime(2026, 3, 31, 16, 59)
        row.not_before = datetime(2025, 4, 1)
    setup.reload()

    table = setup.pages["person"].table
    assert setup.rows("person")[0][VALID] == "01/04/2025 – 31/03/2026"
    assert setup.rows("person")[0][STATUS] == "✕ " + _("Expired: cannot sign")
    assert table.item(0, STATUS).foreground().color() == QColor(RED)
    assert table.item(0, VALID).foreground().color() == QColor(RED)


# --- the timestamp server -----------------------------------------------------------------------


def test_the_timestamp_server_is_saved_and_a_bad_address_refused(qtbot, db, fake, setup):  # type: ignore[no-untyped-def]
    replace_text(qtbot, setup.timestamp_edit, "http://tsa.ca.gov.vn")
    click(qtbot, button(setup, "timestamp_save"))
    assert errors(fake) == []
    assert report_signing.timestamp_url(db) == "http://tsa.ca.gov.vn"

    replace_text(qtbot, setup.timestamp_edit, "tsa ca gov vn")
    click(qtbot, button(setup, "timestamp_save"))
    with pytest.raises(UserError) as refusal:
        report_signing.set_timestamp_url(db, "tsa ca gov vn")
    assert errors(fake) == [str(refusal.value)]
    assert report_signing.timestamp_url(db) == "http://tsa.ca.gov.vn"

    reopened = SigningSetupDialog(db)
    qtbot.addWidget(reopened)
    assert reopened.timestamp_edit.text() == "http://tsa.ca.gov.vn"


# --- who may, and the menu's entry point ---------------------------------------------------------


def test_data_entry_staff_see_the_set_up_but_cannot_change_it(qtbot, db, fake, test_pki):  # type: ignore[no-untyped-def]
    identities.add_file_identity(db, "person", test_pki.leader, pki.PASSWORD, image_png=images.blue_signature())
    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, "quan-tri-2026!")
    auth.authenticate(db, "quantri", "quan-tri-2026!")
    auth.create_user(db, "lan", "Lò Thị Lan", Role.ENTRY, "nhap-lieu-2026!")
    auth.authenticate(db, "lan", "nhap-lieu-2026!")

    dialog = SigningSetupDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    click_row(qtbot, dialog.pages["person"].table, 0)

    assert dialog.rows("person")[0][HOLDER] == LEADER
    for name in ("person_add_file", "person_add_token", "person_image", "person_remove", "timestamp_save"):
        assert not button(dialog, name).isEnabled(), name
    assert dialog.status.text()


def test_open_signing_setup_shows_the_dialog_modally(qtbot, db, fake, monkeypatch, test_pki):  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWidget

    identities.add_file_identity(db, "office", test_pki.office, pki.PASSWORD, image_png=images.red_seal(),
                                 seal_diameter_mm=38)
    parent = QWidget()
    qtbot.addWidget(parent)
    seen: list[tuple[str, list[list[str]]]] = []
    drive_modal(monkeypatch, SigningSetupDialog,
                lambda d: seen.append((d.windowTitle(), d.rows("office"))))  # type: ignore[arg-type,attr-defined]

    signing_setup.open_signing_setup(parent, db)

    assert len(seen) == 1
    title, rows = seen[0]
    assert title == _("Digital signatures")
    assert rows[0][HOLDER] == OFFICE


# --- a USB token (SoftHSM2) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token(tmp_path_factory):  # type: ignore[no-untyped-def]
    import softhsm

    return softhsm.make_token(tmp_path_factory.mktemp("softhsm"))


def test_adding_the_leaders_key_on_a_usb_token(qtbot, db, db_path, fake, monkeypatch, setup, token, pngs):  # type: ignore[no-untyped-def]
    tokens_seen: list[str] = []
    keys_seen: list[str] = []

    def fill(d: AddIdentityDialog) -> None:
        combo = d.module_combo
        offered = [combo.itemData(i) for i in range(combo.count())]
        assert token.module in offered  # found on this computer without browsing
        combo.setCurrentIndex(offered.index(token.module))
        assert combo.currentText().startswith("SoftHSM2 — ")
        click(qtbot, button(d, "find_tokens"))
        tokens_seen.extend(d.token_combo.itemText(i) for i in range(d.token_combo.count()))
        d.secret.setFocus()
        type_text(d.secret, token.pin)
        click(qtbot, button(d, "list_keys"))
        keys_seen.extend(d.key_combo.itemText(i) for i in range(d.key_combo.count()))
        fake.open_file_result = pngs["signature"]
        click(qtbot, button(d, "choose_image"))
        click(qtbot, button(d, "add"))

    opened = drive_modal(monkeypatch, AddIdentityDialog, fill)  # type: ignore[arg-type]
    click(qtbot, button(setup, "person_add_token"))

    assert errors(fake) == []
    assert opened[0].result() == QDialog.DialogCode.Accepted.value
    assert len(tokens_seen) == 1 and tokens_seen[0].startswith(token.token_label)
    assert keys_seen == [token.key_label]
    assert token.holder_name in opened[0].details.text()
    rows = setup.rows("person")
    assert rows[0][HOLDER] == token.holder_name
    assert rows[0][WHERE] == f"{token.token_label} / {token.key_label}"
    saved = identities.list_identities(db, "person")
    assert [(i.source, i.token_label, i.key_label) for i in saved] == [("token", token.token_label, token.key_label)]
    stored = b"".join(p.read_bytes() for p in (db_path, Path(f"{db_path}-wal")) if p.exists())
    assert token.pin.encode("ascii") not in stored


def test_a_wrong_pin_says_so_and_lists_no_key(qtbot, db, fake, monkeypatch, setup, token):  # type: ignore[no-untyped-def]
    def fill(d: AddIdentityDialog) -> None:
        d.module_combo.setCurrentIndex(d.module_combo.findData(token.module))
        click(qtbot, button(d, "find_tokens"))
        d.secret.setFocus()
        type_text(d.secret, "11112222")
        click(qtbot, button(d, "list_keys"))
        assert d.key_combo.count() == 0

    drive_modal(monkeypatch, AddIdentityDialog, fill)  # type: ignore[arg-type]
    click(qtbot, button(setup, "person_add_token"))

    said = errors(fake)
    assert len(said) == 1 and "11112222" not in said[0]
    assert said[0] in (_("The PIN is wrong. Check it and try again: after a few wrong attempts the token "
                         "locks itself."),
                       _("The PIN is wrong. Careful: one more wrong PIN locks the token."))
    assert identities.list_identities(db) == []


def test_enter_in_the_password_box_reads_the_certificate_and_adds_nothing(  # type: ignore[no-untyped-def]
        qtbot, db, fake, monkeypatch, setup, test_pki, pngs):
    from PySide6.QtCore import Qt

    seen: list[tuple[str, bool]] = []

    def fill(d: AddIdentityDialog) -> None:
        fake.open_file_result = pngs["signature"]
        click(qtbot, button(d, "choose_image"))
        fake.open_file_result = test_pki.leader
        click(qtbot, button(d, "choose_file"))
        d.secret.setFocus()
        type_text(d.secret, pki.PASSWORD)
        qtbot.keyClick(d.secret, Qt.Key.Key_Return)
        seen.append((d.details.text(), d.isVisible()))
        d.reject()

    drive_modal(monkeypatch, AddIdentityDialog, fill)  # type: ignore[arg-type]
    click(qtbot, button(setup, "person_add_file"))
    details, still_open = seen[0]
    assert LEADER in details and still_open  # the person sees whose certificate it is first
    assert identities.list_identities(db) == []
