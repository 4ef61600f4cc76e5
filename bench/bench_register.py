"""Province-scale benchmark of the register (100,000 activities).

Measures, in one run, each figure next to a baseline measured in the same run:
  - process start → register shown and populated   (baseline: a bare PySide6 window)
  - search/filter keystroke → table updated          (baseline: the same query in raw sqlite3)
  - scrolling through the whole table, page by page (target: no step above 50 ms)
  - peak memory of the application process
Prints one table and writes it as JSON under bench/results/ with the machine description.
Usage: python bench/bench_register.py [--rows 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results"


PROVINCE_OFFICE = dict(
    name="Sở Giáo dục và Đào tạo", parent_agency="UBND tỉnh Điện Biên", kind="department",
    place_name="Điện Biên Phủ", symbol="SGDĐT", signer_title="GIÁM ĐỐC", signer_name="Nguyễn Văn A")


def build_database(rows: int, *, name: str = "province", office: dict[str, str] | None = None,
                   seed: int = 2030, start: date = date(2022, 3, 1), end: date = date(2026, 11, 1)) -> Path:
    """A reproducible register (seeded), built once and reused: by default the province's 45 offices."""
    if name == "province" and office is None:
        import province

        return province.build(rows)
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.services import demo, settings
    from dbcomm.services.database import open_database
    from dbcomm.store.migrate import HEAD_REVISION

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}-{rows}-{HEAD_REVISION}.sqlite3"
    if path.exists():
        return path
    tmp = path.with_suffix(".building")
    for p in CACHE.glob(tmp.name + "*"):
        p.unlink()
    t = time.perf_counter()
    db = open_database(tmp)
    settings.save_office(db, OfficeIdentity(**(office or PROVINCE_OFFICE)))
    settings.mark_setup_done(db)
    demo.generate(db, rows, seed=seed, start=start, end=end)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    tmp.rename(path)
    print(f"built {rows:,} activities in {time.perf_counter() - t:.1f} s → {path}", file=sys.stderr)
    return path


