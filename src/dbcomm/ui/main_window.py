"""The main window: register, reports, coverage, plan and directory tabs, menus, and the
register's totals in the status bar while the register is shown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QMenu, QTabWidget, QWidget

from dbcomm import __version__
from dbcomm.domain.periods import Cutoff, parse_period
from dbcomm.domain.roles import Perm
from dbcomm.errors import UserError
from dbcomm.i18n import _, format_number
from dbcomm.services import activities, auth, plans, settings
from dbcomm.store.engine import Database
from dbcomm.ui import interaction
from dbcomm.ui.audit_view import AuditView
from dbcomm.ui.dashboard_view import DashboardView
from dbcomm.ui.orgs_view import OrgsView
from dbcomm.ui.periods_view import PeriodsView
from dbcomm.ui.plan_view import PlanView
from dbcomm.ui.register_view import RegisterView
from dbcomm.ui.report_editor import ReportEditor
from dbcomm.ui.reports_view import ReportsView
from dbcomm.ui.server_dialog import open_server_dialog
from dbcomm.ui.tasks import run_with_progress

if TYPE_CHECKING:  # the verify dialog brings the certificate library: loaded when first opened
    from dbcomm.ui.verify_dialog import VerifyDialog


class MainWindow(QMainWindow):
    language_changed = Signal()
    logged_out = Signal()
    database_replaced = Signal(object)  # a restore or hand-over import: the new Database

    def __init__(self, db: Database, parent: QWidget | None = None):
        super().__init__(parent)
        self.db = db
        self.plan_id = plans.default_plan(db).id
        office = settings.get_office(db)
        self.setWindowTitle(f"dbcomm — {office.name}" if office.name else "dbcomm")
        self.resize(1280, 800)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.status_label = QLabel()
        self.status_label.setObjectName("totals")
        self.plan_combo = QComboBox()
        self.plan_combo.setObjectName("current_plan")
        self.plan_combo.setToolTip(_("The plan whose activities are shown"))
        self.plan_label = QLabel(_("Plan:"))
        self._fill_plan_combo()
        self.plan_combo.currentIndexChanged.connect(self._on_plan_chosen)
        self.statusBar().addWidget(self.plan_label)
        self.statusBar().addWidget(self.plan_combo)
        self.statusBar().addWidget(self.status_label, 1)
        self.register: RegisterView | None = None
        self.reports_view: ReportsView | None = None
        self.dashboard: DashboardView | None = None
        self._build_register()
        self.reports_view = ReportsView(db, self.plan_id, self)
        self.tabs.addTab(self.reports_view, _("Reports"))
        from dbcomm.ui.received_view import ReceivedView

        self.received_view = ReceivedView(db, self.plan_id, self)  # reloads each time it is shown
        self.tabs.addTab(self.received_view, _("Received reports"))
        self.dashboard = DashboardView(db, self.plan_id, self)
        self.dashboard.open_register.connect(self.show_in_register)
        self.tabs.addTab(self.dashboard, _("Coverage"))
        assert self.register is not None
        self.register.model.totals_changed.connect(self.dashboard.mark_stale)
        self.plan_view = PlanView(db, self.plan_id, self)
        self.plan_view.changed.connect(self._on_plan_changed)
        self.orgs_view = OrgsView(db, self)
        self.orgs_view.changed.connect(lambda: self.register.reload_places() if self.register else None)
        self.tabs.addTab(self.plan_view, _("Plan"))
        self.tabs.addTab(self.orgs_view, _("Directory"))
        self._build_account_tabs()
        self.tabs.currentChanged.connect(lambda _i: self._update_status_bar())
        self._update_status_bar()
        self._build_menus()
        self._build_account_menus()
        from dbcomm.ui.sheets_export import install_sheets_menu

        self.sheets_menu = install_sheets_menu(self)  # File → Spreadsheet: import, template, export
        from dbcomm.ui.backup_dialogs import install_data_menu

        self.data_menu = install_data_menu(self)  # Data: back up, restore, hand-over
        self.verify_dialog: VerifyDialog | None = None
        self.setAcceptDrops(True)  # a PDF dropped on the window opens the signature check

    def _fill_plan_combo(self) -> None:
        self.plan_combo.blockSignals(True)
        self.plan_combo.clear()
        for p in plans.list_plans(self.db):
            self.plan_combo.addItem(p.code, p.id)
        self.plan_combo.setCurrentIndex(max(0, self.plan_combo.findData(self.plan_id)))
        self.plan_combo.blockSignals(False)
        self.plan_combo.setVisible(self.plan_combo.count() > 1)
        self.plan_label.setVisible(self.plan_combo.count() > 1)

    def _build_register(self) -> None:
        tree = plans.get_tree(self.db, self.plan_id)
        new = RegisterView(self.db, tree, self)
        new.status.connect(self.status_label.setText)
        if self.register is None:
            self.tabs.insertTab(0, new, _("Register"))
        else:
            index = self.tabs.indexOf(self.register)
            self.tabs.removeTab(index)
            self.register.model.shutdown()
            self.register.deleteLater()
            self.tabs.insertTab(index, new, _("Register"))
            self.tabs.setCurrentIndex(index)
        self.register = new
        new._update_status()
        self._update_status_bar()
        new.history_requested.connect(self.show_history)
        if getattr(self, "periods_view", None) is not None:
            self.periods_view.set_plan(self.plan_id)
        if self.reports_view is not None:
            self.reports_view.set_plan(self.plan_id)
        if getattr(self, "received_view", None) is not None:
            self.received_view.set_plan(self.plan_id)
        if self.dashboard is not None:
            self.dashboard.set_plan(self.plan_id)
            new.model.totals_changed.connect(self.dashboard.mark_stale)

    def _update_status_bar(self) -> None:
        """The register's totals belong to the register: on the other tabs they would read as
        figures of the report or the coverage grid shown."""
        self.status_label.setVisible(self.register is not None and self.tabs.currentWidget() is self.register)

    def _on_plan_chosen(self) -> None:
        pid = self.plan_combo.currentData()
        if pid is not None and pid != self.plan_id:
            self.plan_id = pid
            self._build_register()

    def _on_plan_changed(self) -> None:
        self._fill_plan_combo()
        self._build_register()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(_("&File"))
        assert self.register is not None
        new = QAction(_("New activity…") + "\tCtrl+N", self)  # the register's own action holds the key
        new.triggered.connect(lambda: (self.tabs.setCurrentIndex(0), self.register.new_activity() if self.register else None))
        file_menu.addAction(new)
        self.new_report_action = QAction(_("New report…"), self)
        self.new_report_action.setShortcut(QKeySequence("Ctrl+R"))
        self.new_report_action.triggered.connect(self.new_report)
        file_menu.addAction(self.new_report_action)
        self.verify_action = QAction(_("Verify a signed PDF…"), self)
        self.verify_action.triggered.connect(lambda: self.open_verify())
        file_menu.addAction(self.verify_action)
        self.usb_import_action = QAction(_("Import from USB…"), self)  # reports, receipts, plan updates
        self.usb_import_action.setObjectName("usb_import")
        self.usb_import_action.triggered.connect(self.open_usb_import)
        file_menu.addAction(self.usb_import_action)
        file_menu.addSeparator()
        prefs = QAction(_("Settings…"), self)
        prefs.setShortcut(QKeySequence("Ctrl+,"))
        prefs.triggered.connect(self.open_settings)
        file_menu.addAction(prefs)
        self.signing_action = QAction(_("Signing certificates…"), self)
        self.signing_action.setObjectName("signing_setup")
        self.signing_action.triggered.connect(self.open_signing_setup)
        file_menu.addAction(self.signing_action)
        file_menu.addSeparator()
        quit_action = QAction(_("Quit"), self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = bar.addMenu(_("&Help"))
        about = QAction(_("About dbcomm"), self)
        about.triggered.connect(self.about)
        help_menu.addAction(about)

    # --- accounts, periods, audit trail ---------------------------------------------------
    def _build_account_tabs(self) -> None:
        self.actor = auth.current(self.db)
        self.periods_view = PeriodsView(self.db, self.plan_id, self)
        self.periods_view.changed.connect(lambda: self.register.refresh() if self.register else None)
        self.tabs.addTab(self.periods_view, _("Periods"))
        self.audit_view: AuditView | None = None
        if self.actor.can(Perm.VIEW_AUDIT):
            self.audit_view = AuditView(self.db, self)
            self.tabs.addTab(self.audit_view, _("Audit trail"))

    def _build_account_menus(self) -> None:
        """File → Change my password / Log out; Administration → Accounts (administrators only)."""
        bar = self.menuBar()
        file_menu = bar.actions()[0].menu()
        quit_action = next(a for a in file_menu.actions() if a.shortcut() == QKeySequence("Ctrl+Q"))
        self.change_password_action = QAction(_("Change my password…"), self)
        self.change_password_action.triggered.connect(self.change_password)
        self.logout_action = QAction(_("Log out"), self)
        self.logout_action.triggered.connect(self.logout)
        logged_in = self.actor.user_id is not None
        self.change_password_action.setVisible(logged_in)
        self.logout_action.setVisible(logged_in and not self.actor.single_user)
        file_menu.insertAction(quit_action, self.change_password_action)
        file_menu.insertAction(quit_action, self.logout_action)
        file_menu.insertSeparator(quit_action)
        self.admin_menu = QMenu(_("&Administration"), self)
        self.accounts_action = QAction(_("Accounts…"), self)
        self.accounts_action.triggered.connect(self.open_accounts)
        self.admin_menu.addAction(self.accounts_action)
        self.server_action = QAction(_("Database (this computer or a shared server)…"), self)
        self.server_action.setObjectName("server_setup")
        self.server_action.triggered.connect(lambda: open_server_dialog(self))
        self.server_action.setEnabled(self.actor.can(Perm.EDIT_SETTINGS))
        self.admin_menu.addAction(self.server_action)
        bar.insertMenu(bar.actions()[-1], self.admin_menu)  # before Help
        allowed = self.actor.can(Perm.MANAGE_USERS)
        self.admin_menu.menuAction().setVisible(allowed)
        self.accounts_action.setEnabled(allowed)
        self.new_report_action.setVisible(self.actor.can(Perm.BUILD_REPORT))
        if not self.actor.can(Perm.EDIT_ACTIVITIES):
            for a in file_menu.actions():
                if a.text().startswith(_("New activity…")):
                    a.setVisible(False)
        name = self.actor.display if self.actor.user_id is not None else ""
        if name:
            self.who_label = QLabel(_("Logged in: {name}").format(name=name))
            self.who_label.setObjectName("logged_in")
            self.statusBar().addPermanentWidget(self.who_label)

    def new_report(self) -> ReportEditor | None:
        assert self.reports_view is not None
        self.tabs.setCurrentWidget(self.reports_view)
        return self.reports_view.new_report()

    def show_in_register(self, wanted: dict) -> None:  # type: ignore[type-arg]
        """Show the register filtered to a cell of the coverage grid (objective/form × month/place)."""
        reg = self.register
        if reg is None:
            return
        tree = reg.tree
        node_id = next((n.id for o in tree.objectives for n in (o, *o.children)
                        if n.code == wanted.get("node_code")), None)
        form_id = next((f.id for f in tree.forms if f.code == wanted.get("form_code")), None)
        for combo, value in ((reg.node_combo, node_id), (reg.form_combo, form_id)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.blockSignals(False)
        reg.place_combo.blockSignals(True)
        place = wanted.get("place")
        reg.place_combo.setCurrentIndex(max(0, reg.place_combo.findText(place)) if place else 0)
        reg.place_combo.blockSignals(False)
        key = wanted.get("period_key")
        reg.period_combo.blockSignals(True)
        index = reg.period_combo.findData(key)
        if index < 0 and key:
            period = parse_period(key, Cutoff(tree.plan.cutoff))
            index = reg.period_combo.findData("custom")
            for edit, day in ((reg.from_edit, period.start), (reg.to_edit, period.end)):
                edit.blockSignals(True)
                edit.set_value(day)
                edit.blockSignals(False)
        reg.period_combo.setCurrentIndex(max(0, index))
        reg.period_combo.blockSignals(False)
        self.tabs.setCurrentWidget(reg)
        reg.apply_filter()

    def show_history(self, entity_uuid: str) -> None:
        if self.audit_view is None:
            return
        self.tabs.setCurrentWidget(self.audit_view)
        self.audit_view.show_record(entity_uuid)

    def open_accounts(self) -> None:
        from dbcomm.ui.users_dialog import UsersDialog

        UsersDialog(self.db, self).exec()

    def change_password(self) -> bool:
        from dbcomm.ui.login_dialog import ChangePasswordDialog

        if not ChangePasswordDialog(self.db, self).exec():
            return False
        interaction.get().info(self, _("Change my password"), _("Your password was changed."))
        return True

    def logout(self) -> None:
        auth.logout(self.db)
        self.logged_out.emit()

    def export_csv(self) -> None:
        assert self.register is not None
        path = interaction.get().save_file(self, _("Export register to CSV"), "so-hoat-dong.csv", _("CSV files (*.csv)"))
        if not path:
            return
        f = self.register.current_filter()
        run_with_progress(
            self, _("Exporting the register…"), lambda: activities.export_csv(self.db, f, path),
            lambda n: interaction.get().info(self, _("Export register to CSV"),
                                             _("Wrote {n} activities to {path}.").format(n=format_number(n), path=path)),
        )

    def open_settings(self) -> None:
        from dbcomm.ui.settings_dialog import SettingsDialog

        d = SettingsDialog(self.db, self)
        if d.exec():
            office = settings.get_office(self.db)
            self.setWindowTitle(f"dbcomm — {office.name}")
            if d.language_changed:
                self.language_changed.emit()

    def about(self) -> None:
        interaction.get().info(self, _("About dbcomm"), _(
            "dbcomm {version}\n\nRegister of communication activities and period reports for Plan "
            "386/KH-UBND on building a learning society to 2030 (Điện Biên).\n\nDatabase: {path}").format(
                version=__version__, path=self.db.path))

    def open_signing_setup(self) -> None:
        from dbcomm.ui.signing_setup import open_signing_setup

        open_signing_setup(self, self.db)

    def open_usb_import(self) -> QWidget:
        """File → Import from USB…: the packages on a stick; the views follow what it imports."""
        from dbcomm.ui.usb_dialogs import ImportDialog

        dialog = ImportDialog(self.db, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def imported() -> None:  # activities received, a report accepted or returned, a plan updated
            for view in (self.reports_view, getattr(self, "periods_view", None)):
                if view is not None:
                    view.reload()
            if self.register is not None:
                self.register.refresh()

        dialog.changed.connect(imported)
        dialog.open()
        return dialog

    def open_verify(self, path: Path | None = None) -> VerifyDialog:
        """File → Verify a signed PDF (or a PDF dropped on the window): one dialog, reused."""
        if self.verify_dialog is None:
            from dbcomm.ui.verify_dialog import VerifyDialog

            self.verify_dialog = VerifyDialog(self.db, self)
        self.verify_dialog.show()
        self.verify_dialog.raise_()
        self.verify_dialog.activateWindow()
        if path is not None:
            self.verify_dialog.open_file(path)
        return self.verify_dialog

    def _dropped_pdf(self, event) -> Path | None:  # type: ignore[no-untyped-def]
        from dbcomm.ui.verify_dialog import local_file

        path = local_file(event)
        return path if path is not None and path.suffix.lower() == ".pdf" else None

    def dragEnterEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if self._dropped_pdf(event) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        path = self._dropped_pdf(event)
        if path is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.open_verify(path)

    def closeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if self.register is not None:
            self.register.model.shutdown()
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.key() == Qt.Key.Key_F1:
            self.about()
            return
        super().keyPressEvent(event)


def show_error(parent: QWidget | None, exc: UserError) -> None:
    interaction.get().error(parent, _("dbcomm"), str(exc))
