"""Report build times: an office's annual report (5,000 activities) and a province-wide one (100,000).

Each build runs in its own process (its peak memory is its own) through the same service the
window and the ``dbcomm report build`` command use: figures from the register, PDF, stored.
Baseline, measured in the same run: LibreOffice (what offices use today) converting an
equivalent document — the same headings, tables and annex rows, as HTML — to PDF.
Prints one table and writes it as JSON under bench/results/ with the machine description.
Usage: python bench/bench_reports.py [--office-rows 5000] [--province-rows 100000] [--lo-timeout 900]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CACHE = HERE / ".cache"
RESULTS = HERE / "results"

from bench_register import build_database, machine  # noqa: E402

OFFICE = dict(
    name="Ủy ban nhân dân xã Mường Phăng", parent_agency="UBND tỉnh Điện Biên", kind="commune",
    place_name="Mường Phăng", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
    signer_name="Lò Văn Thắng")


def build_office_database(rows: int) -> Path:
    """One office's year: ``rows`` activities dated in 2026 (seeded, built once and reused)."""
    return build_database(rows, name="office", office=OFFICE, seed=2026, start=date(2026, 1, 1),
                          end=date(2026, 12, 31))


BUILD = r"""
import hashlib, json, sys, time
from dataclasses import replace
from datetime import date
from pathlib import Path
from dbcomm.services import plans, reports
from dbcomm.services.database import open_database
from dbcomm.services.report_pdf import render_pdf

db = open_database(Path(sys.argv[1]))
plan_id = plans.default_plan(db).id
cfg = replace(reports.default_settings(db, plan_id, sys.argv[2]), doc_date=date(2026, 12, 20), number="12")
t0 = time.perf_counter()
content = reports.compute(db, cfg, reports.Narrative())
t1 = time.perf_counter()
pdf = render_pdf(content)
t2 = time.perf_counter()
info = reports.save_draft(db, None, cfg, reports.draft_narrative(content))
t3 = time.perf_counter()
built = reports.build(db, info.id)
t4 = time.perf_counter()
Path(sys.argv[3]).write_bytes(built.pdf)
Path(sys.argv[3] + ".json").write_text(content.to_json(), encoding="utf-8")
peak = 0.0
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) / 1024
print(json.dumps({"compute": t1 - t0, "render": t2 - t1, "build": t4 - t3, "pages": built.info.pdf_pages,
                  "activities": built.info.activity_count, "bytes": len(built.pdf), "peak_mb": peak}))
"""