BARE_WINDOW = r"""
import time, sys
t0 = time.perf_counter()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QTableView
app = QApplication(sys.argv[:1])
w = QMainWindow(); w.setCentralWidget(QTableView()); w.resize(1280, 800); w.show()
def ready():
    app.processEvents()
    print(f"ready {time.perf_counter() - t0:.3f}", flush=True)
    app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed_process(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time from spawn to the 'ready' line, and the peak memory the child reports (MB)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    assert proc.stdout is not None
    elapsed, mem = None, 0.0
    for line in proc.stdout:
        if line.startswith("ready"):
            elapsed = time.perf_counter() - t
            for part in line.split():
                if part.startswith("peak_mb="):
                    mem = float(part.split("=", 1)[1])
    status = proc.wait()
    if elapsed is None or status != 0:
        raise RuntimeError(f"{cmd} did not report ready (status {status})")
    return elapsed, mem


def bench_startup(db_path: Path, runs: int) -> dict[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DBCOMM_EXIT_WHEN_READY="1")
    bare, app, mem = [], [], []
    timed_process([sys.executable, "-c", BARE_WINDOW], env)  # warm the file cache
    timed_process([sys.executable, "-m", "dbcomm", "--db", str(db_path)], env)
    for _ in range(runs):
        bare.append(timed_process([sys.executable, "-c", BARE_WINDOW], env)[0])
        t, m = timed_process([sys.executable, "-m", "dbcomm", "--db", str(db_path)], env)
        app.append(t)
        mem.append(m)
    return {"bare": statistics.median(bare), "app": statistics.median(app), "mem": max(mem)}


KEYSTROKES = ["h", "ho", "hoc", "hoc ", "hoc t", "hoc ta", "hoc tap", "hoc tap s", "hoc tap suot",
              "hoc tap suot doi", "HỌC TẬP SUỐT ĐỜI", "mường", "muong phang", "loa", "khuyen hoc"]


def raw_where(term_list: list[str]) -> tuple[str, list[str]]:
    from dbcomm.store.activities import fts_query

    long_terms = [t for t in term_list if len(t) >= 3]
    parts, args = ["a.deleted_at IS NULL"], []
    if long_terms:
        parts.append("a.id IN (SELECT rowid FROM activity_fts WHERE activity_fts MATCH ?)")
        args.append(fts_query(long_terms))
    for t in term_list:
        if len(t) < 3:
            parts.append("instr(a.search_text, ?) > 0")
            args.append(t)
    return " AND ".join(parts), args


def raw_first_page(conn: sqlite3.Connection, term_list: list[str]) -> None:
    where, args = raw_where(term_list)
    conn.execute(f"SELECT a.id, a.uuid, a.date_start, a.date_end, f.code, f.name, a.subtype, a.title, o.name, "
                 f"a.languages, a.items, a.minutes, a.sessions, a.reach_total, a.partner, a.cost FROM activity a "
                 f"JOIN comm_form f ON f.id = a.form_id LEFT JOIN organisation o ON o.id = a.place_id "
                 f"WHERE {where} ORDER BY a.date_start DESC, a.id DESC LIMIT 200", args).fetchall()


def raw_complete(conn: sqlite3.Connection, term_list: list[str]) -> None:
    where, args = raw_where(term_list)
    conn.execute(f"SELECT a.id FROM activity a WHERE {where} ORDER BY +a.date_start DESC, a.id DESC", args).fetchall()
    conn.execute(f"SELECT count(*), sum(items), sum(minutes), sum(sessions), sum(reach_total), sum(cost) "
                 f"FROM activity a WHERE {where}", args).fetchone()


def bench_interactive(db_path: Path) -> dict[str, float]:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from dbcomm.domain.text import search_terms
    from dbcomm.services import plans
    from dbcomm.services.database import open_database
    from dbcomm.ui import collector
    from dbcomm.ui.register_view import RegisterView

    app = QApplication.instance() or QApplication([])
    collector.install(app)  # as the application does: the cyclic collector runs on the GUI thread only
    db = open_database(db_path)
    tree = plans.get_tree(db, plans.default_plan(db).id)
    view = RegisterView(db, tree)
    view.resize(1280, 760)
    view.show()
    app.processEvents()

    def visible_rows() -> None:
        model = view.model
        first = view.table.rowAt(0)
        last = view.table.rowAt(view.table.viewport().height() - 1)
        for r in range(max(first, 0), (last if last >= 0 else min(30, model.rowCount()))):
            for c in range(model.columnCount()):
                model.data(model.index(r, c))

    key_times, raw_times, done_times, raw_done_times = [], [], [], []
    conn = sqlite3.connect(db_path)
    for _round in range(3):
        for text in KEYSTROKES:
            t = time.perf_counter()
            view.search_edit.blockSignals(True)
            view.search_edit.setText(text)
            view.search_edit.blockSignals(False)
            view.apply_filter()
            visible_rows()
            app.processEvents()
            key_times.append((time.perf_counter() - t) * 1000)
            view.model.wait()
            app.processEvents()
            done_times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            raw_first_page(conn, search_terms(text))
            raw_times.append((time.perf_counter() - t) * 1000)
            raw_complete(conn, search_terms(text))
            raw_done_times.append((time.perf_counter() - t) * 1000)
    view.search_edit.setText("")
    view.apply_filter()

    combo_times = []
    for combo in (view.form_combo, view.period_combo, view.language_combo, view.place_combo, view.node_combo):
        for i in list(range(1, min(combo.count(), 6))) + [0]:
            t = time.perf_counter()
            combo.setCurrentIndex(i)  # applies the filter
            visible_rows()
            app.processEvents()
            combo_times.append((time.perf_counter() - t) * 1000)
            view.model.wait()

    sort_times = []
    # every column as clicks sort it (a new column ascending, the same one again descending),
    # ending on the date, newest first, which the scrolling below goes through
    header = view.table.horizontalHeader()
    for col in (3, 4, 8, 1, 2, 5, 6, 7, 9, 0):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            t = time.perf_counter()
            view.table.sortByColumn(col, order)
            visible_rows()
            app.processEvents()
            sort_times.append((time.perf_counter() - t) * 1000)
            assert header.sortIndicatorSection() == col
            view.model.wait()

    bar = view.table.verticalScrollBar()
    steps = 400
    step_times = []
    t_all = time.perf_counter()
    for k in range(steps + 1):
        t = time.perf_counter()
        bar.setValue(bar.maximum() * k // steps)
        visible_rows()
        app.processEvents()
        step_times.append((time.perf_counter() - t) * 1000)
    scroll_total = time.perf_counter() - t_all
    t = time.perf_counter()
    view.table.scrollToBottom()
    visible_rows()
    app.processEvents()
    to_end = (time.perf_counter() - t) * 1000
    count = view.model.rowCount()
    peak = peak_mb()
    view.model.shutdown()
    view.close()
    view.deleteLater()
    app.processEvents()
    db.close()
    return {
        "rows": count,
        "key_median": statistics.median(key_times), "key_max": max(key_times),
        "raw_median": statistics.median(raw_times), "raw_max": max(raw_times),
        "done_median": statistics.median(done_times), "done_max": max(done_times),
        "raw_done_median": statistics.median(raw_done_times), "raw_done_max": max(raw_done_times),
        "combo_median": statistics.median(combo_times), "combo_max": max(combo_times),
        "sort_max": max(sort_times), "scroll_step_max": max(step_times),
        "scroll_step_median": statistics.median(step_times), "scroll_total": scroll_total,
        "to_end": to_end, "mem": peak,
    }


def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import PySide6
    import sqlalchemy

    return {
        "platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
        "python": platform.python_version(), "pyside6": PySide6.__version__,
        "sqlalchemy": sqlalchemy.__version__, "sqlite": sqlite3.sqlite_version,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    if args.build_only:
        build_database(args.rows)
        return 0
    # built in its own process, so that this process's memory is the register's alone
    subprocess.run([sys.executable, __file__, "--build-only", "--rows", str(args.rows)], check=True)
    db_path = build_database(args.rows)
    start = bench_startup(db_path, args.runs)
    inter = bench_interactive(db_path)
    rows = [
        # name, figure, unit, baseline, target, met
        ("start → register shown (s)", start["app"], start["bare"], 1.0, start["app"] < 1.0),
        ("search keystroke, median (ms)", inter["key_median"], inter["raw_median"], 50, inter["key_median"] < 50),
        ("search keystroke, worst (ms)", inter["key_max"], inter["raw_max"], 50, inter["key_max"] < 50),
        ("search → totals shown, median (ms)", inter["done_median"], inter["raw_done_median"], None, None),
        ("search → totals shown, worst (ms)", inter["done_max"], inter["raw_done_max"], None, None),
        ("filter change, median (ms)", inter["combo_median"], None, 50, inter["combo_median"] < 50),
        ("filter change, worst (ms)", inter["combo_max"], None, 50, inter["combo_max"] < 50),
        ("sort by column, worst (ms)", inter["sort_max"], None, 200, inter["sort_max"] < 200),
        ("scroll step, worst of 400 (ms)", inter["scroll_step_max"], None, 50, inter["scroll_step_max"] < 50),
        ("scroll whole table, total (s)", inter["scroll_total"], None, None, None),
        ("jump to last row (ms)", inter["to_end"], None, 50, inter["to_end"] < 50),
        ("peak memory, app process (MB)", start["mem"], None, 300, start["mem"] < 300),
        ("peak memory, interactive run (MB)", inter["mem"], None, 300, inter["mem"] < 300),
    ]
    print(f"\ndbcomm register benchmark — {inter['rows']:,} activities, {os.cpu_count()} cores\n")
    head = f"{'scenario':36} {'figure':>9} {'baseline':>9} {'ratio':>7} {'target':>8}  met"
    print(head)
    print("-" * len(head))
    out = []
    for name, fig, base, target, met in rows:
        ratio = fig / base if base else None
        print(f"{name:36} {fig:9.3f} {'' if base is None else f'{base:9.3f}':>9} "
              f"{'' if ratio is None else f'{ratio:6.1f}×':>7} {'' if target is None else f'< {target}':>8}  "
              f"{'' if met is None else ('yes' if met else 'NO')}")
        out.append({"scenario": name, "figure": round(fig, 4), "baseline": None if base is None else round(base, 4),
                    "ratio": None if ratio is None else round(ratio, 2), "target": target, "met": met})
    print("\nBaselines: start = a bare PySide6 window with an empty table, started the same way; "
          "keystroke = the same first-page query in raw sqlite3; totals = the same id-list and sum "
          "queries in raw sqlite3. A keystroke updates the table from the first page; the full count "
          "and totals follow from a background thread.")
    RESULTS.mkdir(exist_ok=True)
    record = {"when": datetime.now().isoformat(timespec="seconds"), "rows": inter["rows"],
              "machine": machine(), "results": out}
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for name in (f"register-{stamp}.json", "register-latest.json"):
        (RESULTS / name).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written to {RESULTS / 'register-latest.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
