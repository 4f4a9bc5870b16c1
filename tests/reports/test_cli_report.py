"""`flask report client`: one PDF, private to its owner, audited; clear messages for what cannot be made."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AuditEvent
from tests.reports.conftest import Followed, pdf_text


def test_writes_each_kind_to_a_private_file_and_audits_it(
    app: Flask, db: SQLAlchemy, followed: Followed, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    code = followed.client.code
    session = followed.sessions[0]
    for kind, extra in (
        ("counsellor", ["--lang", "nl"]),
        ("client", []),
        ("record", ["--session", session.public_id]),
    ):
        out = tmp_path / f"{kind}.pdf"
        result = runner.invoke(
            args=["report", "client", code.lower(), "--kind", kind, *extra, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_mode & 0o077 == 0
        assert code in pdf_text(out.read_bytes())
    assert "Verslag voor de begeleider" in pdf_text((tmp_path / "counsellor.pdf").read_bytes())
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "report.render", AuditEvent.object_id == str(followed.client.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [event.details["kind"] for event in events] == ["counsellor", "client", "record"]
    assert events[2].details["session"] == session.public_id


def test_what_cannot_be_made_is_a_clear_message(app: Flask, followed: Followed, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "x.pdf"
    cases = [
        (["NOPE-0000", "--out", str(out)], "No client with code 'NOPE-0000'"),
        (
            [followed.client.code, "--kind", "record", "--out", str(out)],
            "Choose the session to record with --session",
        ),
        (
            [followed.client.code, "--kind", "record", "--session", "not-a-session", "--out", str(out)],
            "has no session",
        ),
        ([followed.client.code, "--names", "--out", str(out)], "Names are turned off"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["report", "client", *args])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()
    result = runner.invoke(args=["report", "batch", "--site", "NOWHERE", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 2 and "No site with code" in result.output
    result = runner.invoke(args=["report", "batch", "--timepoint", "t99", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 2 and "No client matches" in result.output


def test_an_out_path_that_cannot_be_written_is_a_clear_message(
    app: Flask, followed: Followed, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    missing = tmp_path / "no-such-folder"
    for args in (
        ["client", followed.client.code, "--out", str(missing / "x.pdf")],
        ["batch", "--out", str(missing / "x.zip")],
    ):
        result = runner.invoke(args=["report", *args])
        assert result.exit_code == 2, result.output
        assert f"The folder {missing} does not exist" in result.output
    assert not missing.exists()
    unwritable = tmp_path / ("x" * 300 + ".pdf")  # longer than a file name may be
    result = runner.invoke(args=["report", "client", followed.client.code, "--out", str(unwritable)])
    assert result.exit_code == 2 and "Cannot write" in result.output, result.output
