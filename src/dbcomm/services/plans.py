"""The plan: objectives, tasks, indicators, forms, programmes; plan definition files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, func, select, update

from dbcomm.domain.models import CodeName, IndicatorInfo, PlanInfo, PlanNodeInfo, PlanTree
from dbcomm.domain.periods import Cutoff
from dbcomm.domain.roles import Perm
from dbcomm.domain.text import nfc, nfc_line, vi_sort_key
from dbcomm.domain.validation import FieldError
from dbcomm.domain.vocab import INDICATOR_MEASURES
from dbcomm.errors import ImportFileError, NotFoundError, UserError, ValidationFailed
from dbcomm.i18n import _
from dbcomm.services import audit
from dbcomm.services.auth import require
from dbcomm.services.files import atomic_write_text
from dbcomm.store.engine import Database
from dbcomm.store.models import (
    Activity,
    ActivityNode,
    ActivityProgramme,
    CommForm,
    Indicator,
    IndicatorTarget,
    NilStatement,
    Plan,
    PlanNode,
    Programme,
    new_uuid,
)

PLAN_FORMAT = "dbcomm-plan"
PLAN_FORMAT_VERSION = 1
SHIPPED_PLAN = "plan_386.json"


def _info(p: Plan) -> PlanInfo:
    return PlanInfo(
        id=p.id, uuid=p.uuid, code=p.code, title=p.title, issued_on=p.issued_on,
        issuer=p.issuer, start_year=p.start_year, end_year=p.end_year, cutoff=p.cutoff,
        recipient=p.recipient, is_default=p.is_default, note=p.note,
    )


def list_plans(db: Database) -> list[PlanInfo]:
    with db.read() as s:
        plans = s.scalars(select(Plan)).all()
        return sorted(
            (_info(p) for p in plans), key=lambda p: (not p.is_default, -p.start_year, vi_sort_key(p.code))
        )


def default_plan(db: Database) -> PlanInfo:
    plans = list_plans(db)
    if not plans:
        raise NotFoundError(_("No plan is loaded. Import a plan definition file."))
    return plans[0]


def get_plan(db: Database, plan_id: int) -> PlanInfo:
    with db.read() as s:
        p = s.get(Plan, plan_id)
        if p is None:
            raise NotFoundError(_("The plan no longer exists."))
        return _info(p)


def set_default_plan(db: Database, plan_id: int) -> None:
    actor = require(db, Perm.EDIT_PLAN)
    with db.write() as s:
        audit.record(s, actor, 'update', entity='plan', summary=_("Default plan changed."))
        s.execute(update(Plan).values(is_default=False))
        s.execute(update(Plan).where(Plan.id == plan_id).values(is_default=True))


def get_tree(db: Database, plan_id: int) -> PlanTree:
    with db.read() as s:
        p = s.get(Plan, plan_id)
        if p is None:
            raise NotFoundError(_("The plan no longer exists."))
        nodes = {
            n.id: PlanNodeInfo(n.id, n.uuid, n.kind, n.code, n.title, n.parent_id) for n in p.nodes
        }
        roots: list[PlanNodeInfo] = []
        for n in p.nodes:  # ordered by ordinal
            info = nodes[n.id]
            if n.parent_id and n.parent_id in nodes:
                nodes[n.parent_id].children.append(info)
            else:
                roots.append(info)
        indicators = [
            IndicatorInfo(
                i.id, i.uuid, i.code, i.name, i.unit, i.baseline, i.baseline_year, i.node_id,
                {t.year: t.value for t in i.targets}, i.measure or "manual",
            )
            for i in p.indicators
        ]
        return PlanTree(
            plan=_info(p),
            forms=[CodeName(f.id, f.code, f.name) for f in p.forms],
            programmes=[CodeName(g.id, g.code, g.name) for g in p.programmes],
            objectives=roots,
            indicators=indicators,
        )


# --- editing -----------------------------------------------------------------


@dataclass
class PlanFields:
    code: str
    title: str
    start_year: int
    end_year: int
    issued_on: date | None = None
    issuer: str = ""
    cutoff: str = Cutoff.CALENDAR.value
    recipient: str = ""
    note: str = ""


def _check_plan_fields(f: PlanFields) -> None:
    errors = []
    if not nfc_line(f.code):
        errors.append(FieldError("code", _("Enter the plan's number and symbol, e.g. 386/KH-UBND.")))
    if not nfc_line(f.title):
        errors.append(FieldError("title", _("Enter the plan's title.")))
    if not (2000 <= f.start_year <= f.end_year <= 2100):
        errors.append(FieldError("years", _("The plan's years must run forward, e.g. 2022–2030.")))
    if f.cutoff not in {c.value for c in Cutoff}:
        errors.append(FieldError("cutoff", _("Unknown cut-off convention.")))
    if errors:
        raise ValidationFailed(errors)


def create_plan(db: Database, fields: PlanFields, copy_from: int | None = None) -> PlanInfo:
    """A new plan (e.g. a yearly implementation plan), optionally copying another's structure."""
    _check_plan_fields(fields)
    actor = require(db, Perm.EDIT_PLAN)
    with db.write() as s:
        audit.record(s, actor, 'create', entity='plan', summary=nfc_line(fields.code))
        plan = Plan(
            code=nfc_line(fields.code), title=nfc_line(fields.title), issued_on=fields.issued_on,
            issuer=nfc_line(fields.issuer), start_year=fields.start_year, end_year=fields.end_year,
            cutoff=fields.cutoff, recipient=nfc_line(fields.recipient), note=nfc(fields.note),
            is_default=not s.scalar(select(func.count(Plan.id))),
        )
        s.add(plan)
        s.flush()
        if copy_from is not None:
            src = s.get(Plan, copy_from)
            if src is None:
                raise NotFoundError(_("The plan to copy from no longer exists."))
            data = _plan_to_dict(src)
            for section in ("forms", "programmes", "objectives", "indicators"):
                for item in data[section]:
                    _strip_uuids(item)
            _apply_children(s, plan, data)
        return _info(plan)


