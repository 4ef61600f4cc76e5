"""Build a quarterly and an annual demo report and render chosen pages to PNG (for the README).

Usage: python scripts/report_pages.py OUTPUT_DIR
Writes report-quarter-pN.png and report-year-pN.png, and the two PDFs beside them.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    out.mkdir(parents=True, exist_ok=True)
    import pypdfium2

    from dbcomm import i18n
    from dbcomm.domain.models import OfficeIdentity
    from dbcomm.domain.report import Narrative
    from dbcomm.services import demo, plans, reports, settings
    from dbcomm.services.database import open_database

    i18n.set_language("vi")
    db = open_database(Path(tempfile.mkdtemp()) / "demo.sqlite3")
    settings.save_office(db, OfficeIdentity(
        name="Ủy ban nhân dân xã Mường Phăng", parent_agency="UBND tỉnh Điện Biên", kind="commune",
        place_name="Mường Phăng", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
        signer_name="Lò Văn Thắng"))
    settings.mark_setup_done(db)
    demo.generate(db, 600, seed=386, end=date(2026, 11, 1))
    plan_id = plans.default_plan(db).id
    made = []
    for name, key, when, number in (("quarter", "2026-Q3", date(2026, 10, 5), "27"),
                                    ("year", "2025", date(2025, 12, 18), "")):
        cfg = replace(reports.default_settings(db, plan_id, key), doc_date=when, number=number,
                      distribution=["Phòng Văn hóa - Xã hội", "Đảng ủy, HĐND xã"], archive_unit="VHXH")
        narrative = reports.draft_narrative(reports.compute(db, cfg, Narrative()))
        built = reports.build(db, reports.save_draft(db, None, cfg, narrative).id)
        pdf_path = Path(tempfile.mkdtemp()) / f"report-{name}.pdf"
        pdf_path.write_bytes(built.pdf)
        doc = pypdfium2.PdfDocument(built.pdf)
        try:
            pages = len(doc)
            annex_first = next(i for i in range(pages)
                               if doc[i].get_textpage().get_text_range().lstrip().startswith(str(i + 1) + "\r\nPhụ lục")
                               or "DANH SÁCH HOẠT ĐỘNG" in doc[i].get_textpage().get_text_range()[:400])
            for index in sorted({0, 1, annex_first - 1, annex_first}):
                image = doc[index].render(scale=80 / 72).to_pil()
                target = out / f"report-{name}-p{index + 1}.png"
                image.save(target, optimize=True)
                made.append(target)
        finally:
            doc.close()
        print(f"{name}: {pages} pages, {built.info.activity_count} activities ({pdf_path})")
    for path in made:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
