"""Importing an office's Excel log of 20,000 activities: dbcomm's import against openpyxl merely
reading the same file, measured in the same run, each step in a process of its own (for its peak
memory).

Steps: the wizard's three, each timed — the values (the file read, each form, place, objective
written in it matched), the dry run (every row checked, nothing written; the rows read in the
values step reused), the import after it (the dry run's rows checked again against the register
and written in one transaction, each with its audit entry); the import with nothing read before
(the file read again); the whole headless command ``dbcomm sheets import FILE --yes`` (open,
header, mapping, values, dry run, import); the dry run of the same file once imported (nothing
new).  Target: the import under 10 s, whichever way it is done.

Usage: python bench/bench_sheets.py [--rows 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_register import RESULTS, machine  # noqa: E402

TARGET_S = 10.0  # the office waits for its log to come in
PLACES = ["Xã Mường Phăng", "Xã Nà Tấu", "Xã Thanh Nưa", "Xã Thanh Xương", "Xã Mường Pồn"]
TOPICS = ["Ngày Sách và Văn hóa đọc Việt Nam", "Tuần lễ hưởng ứng học tập suốt đời", "mô hình “Gia đình học tập”",
          "công tác khuyến học, khuyến tài", "xóa mù chữ cho đồng bào dân tộc thiểu số"]


def peak_mb() -> float:
    """This process's peak resident memory.  /proc's VmHWM belongs to this program alone; the
    maximum getrusage reports also counts the benchmark process this one was started from."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """This process's processor time: steadier than the clock on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_log(path: Path, rows: int) -> None:
    """A commune's log as offices keep it: a title, the header, dates as dates and as text,
    Vietnamese thousands, free-text forms, places and objectives, a totals row."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Năm 2025")
    ws.append(["SỔ THEO DÕI HOẠT ĐỘNG TRUYỀN THÔNG VỀ XÂY DỰNG XÃ HỘI HỌC TẬP"])
    ws.append([])
    ws.append(["STT", "Ngày thực hiện", "Hình thức", "Nội dung tuyên truyền", "Địa bàn", "Mục tiêu, nhiệm vụ",
               "Ngôn ngữ", "Số lượt người", "Nữ", "Nam", "Số tin, bài", "Thời lượng (phút)", "Kinh phí (đồng)",
               "Nguồn kinh phí", "Đơn vị phối hợp", "Ghi chú"])
    forms = ["Loa truyền thanh", "F1", "Facebook", "F4", "Thư viện"]
    for i in range(rows):
        day = date(2025, 1 + i % 11, 1 + i % 28)
        reach = 40 + (i * 37) % 900
        ws.append([
            i + 1, day if i % 3 else day.strftime("%d/%m/%Y"), forms[i % 5],
            f"Tuyên truyền về {TOPICS[i % 5]} (đợt {1 + i // 5 % 9}, số {i + 1})", PLACES[i % 5],
            f"{1 + i % 4}.1" if i % 6 else "2.1; 2.3", "Tiếng Việt" if i % 4 else "Tiếng Việt, Tiếng Thái",
            f"{reach:,}".replace(",", ".") if i % 2 else reach, reach // 2, reach - reach // 2, 1 + i % 3,
            (i % 4) * 15, 1_500_000 if i % 9 == 0 else None, "Ngân sách nhà nước" if i % 9 == 0 else None,
            "Đài truyền thanh xã", None])
    ws.append([None, None, None, "Tổng cộng"])
    wb.save(path)
    _add_dimension(path, f"A1:P{rows + 4}")


def _add_dimension(path: Path, ref: str) -> None:
    """Excel writes the sheet's size at its top (openpyxl's streaming mode does not): so does this
    file, so that openpyxl, the baseline, reads it as it reads a workbook saved by Excel."""
    import zipfile

    with zipfile.ZipFile(path) as src:
        items = {name: src.read(name) for name in src.namelist()}
    name = next(n for n in items if n.startswith("xl/worksheets/sheet"))
    items[name] = items[name].replace(b"<sheetData>", f'<dimension ref="{ref}"/><sheetData>'.encode(), 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item, data in items.items():
            dst.writestr(item, data)


def _child(step: str, file: Path, db_path: Path) -> dict[str, float]:
    """One measured step, in this (fresh) process."""
    if step == "openpyxl":
        import openpyxl

        began, cpu = time.perf_counter(), cpu_s()
        wb = openpyxl.load_workbook(file, read_only=True, data_only=True)
        n = sum(1 for row in wb.worksheets[0].iter_rows(values_only=True) if any(v is not None for v in row))
        wb.close()
        return {"seconds": time.perf_counter() - began, "cpu_s": cpu_s() - cpu, "rows": n, "peak_mb": peak_mb()}
    if step == "command":
        import contextlib
        import io

        from dbcomm.cli import main

        began, cpu = time.perf_counter(), cpu_s()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["--db", str(db_path), "sheets", "import", str(file), "--yes"])
        assert code == 0, code
        return {"seconds": time.perf_counter() - began, "cpu_s": cpu_s() - cpu, "peak_mb": peak_mb()}

    from dbcomm.services import plans, sheets
    from dbcomm.services.database import open_database

    db = open_database(db_path)
    if step.startswith("export"):  # the province's whole register, out to a workbook or CSV
        from dbcomm.domain.models import ActivityFilter

        told = [0]
        began, cpu = time.perf_counter(), cpu_s()
        result = sheets.export_register(db, ActivityFilter(), file, progress=lambda d, t: told.__setitem__(0, d))
        out = {"seconds": time.perf_counter() - began, "cpu_s": cpu_s() - cpu, "rows": result.rows,
               "told": told[0], "mb": file.stat().st_size / 1e6, "peak_mb": peak_mb()}
        db.close()
        return out
    info = sheets.open_source(file)
    pv = sheets.preview(info)
    mapping = sheets.propose_mapping(db, pv)
    request = sheets.ImportRequest(file, plans.default_plan(db).id, mapping, sheet=pv.sheet)
    if step == "wizard":  # the wizard's three steps, each timed: values, dry run, import
        began, cpu = time.perf_counter(), cpu_s()
        request.value_map = sheets.proposed_value_map(sheets.value_suggestions(db, request))
        values_s, values_cpu = time.perf_counter() - began, cpu_s() - cpu
        began, cpu = time.perf_counter(), cpu_s()
        dry = sheets.dry_run(db, request)
        dry_s, dry_cpu = time.perf_counter() - began, cpu_s() - cpu
        began, cpu = time.perf_counter(), cpu_s()
        result = sheets.apply_import(db, request, dry_run=dry)
        out = {"seconds": time.perf_counter() - began, "cpu_s": cpu_s() - cpu, "values_s": values_s,
               "values_cpu_s": values_cpu, "dry_run_s": dry_s, "dry_run_cpu_s": dry_cpu,
               "steps_s": values_s + dry_s + time.perf_counter() - began, "added": result.added,
               "peak_mb": peak_mb()}
    else:
        request.value_map = sheets.proposed_value_map(sheets.value_suggestions(db, request))
        sheets.forget()  # nothing read before: the file is read again, as after a restart
        began, cpu = time.perf_counter(), cpu_s()
        if step == "import_alone":
            result = sheets.apply_import(db, request)
            out = {"seconds": time.perf_counter() - began, "cpu_s": cpu_s() - cpu, "added": result.added,
                   "peak_mb": peak_mb()}
        else:
            dry = sheets.dry_run(db, request)
            out = {"seconds": time.perf_counter() - began, "cpu_s": cpu_s() - cpu, "new": dry.counts["new"],
                   "already": dry.counts["already"], "errors": dry.counts["error"], "peak_mb": peak_mb()}
    db.close()
    return out


def run_child(step: str, file: Path, db_path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", step, str(file), str(db_path)],
                          check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-export", action="store_true", help="leave out the register's export (2 minutes)")
    parser.add_argument("--child", nargs=3, metavar=("STEP", "FILE", "DB"))
    args = parser.parse_args()
    if args.child:
        step, file, db_path = args.child
        print(json.dumps(_child(step, Path(file), Path(db_path))))
        return 0

    from dbcomm.services import demo
    from dbcomm.services.database import open_database

    work = Path(tempfile.mkdtemp(prefix="dbcomm-bench-sheets-"))
    try:
        log = work / "so-theo-doi-2025.xlsx"
        began = time.perf_counter()
        make_log(log, args.rows)
        print(f"made {log.name}: {args.rows:,} rows, {log.stat().st_size / 1e6:.1f} MB in "
              f"{time.perf_counter() - began:.1f} s", flush=True)
        empty = work / "empty.sqlite3"
        db = open_database(empty)
        demo.ensure_demo_communes(db)
        db.close()

        def fresh(name: str) -> Path:
            target = work / f"{name}.sqlite3"
            for p in work.glob(f"{name}.sqlite3*"):
                p.unlink()
            shutil.copyfile(empty, target)
            return target

        steps = ("openpyxl", "wizard", "import_alone", "command", "dry_run_again")
        samples: dict[str, list[dict[str, float]]] = {k: [] for k in steps}
        for i in range(args.runs):
            samples["openpyxl"].append(run_child("openpyxl", log, empty))
            target = fresh(f"import-{i}")
            samples["wizard"].append(run_child("wizard", log, target))
            samples["dry_run_again"].append(run_child("dry_run", log, target))
            samples["import_alone"].append(run_child("import_alone", log, fresh(f"alone-{i}")))
            samples["command"].append(run_child("command", log, fresh(f"command-{i}")))
            print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.2f} s (cpu {v[-1]['cpu_s']:.2f} s)"
                                               for k, v in samples.items()), flush=True)
        if not args.no_export:  # once: a minute each on two cores
            import province

            source = province.build()
            target = work / "province.sqlite3"
            shutil.copyfile(source, target)
            for kind in ("xlsx", "csv"):
                samples[f"export_{kind}"] = [run_child(f"export_{kind}", work / f"so-hoat-dong.{kind}", target)]
                print(f"export {kind}: {samples[f'export_{kind}'][0]['seconds']:.1f} s", flush=True)
        assert all(s["added"] == args.rows for s in samples["wizard"] + samples["import_alone"]), samples["wizard"]
        assert all(s["already"] == args.rows for s in samples["dry_run_again"]), samples["dry_run_again"]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(step: str, key: str = "seconds") -> float:
        return round(statistics.median(s[key] for s in samples[step]), 3)

    baseline, baseline_cpu = median("openpyxl"), median("openpyxl", "cpu_s")
    results = []
    n = f"{args.rows:,}"
    for step, key, cpu_key, target, scenario in (
            ("wizard", "steps_s", None, TARGET_S,
             f"import an Excel log of {n} activities in the wizard: its three steps together (values, dry run, "
             f"import)"),
            ("wizard", "values_s", "values_cpu_s", None,
             f"wizard, values step: the log read ({n} rows) and each form, place, objective written in it matched"),
            ("wizard", "dry_run_s", "dry_run_cpu_s", None,
             "wizard, dry-run step: every row checked against the plan and the register (the rows read in the values "
             "step reused), nothing written"),
            ("wizard", "seconds", "cpu_s", TARGET_S,
             "wizard, import step after the dry run (checked again against the register, written in one transaction)"),
            ("command", "seconds", "cpu_s", TARGET_S,
             f"dbcomm sheets import FILE --yes ({n} rows: header, mapping, values, dry run, import)"),
            ("import_alone", "seconds", "cpu_s", TARGET_S,
             f"import of the same log with nothing read before ({n} rows read, checked and written)"),
            ("dry_run_again", "seconds", "cpu_s", None,
             f"dry run of the same log once imported, with nothing read before ({n} rows already there)")):
        figure = median(step, key)
        results.append({
            "scenario": scenario, "seconds": figure, "cpu_s": median(step, cpu_key) if cpu_key else None,
            "openpyxl_read_s": baseline, "openpyxl_read_cpu_s": baseline_cpu,
            "ratio": round(figure / baseline, 1) if baseline else None,
            "target_s": target, "met": figure < target if target else None,
            "peak_mb": round(max(s["peak_mb"] for s in samples[step]), 1),
            "runs": [round(s[key], 3) for s in samples[step]]})
    for kind in ("xlsx", "csv"):
        if f"export_{kind}" in samples:
            sample = samples[f"export_{kind}"][0]
            results.append({
                "scenario": f"export the province's register ({sample['rows']:,} activities) to "
                            f"{'an Excel workbook' if kind == 'xlsx' else 'CSV'} ({sample['mb']:.0f} MB), with "
                            f"progress and Stop", "seconds": round(sample["seconds"], 3),
                "cpu_s": round(sample["cpu_s"], 3), "target_s": None, "met": None,
                "peak_mb": round(sample["peak_mb"], 1), "runs": [round(sample["seconds"], 3)]})
    results.append({"scenario": f"baseline: openpyxl reading the same file (read-only, values, {args.rows:,} rows)",
                    "seconds": baseline, "cpu_s": baseline_cpu,
                    "peak_mb": round(max(s["peak_mb"] for s in samples["openpyxl"]), 1),
                    "runs": [round(s["seconds"], 3) for s in samples["openpyxl"]]})
    for r in results:
        extra = (f" (openpyxl reading alone {r['openpyxl_read_s']:.2f} s, ×{r['ratio']})"
                 if "openpyxl_read_s" in r else "")
        goal = (f", target < {TARGET_S:.0f} s: {'met' if r['met'] else 'MISSED'}" if r.get("target_s") else "")
        cpu = f" (processor {r['cpu_s']:.2f} s)" if r.get("cpu_s") is not None else ""
        print(f"{r['scenario']}: {r['seconds']:.2f} s{cpu}{extra}, "
              f"peak {r['peak_mb']} MB{goal}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    record = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine(), "rows": args.rows,
              "results": results}
    for name in (f"sheets-{stamp}.json", "sheets-latest.json"):
        (RESULTS / name).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