def update_plan(db: Database, plan_id: int, fields: PlanFields) -> PlanInfo:
    _check_plan_fields(fields)
    actor = require(db, Perm.EDIT_PLAN)
    with db.write() as s:
        audit.record(s, actor, 'update', entity='plan', summary=nfc_line(fields.code))
        p = s.get(Plan, plan_id)
        if p is None:
            raise NotFoundError(_("The plan no longer exists."))
        p.code, p.title = nfc_line(fields.code), nfc_line(fields.title)
        p.start_year, p.end_year = fields.start_year, fields.end_year
        p.issued_on, p.issuer = fields.issued_on, nfc_line(fields.issuer)
        p.cutoff, p.recipient, p.note = fields.cutoff, nfc_line(fields.recipient), nfc(fields.note)
        p.version += 1
        return _info(p)


def _strip_uuids(item: dict[str, Any]) -> None:
    item.pop("uuid", None)
    for child in item.get("tasks", []):
        child.pop("uuid", None)


def save_node(
    db: Database, plan_id: int, node_id: int | None, *, kind: str, code: str, title: str,
    parent_id: int | None = None,
) -> PlanNodeInfo:
    code, title = nfc_line(code), nfc_line(title)
    errors = []
    if kind not in ("objective", "task"):
        errors.append(FieldError("kind", _("Unknown kind of plan item.")))
    if not code:
        errors.append(FieldError("code", _("Enter a number, e.g. 1 or 1.2.")))
    if not title:
        errors.append(FieldError("title", _("Enter a title.")))
    if kind == "task" and parent_id is None:
        errors.append(FieldError("parent_id", _("A task belongs to an objective: choose one.")))
    if errors:
        raise ValidationFailed(errors)
    actor = require(db, Perm.EDIT_PLAN)
    with db.write() as s:
        audit.record(s, actor, 'update', entity='plan_node', summary=f"{code} {title}")
        clash = s.scalar(
            select(PlanNode.id).where(
                PlanNode.plan_id == plan_id, PlanNode.code == code, PlanNode.id != (node_id or 0)
            )
        )
        if clash:
            raise ValidationFailed([FieldError("code", _("Another item of this plan has number {code}.").format(code=code))])
        if node_id is None:
            ordinal = (s.scalar(select(func.max(PlanNode.ordinal)).where(PlanNode.plan_id == plan_id)) or 0) + 1
            node = PlanNode(plan_id=plan_id, kind=kind, code=code, title=title, parent_id=parent_id, ordinal=ordinal)
            s.add(node)
        else:
            found = s.get(PlanNode, node_id)
            if found is None:
                raise NotFoundError(_("The plan item no longer exists."))
            node = found
            node.code, node.title, node.kind = code, title, kind
            node.parent_id = parent_id if kind == "task" else None
            node.version += 1
        s.flush()
        return PlanNodeInfo(node.id, node.uuid, node.kind, node.code, node.title, node.parent_id)


