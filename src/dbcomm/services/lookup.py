"""Resolve what a person types (codes, names, with or without diacritics) to records."""

from __future__ import annotations

from sqlalchemy import select

from dbcomm.domain.text import fold
from dbcomm.domain.vocab import LANGUAGES, SUBTYPES
from dbcomm.errors import NotFoundError
from dbcomm.i18n import _
from dbcomm.store.engine import Database
from dbcomm.store.models import CommForm, Organisation, PlanNode, Programme


def form_id(db: Database, plan_id: int, code: str) -> int:
    with db.read() as s:
        fid = s.scalar(select(CommForm.id).where(CommForm.plan_id == plan_id, CommForm.code == code.strip().upper()))
    if fid is None:
        raise NotFoundError(_("There is no communication form {code} in this plan.").format(code=code))
    return fid


def node_id(db: Database, plan_id: int, code: str) -> int:
    with db.read() as s:
        nid = s.scalar(select(PlanNode.id).where(PlanNode.plan_id == plan_id, PlanNode.code == code.strip()))
    if nid is None:
        raise NotFoundError(_("There is no objective or task {code} in this plan.").format(code=code))
    return nid


def programme_id(db: Database, plan_id: int, code: str) -> int:
    with db.read() as s:
        pid = s.scalar(select(Programme.id).where(Programme.plan_id == plan_id, Programme.code == code.strip().upper()))
    if pid is None:
        raise NotFoundError(_("There is no programme {code} in this plan.").format(code=code))
    return pid


def place_id(db: Database, name: str) -> int:
    key = fold(name)
    with db.read() as s:
        rows = s.execute(select(Organisation.id, Organisation.name_fold)).all()
    exact = [i for i, n in rows if n == key]
    if exact:
        return exact[0]
    partial = [i for i, n in rows if key and key in n]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise NotFoundError(_("There is no place named '{name}' in the directory.").format(name=name))
    raise NotFoundError(_("'{name}' matches several places; type more of the name.").format(name=name))


def language_code(text: str) -> str:
    key = fold(text)
    for code, lbl in LANGUAGES.items():
        if key in (code, fold(lbl), fold(_(lbl))):
            return code
    raise NotFoundError(_("Unknown language '{value}' (use {codes}).").format(value=text, codes=", ".join(LANGUAGES)))


def subtype_code(text: str) -> str:
    key = fold(text)
    for code, lbl in SUBTYPES.items():
        if key in (code, fold(lbl), fold(_(lbl))):
            return code
    raise NotFoundError(_("Unknown kind of activity '{value}' (use {codes}).").format(value=text, codes=", ".join(SUBTYPES)))
