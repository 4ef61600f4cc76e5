"""Importing the province's USB packages: 45 offices × 2,000 activities, one quarter each.

Builds (once, cached in bench/.cache) 45 office registers with their own seeded activities,
each with an issued (signed and sealed) quarterly report written as a package; then imports
all 45 into a fresh province database through the same service as the window and
``dbcomm package import`` (every check: container, signatures against the trust list, data,
directory, plan, conflicts — then one transaction per package).  Baselines, in the same run:
raw ``sqlite3`` inserting the same rows (already parsed) into a plain table, and the same rows
as the import wrote them into an empty dbcomm database (its indexes and trigram search index:
the floor of the write step).  The import's processor time and the load average are recorded
too: on a shared machine the wall-clock time says more about the neighbours.
Prints one table and writes it as JSON under bench/results/ with the machine description.
Usage: python bench/bench_exchange.py [--offices 45] [--rows 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the test authority and the sample images
CACHE = HERE / ".cache"
RESULTS = HERE / "results"

from bench_register import machine  # noqa: E402

PERIOD = "2026-Q3"


def office_name(i: int) -> str:
    return f"Ủy ban nhân dân xã Thử Nghiệm {i:02d}"


def build_packages(offices: int, rows: int, folder: Path, authority) -> list[Path]:  # type: ignore[no-untyped-def]
    import signature_images
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.domain.report import Narrative
    from dbcomm.services import demo, packages, plans, report_signing, reports, settings, signing
    from dbcomm.services.database import open_database

    leader = signing.load_pkcs12(authority.leader, authority.password)
    office = signing.load_pkcs12(authority.office, authority.password)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(offices):
        existing = sorted(folder.glob(f"office{i:02d}_*.dbcpkg"))
        if existing:
            made.append(existing[0])
            continue
        t0 = time.perf_counter()
        work = Path(tempfile.mkdtemp())
        db = open_database(work / "office.sqlite3")
        settings.save_office(db, OfficeIdentity(
            name=office_name(i), parent_agency="UBND tỉnh Điện Biên", kind="commune",
            place_name=f"Thử Nghiệm {i:02d}", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
            signer_name="Lò Văn Thắng"))
        settings.mark_setup_done(db)
        settings.set_value(db, "office.uuid", str(uuid.UUID(int=i + 1)))
        demo.generate(db, rows, seed=1000 + i, start=date(2026, 7, 1), end=date(2026, 9, 30))
        cfg = replace(reports.default_settings(db, plans.default_plan(db).id, PERIOD), number="",
                      date_by_registry=True)
        info = reports.save_draft(db, None, cfg, Narrative(direction="Đã triển khai."))
        reports.build(db, info.id)
        report_signing.sign_report(db, info.id, leader, signature_images.blue_signature())
        report_signing.seal_report(db, info.id, office, signature_images.red_seal(), 36, number=str(i + 1),
                                   doc_date=date(2026, 10, 5))
        data = packages.build_report_package(db, info.id)
        path = folder / f"office{i:02d}_{PERIOD}.dbcpkg"
        path.write_bytes(data)
        db.close()
        shutil.rmtree(work, ignore_errors=True)
        made.append(path)
        print(f"package {i + 1}/{offices}: {path.name} ({len(data) / 1e6:.1f} MB) in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return made


def schema_floor(work: Path) -> float:
    """Raw ``sqlite3`` writing the rows the import wrote (read back from the province's database),
    one transaction per package, into an empty database with dbcomm's own schema: its indexes
    and the trigram search index kept by triggers.  What the import cannot go below."""
    from dbcomm.services.database import open_database

    open_database(work / "floor.sqlite3").close()  # migrated, empty
    source = sqlite3.connect(work / "province.sqlite3")
    tables = ("activity", "activity_node", "activity_programme", "activity_reach")
    columns = {t: [r[1] for r in source.execute(f"PRAGMA table_info({t})")] for t in tables}
    batches = []
    for (report_id,) in source.execute("SELECT id FROM received_report ORDER BY id").fetchall():
        rows = {"activity": source.execute("SELECT * FROM activity WHERE origin_report_id = ?", (report_id,)).fetchall()}
        for t in tables[1:]:
            rows[t] = source.execute(f"SELECT {t}.* FROM {t} JOIN activity ON activity.id = {t}.activity_id "
                                     "WHERE activity.origin_report_id = ?", (report_id,)).fetchall()
        batches.append(rows)
    source.close()
    target = sqlite3.connect(work / "floor.sqlite3")
    target.execute("PRAGMA synchronous=NORMAL")
    target.execute("PRAGMA cache_size=-32768")  # as dbcomm's connections
    t0 = time.perf_counter()
    for rows in batches:
        with target:
            for t in tables:
                one = f"({', '.join('?' * len(columns[t]))})"
                if t == "activity":  # many rows a statement: the search index flushes once each
                    for k in range(0, len(rows[t]), 500):
                        chunk = rows[t][k:k + 500]
                        target.execute(f"INSERT INTO {t} ({', '.join(columns[t])}) VALUES "
                                       + ", ".join([one] * len(chunk)), [v for r in chunk for v in r])
                else:
                    target.executemany(f"INSERT INTO {t} ({', '.join(columns[t])}) VALUES {one}", rows[t])
    floor = time.perf_counter() - t0
    target.close()
    return floor


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offices", type=int, default=45)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()

    import pki
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.services import exchange_data, orgs, packages, settings, signing, trust
    from dbcomm.services.database import open_database
    from dbcomm.services.orgs import OrgFields
    from dbcomm.store.migrate import HEAD_REVISION

    # One test authority for the cached packages: made once, read back on later runs.
    key_dir = CACHE / f"exchange-pki-{HEAD_REVISION}"
    if not (key_dir / "signer-101.p12").exists():
        shutil.rmtree(key_dir, ignore_errors=True)
        key_dir.mkdir(parents=True)
        pki.build(key_dir)
    authority = SimpleNamespace(root_pem=(key_dir / "root.pem").read_bytes(), leader=key_dir / "signer-100.p12",
                                office=key_dir / "signer-101.p12", password=pki.PASSWORD)
    folder = key_dir / f"packages-{args.offices}x{args.rows}"
    files = build_packages(args.offices, args.rows, folder, authority)

    work = Path(tempfile.mkdtemp())
    province = open_database(work / "province.sqlite3")
    settings.save_office(province, OfficeIdentity(
        name="Sở Giáo dục và Đào tạo tỉnh Điện Biên", parent_agency="UBND tỉnh Điện Biên", kind="department",
        place_name="Điện Biên Phủ", symbol="SGDĐT", signer_title="GIÁM ĐỐC", signer_name="Lường Thị Hoa"))
    settings.mark_setup_done(province)
    for i in range(args.offices):
        orgs.save_org(province, None, OrgFields(name=office_name(i), kind="commune"))
    trust.import_roots(province, authority.root_pem)

    t0 = time.perf_counter()
    c0 = time.process_time()
    added = 0
    for path in files:
        result = packages.apply_import(province, path, backup_first=False)  # one backup per batch: not timed here
        added += result.added
    total = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    again0 = time.perf_counter()
    statuses = [packages.inspect(province, path).status for path in files]
    again = time.perf_counter() - again0
    assert added == args.offices * args.rows, added
    assert set(statuses) == {"already"}, statuses

    # baseline: the same rows, already parsed, into a plain table with raw sqlite3
    parsed = []
    for path in files:
        raw = packages.package_files.read(path, ("report.pdf",)).members["report.pdf"]
        data = exchange_data.parse(signing.attachments_of(raw)[exchange_data.DATA_FILE])
        parsed.extend(data.activities)
    conn = sqlite3.connect(work / "raw.sqlite3")
    conn.execute("CREATE TABLE activity (uuid TEXT PRIMARY KEY, version INT, date_start TEXT, form TEXT, "
                 "title TEXT, place TEXT, languages TEXT, items INT, minutes INT, sessions INT, reach INT)")
    b0 = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO activity VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
            (a.uuid, a.version, a.date_start.isoformat(), a.form, a.title, a.place, " ".join(a.languages),
             a.items, a.minutes, a.sessions, a.reach_total) for a in parsed])
    baseline = time.perf_counter() - b0
    conn.close()
    province.close()
    floor = schema_floor(work)
    shutil.rmtree(work, ignore_errors=True)

    target = 10.0
    print(f"\ndbcomm exchange benchmark — {args.offices} packages × {args.rows:,} activities "
          f"(import: {cpu:.1f} s of processor time; load average {os.getloadavg()[0]:.1f})\n")
    head = f"{'scenario':48} {'dbcomm s':>9} {'raw sqlite3 s':>14} {'ratio':>7} {'target':>7}  met  peak MB"
    print(head)
    print("-" * len(head))
    print(f"{'import all packages (every check, one tx each)':48} {total:9.2f} {baseline:14.2f} "
          f"{total / baseline:6.0f}× {'< ' + str(int(target)):>7}  {'yes' if total < target else 'NO ':3}  "
          f"{peak_mb:7.0f}")
    print(f"{'read the stick again (all already imported)':48} {again:9.2f}")
    print(f"{'raw sqlite3 into dbcomm schema (same rows)':48} {floor:9.2f}")
    print("\nBaseline: raw sqlite3 executemany of the same rows, already parsed, into one plain table "
          "(no checks, no signatures, no indexes, no audit).  The schema line: the rows the import "
          "wrote, inserted with raw sqlite3 into an empty dbcomm database (its indexes and trigram "
          "search index), one transaction per package — the floor of the write step.")
    RESULTS.mkdir(exist_ok=True)
    record = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine(),
              "offices": args.offices, "rows_per_office": args.rows,
              "results": [{"scenario": "import packages", "seconds": round(total, 3),
                           "raw_sqlite3_s": round(baseline, 3), "target_s": target, "met": total < target,
                           "peak_mb": round(peak_mb, 1)},
                          {"scenario": "inspect again (already imported)", "seconds": round(again, 3)},
                          {"scenario": "raw sqlite3 into dbcomm schema", "seconds": round(floor, 3)}],
              "cpu_s": round(cpu, 3), "load_average": list(os.getloadavg())}
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for fname in (f"exchange-{stamp}.json", "exchange-latest.json"):
        (RESULTS / fname).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written to {RESULTS / 'exchange-latest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
