"""The shared PostgreSQL server at province scale, next to SQLite on the same data.

Starts a throwaway PostgreSQL cluster on a loopback port (the Debian package's binaries, as the
tests do; durable: fsync on), creates a database with a Vietnamese ICU collation, migrates it,
fills it with the province dataset (45 offices, 5 plan years, 100,000 activities — the same seeded
generator as the SQLite file of the other benchmarks), then times what the register does on each
key press, sort and scroll, and what a save does, through the same service calls as the window —
on the server and, as the baseline in the same run, on the SQLite file.

Prints one table and writes it as JSON under bench/results/ with the machine description.
Usage: python bench/bench_server.py [--rows 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the throwaway cluster of the tests
RESULTS = HERE / "results"

import province  # noqa: E402
from bench_register import KEYSTROKES, machine  # noqa: E402

PAGE = 200  # the register's first page
SORTS = [("title", False), ("title", True), ("place", False), ("form", False), ("reach", True), ("date", False)]


def _ms(fn: Callable[[], object], times: list[float]) -> None:
    t = time.perf_counter()
    fn()
    times.append((time.perf_counter() - t) * 1000)


def measure(db, runs: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """The register's calls, timed in milliseconds."""
    from dbcomm.domain.models import ActivityFilter
    from dbcomm.services import activities, plans

    plan_id = plans.default_plan(db).id
    out: dict[str, list[float]] = {k: [] for k in ("key", "complete", "sort", "page", "save")}
    activities.list_rows(db, ActivityFilter(plan_id=plan_id), limit=PAGE)  # warm the caches once
    for _round in range(runs):
        for text in KEYSTROKES:
            f = ActivityFilter(plan_id=plan_id, text=text)
            _ms(lambda f=f: activities.list_rows(db, f, limit=PAGE), out["key"])  # type: ignore[misc]
            _ms(lambda f=f: (activities.list_ids(db, f), activities.totals(db, f)), out["complete"])  # type: ignore[misc]
        everything = ActivityFilter(plan_id=plan_id)
        for key, desc in SORTS:
            _ms(lambda k=key, d=desc, e=everything: activities.list_rows(db, e, sort=k, descending=d, limit=PAGE),
                out["sort"])
        ids = activities.list_ids(db, everything)
        rng = random.Random(_round)
        for _ in range(40):
            start = rng.randrange(0, len(ids) - 100)
            _ms(lambda chunk=ids[start:start + 100]: activities.rows_by_ids(db, chunk), out["page"])  # type: ignore[misc]
        for k in range(10):
            aid = ids[rng.randrange(len(ids))]
            rec = activities.get(db, aid)
            value = replace(activities.duplicate_input(db, aid), date_end=rec.date_end,
                            notes=f"đã kiểm tra lần {k + 1}")
            _ms(lambda aid=aid, value=value, version=rec.version: activities.update(db, aid, value, version),
                out["save"])
    return out


def fill_server(url: str, rows: int, evidence: Path) -> float:
    from sqlalchemy import inspect, text

    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.services import settings
    from dbcomm.services.database import open_database

    t = time.perf_counter()
    db = open_database(url)
    settings.save_office(db, OfficeIdentity(**province.PROVINCE_OFFICE))
    settings.mark_setup_done(db)
    province.fill(db, rows, evidence_root=evidence)
    with db.engine.begin() as conn:  # the generator writes its own ids: move the sequences past them
        insp = inspect(conn)
        for table in insp.get_table_names():
            if "id" not in {c["name"] for c in insp.get_columns(table)}:
                continue
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
            if seq:
                conn.execute(text(f'SELECT setval(:s, coalesce((SELECT max(id) FROM "{table}"), 0) + 1, false)'),
                             {"s": seq})
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    db.close()
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from dbcomm.services.database import open_database
    from pg_server import Cluster, server_bin_dir

    bin_dir = server_bin_dir()
    if bin_dir is None:
        print("PostgreSQL's server programs are not installed (Debian: apt install postgresql); "
              "the server benchmark is skipped.", file=sys.stderr)
        return 0
    sqlite_path = province.build(args.rows)
    work = Path(tempfile.mkdtemp(prefix="dbcomm-bench-server-"))
    shutil.copy(sqlite_path, work / "province.sqlite3")
    shutil.copytree(sqlite_path.parent / f"{sqlite_path.stem}-attachments", work / "province-attachments")
    cluster = Cluster(bin_dir, durable=True)
    try:
        cluster.start()
        name = cluster.empty_database()
        url = cluster.url(name)
        load_s = fill_server(url, args.rows, work / "server-evidence")
        results: dict[str, dict[str, list[float]]] = {}
        for engine, target in (("sqlite", str(work / "province.sqlite3")), ("server", url)):
            db = open_database(target)
            try:
                results[engine] = measure(db, args.runs)
            finally:
                db.close()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        cluster.remove()
        shutil.rmtree(work, ignore_errors=True)

    def stat(engine: str, key: str, how: str) -> float:
        values = results[engine][key]
        return statistics.median(values) if how == "median" else max(values)

    rows = []
    for key, label, target in (("key", "search keystroke → first page", 50.0),
                               ("complete", "search → every match listed and totalled", None),
                               ("sort", "sort by a column → first page", 200.0),
                               ("page", "scroll: next 100 rows by id", 50.0),
                               ("save", "save an activity (checked, audited)", 200.0)):
        for how in ("median", "worst"):
            figure, baseline = stat("server", key, how), stat("sqlite", key, how)
            rows.append({"scenario": f"{label}, {how}", "server_ms": round(figure, 2),
                         "sqlite_ms": round(baseline, 2), "target_ms": target if how == "worst" else None,
                         "met": (figure < target) if (target is not None and how == "worst") else None})

    print(f"\ndbcomm on a shared PostgreSQL server — {args.rows:,} activities, 45 offices "
          f"(loaded in {load_s:.0f} s), {args.runs} rounds\n")
    head = f"{'scenario':52} {'server ms':>10} {'SQLite ms':>10} {'ratio':>6} {'target':>7}  met"
    print(head)
    print("-" * len(head))
    for r in rows:
        target = f"< {r['target_ms']:.0f}" if r["target_ms"] else ""
        met = "" if r["met"] is None else "yes" if r["met"] else "NO"
        print(f"{r['scenario']:52} {r['server_ms']:10.1f} {r['sqlite_ms']:10.1f} "
              f"{r['server_ms'] / max(r['sqlite_ms'], 0.01):5.1f}× {target:>7}  {met}")
    RESULTS.mkdir(exist_ok=True)
    record = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine(), "rows": args.rows,
              "load_s": round(load_s, 1), "peak_mb": round(peak_mb, 1), "results": rows}
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for fname in (f"server-{stamp}.json", "server-latest.json"):
        (RESULTS / fname).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written to {RESULTS / 'server-latest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
