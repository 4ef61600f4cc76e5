"""The organisation directory: date-effective units, communes, the office's own places."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from dbcomm.domain.models import OrgInfo
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import fold, nfc_line, vi_sort_key
from dbcomm.domain.validation import FieldError
from dbcomm.domain.vocab import ORG_KINDS
from dbcomm.errors import ImportFileError, NotFoundError, UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import audit
from dbcomm.services.auth import require
from dbcomm.store.engine import Database
from dbcomm.store.models import Activity, Organisation

SHIPPED_ORGS = "organisations.json"
CSV_COLUMNS = ["code", "name", "kind", "parent", "valid_from", "valid_to", "in_area"]


def _to_info(o: Organisation, parent_name: str | None) -> OrgInfo:
    return OrgInfo(o.id, o.uuid, o.code, o.name, o.kind, o.parent_id, parent_name or "",
                   o.valid_from, o.valid_to, o.in_area)


def list_orgs(
    db: Database, *, in_area_only: bool = False, valid_on: date | None = None, kinds: set[str] | None = None
) -> list[OrgInfo]:
    parent = aliased(Organisation)
    stmt = select(Organisation, parent.name).outerjoin(parent, parent.id == Organisation.parent_id)
    if in_area_only:
        stmt = stmt.where(Organisation.in_area.is_(True))
    if kinds:
        stmt = stmt.where(Organisation.kind.in_(kinds))
    if valid_on is not None:
        stmt = stmt.where(
            (Organisation.valid_from.is_(None)) | (Organisation.valid_from <= valid_on),
            (Organisation.valid_to.is_(None)) | (Organisation.valid_to >= valid_on),
        )
    stmt = stmt.order_by(Organisation.name_sort)
    with db.read() as s:
        return [_to_info(o, pn) for o, pn in s.execute(stmt)]


def places(db: Database) -> list[OrgInfo]:
    """Places an activity can be logged at: the office's own communes, else every commune."""
    own = list_orgs(db, in_area_only=True)
    if own:
        return own
    return list_orgs(db, kinds={"commune", "ward", "township"})


@dataclass
class OrgFields:
    name: str
    kind: str
    code: str = ""
    parent_id: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    in_area: bool = False


def _validate(f: OrgFields) -> list[FieldError]:
    errors = []
    if not nfc_line(f.name):
        errors.append(FieldError("name", _("Enter the unit's name.")))
    if f.kind not in ORG_KINDS:
        errors.append(FieldError("kind", _("Choose the kind of unit.")))
    if f.valid_from and f.valid_to and f.valid_to < f.valid_from:
        errors.append(FieldError("valid_to", _("'Valid to' is before 'valid from'.")))
    return errors


def save_org(db: Database, org_id: int | None, f: OrgFields) -> OrgInfo:
    errors = _validate(f)
    if errors:
        raise ValidationFailed(errors)
    actor = require(db, Perm.EDIT_DIRECTORY)
    with db.write() as s:
        audit.record(s, actor, 'update', entity='organisation', summary=nfc_line(f.name))
        if org_id is None:
            o = Organisation()
            s.add(o)
        else:
            found = s.get(Organisation, org_id)
            if found is None:
                raise NotFoundError(_("The unit no longer exists."))
            o = found
            o.version += 1
            if f.parent_id == org_id:
                raise ValidationFailed([FieldError("parent_id", _("A unit cannot be its own parent."))])
        o.name = nfc_line(f.name)
        o.name_fold, o.name_sort = fold(o.name), vi_sort_key(o.name)
        o.code, o.kind, o.parent_id = nfc_line(f.code), f.kind, f.parent_id
        o.valid_from, o.valid_to, o.in_area = f.valid_from, f.valid_to, f.in_area
        s.flush()
        parent_name = s.get(Organisation, o.parent_id).name if o.parent_id else ""  # type: ignore[union-attr]
        return _to_info(o, parent_name)


def delete_org(db: Database, org_id: int) -> None:
    actor = require(db, Perm.EDIT_DIRECTORY)
    with db.write() as s:
        audit.record(s, actor, 'delete', entity='organisation', summary=_("Unit #{id}").format(id=org_id))
        o = s.get(Organisation, org_id)
        if o is None:
            return
        used = s.scalar(select(func.count(Activity.id)).where(Activity.place_id == org_id))
        if used:
            raise UserError(
                _("{n} activities took place at {name}; it cannot be deleted. Set its 'valid to' "
                  "date instead.").format(n=used, name=o.name)
            )
        if s.scalar(select(exists().where(Organisation.parent_id == org_id))):
            raise UserError(_("{name} has units under it; move or delete them first.").format(name=o.name))
        from dbcomm.store.models import ReceivedReport

        if (s.scalar(select(exists().where(Activity.origin_id == org_id)))
                or s.scalar(select(exists().where(ReceivedReport.sender_id == org_id)))):
            raise UserError(_("Reports were received from {name}; it cannot be deleted. Set its 'valid to' "
                              "date instead.").format(name=o.name))
        s.delete(o)