def delete_node(db: Database, node_id: int) -> None:
    actor = require(db, Perm.EDIT_PLAN)
    with db.write() as s:
        audit.record(s, actor, 'delete', entity='plan_node', summary=_("Plan item #{id}").format(id=node_id))
        node = s.get(PlanNode, node_id)
        if node is None:
            return
        ids = [node_id, *s.scalars(select(PlanNode.id).where(PlanNode.parent_id == node_id))]
        used = s.scalar(select(func.count()).select_from(ActivityNode).where(ActivityNode.node_id.in_(ids)))
        if used:
            raise UserError(
                _("{n} activities are linked to this item (or its tasks); it cannot be deleted. "
                  "Rename it instead, or link those activities elsewhere first.").format(n=used)
            )
        s.delete(node)


def save_indicator(
    db: Database, plan_id: int, indicator_id: int | None, *, code: str, name: str, unit: str,
    baseline: float | None, baseline_year: int | None, node_id: int | None,
    targets: dict[int, float], measure: str = "manual",
) -> IndicatorInfo:
    code, name, unit = nfc_line(code), nfc_line(name), nfc_line(unit)
    errors = []
    if measure not in INDICATOR_MEASURES:
        errors.append(FieldError("measure", _("Choose how the indicator is measured.")))
    if not code:
        errors.append(FieldError("code", _("Enter a code, e.g. CT1.")))
    if not name:
        errors.append(FieldError("name", _("Enter the indicator's name.")))
    if any(not (2000 <= y <= 2100) for y in targets):
        errors.append(FieldError("targets", _("Target years must be between 2000 and 2100.")))
    if any(v < 0 for v in targets.values()) or (baseline is not None and baseline < 0):
        errors.append(FieldError("targets", _("Targets and baselines cannot be negative.")))
    if errors:
        raise ValidationFailed(errors)
    actor = require(db, Perm.EDIT_PLAN)
    with db.write() as s:
        audit.record(s, actor, 'update', entity='indicator', summary=f"{code} {name}")
        if indicator_id is None:
            ordinal = (s.scalar(select(func.max(Indicator.ordinal)).where(Indicator.plan_id == plan_id)) or 0) + 1
            ind = Indicator(plan_id=plan_id, ordinal=ordinal, code=code, name=name)
            s.add(ind)
        else:
            found = s.get(Indicator, indicator_id)
            if found is None:
                raise NotFoundError(_("The indicator no longer exists."))
            ind = found
            ind.version += 1
        ind.code, ind.name, ind.unit = code, name, unit
        ind.baseline, ind.baseline_year, ind.node_id = baseline, baseline_year, node_id
        ind.measure = measure
        _set_targets(ind, targets)
        s.flush()
        return IndicatorInfo(ind.id, ind.uuid, ind.code, ind.name, ind.unit, ind.baseline,
                             ind.baseline_year, ind.node_id, dict(targets), measure)


