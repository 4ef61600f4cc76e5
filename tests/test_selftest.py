"""``dbcomm self-test``: what IT staff run after installing, and what the installer checks run."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbcomm import cli
from dbcomm.i18n import set_language
from dbcomm.services import signing


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("vi")


def test_self_test_builds_signs_and_verifies_a_report_and_opens_the_window(qapp, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DBCOMM_DATA_DIR", str(tmp_path / "own-data"))
    code = cli.main(["--lang", "en", "self-test", "--keep", str(tmp_path / "kept")])
    out = capsys.readouterr().out
    assert code == 0, out
    for step in ("Opening a new database", "Loading the demo office", "Building a report PDF",
                 "Signing it with a test certificate", "Verifying the signature", "Opening the window"):
        assert step in out
    assert "rows on screen" in out and "Self-test passed" in out
    # what it signed really is a valid signed PDF, kept for IT staff to look at
    pdf = (tmp_path / "kept" / "self-test-signed.pdf").read_bytes()
    result = signing.verify_pdf(pdf, [])
    assert [s.signer_name for s in result.signatures] == ["Lò Văn Thắng (thử nghiệm)"]
    assert result.verdict == "untrusted"  # its throwaway root is trusted by nobody
    # the person's own data folder is not touched
    assert not (tmp_path / "own-data" / "dbcomm.sqlite3").exists()


def test_a_failing_step_is_named_and_the_command_fails(capsys, monkeypatch, tmp_path):
    from dbcomm.errors import UserError
    from dbcomm.services import fonts

    def broken() -> None:
        raise UserError("The font file LiberationSerif-Regular.ttf is missing.")

    monkeypatch.setattr(fonts, "check_fonts", broken)
    import tempfile

    made = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        made.append(Path(real_mkdtemp(*args, dir=tmp_path, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    code = cli.main(["--lang", "en", "self-test", "--no-window"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Self-test FAILED at: Checking the fonts" in captured.err
    assert "LiberationSerif-Regular.ttf is missing" in captured.err
    assert "Building a report PDF" not in captured.out  # it stops at the first failure
    assert len(made) == 1 and not made[0].exists()  # its temporary folder is removed even after a failure
