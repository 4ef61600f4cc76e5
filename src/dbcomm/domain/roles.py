"""Roles, permissions and period states: who may do what, checked in the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dbcomm.i18n import N_


class Role(StrEnum):
    ENTRY = "entry"  # nhập liệu
    LEADER = "leader"  # lãnh đạo: approves and signs
    CLERK = "clerk"  # văn thư: numbers and seals outgoing documents
    ADMIN = "admin"  # quản trị


ROLE_LABELS: dict[str, str] = {
    Role.ENTRY: N_("Data entry"),
    Role.LEADER: N_("Leader (approves, signs)"),
    Role.CLERK: N_("Registry clerk"),
    Role.ADMIN: N_("Administrator"),
}


class Perm(StrEnum):
    EDIT_ACTIVITIES = "edit_activities"
    SUBMIT_PERIOD = "submit_period"
    APPROVE_PERIOD = "approve_period"  # approve or return with a note
    LOCK_PERIOD = "lock_period"
    REOPEN_PERIOD = "reopen_period"
    EDIT_PLAN = "edit_plan"
    EDIT_DIRECTORY = "edit_directory"
    EDIT_SETTINGS = "edit_settings"
    MANAGE_USERS = "manage_users"
    IMPORT = "import"
    EXPORT = "export"
    BACKUP = "backup"
    RESTORE = "restore"
    VIEW_AUDIT = "view_audit"
    BUILD_REPORT = "build_report"
    SIGN_REPORT = "sign_report"  # the leader's signature
    SEAL_REPORT = "seal_report"  # the registry: number, date and the office's seal
    MANAGE_SIGNING = "manage_signing"  # set up certificates and signature/seal images


_ALL = frozenset(Perm)
PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ENTRY: frozenset({Perm.EDIT_ACTIVITIES, Perm.SUBMIT_PERIOD, Perm.EXPORT, Perm.BACKUP, Perm.VIEW_AUDIT,
                           Perm.BUILD_REPORT}),
    Role.LEADER: frozenset({Perm.EDIT_ACTIVITIES, Perm.SUBMIT_PERIOD, Perm.APPROVE_PERIOD, Perm.LOCK_PERIOD,
                            Perm.REOPEN_PERIOD, Perm.EXPORT, Perm.BACKUP, Perm.VIEW_AUDIT, Perm.BUILD_REPORT,
                            Perm.SIGN_REPORT, Perm.MANAGE_SIGNING}),
    Role.CLERK: frozenset({Perm.LOCK_PERIOD, Perm.EXPORT, Perm.BACKUP, Perm.VIEW_AUDIT, Perm.BUILD_REPORT,
                           Perm.SEAL_REPORT, Perm.MANAGE_SIGNING}),
    # The administrator keeps the workstation; approving and signing reports stay with the leader.
    Role.ADMIN: _ALL - {Perm.APPROVE_PERIOD, Perm.SIGN_REPORT},
}


@dataclass(frozen=True)
class Actor:
    """The person on whose behalf a service runs."""

    username: str
    full_name: str
    role: Role
    user_id: int | None = None
    single_user: bool = False  # a one-person office: every permission

    def can(self, perm: Perm) -> bool:
        return self.single_user or perm in PERMISSIONS[self.role]

    @property
    def display(self) -> str:
        return self.full_name or self.username


# Used where no account exists yet (a database that was never set up): the setup
# itself must be able to run.
SYSTEM = Actor(username="system", full_name="dbcomm", role=Role.ADMIN, single_user=True)


class PeriodState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    LOCKED = "locked"


PERIOD_STATE_LABELS: dict[str, str] = {
    PeriodState.DRAFT: N_("Draft"),
    PeriodState.SUBMITTED: N_("Submitted"),
    PeriodState.APPROVED: N_("Approved"),
    PeriodState.RETURNED: N_("Returned"),
    PeriodState.LOCKED: N_("Locked"),
}

# States in which the period's activities may not change.
FROZEN = frozenset({PeriodState.SUBMITTED, PeriodState.APPROVED, PeriodState.LOCKED})

# (from, to) → the permission needed
TRANSITIONS: dict[tuple[PeriodState, PeriodState], Perm] = {
    (PeriodState.DRAFT, PeriodState.SUBMITTED): Perm.SUBMIT_PERIOD,
    (PeriodState.RETURNED, PeriodState.SUBMITTED): Perm.SUBMIT_PERIOD,
    (PeriodState.SUBMITTED, PeriodState.APPROVED): Perm.APPROVE_PERIOD,
    (PeriodState.SUBMITTED, PeriodState.RETURNED): Perm.APPROVE_PERIOD,
    (PeriodState.APPROVED, PeriodState.LOCKED): Perm.LOCK_PERIOD,
    (PeriodState.SUBMITTED, PeriodState.DRAFT): Perm.REOPEN_PERIOD,
    (PeriodState.APPROVED, PeriodState.DRAFT): Perm.REOPEN_PERIOD,
    (PeriodState.LOCKED, PeriodState.DRAFT): Perm.REOPEN_PERIOD,
}