def _set_targets(ind: Indicator, targets: dict[int, float]) -> None:
    """Update the targets in place, year by year.

    Replacing the whole list would make the session insert the new (indicator, year) row
    before deleting the old one, which the unique constraint refuses.
    """
    by_year = {t.year: t for t in ind.targets}
    rows = []
    for year, value in sorted(targets.items()):
        row = by_year.get(year)
        if row is None:
            row = IndicatorTarget(year=year, value=value)
        else:
            row.value = value
        rows.append(row)
    ind.targets = rows


def delete_indicator(db: Database, indicator_id: int) -> None:
    actor = require(db, Perm.EDIT_PLAN)
    with db.write() as s:
        audit.record(s, actor, 'delete', entity='indicator', summary=_("Indicator #{id}").format(id=indicator_id))
        ind = s.get(Indicator, indicator_id)
        if ind is not None:
            s.delete(ind)


# --- plan definition files ----------------------------------------------------


def _plan_to_dict(p: Plan) -> dict[str, Any]:
    by_id = {n.id: n for n in p.nodes}
    objectives = []
    for n in p.nodes:
        if n.kind == "objective" or n.parent_id is None:
            objectives.append({
                "uuid": n.uuid, "code": n.code, "title": n.title,
                "tasks": [
                    {"uuid": t.uuid, "code": t.code, "title": t.title}
                    for t in p.nodes if t.parent_id == n.id
                ],
            })
    return {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "plan": {
            "uuid": p.uuid, "code": p.code, "title": p.title,
            "issued_on": p.issued_on.isoformat() if p.issued_on else None,
            "issuer": p.issuer, "start_year": p.start_year, "end_year": p.end_year,
            "cutoff": p.cutoff, "recipient": p.recipient, "note": p.note,
        },
        "forms": [{"uuid": f.uuid, "code": f.code, "name": f.name} for f in p.forms],
        "programmes": [{"uuid": g.uuid, "code": g.code, "name": g.name} for g in p.programmes],
        "objectives": objectives,
        "indicators": [
            {
                "uuid": i.uuid, "code": i.code, "name": i.name, "unit": i.unit,
                "objective": by_id[i.node_id].code if i.node_id in by_id else None,
                "baseline": i.baseline, "baseline_year": i.baseline_year,
                "targets": {str(t.year): t.value for t in i.targets},
                "measure": i.measure or "manual",
            }
            for i in p.indicators
        ],
    }


