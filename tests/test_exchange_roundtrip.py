"""The whole trip on USB sticks, two communes and the province department.

Mường Phăng and Nà Tấu log, report, sign and send; the department imports both (one from
the command line), returns Mường Phăng's with a note; Mường Phăng reads the answer, amends,
corrects and sends again; the department accepts; its own report over everything received
adds up to the sum of the communes' registers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

import exchange_fixtures as fx
from dbcomm.cli import main as cli
from dbcomm.domain.models import ActivityFilter, OfficeIdentity
from dbcomm.domain.report import Narrative
from dbcomm.domain.roles import PeriodState
from dbcomm.errors import UserError
from dbcomm.services import (
    activities,
    identities,
    orgs,
    packages,
    periods,
    receipts,
    received,
    report_signing,
    reports,
    trust,
)

NA_TAU = OfficeIdentity(
    name="Ủy ban nhân dân xã Nà Tấu", parent_agency="UBND tỉnh Điện Biên", kind="commune",
    place_name="Nà Tấu", symbol="UBND", signer_title="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH", signer_name="Quàng Văn Hùng")


def own_totals(db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(activities, items, reach) of an office's own register in the quarter."""
    t = activities.totals(db, ActivityFilter(date_from=date(2026, 7, 1), date_to=date(2026, 9, 30)))
    return t.count, t.items, t.reach


