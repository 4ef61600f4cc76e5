"""dbcomm's own password hashing, at full strength (the other tests hash with argon2's lightest
settings to keep the suite short: see ``_quick_password_hashing`` in conftest.py)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from argon2 import Type, extract_parameters

from dbcomm.domain.roles import Role
from dbcomm.errors import AuthError
from dbcomm.services import auth

PASSWORD = "quantri-2026"


def stored_hash(db_path) -> str:  # type: ignore[no-untyped-def]
    with closing(sqlite3.connect(db_path)) as con:
        [(hashed,)] = con.execute("SELECT password_hash FROM user_account").fetchall()
    return str(hashed)


@pytest.mark.full_strength_passwords
def test_passwords_are_stored_as_argon2id_hashes_that_are_costly_to_guess(db, db_path):
    auth.create_user(db, "quantri", "Nguyễn Văn Quản", Role.ADMIN, PASSWORD)
    hashed = stored_hash(db_path)
    params = extract_parameters(hashed)
    assert params.type is Type.ID
    # at least the second setting RFC 9106 recommends: 64 MiB of memory, three passes
    assert params.memory_cost >= 64 * 1024 and params.time_cost >= 3
    assert PASSWORD not in hashed

    with pytest.raises(AuthError):
        auth.authenticate(db, "quantri", "quantri-2025")
    assert auth.authenticate(db, "quantri", PASSWORD).username == "quantri"
    assert stored_hash(db_path) == hashed  # a hash made with dbcomm's settings is not redone at login