def _parse_date(text: str, line: int, column: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            from datetime import datetime

            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ImportFileError(
        _("Line {line}: '{value}' in column {column} is not a date (use dd/mm/yyyy). Nothing was "
          "imported.").format(line=line, value=text, column=column)
    )


_KIND_ALIASES = {
    "xa": "commune", "phuong": "ward", "thi tran": "township", "huyen": "district",
    "thi xa": "town", "thanh pho": "city", "tinh": "province", "so": "department",
}


def import_orgs_csv(db: Database, path: Path) -> int:
    """Import communes/units from CSV (UTF-8, with or without BOM). Returns the count added/updated.

    Columns: code, name, kind, parent (code or name), valid_from, valid_to, in_area.
    Rows with the same code (or, without code, the same name and kind) update the existing unit.
    """
    actor = require(db, Perm.IMPORT)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(_("Cannot read {path}: {error}").format(path=path, error=exc.strerror)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is not UTF-8 text: save it from Excel as 'CSV UTF-8'. Nothing was imported.")) from exc
    reader = csv.DictReader(io.StringIO(text))
    headers = [fold(h) for h in (reader.fieldnames or [])]
    aliases = {"ma": "code", "ten": "name", "loai": "kind", "cap tren": "parent", "tu ngay": "valid_from",
               "den ngay": "valid_to", "dia ban": "in_area"}
    mapped = [aliases.get(h, h.replace(" ", "_")) for h in headers]
    if "name" not in mapped:
        raise ImportFileError(_("The file has no 'name' column. Nothing was imported."))
    rows = []
    for line, rec in enumerate(reader, start=2):
        row = {mapped[i]: (v or "") for i, v in enumerate(rec.values()) if i < len(mapped) and isinstance(v, str)}
        if not any(v.strip() for v in row.values()):
            continue
        kind_raw = fold(row.get("kind", "")) or "commune"
        kind = kind_raw if kind_raw in ORG_KINDS else _KIND_ALIASES.get(kind_raw)
        if not kind:
            raise ImportFileError(
                _("Line {line}: unknown kind '{value}'. Nothing was imported.").format(line=line, value=row.get("kind"))
            )
        if not nfc_line(row.get("name")):
            raise ImportFileError(_("Line {line}: the name is empty. Nothing was imported.").format(line=line))
        rows.append((line, row, kind))
    count = 0
    from dbcomm.services import backup

    backup.before(db, "org-import")
    with db.write() as s:
        audit.record(s, actor, 'import', entity='organisation', summary=_("{n} units from {file}").format(n=len(rows), file=Path(path).name))
        for line, row, kind in rows:
            name = nfc_line(row["name"])
            code = nfc_line(row.get("code"))
            parent_id = None
            if parent_ref := nfc_line(row.get("parent")):
                parent = s.scalar(select(Organisation).where(Organisation.code == parent_ref)) or s.scalar(
                    select(Organisation).where(Organisation.name_fold == fold(parent_ref))
                )
                if parent is None:
                    raise ImportFileError(
                        _("Line {line}: parent unit '{value}' is not in the directory. Nothing was "
                          "imported.").format(line=line, value=parent_ref)
                    )
                parent_id = parent.id
            if code:
                o = s.scalar(select(Organisation).where(Organisation.code == code))
            else:
                # same name, kind and parent: two communes of one name in different districts stay apart
                o = s.scalar(select(Organisation).where(
                    Organisation.name_fold == fold(name), Organisation.kind == kind,
                    Organisation.parent_id.is_(None) if parent_id is None else Organisation.parent_id == parent_id,
                ))
            if o is None:
                o = Organisation()
                s.add(o)
            else:
                o.version += 1
            o.code, o.name, o.kind, o.parent_id = code, name, kind, parent_id
            o.name_fold, o.name_sort = fold(name), vi_sort_key(name)
            o.valid_from = _parse_date(row.get("valid_from", ""), line, "valid_from")
            o.valid_to = _parse_date(row.get("valid_to", ""), line, "valid_to")
            if o.valid_from and o.valid_to and o.valid_to < o.valid_from:
                raise ImportFileError(_("Line {line}: 'valid to' is before 'valid from'. Nothing was imported.").format(line=line))
            o.in_area = fold(row.get("in_area", "")) in {"1", "x", "yes", "co", "true"}
            s.flush()
            count += 1
    return count


def ensure_shipped_orgs(db: Database) -> None:
    with db.read() as s:
        if s.scalar(select(exists().where(Organisation.id.is_not(None)))):
            return
    data = json.loads(resources.files("dbcomm.data").joinpath(SHIPPED_ORGS).read_text("utf-8"))
    with db.write() as s:
        by_code: dict[str, Organisation] = {}
        for d in data["organisations"]:
            o = Organisation(
                uuid=d["uuid"], code=d["code"], name=d["name"], kind=d["kind"],
                name_fold=fold(d["name"]), name_sort=vi_sort_key(d["name"]),
                valid_from=date.fromisoformat(d["valid_from"]) if d.get("valid_from") else None,
                valid_to=date.fromisoformat(d["valid_to"]) if d.get("valid_to") else None,
                parent_id=by_code[d["parent"]].id if d.get("parent") else None,
            )
            s.add(o)
            s.flush()
            by_code[o.code] = o
