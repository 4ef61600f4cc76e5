"""Signing and verifying a report of about 50 pages, the two steps as offices do them.

Measures, on a copy of the office register: the leader's signature (what the window does:
re-render the stored report, check it is byte-identical to the build, place the image,
sign, lock the period), the registry's number-and-seal step, the bare signature of the
same PDF, and verifying the two signatures; baseline: poppler's ``pdfsig`` verifying the
same file in the same run. Certificates: a throwaway test authority (from the test suite).
Prints one table and writes it as JSON under bench/results/ with the machine description.
Usage: python bench/bench_signing.py [--rows 5000] [--period 2026-01-01..2026-02-28] [--repeat 5]
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
sys.path.insert(0, str(HERE.parent / "tests"))  # the test authority and the sample images
RESULTS = HERE / "results"

from bench_register import machine  # noqa: E402
from bench_reports import build_office_database  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--period", default="2026-01-01..2026-02-28")  # about 50 pages
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import pki
    import signature_images
    from dbcomm.domain.report import Narrative
    from dbcomm.services import plans, report_signing, reports, signing
    from dbcomm.services.database import open_database
    from dbcomm.store.models import Report

    work = Path(tempfile.mkdtemp())
    source = build_office_database(args.rows)
    authority = pki.build(work)
    leader = signing.load_pkcs12(authority.leader, authority.password)
    office = signing.load_pkcs12(authority.office, authority.password)
    signature, seal = signature_images.blue_signature(), signature_images.red_seal()

    def fresh_report() -> tuple[object, int]:
        path = work / "office.sqlite3"
        shutil.copyfile(source, path)
        db = open_database(path)
        plan_id = plans.default_plan(db).id
        cfg = reports.default_settings(db, plan_id, args.period)
        cfg.number, cfg.date_by_registry, cfg.doc_date = "", True, date(2026, 4, 5)
        info = reports.save_draft(db, None, cfg, Narrative(direction="Đã triển khai."))
        reports.build(db, info.id)
        return db, info.id

    leader_times, seal_times = [], []
    for _ in range(args.repeat):
        db, report_id = fresh_report()
        t0 = time.perf_counter()
        report_signing.sign_report(db, report_id, leader, signature)
        leader_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        issued = report_signing.seal_report(db, report_id, office, seal, 36, number="12").pdf
        seal_times.append(time.perf_counter() - t0)
        with db.read() as s:
            unsigned_pages = s.get(Report, report_id).pdf_pages
        plain = reports.render_stored(db, report_id).pdf
        db.close()
    bare, _ = timed(lambda: signing.sign_pdf(plain, leader, field_name="X"), args.repeat)
    verify, result = timed(lambda: signing.verify_pdf(issued, [authority.root_pem]), args.repeat)
    assert result.verdict == "valid", result  # type: ignore[attr-defined]
    pdfsig = None
    if shutil.which("pdfsig"):
        target = work / "issued.pdf"
        target.write_bytes(issued)
        pdfsig, out = timed(lambda: subprocess.run(["pdfsig", str(target)], capture_output=True, text=True,
                                                   check=False).stdout, args.repeat)
        assert str(out).count("Signature is Valid") == 2, out
    rows = [
        ("leader signs (re-render, check, sign, lock)", statistics.median(leader_times), None, 2.0),
        ("registry numbers, dates and seals", statistics.median(seal_times), None, 2.0),
        ("bare PAdES signature of the same PDF", bare, None, 1.0),
        ("verify both signatures", verify, pdfsig, 1.0),
    ]
    print(f"\ndbcomm signing benchmark — {unsigned_pages} pages, {len(issued) / 1e6:.1f} MB signed, "
          f"median of {args.repeat}\n")
    head = f"{'scenario':46} {'dbcomm s':>8} {'pdfsig s':>9} {'ratio':>6} {'target':>7}  met"
    print(head)
    print("-" * len(head))
    out_rows: list[dict[str, object]] = []
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, value, base, target in rows:
        ratio = base / value if base else None
        print(f"{name:46} {value:8.3f} {'' if base is None else f'{base:9.3f}':>9} "
              f"{'' if ratio is None else f'{ratio:5.2f}×':>6} {'< ' + str(target):>7}  "
              f"{'yes' if value < target else 'NO'}")
        out_rows.append({"scenario": name, "seconds": round(value, 4), "pdfsig_s": None if base is None
                         else round(base, 4), "target_s": target, "met": value < target,
                         "peak_mb": round(peak_mb, 1) if not out_rows else None})
    print("\nBaseline: poppler's pdfsig verifying the same two-signature file (ratio = pdfsig ÷ dbcomm).")
    RESULTS.mkdir(exist_ok=True)
    record = {"when": datetime.now().isoformat(timespec="seconds"), "machine": machine(),
              "pages": unsigned_pages, "signed_bytes": len(issued), "results": out_rows}
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for fname in (f"signing-{stamp}.json", "signing-latest.json"):
        (RESULTS / fname).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"written to {RESULTS / 'signing-latest.json'}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