def export_plan(db: Database, plan_id: int, path: Path) -> None:
    with db.read() as s:
        p = s.get(Plan, plan_id)
        if p is None:
            raise NotFoundError(_("The plan no longer exists."))
        data = _plan_to_dict(p)
    atomic_write_text(Path(path), json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _bad(reason: str) -> ImportFileError:
    return ImportFileError(
        _("This is not a valid plan definition file ({reason}). Nothing was imported.").format(reason=reason)
    )


def read_plan_file(path: Path) -> dict[str, Any]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(_("Cannot read {path}: {error}").format(path=path, error=exc.strerror)) from exc
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(_("not JSON text")) from exc
    return validate_plan_dict(data)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_plan_dict(data: Any) -> dict[str, Any]:
    """Check the whole structure first, so that a malformed file fails with ImportFileError."""
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise _bad(_("unknown format"))
    try:
        format_version = int(data.get("format_version", 0))
    except (TypeError, ValueError) as exc:
        raise _bad(_("unknown format")) from exc
    if format_version > PLAN_FORMAT_VERSION:
        raise _bad(_("made by a newer version of dbcomm"))
    plan = data.get("plan")
    if not isinstance(plan, dict) or not plan.get("code") or not plan.get("title"):
        raise _bad(_("the plan has no number or title"))
    try:
        sy, ey = int(plan["start_year"]), int(plan["end_year"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(_("the plan's years are missing")) from exc
    if not 2000 <= sy <= ey <= 2100:
        raise _bad(_("the plan's years are wrong"))
    if plan.get("issued_on"):
        try:
            date.fromisoformat(str(plan["issued_on"]))
        except ValueError as exc:
            raise _bad(_("the plan's date is not a date (yyyy-mm-dd)")) from exc
    for section in ("forms", "programmes", "objectives", "indicators"):
        items = data.get(section, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _bad(section)
    for o in data.get("objectives", []):
        tasks = o.get("tasks", [])
        if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
            raise _bad("tasks")
    items = [*data.get("forms", []), *data.get("programmes", []), *data.get("indicators", [])]
    items += [n for o in data.get("objectives", []) for n in (o, *o.get("tasks", []))]
    for item, keys in [(plan, ("uuid", "code", "title", "issuer", "recipient", "note"))] + [
        (i, ("uuid", "code", "name", "title", "unit")) for i in items
    ]:
        if any(item.get(k) is not None and not isinstance(item[k], str) for k in keys):
            raise _bad(_("a code, name or title is not text"))
    for f in data.get("forms", []):
        if not f.get("code") or not f.get("name"):
            raise _bad(_("a communication form has no code or name"))
    for g in data.get("programmes", []):
        if not g.get("code") or not g.get("name"):
            raise _bad(_("a programme has no code or name"))
    codes = [o.get("code") for o in data.get("objectives", [])]
    codes += [t.get("code") for o in data.get("objectives", []) for t in o.get("tasks", [])]
    if any(not c for c in codes) or len(set(codes)) != len(codes):
        raise _bad(_("objective and task numbers must be present and unique"))
    for ind in data.get("indicators", []):
        targets = ind.get("targets") or {}
        numbers_ok = (
            isinstance(targets, dict)
            and all(str(y).isdigit() and _is_number(v) for y, v in targets.items())
            and (ind.get("baseline") is None or _is_number(ind["baseline"]))
            and (ind.get("baseline_year") is None or isinstance(ind["baseline_year"], int))
        )
        if not numbers_ok:
            raise _bad(_("an indicator's targets or baseline are not numbers"))
    return data


@dataclass
class PlanImportResult:
    plan: PlanInfo
    created: bool
    added: int = 0
    updated: int = 0
    kept: list[str] = field(default_factory=list)  # items absent from the file but still in use


def import_plan_file(db: Database, path: Path) -> PlanImportResult:
    require(db, Perm.IMPORT)
    data = read_plan_file(path)
    from dbcomm.services import backup

    backup.before(db, "plan-import")
    return import_plan_dict(db, data)


def import_plan_dict(db: Database, data: dict[str, Any]) -> PlanImportResult:
    """Add the plan, or update the one with the same UUID, in one transaction."""
    actor = require(db, Perm.IMPORT)
    data = validate_plan_dict(data)
    head = data["plan"]
    with db.write() as s:
        audit.record(s, actor, 'import', entity='plan', summary=nfc_line(head["code"]))
        plan = s.scalar(select(Plan).where(Plan.uuid == head["uuid"])) if head.get("uuid") else None
        created = plan is None
        if plan is None:
            plan = Plan(uuid=head.get("uuid") or new_uuid())
            plan.is_default = not s.scalar(select(func.count(Plan.id)))
            s.add(plan)
        else:
            plan.version += 1
        plan.code = nfc_line(head["code"])
        plan.title = nfc_line(head["title"])
        plan.issued_on = date.fromisoformat(head["issued_on"]) if head.get("issued_on") else None
        plan.issuer = nfc_line(head.get("issuer"))
        plan.start_year, plan.end_year = int(head["start_year"]), int(head["end_year"])
        plan.cutoff = head.get("cutoff") if head.get("cutoff") in {c.value for c in Cutoff} else "calendar"
        plan.recipient = nfc_line(head.get("recipient"))
        plan.note = nfc(head.get("note"))
        s.flush()
        result = PlanImportResult(plan=_info(plan), created=created)
        _apply_children(s, plan, data, result)
        s.flush()
        result.plan = _info(plan)
        return result


def _apply_children(s, plan: Plan, data: dict[str, Any], result: PlanImportResult | None = None) -> None:  # type: ignore[no-untyped-def]
    result = result or PlanImportResult(plan=_info(plan), created=True)

    def upsert(model, uuid: str | None, **values):  # type: ignore[no-untyped-def]
        obj = s.scalar(select(model).where(model.uuid == uuid, model.plan_id == plan.id)) if uuid else None
        if obj is None and uuid and s.scalar(select(model.id).where(model.uuid == uuid)) is not None:
            uuid = None  # the item is another plan's (a copied file): this plan gets its own
        if obj is None:
            obj = model(plan_id=plan.id, **({"uuid": uuid} if uuid else {}))
            s.add(obj)
            result.added += 1
        else:
            obj.version += 1
            result.updated += 1
        for k, v in values.items():
            setattr(obj, k, v)
        s.flush()
        return obj

    seen: dict[Any, set[int]] = {CommForm: set(), Programme: set(), PlanNode: set(), Indicator: set()}
    for i, f in enumerate(data.get("forms", []), 1):
        seen[CommForm].add(upsert(CommForm, f.get("uuid"), code=nfc_line(f["code"]), name=nfc_line(f["name"]), ordinal=i).id)
    for i, g in enumerate(data.get("programmes", []), 1):
        seen[Programme].add(upsert(Programme, g.get("uuid"), code=nfc_line(g.get("code")), name=nfc_line(g.get("name")), ordinal=i).id)
    ordinal = 0
    node_by_code: dict[str, PlanNode] = {}
    for o in data.get("objectives", []):
        ordinal += 1
        obj = upsert(PlanNode, o.get("uuid"), kind="objective", code=nfc_line(o["code"]), title=nfc_line(o.get("title")), parent_id=None, ordinal=ordinal)
        seen[PlanNode].add(obj.id)
        node_by_code[obj.code] = obj
        for t in o.get("tasks", []):
            ordinal += 1
            task = upsert(PlanNode, t.get("uuid"), kind="task", code=nfc_line(t["code"]), title=nfc_line(t.get("title")), parent_id=obj.id, ordinal=ordinal)
            seen[PlanNode].add(task.id)
            node_by_code[task.code] = task
    for i, d in enumerate(data.get("indicators", []), 1):
        node = node_by_code.get(str(d.get("objective"))) if d.get("objective") else None
        ind = upsert(
            Indicator, d.get("uuid"), code=nfc_line(d.get("code")), name=nfc_line(d.get("name")),
            unit=nfc_line(d.get("unit")), baseline=d.get("baseline"), baseline_year=d.get("baseline_year"),
            node_id=node.id if node else None, ordinal=i,
            measure=d.get("measure") if d.get("measure") in INDICATOR_MEASURES else "manual",
        )
        _set_targets(ind, {int(y): float(v) for y, v in (d.get("targets") or {}).items()})
        seen[Indicator].add(ind.id)

    # Items that the file no longer has: removed unless activities still use them.
    usage: dict[Any, Any] = {
        CommForm: lambda ids: select(Activity.form_id).where(Activity.form_id.in_(ids)),
        Programme: lambda ids: select(ActivityProgramme.programme_id).where(ActivityProgramme.programme_id.in_(ids)),
        PlanNode: lambda ids: select(ActivityNode.node_id).where(ActivityNode.node_id.in_(ids)),
    }
    for model, keep in seen.items():
        stale = s.scalars(select(model).where(model.plan_id == plan.id, model.id.not_in(keep))).all()
        if not stale:
            continue
        stale_ids = [o.id for o in stale]
        used = set(s.scalars(usage[model](stale_ids))) if model in usage else set()
        if model is CommForm:
            used |= set(s.scalars(select(NilStatement.form_id).where(NilStatement.form_id.in_(stale_ids))))
        for o in stale:
            if o.id in used:
                result.kept.append(f"{o.code} {getattr(o, 'name', None) or getattr(o, 'title', '')}")
            else:
                s.execute(delete(model).where(model.id == o.id))


def ensure_shipped_plan(db: Database) -> None:
    """Load Plan 386/KH-UBND on a new database."""
    with db.read() as s:
        if s.scalar(select(exists().where(Plan.id.is_not(None)))):
            return
    text = resources.files("dbcomm.data").joinpath(SHIPPED_PLAN).read_text("utf-8")
    import_plan_dict(db, json.loads(text))
