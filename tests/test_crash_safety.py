"""Crash safety: a process killed at random moments while saving never loses a confirmed save
and never leaves an activity half-written or the database damaged.

A child process saves activities through ``services.activities.create`` in a loop and prints
the id of each save once ``create`` has returned (that is, after COMMIT).  The test kills it
with SIGKILL after a random delay, reopens the database, and checks it.  SIGKILL is the
closest a test gets to pulling the plug on the application: no cleanup, no flush, no atexit.
(A real power cut also loses what the operating system had not yet written; see
docs/power-loss.md for what synchronous=NORMAL means there.)
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbcomm.domain.models import OfficeIdentity
from dbcomm.services import audit, settings
from dbcomm.services.database import open_database

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

ROUNDS = 10
SEED = 20260504

CHILD = r"""
import sys
from datetime import date

from dbcomm.domain.models import ActivityInput, ReachBreakdown
from dbcomm.services import activities, lookup, plans
from dbcomm.services.database import open_database

db = open_database(sys.argv[1])
round_no = sys.argv[2]
plan_id = plans.default_plan(db).id
form_id = activities.forms(db, plan_id)[2].id
nodes = [lookup.node_id(db, plan_id, "2.1"), lookup.node_id(db, plan_id, "2")]
programme = lookup.programme_id(db, plan_id, "P4")
print("ready", flush=True)
n = 0
while True:
    n += 1
    record = activities.create(db, ActivityInput(
        plan_id=plan_id, date_start=date(2025, 9, 5), form_id=form_id, subtype="loudspeaker",
        title=f"Phát thanh lưu động vòng {round_no} số {n}", languages=["vi", "thai"],
        node_ids=nodes, programme_ids=[programme], reach_total=50,
        reach=ReachBreakdown({"sex": {"female": 31, "male": 19}, "audience": {"pupils": 40}}),
    ))
    print(record.id, flush=True)
"""


def check_database(path: Path, confirmed: set[int]) -> int:
    """The checks after a kill; returns how many activities the file holds."""
    con = sqlite3.connect(path)  # a plain connection: recovers the WAL like any reader would
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        present = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT a.id, a.title, a.reach_total, "
                "(SELECT count(*) FROM activity_reach r WHERE r.activity_id = a.id), "
                "(SELECT coalesce(sum(r.count), 0) FROM activity_reach r WHERE r.activity_id = a.id), "
                "(SELECT count(*) FROM activity_node n WHERE n.activity_id = a.id), "
                "(SELECT count(*) FROM activity_programme p WHERE p.activity_id = a.id), "
                "(SELECT count(*) FROM audit_entry e WHERE e.entity_uuid = a.uuid AND e.action = 'create') "
                "FROM activity a")
        }
    finally:
        con.close()
    missing = confirmed - set(present)
    assert not missing, f"confirmed saves lost: {sorted(missing)[:10]}"
    for activity_id, (title, reach_total, reach_rows, reach_sum, node_rows, prog_rows, audited) in present.items():
        # every activity in the file is whole: its title, 3 reach rows, 2 objectives, 1 programme,
        # and its audit entry, all saved together or not at all
        assert title.startswith("Phát thanh lưu động vòng "), activity_id
        assert (reach_total, reach_rows, reach_sum, node_rows, prog_rows, audited) == (50, 3, 90, 2, 1, 1), activity_id
    return len(present)


def test_killing_the_app_while_it_saves_loses_no_confirmed_save_and_damages_nothing(tmp_path):
    # given a set-up register
    db_path = tmp_path / "dbcomm.sqlite3"
    db = open_database(db_path)
    settings.save_office(db, OfficeIdentity(name="UBND xã Mường Phăng", parent_agency="UBND huyện Điện Biên",
                                            kind="commune", place_name="Mường Phăng", symbol="UBND"))
    settings.mark_setup_done(db)
    db.close()
    rng = random.Random(SEED)
    confirmed: set[int] = set()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()

    for round_no in range(ROUNDS):
        # when a process saving activities is killed at a random moment
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path), str(round_no)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            first = child.stdout.readline() if child.stdout else ""
            assert first == "ready\n", (first, child.stderr.read() if child.stderr else "")
            time.sleep(rng.uniform(0.05, 0.5))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        out = child.stdout.read() if child.stdout else ""
        lines = out.split("\n")[:-1]  # a line without its newline was not confirmed
        confirmed.update(int(line) for line in lines)

        # then the file is intact, every confirmed save is there and whole, nothing is half-written
        count = check_database(db_path, confirmed)
        assert count >= len(confirmed)

    # and dbcomm opens it (integrity check included), with the audit trail unbroken
    db = open_database(db_path)
    try:
        report = audit.verify(db)
        assert report.ok, report.message
    finally:
        db.close()
    assert len(confirmed) > ROUNDS  # saves were really happening when the kills came
    assert time.monotonic() - started < 40