def run_build(db_path: Path, period: str, out: Path) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="dbcomm-bench-"))
    try:
        copy = work / "db.sqlite3"
        shutil.copyfile(db_path, copy)  # the build stores the report: keep the cached database clean
        proc = subprocess.run([sys.executable, "-c", BUILD, str(copy), period, str(out)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table border="1" cellspacing="0"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def equivalent_html(content_json: Path) -> str:
    """The same document as HTML: header, headings, narrative, result tables and the annex."""
    from dbcomm.domain.report import ReportContent

    c = ReportContent.from_json(content_json.read_text(encoding="utf-8"))
    h = c.header
    parts = [
        '<html><head><meta charset="utf-8"><style>body{font-family:"Liberation Serif";font-size:14pt}'
        "td,th{font-size:11pt}</style></head><body>",
        f"<table width='100%'><tr><td align='center'>{html.escape(h.parent_agency.upper())}<br><b>"
        f"{html.escape(h.agency.upper())}</b><br>Số: {h.number}/BC-{h.symbol}</td><td align='center'><b>"
        f"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><br><b>Độc lập - Tự do - Hạnh phúc</b><br><i>{h.place}, "
        f"ngày {h.doc_date:%d} tháng {h.doc_date:%m} năm {h.doc_date:%Y}</i></td></tr></table>",
        f"<h2 align='center'>BÁO CÁO<br>{html.escape(h.subject)}</h2>",
        f"<p align='center'>Kính gửi: {html.escape('; '.join(h.recipients))}</p>",
        f"<h3>I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI</h3><p align='justify'>{html.escape(c.narrative.direction)}</p>",
        "<h3>II. KẾT QUẢ THỰC HIỆN</h3>",
    ]
    cols = ["Mã", "Nội dung", "Số hoạt động", "Tin bài", "Buổi", "Phút", "Lượt người"]
    for title, rows in (("Theo hình thức", c.by_form), ("Theo mục tiêu", c.by_objective),
                        ("Theo chương trình", c.by_programme), ("Theo địa bàn", c.by_place),
                        ("Theo ngôn ngữ", c.by_language)):
        parts.append(f"<h4>{title}</h4>" + _table(cols, [[f.code, f.label, f.activities, f.items, f.sessions,
                                                            f.minutes, f.reach] for f in rows]))
    parts.append("<h3>III. ĐÁNH GIÁ CHUNG</h3><p>" + html.escape(c.narrative.assessment) + "</p>")
    parts.append("<h2>PHỤ LỤC</h2>" + _table(
        ["STT", "Ngày", "Hình thức", "Tên hoạt động", "Địa bàn", "Ngôn ngữ", "Mục tiêu", "Tin bài", "Buổi",
         "Phút", "Lượt người"],
        [[i, a.date_start.strftime("%d/%m/%Y"), a.form_code, a.title, a.place, a.languages, a.objectives,
          a.items, a.sessions, a.minutes, a.reach] for i, a in enumerate(c.annex, 1)]))
    parts.append("</body></html>")
    return "".join(parts)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def run_libreoffice(content_json: Path, timeout: float) -> float | None:
    """Seconds LibreOffice takes to convert the equivalent document to PDF (None: not installed)."""
    exe = soffice()
    if exe is None:
        return None
    work = Path(tempfile.mkdtemp(prefix="dbcomm-lo-"))
    try:
        src = work / "report.html"
        src.write_text(equivalent_html(content_json), encoding="utf-8")
        profile = f"-env:UserInstallation=file://{work / 'profile'}"
        # a first run creates the profile: not counted
        warm = work / "warm.html"
        warm.write_text("<html><body>x</body></html>", encoding="utf-8")
        subprocess.run([exe, profile, "--headless", "--convert-to", "pdf", "--outdir", str(work), str(warm)],
                       capture_output=True, timeout=300, check=False)
        t = time.perf_counter()
        # its own process group: on time-out the whole office suite is stopped, not just its launcher
        proc = subprocess.Popen([exe, profile, "--headless", "--convert-to", "pdf:writer_pdf_Export", "--outdir",
                                 str(work), str(src)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return float("inf")
        elapsed = time.perf_counter() - t
        return elapsed if (work / "report.pdf").exists() else float("nan")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--office-rows", type=int, default=5_000)
    parser.add_argument("--province-rows", type=int, default=100_000)
    parser.add_argument("--lo-timeout", type=float, default=900)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    office_db = build_office_database(args.office_rows)
    province_db = build_database(args.province_rows)
    out_dir = Path(tempfile.mkdtemp(prefix="dbcomm-bench-pdf-"))
    scenarios = [
        (f"annual office report, {args.office_rows:,} activities", office_db, "2026", 3.0),
        (f"province report, {args.province_rows:,} activities", province_db, "2022-01-01..2026-12-31", 20.0),
    ]
    results = []
    for name, db_path, period, target in scenarios:
        pdf = out_dir / (name.split(",")[0].replace(" ", "-") + ".pdf")
        figures = run_build(db_path, period, pdf)
        lo = run_libreoffice(Path(str(pdf) + ".json"), args.lo_timeout)
        results.append((name, figures, lo, target))
        print(f"{name}: built in {figures['build']:.2f} s ({figures['pages']:,} pages, "
              f"{figures['activities']:,} activities); LibreOffice: "
              f"{'not installed' if lo is None else f'{lo:.1f} s'}", file=sys.stderr)
    print("\ndbcomm report benchmark\n")
    head = f"{'scenario':46} {'build s':>8} {'LibreOffice s':>13} {'ratio':>7} {'target':>7}  met  pages  peak MB"
    print(head)
    print("-" * len(head))
    out = []
    for name, f, lo, target in results:
        met = f["build"] < target
        lo_text = "n/a" if lo is None else (f"> {args.lo_timeout:.0f}" if lo == float("inf") else f"{lo:.2f}")
        ratio = (lo / f["build"]) if lo not in (None, float("inf")) and lo == lo else None
        print(f"{name:46} {f['build']:8.2f} {lo_text:>13} {'' if ratio is None else f'{ratio:6.1f}×':>7} "
              f"{'< ' + str(int(target)):>7}  {'yes' if met else 'NO ':3}  {f['pages']:5,}  {f['peak_mb']:7.0f}")
        print(f"{'  of which: figures from the register':46} {f['compute']:8.2f}")
        print(f"{'  of which: PDF':46} {f['render']:8.2f}")
        out.append({"scenario": name, "build_s": round(f["build"], 3), "compute_s": round(f["compute"], 3),
                    "render_s": round(f["render"], 3), "pages": f["pages"], "activities": f["activities"],
                    "pdf_bytes": f["bytes"], "peak_mb": round(f["peak_mb"], 1),
                    "libreoffice_s": None if lo is None else (None if lo != lo or lo == float("inf")
                                                             else round(lo, 3)),
                    "libreoffice_timed_out": lo == float("inf"),
                    "ratio_libreoffice_to_dbcomm": None if ratio is None else round(ratio, 2),
                    "target_s": target, "met": met})
    print("\nBaseline: LibreOffice converting the same document (header, headings, narrative, result "
          "tables and every annex row, as HTML) to PDF, on the same machine; ratio = LibreOffice ÷ dbcomm.")
    RESULTS.mkdir(exist_ok=True)
    record = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine(), "results": out}
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for fname in (f"reports-{stamp}.json", "reports-latest.json"):
        (RESULTS / fname).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written to {RESULTS / 'reports-latest.json'}")
    shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
