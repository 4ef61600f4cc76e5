"""Office identity and application settings, stored in the database."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from dbcomm.domain.models import OfficeIdentity
from dbcomm.domain.text import nfc, nfc_line
from dbcomm.domain.vocab import OFFICE_KINDS
from dbcomm.errors import ValidationFailed
from dbcomm.i18n import LANGUAGES, _
from dbcomm.store.engine import Database
from dbcomm.store.models import AppSetting

OFFICE_KEY = "office"
LANGUAGE_KEY = "language"
SETUP_DONE_KEY = "setup_done"


def get_value(db: Database, key: str, default: Any = None) -> Any:
    with db.read() as s:
        row = s.get(AppSetting, key)
        return json.loads(row.value) if row else default


def set_value(db: Database, key: str, value: Any) -> None:
    with db.write() as s:
        row = s.get(AppSetting, key)
        payload = json.dumps(value, ensure_ascii=False)
        if row:
            row.value = payload
        else:
            s.add(AppSetting(key=key, value=payload))


def get_office(db: Database) -> OfficeIdentity:
    data = get_value(db, OFFICE_KEY, {}) or {}
    known = {k: v for k, v in data.items() if k in OfficeIdentity.__dataclass_fields__}
    return OfficeIdentity(**known)


def save_office(db: Database, office: OfficeIdentity) -> OfficeIdentity:
    from dbcomm.domain.validation import FieldError

    clean = OfficeIdentity(
        name=nfc_line(office.name),
        parent_agency=nfc_line(office.parent_agency),
        kind=office.kind,
        place_name=nfc_line(office.place_name),
        symbol=nfc_line(office.symbol).upper().replace(" ", ""),
        signer_title=nfc(office.signer_title),
        signer_name=nfc_line(office.signer_name),
    )
    errors = []
    if not clean.name:
        errors.append(FieldError("name", _("Enter the office's name.")))
    if not clean.parent_agency:
        errors.append(FieldError("parent_agency", _("Enter the parent agency.")))
    if clean.kind not in OFFICE_KINDS:
        errors.append(FieldError("kind", _("Choose the kind of office.")))
    if not clean.place_name:
        errors.append(FieldError("place_name", _("Enter the place name used in document dates.")))
    if not clean.symbol:
        errors.append(FieldError("symbol", _("Enter the document-symbol abbreviation, e.g. UBND.")))
    elif not all(ch.isalnum() or ch in "-Đđ" for ch in clean.symbol):
        errors.append(FieldError("symbol", _("The abbreviation may hold only letters, digits and '-'.")))
    if errors:
        raise ValidationFailed(errors)
    from dbcomm.domain.roles import Perm
    from dbcomm.services import audit
    from dbcomm.services.auth import require

    actor = require(db, Perm.EDIT_SETTINGS)
    before = get_value(db, OFFICE_KEY, {}) or {}
    set_value(db, OFFICE_KEY, asdict(clean))
    with db.write() as s:
        audit.record(s, actor, "settings", entity="office", summary=clean.name,
                     changes=audit.diff(before, asdict(clean)))
    return clean


def is_setup_done(db: Database) -> bool:
    return bool(get_value(db, SETUP_DONE_KEY, False))


def mark_setup_done(db: Database) -> None:
    set_value(db, SETUP_DONE_KEY, True)


def get_language(db: Database) -> str | None:
    lang = get_value(db, LANGUAGE_KEY)
    return lang if lang in LANGUAGES else None


def set_language(db: Database, language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(language)
    set_value(db, LANGUAGE_KEY, language)
