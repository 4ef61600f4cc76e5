"""``dbcomm sheets``: import an Excel or CSV log (a dry run first), write the blank template, export
the register or a report's tables.

``add_parser(subparsers)`` adds the command to ``dbcomm``'s parser; ``run(db, args)`` carries it
out on the opened database.  Exit status of ``sheets import``: 0 imported (or nothing new to
import), 2 refused (the file, the mapping, or a file none of whose rows can be imported), 5 not
confirmed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from dbcomm.i18n import _, format_number, ngettext

EXIT_REFUSED = 2
EXIT_NOT_CONFIRMED = 5
# sheets.encodings.ENCODINGS, named here so that building the parser (every start of dbcomm, the
# window's included) does not load the spreadsheet service; a test keeps the two the same
ENCODING_NAMES = ("utf-8", "utf-8-sig", "utf-16", "cp1258", "tcvn3")


def add_parser(sub: Any) -> None:
    from dbcomm.cli import _add_filters

    sh = sub.add_parser("sheets", help=_("Excel and CSV files: import a log, write a blank template, export")
                        ).add_subparsers(dest="action", required=True)
    si = sh.add_parser("import", help=_("import an Excel (.xlsx) or CSV log of activities (a dry run first)"))
    si.add_argument("file", type=Path)
    si.add_argument("--sheet", help=_("the sheet to import (default: the first visible one)"))
    si.add_argument("--plan", help=_("plan number, e.g. 386/KH-UBND (default: the default plan)"))
    si.add_argument("--encoding", choices=[*ENCODING_NAMES, "unicode"],
                    help=_("a CSV file's encoding (default: detected); for a workbook, tcvn3 repairs text typed "
                           "in the old .VnTime fonts"))
    si.add_argument("--delimiter", help=_("a CSV file's delimiter (default: detected)"))
    si.add_argument("--header-row", type=int, help=_("the row of column names (default: found)"))
    si.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                    help=_("map a column (letter, number or name) to a field, e.g. date_start=B; "
                           "repeatable; FIELD= leaves the field unmapped"))
    si.add_argument("--value", action="append", default=[], metavar="FIELD:TEXT=CHOICE",
                    help=_("what a value written in the sheet means, e.g. \"form:Loa=F3\" or "
                           "\"place:Bản Na=\" (no place); repeatable"))
    si.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help=_("a value for every row of a field the sheet has no column for, e.g. form=F3"))
    si.add_argument("--include-duplicates", action="store_true",
                    help=_("also import rows that look like activities already in the register"))
    si.add_argument("--yes", action="store_true", help=_("apply after the dry run without asking"))

    st = sh.add_parser("template", help=_("write a blank log (.xlsx) with drop-down lists and instructions"))
    st.add_argument("file", type=Path)
    st.add_argument("--plan", help=_("plan number (default: the default plan)"))

    se = sh.add_parser("export", help=_("write the (filtered) register to .xlsx or .csv"))
    se.add_argument("file", type=Path)
    se.add_argument("--format", choices=["xlsx", "csv"], help=_("default: from the file name"))
    _add_filters(se)

    sr = sh.add_parser("export-report", help=_("write every table of a report to .xlsx (or one .csv per table)"))
    sr.add_argument("file", type=Path)
    group = sr.add_mutually_exclusive_group(required=True)
    group.add_argument("--period", help=_("period: 2026, 2026-Q3, 2026-05, 2026-H1, 2026-9M or a..b"))
    group.add_argument("--id", type=int, help=_("a stored report's number, as 'report list' shows it"))
    sr.add_argument("--plan", help=_("plan number (default: the default plan)"))
    sr.add_argument("--scope", choices=["own", "all"], default="own",
                    help=_("own: the office's register; all: with the reports received from other offices"))
    sr.add_argument("--format", choices=["xlsx", "csv"], help=_("default: from the file name"))


def run(db: Any, args: argparse.Namespace) -> int:
    from dbcomm.cli import _filter, _plan_id
    from dbcomm.services import sheets

    if args.action in ("template", "export", "export-report"):
        args.file = _out_path(args.file, (".xlsx",) if args.action == "template" else (".xlsx", ".csv"),
                              getattr(args, "format", None))
    if args.action == "template":
        path = sheets.write_template(db, _plan_id(db, args.plan), args.file)
        print(_("Wrote {path}.").format(path=path))
        return 0
    if args.action == "export":
        result = sheets.export_register(db, _filter(db, args), args.file, fmt=args.format)
        print(_("Wrote {n} activities to {path}.").format(n=format_number(result.rows), path=result.path))
        return 0
    if args.action == "export-report":
        plan_id = _plan_id(db, args.plan) if args.period else None
        result = sheets.export_report(db, args.file, report_id=args.id, plan_id=plan_id, period_key=args.period,
                                      scope=args.scope, fmt=args.format)
        for path in result.paths:
            print(_("Wrote {path}.").format(path=path))
        return 0
    return _import(db, args)


def _out_path(path: Path, allowed: tuple[str, ...], fmt: str | None) -> Path:
    """The file to write: with the extension of ``--format`` (or .xlsx) when none was typed, in a
    folder that exists (a mistyped folder is not created)."""
    from dbcomm.errors import UserError

    if path.suffix.lower() not in allowed:
        path = path.with_name(path.name + (f".{fmt}" if fmt else allowed[0]))
    folder = path.resolve().parent
    if not folder.is_dir():
        raise UserError(_("The folder {folder} does not exist: create it first, or choose another.").format(
            folder=folder))
    return path


# --- import ------------------------------------------------------------------------------------


def _column_index(text: str, pv: Any) -> int:
    from openpyxl.utils import column_index_from_string

    from dbcomm.domain.text import fold
    from dbcomm.errors import UserError

    value = text.strip()
    if re.fullmatch(r"[A-Za-z]{1,3}", value):
        return int(column_index_from_string(value.upper())) - 1
    if value.isdigit():
        return int(value) - 1
    for col in pv.columns:
        if fold(col.header) == fold(value) or any(fold(n) == fold(value) for n in col.names):
            return int(col.index)
    raise UserError(_("There is no column “{column}” in the sheet.").format(column=text))


def _field_key(text: str) -> str:
    from dbcomm.domain.text import fold
    from dbcomm.errors import UserError
    from dbcomm.services.sheets import fields as F

    key = text.strip()
    if key in F.BY_KEY:
        return key
    for spec in F.FIELDS:
        if fold(key) in (fold(spec.header), fold(spec.label), fold(_(spec.label))):
            return spec.key
    raise UserError(_("“{field}” is not a field of the register; use one of: {fields}.").format(
        field=text, fields=", ".join(F.BY_KEY)))


def _apply_maps(mapping: Any, pv: Any, maps: list[str], settings: list[str]) -> None:
    from dbcomm.errors import UserError
    from dbcomm.services.sheets import MappingError, check_mapping
    from dbcomm.services.sheets.mapping import _double_field

    chosen: dict[str, int] = {}
    for item in maps:
        if "=" not in item:
            raise UserError(_("Write --map as FIELD=COLUMN, e.g. date_start=B (not “{value}”).").format(value=item))
        name, column = item.split("=", 1)
        key = _field_key(name)
        if not column.strip():
            mapping.columns.pop(key, None)
            continue
        index = _column_index(column, pv)
        if key in chosen and chosen[key] != index:
            raise MappingError(_double_field(pv.columns, key, chosen[key], index) + " " + _("Nothing was imported."))
        chosen[key] = index
    for key, index in chosen.items():
        # the person's choice replaces what was proposed for that field and for that column
        for other, used in list(mapping.columns.items()):
            if other not in chosen and used == index:
                del mapping.columns[other]
        mapping.columns[key] = index
    for item in settings:
        if "=" not in item:
            raise UserError(_("Write --set as FIELD=VALUE, e.g. form=F3 (not “{value}”).").format(value=item))
        name, value = item.split("=", 1)
        mapping.constants[_field_key(name)] = value.strip()
    check_mapping(mapping, len(pv.columns))


def _value_map(db: Any, plan_id: int, items: list[str]) -> dict[str, dict[str, str]]:
    from dbcomm.errors import UserError
    from dbcomm.services.sheets import fields as F
    from dbcomm.services.sheets import lookups as L
    from dbcomm.services.sheets.importing import _plan_facts

    out: dict[str, dict[str, str]] = {}
    if not items:
        return out
    lookups, _uuid = _plan_facts(db, plan_id)
    for item in items:
        m = re.match(r"^([^:=]+):(.*)=([^=]*)$", item)
        if not m:
            raise UserError(_("Write --value as FIELD:TEXT=CHOICE, e.g. \"form:Loa=F3\" (not “{value}”).").format(
                value=item))
        key = _field_key(m.group(1))
        if key not in F.LOOKUP_FIELDS:
            raise UserError(_("{field} takes no list of choices.").format(field=m.group(1)))
        catalogue = lookups.catalogues[key]
        target = m.group(3).strip()
        if target:
            resolved = L.exact(catalogue, target) or (target if target in catalogue.keys else None)
            if resolved is None:
                raise UserError(_("“{choice}” is not one of the choices for {field}.").format(
                    choice=target, field=_(F.BY_KEY[key].label)))
            target = resolved
        out.setdefault(key, {})[m.group(2).strip()] = target
    return out


def _status_label(status: str) -> str:
    return {"error": _("error"), "already": _("imported before"), "in_register": _("in the register"),
            "duplicate": _("likely duplicate"), "skipped": _("skipped")}.get(status, status)


def _import(db: Any, args: argparse.Namespace) -> int:
    from dbcomm.cli import _plan_id
    from dbcomm.domain.text import fold
    from dbcomm.services import sheets
    from dbcomm.services.sheets import fields as F
    from dbcomm.services.sheets.encodings import ENCODINGS

    plan_id = _plan_id(db, args.plan)
    options = sheets.SourceOptions(encoding=args.encoding, delimiter=args.delimiter)
    info = sheets.open_source(args.file, options)
    sheet = info.sheet(args.sheet)
    pv = sheets.preview(info, sheet.name, header_row=args.header_row)
    if info.kind == "csv":
        print(_("{file}: CSV, {encoding}, delimiter “{delimiter}”.").format(
            file=info.name, encoding=ENCODINGS.get(info.encoding or "", info.encoding),
            delimiter="\\t" if info.delimiter == "\t" else info.delimiter))
    else:
        others = [s.name for s in info.sheets if s.name != sheet.name]
        line = _("{file}: sheet “{sheet}”").format(file=info.name, sheet=sheet.name)
        if others:
            line += " " + _("(other sheets: {names})").format(names=", ".join(others))
        if info.encoding == "tcvn3":
            line += " " + _("— text in the old TCVN3 fonts, converted to Unicode")
        print(line + ".")
    if not pv.columns:
        print(_("Error: {message}").format(message=_("The sheet “{sheet}” is empty.").format(sheet=sheet.name)),
              file=sys.stderr)
        return EXIT_REFUSED
    print(_("Column names in row {row}; data from row {start}.").format(row=pv.header_row, start=pv.data_start))
    mapping = sheets.propose_mapping(db, pv)
    _apply_maps(mapping, pv, args.map, args.set)
    by_index = {index: key for key, index in mapping.columns.items()}
    for col in pv.columns:
        key = by_index.get(col.index)
        target = _(F.BY_KEY[key].label) if key else _("(not imported)")
        print(f"  {col.letter}\t{col.header or '—'}\t→ {target}")
    for key, value in mapping.constants.items():
        print(f"  \t{_('every row')}\t→ {_(F.BY_KEY[key].label)} = {value}")

    request = sheets.ImportRequest(args.file, plan_id, mapping, sheet=sheet.name, options=options,
                                   include_duplicates=args.include_duplicates)
    chosen = _value_map(db, plan_id, args.value)
    suggestions = sheets.value_suggestions(db, request)
    value_map = sheets.proposed_value_map(suggestions)
    for key, values in chosen.items():
        value_map.setdefault(key, {}).update(values)
    request.value_map = value_map
    labels: dict[str, dict[str, str]] = {}  # field → target → what the person reads
    for s in suggestions:
        if s.how == "exact":
            continue
        label = _(F.BY_KEY[s.field].label)
        given = {fold(k): v for k, v in chosen.get(s.field, {}).items()}.get(fold(s.text))
        if given is not None or s.proposed is not None:
            target = (given if given is not None else s.proposed) or ""
            if s.field not in labels:
                labels[s.field] = {c.target: c.label for c in sheets.choices(db, request.plan_id, s.field)}
            shown = labels[s.field].get(target, target) if target else _("(none)")
            how = _("your choice") if given is not None else _("remembered") if s.how == "remembered" else _(
                "closest match")
            print(_("  {field}: “{text}” → {choice} ({how})").format(field=label, text=s.text, choice=shown, how=how))
        else:
            rows = ngettext("{n} row", "{n} rows", s.count).format(n=format_number(s.count))
            if s.choices:
                print(_("  {field}: “{text}” ({rows}) matches nothing; closest: {closest}").format(
                    field=label, text=s.text, rows=rows, closest="; ".join(c.label for c in s.choices)))
            else:
                print(_("  {field}: “{text}” ({rows}) matches nothing").format(field=label, text=s.text, rows=rows))

    dry = sheets.dry_run(db, request)
    c = dry.counts
    print(_("Dry run: {new} to import, {errors} with errors, {already} imported before, {register} already in "
            "the register, {dups} likely duplicates, {skipped} headings or totals skipped.").format(
        new=format_number(dry.to_import), errors=format_number(c["error"]),
        already=format_number(c["already"]), register=format_number(c["in_register"]),
        dups=format_number(c["duplicate"]), skipped=format_number(c["skipped"])))
    for o in dry.outcomes:
        if o.status == "duplicate" and args.include_duplicates:
            continue
        print("\t".join([_("row {n}").format(n=o.row), _status_label(o.status), o.title[:60], o.reason()]))
    if dry.outcomes_left_out:
        print(_("… and {n} more rows not imported.").format(n=format_number(dry.outcomes_left_out)))
    if c["duplicate"] and not args.include_duplicates:
        print(_("Add --include-duplicates to import the likely duplicates as well."), file=sys.stderr)
    if dry.to_import == 0:
        if c["error"] and not c["already"] + c["in_register"]:
            print(_("Error: {message}").format(message=_("no row can be imported; nothing was imported.")),
                  file=sys.stderr)
            return EXIT_REFUSED
        print(_("Nothing new to import."))
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print(_("Not imported: add --yes to import without a terminal."), file=sys.stderr)
            return EXIT_NOT_CONFIRMED
        answer = input(_("Import {n} activities? [y/N] ").format(n=format_number(dry.to_import)))
        if answer.strip().casefold() not in ("y", "yes", "c", "co", "có"):
            print(_("Not imported."), file=sys.stderr)
            return EXIT_NOT_CONFIRMED
    result = sheets.apply_import(db, request, dry_run=dry)
    print(result.message)
    return 0
