"""Backup of the province database (100,000 activities): dbcomm's checked backup file against a raw
SQLite online copy of the same file, measured in the same run, with the peak memory.

Usage: python bench/bench_backup.py [--rows 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_register import RESULTS, build_database, machine  # noqa: E402

TARGET_S = 10.0  # a backup to a USB stick while the person waits


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from dbcomm.services import backup
    from dbcomm.services.database import open_database

    source = build_database(args.rows)
    work = Path(tempfile.mkdtemp(prefix="dbcomm-bench-backup-"))
    try:
        live = work / "dbcomm.sqlite3"
        shutil.copyfile(source, live)
        db = open_database(live)
        ours, raw = [], []
        size = 0
        for i in range(args.runs):
            target = work / f"sao-luu-{i}.dbcbak"
            began = time.perf_counter()
            info = backup.backup_to(db, target)
            ours.append(time.perf_counter() - began)
            size = target.stat().st_size
            assert info.activity_count == args.rows, info.activity_count
            copy = work / f"raw-{i}.sqlite3"
            began = time.perf_counter()
            src, dst = sqlite3.connect(live), sqlite3.connect(copy)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
            raw.append(time.perf_counter() - began)
        db.close()
        figure, baseline = statistics.median(ours), statistics.median(raw)
        results = [{
            "scenario": f"back up the whole database ({args.rows:,} activities, checked, to a folder)",
            "seconds": round(figure, 3), "raw_sqlite3_backup_s": round(baseline, 3),
            "ratio": round(figure / baseline, 1) if baseline else None, "target_s": TARGET_S,
            "met": figure < TARGET_S, "backup_mb": round(size / 1e6, 1), "peak_mb": round(peak_mb(), 1)}]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for r in results:
        print(f"{r['scenario']}: {r['seconds']:.2f} s (raw sqlite3 backup {r['raw_sqlite3_backup_s']:.2f} s), "
              f"{r['backup_mb']} MB file, peak {r['peak_mb']} MB, target < {TARGET_S:.0f} s: "
              f"{'met' if r['met'] else 'MISSED'}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    record = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine(), "results": results}
    for name in (f"backup-{stamp}.json", "backup-latest.json"):
        (RESULTS / name).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
