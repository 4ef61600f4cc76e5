"""Sign a demo report in the two steps (leader, then registry) and render what the decree
fixes: the header with the number and date written in at sealing, and the signature block
with the signature and seal images (for the README).

Usage: python scripts/signed_pages.py OUTPUT_DIR
Writes signed-report-header.png, signed-report-signature.png and signed-report.pdf.
The certificates are a throwaway test authority (from the test suite), not real ones.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test authority and the sample images


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    out.mkdir(parents=True, exist_ok=True)
    import pypdfium2

    import pki
    import signature_images
    from dbcomm import i18n
    from dbcomm.domain.report import Narrative
    from dbcomm.services import demo, plans, report_signing, reports, settings, signing
    from dbcomm.services.database import open_database

    i18n.set_language("vi")
    work = Path(tempfile.mkdtemp())
    authority = pki.build(work)
    db = open_database(work / "demo.sqlite3")
    demo.set_demo_office(db)
    settings.mark_setup_done(db)
    demo.generate(db, 400, seed=386)
    plan_id = plans.default_plan(db).id
    cfg = replace(reports.default_settings(db, plan_id, "2026-Q3"), number="", date_by_registry=True,
                  include_annex=False, distribution=["Phòng Văn hóa - Xã hội"], archive_unit="VHXH")
    info = reports.save_draft(db, None, cfg, Narrative(direction="Ủy ban nhân dân xã đã chỉ đạo triển khai."))
    reports.build(db, info.id)
    leader = signing.load_pkcs12(authority.leader, authority.password)
    office = signing.load_pkcs12(authority.office, authority.password)
    report_signing.sign_report(db, info.id, leader, signature_images.blue_signature())
    sealed = report_signing.seal_report(db, info.id, office, signature_images.red_seal(), 36, number="27")
    (out / "signed-report.pdf").write_bytes(sealed.pdf)
    layout = __import__("json").loads(reports_layout(db, info.id))
    doc = pypdfium2.PdfDocument(sealed.pdf)
    doc.init_forms()  # the signature and seal images and the filled-in number are form content
    scale = 110 / 72
    first = doc[0].render(scale=scale, may_draw_forms=True).to_pil()
    first.crop((0, 0, first.width, int(first.height * 0.22))).save(out / "signed-report-header.png")
    page = doc[layout["page"]]
    image = page.render(scale=scale, may_draw_forms=True).to_pil()
    x, y, w, h = layout["signature"]
    top = image.height - (y + h) * scale
    image.crop((0, max(0, int(top - 140)), image.width, min(image.height, int(top + h * scale + 90)))).save(
        out / "signed-report-signature.png")
    doc.close()
    db.close()
    print(f"wrote {out}/signed-report-header.png, signed-report-signature.png, signed-report.pdf")
    return 0


def reports_layout(db, report_id: int) -> str:  # type: ignore[no-untyped-def]
    from dbcomm.store.models import Report

    with db.read() as s:
        row = s.get(Report, report_id)
        return row.signature_layout if row else "{}"


if __name__ == "__main__":
    raise SystemExit(main())