def run_cli(capsys, db, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = cli(["--lang", "en", "--db", str(db.path), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_two_communes_report_the_department_returns_one_it_is_corrected_and_accepted(tmp_path, capsys):
    signers = fx.make_signers(tmp_path / "pki")
    stick = tmp_path / "usb"
    stick.mkdir()
    muong_phang = fx.sending_office(tmp_path / "muong-phang.sqlite3", count=120, seed=11)
    na_tau = fx.sending_office(tmp_path / "na-tau.sqlite3", count=90, seed=22, office=NA_TAU)
    province = fx.receiving_office(tmp_path / "province.sqlite3", signers.pki.root_pem,
                                   directory=(fx.SENDER_IN_DIRECTORY, "Ủy ban nhân dân xã Nà Tấu"))
    for commune in (muong_phang, na_tau):  # the communes trust the province's certificate authority
        trust.import_roots(commune, signers.pki.root_pem)
    answer_key = identities.add_file_identity(province, "office", signers.pki.office, signers.pki.password,
                                              image_png=fx.SEAL, seal_diameter_mm=36)

    # the communes log, report, sign, seal and send
    first = fx.issue_report(muong_phang, signers, number="7")
    sent_a = packages.send(muong_phang, first, stick)
    b_report = fx.issue_report(na_tau, signers, number="3")
    sent_b = packages.send(na_tau, b_report, stick)
    assert reports.get_report(muong_phang, first).info.state == "sent"

    # the department reads the stick: one package by the window's service, one from the command line
    assert {packages.inspect(province, p).status for p in (sent_a, sent_b)} == {"new"}
    packages.apply_import(province, sent_a)
    code, out, err = run_cli(capsys, province, "package", "import", str(sent_b), "--yes")
    assert code == 0, err
    assert "Nà Tấu" in out
    before = fx.file_digest(province)
    code, out, _err = run_cli(capsys, province, "package", "import", str(sent_b), "--yes")
    assert code == 0 and "already imported" in out  # reading the stick twice adds nothing
    assert fx.file_digest(province) == before

    # …and returns Mường Phăng's report with a note, answering on the stick
    rows = {r.sender_name: r for r in received.list_received(province, 10)}
    a_row = next(r for name, r in rows.items() if "MƯỜNG PHĂNG" in name.upper())
    with pytest.raises(UserError):
        receipts.decide(province, a_row.id, "returned", "")  # a return says why
    receipts.decide(province, a_row.id, "returned", "Số người được truyền thông tại bản Co Mận chưa khớp.")
    fx.checkpoint(province)  # a copy of the department's database, as if the answer were redone elsewhere
    stale = fx.copy_database(province.path, tmp_path / "province-copy.sqlite3")
    key = identities.open_identity(province, answer_key.id, signers.pki.password)
    answer = receipts.write_receipt(province, a_row.id, key, stick)

    # Mường Phăng reads the answer: the report is returned, the period open again, the note shown
    code, out, err = run_cli(capsys, muong_phang, "package", "import", str(answer))
    assert code == 0, err
    plan_id = fx.default_plan_id(muong_phang)
    assert reports.get_report(muong_phang, first).info.state == "returned"
    assert periods.state_of(muong_phang, plan_id, "2026-Q3") == PeriodState.DRAFT
    row = next(p for p in periods.list_periods(muong_phang, plan_id) if p.key == "2026-Q3")
    assert "Co Mận" in row.note

    # it amends the register, makes a correction, signs, seals and sends it again
    some = activities.list_rows(muong_phang, ActivityFilter(date_from=date(2026, 7, 1), date_to=date(2026, 9, 30)),
                                limit=2)
    record = activities.get(muong_phang, some[0].id)
    value = replace(activities.duplicate_input(muong_phang, some[0].id, record.date_start),
                    date_end=record.date_end, reach_total=record.reach_total + 250)
    activities.update(muong_phang, some[0].id, value, record.version)
    correction = report_signing.make_correction(muong_phang, first)
    fx.issue_report(muong_phang, signers, number="9", doc_date=date(2026, 10, 20), report_id=correction.id)
    resent = packages.send(muong_phang, correction.id, stick)

    # the department imports the newer version (both kept in its history) and accepts it
    assert packages.inspect(province, resent).status == "newer"
    result = packages.apply_import(province, resent)
    assert result.updated >= 1
    history = received.list_received(province, 10, include_superseded=True)
    assert sorted(r.state for r in history if "MƯỜNG PHĂNG" in r.sender_name.upper()) == ["received", "superseded"]
    newest = next(r for r in received.list_received(province, 10) if "MƯỜNG PHĂNG" in r.sender_name.upper())
    receipts.decide(province, newest.id, "accepted")
    accepted = receipts.write_receipt(province, newest.id, key, stick)
    b_row = next(r for r in received.list_received(province, 10) if "NÀ TẤU" in r.sender_name.upper())
    receipts.decide(province, b_row.id, "accepted")
    receipts.write_receipt(province, b_row.id, key, stick)
    key.close()

    # Mường Phăng reads the acceptance: approved and locked
    receipts.apply_receipt(muong_phang, accepted)
    assert reports.get_report(muong_phang, correction.id).info.state == "accepted"
    assert periods.state_of(muong_phang, plan_id, "2026-Q3") == PeriodState.LOCKED

    # an answer about the report that was since corrected is out of date: it changes nothing
    receipts.decide(stale, a_row.id, "returned", "Một lý do khác, viết lại trên máy khác.")
    stale_key = identities.open_identity(stale, answer_key.id, signers.pki.password)
    late = receipts.write_receipt(stale, a_row.id, stale_key, tmp_path)
    stale_key.close()
    assert receipts.inspect_receipt(muong_phang, late).code == "outdated"
    with pytest.raises(UserError):
        receipts.apply_receipt(muong_phang, late)
    assert periods.state_of(muong_phang, plan_id, "2026-Q3") == PeriodState.LOCKED

    # the department's own report over everything received adds up to the communes' registers
    a_count, a_items, a_reach = own_totals(muong_phang)
    b_count, b_items, b_reach = own_totals(na_tau)
    cfg = replace(reports.default_settings(province, fx.default_plan_id(province), "2026-Q3"), scope="all")
    content = reports.compute(province, cfg, Narrative())
    assert (content.totals.activities, content.totals.items, content.totals.reach) == (
        a_count + b_count, a_items + b_items, a_reach + b_reach)
    by_office = {f.label: f for f in content.by_office}
    assert sorted(f.activities for f in by_office.values() if f.activities) == sorted([a_count, b_count])
    # and its own register is still its own: nothing received shows there
    assert own_totals(province)[0] == 0
    # a unit that sent reports cannot be deleted from the directory
    sender = next(o for o in orgs.list_orgs(province) if "NÀ TẤU" in o.name.upper())
    with pytest.raises(UserError):
        orgs.delete_org(province, sender.id)


def test_the_plan_travels_down_as_an_update_from_the_command_line(tmp_path, capsys):
    signers = fx.make_signers(tmp_path / "pki")
    province = fx.receiving_office(tmp_path / "province.sqlite3", signers.pki.root_pem)
    commune = fx.sending_office(tmp_path / "commune.sqlite3", count=10)
    stick = tmp_path / "usb"
    stick.mkdir()
    code, out, err = run_cli(capsys, province, "package", "plan", str(stick))
    assert code == 0, err
    written = sorted(stick.glob("*.dbcpkg"))
    assert len(written) == 1 and str(written[0]) in out
    code, out, _err = run_cli(capsys, commune, "package", "inspect", str(stick))
    assert code == 0 and written[0].name in out
    code, out, err = run_cli(capsys, commune, "package", "import", str(written[0]))
    assert code == 0, err
    assert "revision 1" in out
    code, _out, err = run_cli(capsys, commune, "package", "import", str(written[0]))
    assert code == 2 and written[0].name in err  # the same revision again is refused, named
