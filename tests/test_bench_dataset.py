"""The province dataset the benchmarks measure: 45 offices, five plan years, reproducible."""

from __future__ import annotations

import sqlite3
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import province  # noqa: E402

from dbcomm.domain.models import OfficeIdentity  # noqa: E402
from dbcomm.paths import attachments_dir_for  # noqa: E402
from dbcomm.services import attachments, settings  # noqa: E402
from dbcomm.services.database import open_database  # noqa: E402


def _make(path: Path, rows: int) -> None:
    db = open_database(path)
    settings.save_office(db, OfficeIdentity(**province.PROVINCE_OFFICE))
    province.fill(db, rows)
    db.close()


def test_offices_share_the_rows_between_45_offices() -> None:
    everyone = province.offices(100_000)
    assert len(everyone) == 45
    assert [o.kind for o in everyone].count("ward") == 3
    assert sum(o.activities for o in everyone) == 100_000
    assert len({o.name for o in everyone}) == 45
    assert min(o.activities for o in everyone) > 0
    assert everyone[3].office_name == "Ủy ban nhân dân xã Mường Phăng"


def test_the_same_seed_gives_the_same_register(tmp_path: Path) -> None:
    _make(tmp_path / "a.sqlite3", 900)
    _make(tmp_path / "b.sqlite3", 900)
    query = ("SELECT a.uuid, a.date_start, a.title, a.languages, a.reach_total, o.name, "
             "(SELECT group_concat(filename || sha256, ',') FROM attachment t WHERE t.activity_id = a.id) "
             "FROM activity a LEFT JOIN organisation o ON o.id = a.place_id ORDER BY a.uuid")
    first = sqlite3.connect(tmp_path / "a.sqlite3").execute(query).fetchall()
    second = sqlite3.connect(tmp_path / "b.sqlite3").execute(query).fetchall()
    assert len(first) == 900 and first == second
    # every office logs at its own place (a social-media post may have none), over the five
    # plan years, with Vietnamese text
    by_place: dict[str, int] = {}
    for row in first:
        by_place[row[5]] = by_place.get(row[5], 0) + 1
    shares = {o.name: o.activities for o in province.offices(900)}
    assert set(by_place) - {None} == set(shares)
    assert all(by_place[name] <= shares[name] for name in shares)
    assert 0 < by_place.get(None, 0) < 900 * 0.25
    days = sorted(date.fromisoformat(str(r[1])[:10]) for r in first)
    assert days[0] >= province.FIRST_DAY and days[-1] <= province.LAST_DAY
    assert {d.year for d in days} == {2022, 2023, 2024, 2025, 2026}
    assert any("thai" in r[3] for r in first) and any("hmong" in r[3] for r in first)
    assert any("ọ" in r[2] or "ư" in r[2] for r in first)


def test_every_cited_evidence_file_is_in_the_store(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    _make(path, 450)
    con = sqlite3.connect(path)
    cited = con.execute("SELECT DISTINCT sha256 FROM attachment").fetchall()
    share = con.execute("SELECT count(DISTINCT activity_id) FROM attachment").fetchone()[0] / 450
    assert cited and 0.2 < share < 0.5
    root = attachments_dir_for(path)
    assert all(attachments.verify(root, sha) for (sha,) in cited)
