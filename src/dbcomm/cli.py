"""The ``dbcomm`` command: the window by default, subcommands for scripting and IT staff."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from dbcomm import __version__
from dbcomm.i18n import _, ngettext, set_language


def _date(text: str) -> date:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(_("'{value}' is not a date (dd/mm/yyyy)").format(value=text))


def _database(text: str) -> Path | str:
    """A database file, or a shared server's ``postgresql://`` address."""
    from dbcomm.store.engine import is_server_url

    return text.strip() if is_server_url(text) else Path(text)


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--search", "-s", default="", help=_("text to find (diacritics and case ignored)"))
    p.add_argument("--period", help=_("period: 2026, 2026-Q3, 2026-05, 2026-H1, 2026-9M or 2026-01-01..2026-03-31"))
    p.add_argument("--form", help=_("communication form code, e.g. F3"))
    p.add_argument("--subtype", help=_("kind of activity, e.g. loudspeaker"))
    p.add_argument("--objective", help=_("objective or task number, e.g. 2 or 2.1"))
    p.add_argument("--programme", help=_("integrated programme code, e.g. P4"))
    p.add_argument("--place", help=_("place (commune) name"))
    p.add_argument("--language", help=_("language code: vi, thai, hmong, dao, khmu…"))
    p.add_argument("--plan", help=_("plan number, e.g. 386/KH-UBND (default: the default plan)"))
    p.add_argument("--deleted", action="store_true", help=_("list the recycle bin instead"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbcomm",
        description=_("Communication-activity register for Plan 386/KH-UBND. Without a command, opens the window."),
    )
    parser.add_argument("--version", action="version", version=f"dbcomm {__version__}")
    parser.add_argument("--db", type=_database, help=_(
        "database file, or a shared server's address postgresql://user@server/database "
        "(default: in your user data folder)"))
    parser.add_argument("--lang", choices=["vi", "en"], help=_("language of the interface"))
    parser.add_argument("--user", help=_("log in as this account (password asked, or from DBCOMM_PASSWORD)"))
    sub = parser.add_subparsers(dest="command")

    demo = sub.add_parser("demo-data", help=_("add a demo register (several hundred activities)"))
    demo.add_argument("--count", type=int, default=600, help=_("how many activities (default 600)"))
    demo.add_argument("--seed", type=int, default=386, help=_("the same seed gives the same register"))
    demo.add_argument("--if-empty", action="store_true", help=_("only if the register is empty"))
    demo.add_argument("--demo-office", action="store_true",
                      help=_("also fill in a demo office identity, so the window opens without the setup"))

    acts = sub.add_parser("activities", help=_("list, add, export activities")).add_subparsers(dest="action", required=True)
    lst = acts.add_parser("list", help=_("one activity per line, tab-separated"))
    _add_filters(lst)
    lst.add_argument("--sort", default="date", help=_("date, title, place, form, reach…"))
    lst.add_argument("--limit", type=int, default=0, help=_("at most this many lines (0: all)"))
    lst.add_argument("--totals", action="store_true", help=_("print the totals of the filtered set"))

    add = acts.add_parser("add", help=_("log one activity"))
    from dbcomm.domain.vocab import FUNDING_SOURCES, LANGUAGES, SUBTYPES

    add.add_argument("--date", type=_date, required=True, help=_("date of the activity, dd/mm/yyyy"))
    add.add_argument("--end", type=_date, help=_("last day, for an activity over several days"))
    add.add_argument("--form", required=True, help=_("communication form code: F1 … F5"))
    add.add_argument("--subtype", default="", help=_("kind of activity: {codes}").format(codes=", ".join(SUBTYPES)))
    add.add_argument("--title", required=True, help=_("title of the activity"))
    add.add_argument("--description", default="", help=_("description"))
    add.add_argument("--place", help=_("place (commune) name, diacritics optional"))
    add.add_argument("--language", action="append", dest="languages",
                     help=_("language code, repeatable: {codes}").format(codes=", ".join(LANGUAGES)))
    add.add_argument("--objective", action="append", dest="objectives", default=[],
                     help=_("objective or task number, repeatable, e.g. 2.1"))
    add.add_argument("--programme", action="append", dest="programmes", default=[],
                     help=_("integrated programme code, repeatable, e.g. P4"))
    add.add_argument("--items", type=int, default=0, help=_("number of items (news, articles, programmes)"))
    add.add_argument("--minutes", type=int, default=0, help=_("minutes broadcast"))
    add.add_argument("--sessions", type=int, default=0, help=_("sessions (meetings, classes, events)"))
    add.add_argument("--reach", type=int, default=0, help=_("people reached"))
    add.add_argument("--cost", type=int, default=0, help=_("cost in VND"))
    add.add_argument("--partner", default="", help=_("partner: press agency, school…"))
    add.add_argument("--funding", default="", help=_("funding source: {codes}").format(codes=", ".join(FUNDING_SOURCES)))
    add.add_argument("--notes", default="", help=_("notes"))
    add.add_argument("--attach", action="append", type=Path, default=[], help=_("evidence file, repeatable"))
    add.add_argument("--plan", help=_("plan number (default: the default plan)"))
    add.add_argument("--allow-duplicate", action="store_true",
                     help=_("log it even if the same date, form and title exist"))

    exp = acts.add_parser("export-csv", help=_("write the (filtered) register to a CSV file"))
    exp.add_argument("file", type=Path)
    _add_filters(exp)
    dele = acts.add_parser("delete", help=_("move activities to the recycle bin"))
    dele.add_argument("ids", type=int, nargs="+")
    res = acts.add_parser("restore", help=_("bring activities back from the recycle bin"))
    res.add_argument("ids", type=int, nargs="+")

    plan = sub.add_parser("plan", help=_("plan definition files")).add_subparsers(dest="action", required=True)
    plan.add_parser("list", help=_("the plans in this database"))
    pe = plan.add_parser("export", help=_("write a plan definition file"))
    pe.add_argument("file", type=Path)
    pe.add_argument("--plan")
    pi = plan.add_parser("import", help=_("add or update a plan from a definition file"))
    pi.add_argument("file", type=Path)

    users = sub.add_parser("users", help=_("accounts on this workstation")).add_subparsers(dest="action", required=True)
    users.add_parser("list")
    ua = users.add_parser("add", help=_("add an account (password asked, or from DBCOMM_NEW_PASSWORD)"))
    ua.add_argument("username")
    ua.add_argument("--role", required=True, choices=["entry", "leader", "clerk", "admin"])
    ua.add_argument("--full-name", default="")
    ur = users.add_parser("reset-password", help=_("set a temporary password (changed at next login)"))
    ur.add_argument("username")
    uu = users.add_parser("unlock")
    uu.add_argument("username")
    us = users.add_parser("single-user", help=_("one-person office: no login (administrator's choice)"))
    us.add_argument("state", choices=["on", "off"])

    periods = sub.add_parser("periods", help=_("reporting periods and their state")).add_subparsers(
        dest="action", required=True)
    pl = periods.add_parser("list")
    pl.add_argument("--plan")
    pl.add_argument("--kind", choices=["month", "quarter", "half", "nine", "year"])
    for verb, text in (("submit", _("submit a period")), ("approve", _("approve a submitted period")),
                       ("return", _("return a submitted period with a note")), ("lock", _("lock an approved period")),
                       ("reopen", _("reopen a period (leader), with a note"))):
        pv = periods.add_parser(verb, help=text)
        pv.add_argument("period")
        pv.add_argument("--note", default="")
        pv.add_argument("--plan")

    aud = sub.add_parser("audit", help=_("the audit trail")).add_subparsers(dest="action", required=True)
    al = aud.add_parser("list")
    al.add_argument("--record", default="", help=_("UUID of a record"))
    al.add_argument("--person", default="", help=_("user name"))
    al.add_argument("--from", dest="date_from", type=_date)
    al.add_argument("--to", dest="date_to", type=_date)
    al.add_argument("--limit", type=int, default=200)
    aud.add_parser("verify", help=_("check that no entry was altered or removed"))

    orgs = sub.add_parser("orgs", help=_("the organisation directory")).add_subparsers(dest="action", required=True)
    orgs.add_parser("list")
    oi = orgs.add_parser("import", help=_("import units/communes from CSV"))
    oi.add_argument("file", type=Path)
    _add_report_commands(sub)
    _add_package_commands(sub)
    _add_backup_commands(sub)
    from dbcomm import cli_sheets

    cli_sheets.add_parser(sub)
    st = sub.add_parser("self-test", help=_(
        "check this installation: a fresh database, the demo office, a report PDF, a test signature, "
        "its verification and the window (your own data is not touched)"))
    st.add_argument("--keep", type=Path, help=_("also write the test database and signed PDF to this folder"))
    st.add_argument("--no-window", action="store_true", help=_("skip the window check (no screen)"))

    srv = sub.add_parser("server", help=_("a shared PostgreSQL server for an office with several workstations")
                         ).add_subparsers(dest="action", required=True)
    su = srv.add_parser("use", help=_("open this server's database from now on on this computer (checked first)"))
    su.add_argument("url", help=_("postgresql://user@server/database (the password from the password file)"))
    srv.add_parser("local", help=_("go back to the database file on this computer"))
    srv.add_parser("show", help=_("which database this computer opens, and where evidence files go"))
    sf = srv.add_parser("files", help=_("the office's shared folder for evidence files (every workstation)"))
    sf.add_argument("folder", nargs="?", type=Path, help=_("a network folder; without it, each computer its own"))
    sc = srv.add_parser("copy", help=_(
        "copy this computer's database file (every table, the audit trail, reports, accounts) into an empty "
        "server database"))
    sc.add_argument("url", help=_("postgresql://user@server/database (the password from the password file)"))
    sc.add_argument("--from", dest="source", type=Path, metavar="FILE",
                    help=_("the database file to copy (default: this computer's own database file)"))
    sc.add_argument("--files", type=Path, metavar="FOLDER", help=_(
        "the office's shared folder for evidence files: the files are copied there and every workstation "
        "uses it"))

    ver = sub.add_parser("verify", help=_("check the digital signatures of a PDF file (no database needed)"))
    ver.add_argument("file", type=Path, metavar="FILE.pdf")
    ver.add_argument("--trust", action="append", type=Path, default=[], metavar="ROOT.pem",
                     help=_("a trusted root certificate (PEM or DER), repeatable"))
    ver.add_argument("--crl", action="append", type=Path, default=[], metavar="FILE.crl",
                     help=_("a certificate revocation list (PEM or DER), repeatable"))
    return parser


def _add_report_commands(sub) -> None:  # type: ignore[no-untyped-def]
    rep = sub.add_parser("report", help=_("period reports (PDF) and the coverage of the plan")).add_subparsers(
        dest="action", required=True)
    rb = rep.add_parser("build", help=_("build a period report from the register and write its PDF"))
    rb.add_argument("--period", required=True,
                    help=_("period: 2026, 2026-Q3, 2026-05, 2026-H1, 2026-9M or 2026-01-15..2026-03-14"))
    rb.add_argument("--out", type=Path, help=_("PDF file to write (default: BC-<period>.pdf here)"))
    rb.add_argument("--plan", help=_("plan number, e.g. 386/KH-UBND (default: the default plan)"))
    rb.add_argument("--subject", help=_("subject line (default: made from the period)"))
    rb.add_argument("--recipient", help=_("recipient (Kính gửi); several separated by ';'"))
    rb.add_argument("--number", default="", help=_("document number (default: blank, for the registry)"))
    rb.add_argument("--date", type=_date, help=_("document date dd/mm/yyyy (default: today)"))
    rb.add_argument("--place", help=_("place name of the date line (default: from the office settings)"))
    rb.add_argument("--distribution", default="",
                    help=_("'Nơi nhận' lines, separated by ';' ('Như trên' and 'Lưu: VT' are added by dbcomm)"))
    rb.add_argument("--archive", default="", help=_("unit after 'Lưu: VT,'"))
    rb.add_argument("--narrative", type=Path,
                    help=_("JSON file with the sections you wrote: direction, results_note, assessment, "
                           "next_steps, proposals (missing ones get the draft written from the figures)"))
    rb.add_argument("--no-annex", action="store_true", help=_("leave out the list of activities"))
    rb.add_argument("--no-compare", action="store_true", help=_("leave out the comparison with last year"))
    rep.add_parser("list", help=_("the reports stored in this database"))
    rp = rep.add_parser("pdf", help=_("write a stored report's PDF again, exactly as it was built"))
    rp.add_argument("id", type=int, help=_("the report's number, as 'report list' shows it"))
    rp.add_argument("--out", type=Path, required=True, help=_("PDF file to write"))
    rc = rep.add_parser("coverage", help=_("activities per objective, task and form, by month or place"))
    rc.add_argument("--year", type=int, help=_("plan year (default: this year)"))
    rc.add_argument("--by", choices=["month", "place"], default="month",
                    help=_("columns: months (default) or places"))
    rc.add_argument("--plan", help=_("plan number, e.g. 386/KH-UBND (default: the default plan)"))


def _add_package_commands(sub) -> None:  # type: ignore[no-untyped-def]
    pk = sub.add_parser("package", help=_("USB packages: send a signed report, read what arrives, answer it")
                        ).add_subparsers(dest="action", required=True)
    ps = pk.add_parser("send", help=_("write a signed report's package to a folder or USB stick"))
    ps.add_argument("id", type=int, help=_("the report's number, as 'report list' shows it"))
    ps.add_argument("folder", type=Path, help=_("the USB stick or folder"))
    pi = pk.add_parser("inspect", help=_("list the packages in a folder (or one file) and what importing each would do"))
    pi.add_argument("path", type=Path, help=_("a package file, or a folder (a USB stick)"))
    pm = pk.add_parser("import", help=_("import a report package, a receipt or a plan update (a dry run first)"))
    pm.add_argument("file", type=Path)
    pm.add_argument("--yes", action="store_true", help=_("apply after the dry run without asking"))
    pk.add_parser("received", help=_("the reports received from other offices"))
    pp = pk.add_parser("plan", help=_("write the plan as an update package for the offices below"))
    pp.add_argument("folder", type=Path, help=_("the USB stick or folder"))
    pp.add_argument("--plan", help=_("plan number, e.g. 386/KH-UBND (default: the default plan)"))
    pr = pk.add_parser("receipt", help=_("accept or return a received report and write the signed answer"))
    pr.add_argument("id", type=int, help=_("the received report's number, as 'package received' shows it"))
    group = pr.add_mutually_exclusive_group(required=True)
    group.add_argument("--accept", action="store_true", help=_("accept the report"))
    group.add_argument("--return", dest="return_note", metavar="NOTE", help=_("return it, saying why"))
    pr.add_argument("--p12", type=Path, required=True,
                    help=_("the office's certificate file (password asked, or from DBCOMM_P12_PASSWORD)"))
    pr.add_argument("--out", type=Path, required=True, help=_("the USB stick or folder to write the answer to"))


def _package(db, args) -> int:  # type: ignore[no-untyped-def]
    """Exit 0 done (or nothing to do), 2 refused, 5 not confirmed."""
    from dbcomm.errors import UserError
    from dbcomm.i18n import format_date, format_number
    from dbcomm.services import package_files, packages, plan_packages, receipts, received, signing

    if args.action == "send":
        path = packages.send(db, args.id, args.folder)
        print(_("Wrote {path}. The stick can now be removed safely.").format(path=path))
        return 0
    if args.action == "plan":
        path = plan_packages.export_plan_package(db, _plan_id(db, args.plan), args.folder)
        print(_("Wrote {path}. The stick can now be removed safely.").format(path=path))
        return 0
    if args.action == "received":
        states = {"received": _("waiting for a decision"), "accepted": _("accepted"), "returned": _("returned"),
                  "superseded": _("replaced by a newer version")}
        print("\t".join([_("No."), _("Sender"), _("Period"), _("Number"), _("Document date"), _("State"),
                         _("Note")]))
        for row in received.list_received(db, 10, include_superseded=True):
            print("\t".join([str(row.id), row.sender_name, row.period_key, row.number,
                             format_date(row.doc_date) if row.doc_date else "", states.get(row.state, row.state),
                             row.note]))
        return 0
    if args.action == "receipt":
        decision = "accepted" if args.accept else "returned"
        try:
            receipts.decide(db, args.id, decision, args.return_note or "")
        except UserError:
            # the same decision, recorded by an earlier run whose writing failed (no stick): write it again
            row = next((r for r in received.list_received(db, 10, include_superseded=True) if r.id == args.id), None)
            if row is None or row.state != decision or (args.return_note or "") not in ("", row.note):
                raise
        import os

        password = os.environ.get("DBCOMM_P12_PASSWORD")
        if password is None:
            import getpass

            password = getpass.getpass(_("Password of {file}: ").format(file=args.p12.name))
        identity = signing.load_pkcs12(args.p12, password)
        signing.check_usable(identity)
        path = receipts.write_receipt(db, args.id, identity, args.out)
        print(_("Wrote {path}. The stick can now be removed safely.").format(path=path))
        return 0

    def kind_of(path: Path) -> str:
        try:
            import json
            import zipfile

            with zipfile.ZipFile(path) as archive:
                manifest = json.loads(archive.read(package_files.MANIFEST).decode("utf-8"))
            return str(manifest.get("kind", "report"))
        except Exception:  # noqa: BLE001 - the services say what is wrong with it
            return "report"

    if args.action == "inspect":
        files = package_files.find(args.path) if args.path.is_dir() else [args.path]
        if not files:
            print(_("No package (.dbcpkg) in {path}.").format(path=args.path), file=sys.stderr)
            return 0
        for path in files:
            kind = kind_of(path)
            if kind == "receipt":
                r = receipts.inspect_receipt(db, path)
                print("\t".join([path.name, _("receipt"), r.status, r.problem]))
            elif kind == "plan":
                p = plan_packages.inspect_plan_package(db, path)
                print("\t".join([path.name, _("plan update"), p.plan_code, str(p.revision), p.status, p.problem]))
            else:
                info = packages.inspect(db, path)
                print("\t".join([path.name, _("report"), info.sender_name, info.period_key, info.number,
                                 format_number(info.activity_count), info.verdict, info.status, info.problem]))
        return 0
    if args.action == "import":
        kind = kind_of(args.file)
        if kind == "receipt":
            result = receipts.apply_receipt(db, args.file)
            print(result.message)
            return 0
        if kind == "plan":
            outcome = plan_packages.import_plan_package(db, args.file)
            print(_("Plan {code} is now at revision {revision}.").format(code=outcome.plan.code,
                                                                         revision=outcome.revision))
            return 0
        plan = packages.plan_import(db, args.file)
        info = plan.info
        if info.status == "already":
            print(_("{file}: already imported; nothing to do.").format(file=args.file.name))
            return 0
        if not info.importable:
            print(_("Error: {message}").format(message=info.problem), file=sys.stderr)
            return 2
        c = plan.counts
        print(_("{sender}, {period}: {add} to add, {change} to change, {unchanged} unchanged, {remove} to remove, "
                "{conflicts} conflicts.").format(sender=info.sender_name, period=info.period_key,
                                                  add=format_number(c["add"]), change=format_number(c["change"]),
                                                  unchanged=format_number(c["unchanged"]),
                                                  remove=format_number(c["remove"]),
                                                  conflicts=format_number(c["conflicts"])))
        if not args.yes:
            if not sys.stdin.isatty():
                print(_("Not imported: add --yes to import without a terminal."), file=sys.stderr)
                return 5
            if input(_("Import? [y/N] ")).strip().lower() not in ("y", "yes", "c", "có", "co"):
                print(_("Not imported."), file=sys.stderr)
                return 5
        try:
            done = packages.apply_import(db, args.file, expected_sha256=info.sha256)
        except UserError as exc:
            print(_("Error: {message}").format(message=exc), file=sys.stderr)
            return 2
        print(done.message)
        return 0
    return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The language must be known before the parser's help texts are made.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--lang", choices=["vi", "en"])
    pre.add_argument("--db", type=_database)
    known, _rest = pre.parse_known_args(argv)
    if known.lang:
        set_language(known.lang)
    args = build_parser().parse_args(argv)
    if args.command is None:
        from dbcomm.app import run_gui

        return run_gui(args.db, args.lang)
    if args.command in ("backup", "handover"):
        return _backup_main(args)  # works on the file itself: a damaged database can be restored
    if args.command == "verify":
        return _verify_main(args)  # works on the PDF alone: no database is opened
    if args.command == "self-test":
        return _self_test_main(args)  # a database of its own, in a temporary folder
    if args.command == "server" and args.action in ("use", "local", "copy"):
        return _server_choice_main(args)  # about this computer's choice, before any database is opened
    from dbcomm.errors import UserError

    try:
        from dbcomm.services import settings
        from dbcomm.services.database import open_database

        db = open_database(args.db)
        if not args.lang and (lang := settings.get_language(db)):
            set_language(lang)
        try:
            _login(db, args)
            return _dispatch(db, args)
        finally:
            db.close()
    except UserError as exc:
        print(_("Error: {message}").format(message=exc), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except EOFError:
        print(_("Error: no password was given. Without a terminal, set DBCOMM_PASSWORD."), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("Cancelled."), file=sys.stderr)
        return 130


def _login(db, args) -> None:  # type: ignore[no-untyped-def]
    """Accounts exist: work as --user (password asked), or as the single user if so configured."""
    import getpass
    import os

    from dbcomm.errors import AuthError
    from dbcomm.services import auth

    if not auth.has_accounts(db):
        return
    if args.user:
        password = os.environ.get("DBCOMM_PASSWORD")
        if password is None:
            password = getpass.getpass(_("Password for {name}: ").format(name=args.user))
        auth.authenticate(db, args.user, password)
        return
    if auth.enter_single_user(db) is None:
        raise AuthError(_("This database has accounts: add --user NAME to log in."))


def _new_password(username: str) -> str:
    import getpass
    import os

    from dbcomm.errors import UserError

    password = os.environ.get("DBCOMM_NEW_PASSWORD")
    if password is not None:
        return password
    first = getpass.getpass(_("New password for {name}: ").format(name=username))
    if getpass.getpass(_("Repeat the password: ")) != first:
        raise UserError(_("The two passwords differ."))
    return first


def _user_id(db, username: str) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.errors import NotFoundError
    from dbcomm.services import auth

    for u in auth.list_users(db):
        if u.username == username.lower():
            return u.id
    raise NotFoundError(_("There is no account {name}.").format(name=username))


def _plan_id(db, code: str | None) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.errors import NotFoundError
    from dbcomm.services import plans

    if not code:
        return plans.default_plan(db).id
    for p in plans.list_plans(db):
        if p.code.casefold() == code.casefold():
            return p.id
    raise NotFoundError(_("There is no plan {code}.").format(code=code))


def _filter(db, args):  # type: ignore[no-untyped-def]
    from dbcomm.domain.models import ActivityFilter
    from dbcomm.domain.periods import PeriodError
    from dbcomm.errors import UserError
    from dbcomm.services import activities, lookup

    plan_id = _plan_id(db, args.plan)
    f = ActivityFilter(plan_id=plan_id, text=args.search or "", deleted=args.deleted)
    if args.period:
        try:
            p = activities.filter_for_period(db, plan_id, args.period)
        except PeriodError as exc:
            raise UserError(_("'{value}' is not a period: use 2026, 2026-Q3, 2026-05, 2026-H1, 2026-9M "
                              "or 2026-01-01..2026-03-31.").format(value=args.period)) from exc
        f.date_from, f.date_to = p.date_from, p.date_to
    if args.form:
        f.form_id = lookup.form_id(db, plan_id, args.form)
    if args.objective:
        f.node_id = lookup.node_id(db, plan_id, args.objective)
    if args.programme:
        f.programme_id = lookup.programme_id(db, plan_id, args.programme)
    if args.place:
        f.place_id = lookup.place_id(db, args.place)
    f.language = lookup.language_code(args.language) if args.language else None
    f.subtype = lookup.subtype_code(args.subtype) if args.subtype else None
    return f


def _dispatch(db, args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.i18n import format_number
    from dbcomm.services import activities, demo, orgs, plans

    if args.command == "demo-data":
        if args.demo_office:
            demo.set_demo_office(db)
        if args.if_empty and activities.totals(db, activities.ActivityFilter()).count:
            return 0
        n = demo.generate(db, args.count, seed=args.seed)
        print(ngettext("Added {n} demo activity.", "Added {n} demo activities.", n).format(n=format_number(n)))
        return 0
    if args.command == "activities":
        if args.action == "list":
            f = _filter(db, args)
            offset, printed = 0, 0
            while True:
                batch = activities.list_rows(db, f, sort=args.sort, offset=offset, limit=2000)
                for row in batch:
                    print(activities.describe_row(row))
                    printed += 1
                    if args.limit and printed >= args.limit:
                        break
                if not batch or (args.limit and printed >= args.limit):
                    break
                offset += len(batch)
            if args.totals:
                t = activities.totals(db, f)
                print(_("Total: {count} activities, {items} items, {minutes} minutes, {reach} people reached").format(
                    count=format_number(t.count), items=format_number(t.items),
                    minutes=format_number(t.minutes), reach=format_number(t.reach)), file=sys.stderr)
            return 0
        if args.action == "add":
            return _add(db, args)
        if args.action == "export-csv":
            n = activities.export_csv(db, _filter(db, args), args.file)
            print(_("Wrote {n} activities to {path}.").format(n=format_number(n), path=args.file))
            return 0
        if args.action == "delete":
            n = activities.delete(db, args.ids)
            print(ngettext("{n} activity moved to the recycle bin.", "{n} activities moved to the recycle bin.", n).format(n=format_number(n)))
            return 0
        if args.action == "restore":
            n = activities.restore(db, args.ids)
            print(ngettext("{n} activity restored.", "{n} activities restored.", n).format(n=format_number(n)))
            return 0
    if args.command == "plan":
        if args.action == "list":
            for p in plans.list_plans(db):
                print(f"{p.code}\t{p.start_year}–{p.end_year}\t{p.title}" + ("\t*" if p.is_default else ""))
            return 0
        if args.action == "export":
            plans.export_plan(db, _plan_id(db, args.plan), args.file)
            print(_("Wrote {path}.").format(path=args.file))
            return 0
        if args.action == "import":
            r = plans.import_plan_file(db, args.file)
            print((_("Added plan {code}.") if r.created else _("Updated plan {code}.")).format(code=r.plan.code))
            for item in r.kept:
                print(_("Kept (still used by activities): {item}").format(item=item))
            return 0
    if args.command == "users":
        return _users(db, args)
    if args.command == "report":
        return _report(db, args)
    if args.command == "package":
        return _package(db, args)
    if args.command == "periods":
        return _periods(db, args)
    if args.command == "audit":
        return _audit(db, args)
    if args.command == "server":
        return _server(db, args)
    if args.command == "orgs":
        if args.action == "list":
            from dbcomm.domain.vocab import ORG_KINDS, label
            from dbcomm.i18n import format_date

            for o in orgs.list_orgs(db):
                print("\t".join([o.code, o.name, label(ORG_KINDS, o.kind), o.parent_name,
                                 format_date(o.valid_from), format_date(o.valid_to), "*" if o.in_area else ""]))
            return 0
        if args.action == "import":
            n = orgs.import_orgs_csv(db, args.file)
            print(ngettext("Imported {n} unit.", "Imported {n} units.", n).format(n=format_number(n)))
            return 0
    if args.command == "sheets":
        from dbcomm import cli_sheets

        return cli_sheets.run(db, args)
    return 1


def _report(db, args) -> int:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from dbcomm.i18n import format_date, format_datetime, format_number
    from dbcomm.services import reports

    if args.action == "list":
        for r in reports.list_reports(db):
            print("\t".join([str(r.id), r.period_key, r.subject, r.number or "—", format_date(r.doc_date),
                             format_number(r.activity_count), format_datetime(r.built_at), r.built_by,
                             r.pdf_sha256[:16]]))
        return 0
    if args.action == "pdf":
        rendered = reports.render_stored(db, args.id)
        path = reports.save_pdf(db, rendered.pdf, args.out, report_id=args.id)
        print(_("Wrote {path}.").format(path=path))
        if not rendered.identical:
            print(_("Warning: this PDF differs from the one built (the application was updated since); "
                    "its figures are the same."), file=sys.stderr)
        return 0
    if args.action == "coverage":
        plan_id = _plan_id(db, args.plan)
        grid = reports.coverage(db, plan_id, args.year or date.today().year, by=args.by)
        print("\t".join(["", *grid.columns, _("Total"), ""]))
        for row in grid.rows:
            indent = "  " if row.kind == "task" else ""
            label = row.label if len(row.label) <= 60 else row.label[:59] + "…"
            print("\t".join([f"{indent}{row.code}", *(str(c) if c else "·" for c in row.counts), str(row.total),
                             label]))
        print()
        for ind in reports.indicator_progress(db, plan_id, grid.year):
            value = (f"{format_number(ind.year_value)} {ind.unit}" if ind.year_value is not None
                     else _("not reported"))
            if ind.year_target is not None:
                goal = _("target {value} in {year}").format(value=format_number(ind.year_target), year=grid.year)
            elif ind.milestones:
                goal = "; ".join(_("target {value} in {year}").format(value=format_number(v), year=y)
                                 for y, v in ind.milestones)
            else:
                goal = _("no target")
            print(f"{ind.code}\t{value}\t({goal})\t{ind.name}")
        return 0
    # build
    plan_id = _plan_id(db, args.plan)
    cfg = reports.default_settings(db, plan_id, args.period)
    cfg = replace(
        cfg, number=args.number, doc_date=args.date, include_annex=not args.no_annex,
        compare_last_year=not args.no_compare, archive_unit=args.archive,
        distribution=[x.strip() for x in args.distribution.split(";") if x.strip()],
        **({"subject": args.subject} if args.subject else {}),
        **({"place": args.place} if args.place else {}),
        **({"recipient": "\n".join(x.strip() for x in args.recipient.split(";"))} if args.recipient else {}))
    reports.check_office(db)
    narrative = reports.draft_narrative(reports.compute(db, cfg, reports.Narrative()))
    if args.narrative:
        narrative = replace(narrative, **_read_narrative(args.narrative))
    for warning in reports.warnings(db, cfg):
        print(_("Note: {message}").format(message=warning), file=sys.stderr)
    info = reports.save_draft(db, None, cfg, narrative)
    built = reports.build(db, info.id)
    out = args.out or Path(f"BC-{built.info.period_key.replace('..', '_')}.pdf")
    path = reports.save_pdf(db, built.pdf, out, report_id=built.info.id)
    print(_("Report #{id} ({period}): {n} activities, {pages} pages. Wrote {path} (SHA-256 {sha}).").format(
        id=built.info.id, period=built.info.period_key, n=format_number(built.info.activity_count),
        pages=format_number(built.info.pdf_pages), path=path, sha=built.info.pdf_sha256[:16]))
    return 0


def _server_choice_main(args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.errors import UserError
    from dbcomm.services import server_setup

    try:
        if args.action == "copy":
            return _server_copy_main(args)
        if args.action == "local":
            print(_("This computer opens its own database file again: {path}").format(
                path=server_setup.use_local_file()))
            return 0
        chosen = server_setup.use_server(args.url)  # checked first: reachable, dbcomm's or empty, not too new
    except UserError as exc:
        print(_("Error: {message}").format(message=exc), file=sys.stderr)
        return 2
    except EOFError:
        print(_("Error: no password was given. Without a terminal, set DBCOMM_PASSWORD."), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("Cancelled."), file=sys.stderr)  # the copy's transaction was rolled back
        return 130
    print(_("This computer now opens {server}.").format(server=chosen.label))
    if chosen.password_file is not None:
        print(_("The password was put in the password file {path}, not in dbcomm's settings.").format(
            path=chosen.password_file))
    return 0


def _server_copy_main(args) -> int:  # type: ignore[no-untyped-def]
    """``server copy``: the file (logged in as --user when it has accounts) into an empty server database."""
    from dbcomm.i18n import format_number
    from dbcomm.paths import default_db_path
    from dbcomm.services import server_copy

    source = (args.source or default_db_path()).resolve()
    if not source.is_file():
        print(_("Error: {message}").format(message=_("There is no database file {path}.").format(path=source)),
              file=sys.stderr)
        return 2
    db = _open_logged_in(source, args)
    shown = {"step": -1}

    def progress(done: int, total: int) -> None:
        step = 10 * done // total if total else 10
        if step != shown["step"]:
            shown["step"] = step
            print(_("Copying… {percent}%").format(percent=step * 10), file=sys.stderr, flush=True)

    try:
        result = server_copy.copy_to_server(db, args.url, shared_folder=args.files, progress=progress)
    finally:
        db.close()
    print(result.message)
    print(_("It took {seconds} s. To work on the server from now on: dbcomm server use {url}").format(
        seconds=format_number(round(result.seconds, 1)), url=result.server))
    return 0


def _server(db, args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.services.database import set_shared_attachments

    if args.action == "files":
        if not db.is_server:
            print(_("Error: {message}").format(message=_(
                "This computer works on its own database file; a shared folder for evidence files is "
                "for a server database.")), file=sys.stderr)
            return 2
        set_shared_attachments(db, args.folder)
    print(_("Database: {database}").format(database=db.label))
    print(_("Evidence files: {folder}").format(folder=db.attachments_dir))
    return 0


def _self_test_main(args) -> int:  # type: ignore[no-untyped-def]
    import platform
    import time

    from dbcomm.services import selftest

    began = time.perf_counter()
    print(_("dbcomm {version} self-test on {system} (Python {python})").format(
        version=__version__, system=f"{sys.platform} {platform.machine()}", python=platform.python_version()),
        flush=True)
    extra = ()
    if not args.no_window:
        from dbcomm.ui.selftest_window import show_register

        extra = ((_("Opening the window"), show_register),)
    result = selftest.run(lambda text: print(text, flush=True), keep=args.keep, extra=extra)
    total = time.perf_counter() - began
    if not result.ok:
        print(_("Self-test FAILED at: {step}").format(step=result.failed_step), file=sys.stderr)
        print(result.reason, file=sys.stderr)
        return 1
    print(_("Self-test passed in {seconds:.1f} s.").format(seconds=total), flush=True)
    return 0


def _read_narrative(path: Path) -> dict[str, str]:
    import json

    from dbcomm.domain.report import Narrative
    from dbcomm.errors import ImportFileError

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ImportFileError(_("{file} cannot be read as a JSON text file: {reason}").format(
            file=path, reason=exc)) from exc
    fields = set(Narrative.__dataclass_fields__)
    if not isinstance(data, dict) or not set(data) <= fields or not all(isinstance(v, str) for v in data.values()):
        raise ImportFileError(_("{file} must hold text for these sections only: {names}.").format(
            file=path, names=", ".join(sorted(fields))))
    return data


def _users(db, args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.domain.roles import ROLE_LABELS, Role
    from dbcomm.i18n import format_datetime
    from dbcomm.services import auth

    if args.action == "list":
        for u in auth.list_users(db):
            state = "" if u.active else _("disabled")
            print("\t".join([u.username, u.full_name, _(ROLE_LABELS[u.role]), state, format_datetime(u.last_login_at)]))
        return 0
    if args.action == "add":
        info = auth.create_user(db, args.username, args.full_name, Role(args.role), _new_password(args.username))
        print(_("Account {name} created.").format(name=info.username))
        return 0
    if args.action == "reset-password":
        auth.reset_password(db, _user_id(db, args.username), _new_password(args.username))
        print(_("Password of {name} reset: it must be changed at the next login.").format(name=args.username))
        return 0
    if args.action == "unlock":
        auth.unlock(db, _user_id(db, args.username))
        print(_("Account {name} unlocked.").format(name=args.username))
        return 0
    if args.action == "single-user":
        auth.set_single_user(db, args.state == "on")
        print(_("Single-user mode turned on.") if args.state == "on" else _("Single-user mode turned off."))
        return 0
    return 1


def _periods(db, args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.domain.periods import PeriodKind
    from dbcomm.domain.roles import PERIOD_STATE_LABELS, PeriodState
    from dbcomm.i18n import format_date, format_datetime
    from dbcomm.services import periods

    plan_id = _plan_id(db, args.plan)
    if args.action == "list":
        kinds = [PeriodKind(args.kind)] if args.kind else list(PeriodKind)[:-1]
        for p in periods.list_periods(db, plan_id, kinds=kinds):
            print("\t".join([p.key, f"{format_date(p.start)}–{format_date(p.end)}", _(PERIOD_STATE_LABELS[p.state]),
                             format_datetime(p.changed_at), p.changed_by, str(p.activities), p.note]))
        return 0
    target = {"submit": PeriodState.SUBMITTED, "approve": PeriodState.APPROVED, "return": PeriodState.RETURNED,
              "lock": PeriodState.LOCKED, "reopen": PeriodState.DRAFT}[args.action]
    state = periods.transition(db, plan_id, args.period, target, args.note)
    print(_("Period {key} is now: {state}.").format(key=args.period, state=_(PERIOD_STATE_LABELS[state])))
    return 0


def _audit(db, args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.i18n import format_datetime
    from dbcomm.services import audit

    if args.action == "verify":
        report = audit.verify(db)
        print(report.message, file=sys.stdout if report.ok else sys.stderr)
        return 0 if report.ok else 4
    for e in audit.entries(db, entity_uuid=args.record, username=args.person, date_from=args.date_from,
                           date_to=args.date_to, limit=args.limit):
        def shown(value: object) -> str:
            return "—" if value in (None, "") else str(value)

        changes = "; ".join(
            f"{_(audit.FIELD_LABELS[k]) if k in audit.FIELD_LABELS else k}: {shown(v[0])} → {shown(v[1])}"
            for k, v in e.changes.items())
        entity = _(audit.ENTITY_LABELS[e.entity]) if e.entity in audit.ENTITY_LABELS else e.entity
        print("\t".join([str(e.id), format_datetime(e.at), e.full_name or e.username,
                         _(audit.ACTIONS.get(e.action, e.action)), entity, e.summary, changes]))
    return 0


def _add(db, args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.domain.models import ActivityInput, ReachBreakdown
    from dbcomm.domain.vocab import DEFAULT_SUBTYPE_FOR_FORM
    from dbcomm.errors import ValidationFailed
    from dbcomm.services import activities, lookup

    plan_id = _plan_id(db, args.plan)
    form_id = lookup.form_id(db, plan_id, args.form)
    value = ActivityInput(
        plan_id=plan_id, date_start=args.date, date_end=args.end, form_id=form_id,
        subtype=lookup.subtype_code(args.subtype) if args.subtype else DEFAULT_SUBTYPE_FOR_FORM.get(args.form.upper(), "other"),
        title=args.title, description=args.description,
        place_id=lookup.place_id(db, args.place) if args.place else None,
        languages=[lookup.language_code(x) for x in (args.languages or ["vi"])],
        node_ids=[lookup.node_id(db, plan_id, c) for c in args.objectives],
        programme_ids=[lookup.programme_id(db, plan_id, c) for c in args.programmes],
        items=args.items, minutes=args.minutes, sessions=args.sessions, reach_total=args.reach,
        reach=ReachBreakdown(), partner=args.partner, cost=args.cost, funding=args.funding,
        notes=args.notes, new_attachments=list(args.attach),
    )
    if not args.allow_duplicate and (dups := activities.likely_duplicates(db, value)):
        print(_("An activity with the same date, form and title exists already (#{id}). "
                "Use --allow-duplicate to log it anyway.").format(id=dups[0].id), file=sys.stderr)
        return 3
    try:
        rec = activities.create(db, value)
    except ValidationFailed as exc:
        for e in exc.errors:
            print(_("Error: {message}").format(message=e.message), file=sys.stderr)
        return 2
    print(_("Saved activity #{id}.").format(id=rec.id))
    return 0



# --- signature verification --------------------------------------------------------

VERIFY_EXIT = {"valid": 0, "invalid": 1, "modified": 1, "untrusted": 3, "unsigned": 4}


def _verify_main(args) -> int:  # type: ignore[no-untyped-def]
    """Exit 0 when every signature is valid and trusted; 1 invalid or modified; 3 untrusted; 4 unsigned."""
    from dbcomm.errors import UserError
    from dbcomm.services import signing

    def read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise UserError(_("Cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)) from exc

    def checked(paths: list[Path], kind: str) -> list[bytes]:
        """Each --trust/--crl file on its own, so that a wrong one is named."""
        out = []
        for path in paths:
            blob = read(path)
            try:
                signing.verify_pdf(b"%PDF-1.4\n%%EOF", [blob] if kind == "root" else [],
                                   [blob] if kind == "crl" else [])
            except UserError as exc:
                raise UserError((_("{file} is not a certificate (PEM or DER).") if kind == "root"
                                 else _("{file} is not a certificate revocation list (PEM or DER).")).format(
                    file=path)) from exc
            out.append(blob)
        return out

    try:
        result = signing.verify_pdf(read(args.file), checked(args.trust, "root"), checked(args.crl, "crl"))
    except UserError as exc:
        print(_("Error: {message}").format(message=exc), file=sys.stderr)
        return 2
    labels = {"valid": _("valid"), "untrusted": _("not trusted"), "modified": _("changed after signing"),
              "invalid": _("invalid")}
    for i, sig in enumerate(result.signatures, 1):
        when = (sig.signing_time.astimezone(signing.VN_TIME).strftime("%d/%m/%Y %H:%M:%S")
                if sig.signing_time else "—")
        print("\t".join([str(i), sig.field_name, sig.signer_name or "—", when, labels[sig.verdict],
                         sig.issuer or sig.problem]))
    stream = sys.stdout if result.verdict == "valid" else sys.stderr
    print(result.message(), file=stream)
    if result.verdict == "untrusted":
        print(_("Give the root certificate of the signers' authority with --trust ROOT.pem."), file=stream)
    return VERIFY_EXIT[result.verdict]


# --- backup, restore, integrity check, hand-over ------------------------------------


def _add_backup_commands(sub) -> None:  # type: ignore[no-untyped-def]
    bk = sub.add_parser("backup", help=_("backups, restore and the integrity check")).add_subparsers(
        dest="action", required=True)
    bk.add_parser("now", help=_("take a backup into the backups folder beside the database"))
    bk.add_parser("list", help=_("the backups in the backups folder, newest first"))
    bt = bk.add_parser("to", help=_("write one backup file (with the evidence files) to a folder or USB stick"))
    bt.add_argument("path", type=Path, help=_("a folder, or the backup file to write"))
    br = bk.add_parser("restore", help=_("replace the database with a backup (a backup of it is taken first)"))
    br.add_argument("file", type=Path)
    br.add_argument("--yes", action="store_true", help=_("do not ask; also accept another office's backup"))
    bk.add_parser("check", help=_("check the database's integrity"))
    ho = sub.add_parser("handover", help=_("hand the whole office over to a new PC")).add_subparsers(
        dest="action", required=True)
    he = ho.add_parser("export", help=_("write the hand-over file (database, settings, evidence files)"))
    he.add_argument("file", type=Path)
    hi = ho.add_parser("import", help=_("import a hand-over file into a new database (--db)"))
    hi.add_argument("file", type=Path)
    hi.add_argument("--yes", action="store_true",
                    help=_("do not ask; also replace a database that holds activities"))


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    hint = _("y/N")  # the default (No) in capitals
    answer = input(f"{question} [{hint}] ").strip().casefold()
    return answer in {"y", "yes", "c", "co", "có"}


def _backup_main(args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.errors import UserError
    from dbcomm.paths import default_database
    from dbcomm.store.engine import is_server_url

    target = args.db or default_database()
    if is_server_url(target):
        print(_("Error: a shared server database is backed up on the server itself (pg_dump), not by "
                "dbcomm; see docs/deployment.md."), file=sys.stderr)
        return 2
    path = Path(target).resolve()
    try:
        return _backup_dispatch(path, args)
    except UserError as exc:
        print(_("Error: {message}").format(message=exc), file=sys.stderr)
        return 2
    except EOFError:
        print(_("Error: no password was given. Without a terminal, set DBCOMM_PASSWORD."), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("Cancelled."), file=sys.stderr)
        return 130


def _open_logged_in(path: Path, args):  # type: ignore[no-untyped-def]
    from dbcomm.services import settings
    from dbcomm.services.database import open_database

    db = open_database(path)
    try:
        if not args.lang and (lang := settings.get_language(db)):
            set_language(lang)
        _login(db, args)
    except BaseException:
        db.close()
        raise
    return db


def _backup_dispatch(path: Path, args) -> int:  # type: ignore[no-untyped-def]
    from dbcomm.errors import UserError
    from dbcomm.i18n import format_date, format_number
    from dbcomm.services import backup

    if args.command == "backup" and args.action == "list":
        for e in backup.list_backups(path):
            try:
                info = backup.read_manifest(e.path)
                facts = f"{format_number(info.activity_count)}\t{info.office_name}"
            except UserError as exc:
                facts = str(exc)
            print(f"{format_date(e.created_at.date())} {e.created_at:%H:%M:%S}\t{e.reason}\t"
                  f"{format_number(e.path.stat().st_size // 1024)} KB\t{facts}\t{e.path}")
        return 0
    if args.command == "backup" and args.action == "check":
        result = backup.check_database(path, full=True)
        if result.ok:
            print(_("{path}: the integrity check found no problem.").format(path=path))
            return 0
        print(_("{path} is damaged:").format(path=path), file=sys.stderr)
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
        good = backup.latest_good(path)
        if good is not None:
            print(_("The latest good backup is {file}. Restore it with: dbcomm backup restore FILE").format(
                file=good.path), file=sys.stderr)
        return 1
    if args.action in ("now", "to", "export"):
        db = _open_logged_in(path, args)
        try:
            if args.action == "now":
                print(_("Wrote {path}.").format(path=backup.backup_now(db)))
                return 0
            target = args.path if args.action == "to" else args.file
            kind = "handover" if args.command == "handover" else "backup"
            if target.is_dir():
                from dbcomm.services import settings

                target = target / backup.suggested_name(settings.get_office(db).name, backup.now(), kind)
            info = backup.backup_to(db, target, kind=kind)
            print(_("Wrote {path}: {n} activities, {files} evidence files, checked after writing.").format(
                path=target, n=format_number(info.activity_count), files=format_number(info.attachment_count)))
            return 0
        finally:
            db.close()
    # restore / import: the database must be closed while its content is replaced.
    # The role is checked first: someone who may not restore learns nothing of the backup.
    actor = None
    if path.is_file() and path.stat().st_size > 0:
        try:
            db = _open_logged_in(path, args)
        except backup.DamagedDatabaseError:
            db = None  # a damaged database cannot be logged into; restoring it is the remedy
        if db is not None:
            try:
                actor = backup.authorize_restore(db)
            finally:
                db.close()
    info = backup.inspect(args.file, work_dir=backup.backup_dir_for(path) if path.parent.is_dir() else None)
    print(backup.describe(info))
    other = backup.other_office(path, info)
    if other:
        print(_("Warning: this backup belongs to “{found}”, but this database belongs to “{current}”.").format(
            found=info.office_name, current=other), file=sys.stderr)
    if args.command == "handover":
        existing = backup.activity_count_at(path)
        question = _("Replace the {n} activities in {path} with this hand-over?").format(
            n=format_number(existing), path=path) if existing else None
    else:
        question = _("Replace the content of {path} with this backup?").format(path=path)
    if question and not args.yes and not _ask(question):
        print(_("Nothing was changed. Add --yes to go ahead without being asked."), file=sys.stderr)
        return 5
    from dbcomm.services.database import restore_and_open

    result, db = restore_and_open(path, args.file, actor, handover_import=args.command == "handover")
    db.close()
    if result.safety_copy:
        print(_("Restored. The previous state was kept in {path}.").format(path=result.safety_copy))
    else:
        print(_("Restored into {path}.").format(path=path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
