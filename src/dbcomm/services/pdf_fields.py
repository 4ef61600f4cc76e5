"""Fill the registry's form fields of a signed report (number, date) as an incremental update.

The report leaves its number (and, if asked, its date) blank as empty text fields
(``report_pdf.REGISTRY_FIELDS``).  The registry fills them in just before it seals: the
values and their appearance are appended to the file, the signed bytes stay untouched, and
a signature verifier classes the change as a form fill, which keeps the leader's signature
valid.  Only digits and a few separators are written, in the PDF's standard Times fonts.
"""

from __future__ import annotations

import io
import re

from dbcomm.errors import UserError
from dbcomm.i18n import _

_ALLOWED = re.compile(r"[0-9A-Za-z./-]{1,12}")
_RIGHT_ALIGNED = {"so"}  # the number sits against the slash of "/BC-UBND"
_ITALIC = {"ngay", "thang", "nam"}  # the date line is italic


def field_values(pdf: bytes) -> dict[str, str]:
    """The text fields of the PDF's form and their values (``""`` when empty)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    out: dict[str, str] = {}
    if "/AcroForm" not in reader.root:
        return out
    form = reader.root["/AcroForm"]
    for ref in form.get("/Fields", []):
        field = ref.get_object()
        if field.get("/FT") == "/Tx":
            out[str(field.get("/T", ""))] = str(field.get("/V", ""))
    return out


def fill_fields(pdf: bytes, values: dict[str, str]) -> bytes:
    """Fill the named empty text fields and return the PDF with one incremental update.

    Raises :class:`UserError` if a field is missing or already filled, or a value holds
    characters other than letters, digits, ``.``, ``/`` and ``-``.
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from reportlab.pdfbase.pdfmetrics import stringWidth

    for name, value in values.items():
        if not _ALLOWED.fullmatch(value):
            raise UserError(_("“{value}” cannot be written in the document (field {field}).").format(
                value=value, field=name))
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        form = writer.root["/AcroForm"]
        fields = {str(ref.get_object().get("/T", "")): ref.get_object() for ref in form.get("/Fields", [])}
    except Exception as exc:
        raise UserError(_("The document has no place for the number and date: {reason}").format(
            reason=exc)) from exc
    fonts: dict[str, generic.IndirectObject] = {}
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            raise UserError(_("The document has no blank for “{field}”.").format(field=name))
        if str(field.get("/V", "")):
            raise UserError(_("The blank “{field}” is filled in already.").format(field=name))
        da = str(field.get("/DA", ""))
        size_match = re.search(r"([\d.]+)\s+Tf", da)
        size = float(size_match.group(1)) if size_match else 13.0
        base = "Times-Italic" if name in _ITALIC else "Times-Roman"
        if base not in fonts:
            fonts[base] = writer.add_object(generic.DictionaryObject({
                generic.NameObject("/Type"): generic.NameObject("/Font"),
                generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                generic.NameObject("/BaseFont"): generic.NameObject("/" + base),
                generic.NameObject("/Encoding"): generic.NameObject("/WinAnsiEncoding"),
            }))
        x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
        width, height = abs(x2 - x1), abs(y2 - y1)
        text_size = size
        while text_size > 6 and stringWidth(value, base, text_size) > width - 1:
            text_size -= 0.5
        text_w = stringWidth(value, base, text_size)
        x = width - text_w - 0.5 if name in _RIGHT_ALIGNED else (width - text_w) / 2
        baseline = size * 0.3  # the field was placed 0.3 × size under the line's baseline
        content = (f"/Tx BMC q BT /F1 {text_size:g} Tf 0 g {x:.2f} {baseline:.2f} Td ({value}) Tj ET Q EMC"
                   ).encode("ascii")
        stream = generic.StreamObject({
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(
                [generic.FloatObject(0), generic.FloatObject(0), generic.FloatObject(width),
                 generic.FloatObject(height)]),
            generic.NameObject("/Resources"): generic.DictionaryObject({
                generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/F1"): fonts[base]}),
            }),
        }, stream_data=content)
        field["/V"] = generic.TextStringObject(value)
        field["/AP"] = generic.DictionaryObject({generic.NameObject("/N"): writer.add_object(stream)})
        writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
