"""The client's rights: the record as JSON and PDF; erasure keeps research data only on a recorded basis."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from pypdf import PdfReader
from sqlalchemy import func, select

from survey_app.models import (
    Answer,
    AssessmentSession,
    AuditEvent,
    ClientAnchorDate,
    ClientErasure,
    ClientIdentity,
    ConsentRecord,
    ReportBatch,
    Score,
    ScoreFlag,
)
from survey_app.services import consent
from survey_app.services.alerts import acknowledge_alerts
from survey_app.services.caseload import scope_of
from survey_app.services.gdpr import GdprError, client_record, erase_client
from survey_app.services.retention import set_privacy_settings
from tests.security.conftest import FAMILY_NAME, FREE_TEXT, NATIONAL_NUMBER, SCORE_VALUE, CaseFile

Builder = Callable[..., Any]


def _count(db: SQLAlchemy, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(db.session.scalar(query) or 0)


def test_the_record_holds_everything_kept_about_the_client(db: SQLAlchemy, case_file: CaseFile) -> None:
    consent.record_consent(db.session, case_file.client, "court", True)
    record = client_record(db.session, case_file.client)
    text = json.dumps(record)
    assert record["client"]["code"] == case_file.client.code
    assert record["identity"]["family_name"] == FAMILY_NAME and NATIONAL_NUMBER in text
    assert len(record["assessments"]) == 2
    answers = record["assessments"][0]["questionnaires"][0]["answers"]
    assert {"item": "q2", "value": 3, "question": "Question q2", "answer": "option 3"} in answers
    assert FREE_TEXT in text and str(SCORE_VALUE) in text
    assert record["consents"][0]["purpose"] == "court"
    assert "code_hash" not in text and "token" not in text


def test_the_export_commands_write_json_and_a_readable_pdf(
    app: Flask, db: SQLAlchemy, case_file: CaseFile, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    code = case_file.client.code
    result = runner.invoke(
        args=["gdpr", "export", code.lower(), "--format", "json", "--out", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["client"]["code"] == code
    assert (tmp_path / "r.json").stat().st_mode & 0o077 == 0  # readable by the owner only
    result = runner.invoke(args=["gdpr", "export", code, "--format", "pdf", "--out", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.output
    pdf = PdfReader(io.BytesIO((tmp_path / "r.pdf").read_bytes()))
    content = " ".join(page.extract_text() for page in pdf.pages)
    assert code in content and FAMILY_NAME in content and "Question q1" in content
    assert _count(db, AuditEvent, action="gdpr.access_export") == 2
    missing = runner.invoke(args=["gdpr", "export", "NOPE-1234", "--out", str(tmp_path / "x.json")])
    assert missing.exit_code != 0 and "No client" in missing.output


def test_the_export_command_says_when_its_out_path_cannot_be_written(
    app: Flask, case_file: CaseFile, tmp_path: Path
) -> None:
    out = tmp_path / "no-such-folder" / "r.json"
    result = app.test_cli_runner().invoke(args=["gdpr", "export", case_file.client.code, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert f"The folder {out.parent} does not exist" in result.output
    unwritable = tmp_path / ("x" * 300 + ".json")  # longer than a file name may be
    result = app.test_cli_runner().invoke(
        args=["gdpr", "export", case_file.client.code, "--out", str(unwritable)]
    )
    assert result.exit_code == 1 and "Cannot write" in result.output, result.output


def test_erasure_without_a_recorded_basis_removes_everything_linked(
    db: SQLAlchemy, case_file: CaseFile
) -> None:
    client = case_file.client
    old_code = client.code
    db.session.add(ClientAnchorDate(client_id=client.id, anchor="hearing", date=client.intake_date))
    consent.record_consent(db.session, client, "research", True)
    report = erase_client(db.session, client)
    db.session.flush()
    assert not report.research_data_kept
    assert client.code.startswith("ERASED-") and client.code != old_code and client.counsellor_id is None
    for model in (ClientIdentity, ClientAnchorDate, AssessmentSession):
        assert _count(db, model, client_id=client.id) == 0, model
    assert _count(db, Answer) == 0 and _count(db, Score) == 0
    assert _count(db, ConsentRecord, client_id=client.id) == 1  # the lawful-basis history stays
    assert _count(db, ClientErasure, client_id=client.id) == 1
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(client.id))
    ).all()
    assert "gdpr.erase_identifiers" in actions and "gdpr.erase_research_data" in actions
    assert old_code not in json.dumps(client_record(db.session, client))
    with pytest.raises(GdprError):
        erase_client(db.session, client)


def test_research_data_stays_only_with_a_recorded_basis_and_research_consent(
    db: SQLAlchemy, case_file: CaseFile
) -> None:
    client = case_file.client
    set_privacy_settings(
        db.session,
        case_file.organisation,
        retention_months=None,
        research_legal_basis="DPIA 2026-04, art. 9(2)(j)",
    )
    consent.record_consent(db.session, client, "research", True)
    report = erase_client(db.session, client)
    db.session.flush()
    assert report.research_data_kept and report.legal_basis and "DPIA" in report.legal_basis
    assert _count(db, ClientIdentity, client_id=client.id) == 0
    assert _count(db, AssessmentSession, client_id=client.id) == 2
    assert _count(db, Score) == 2
    values = db.session.scalars(select(Answer.value)).all()
    assert len(values) == 6 and FREE_TEXT not in values  # free text goes: it can identify
    # the answers were given on a tablet whose hand-over is erased: they stay, naming no device
    assert set(db.session.scalars(select(Answer.client_mode_session_id))) == {None}


def test_without_research_consent_the_basis_alone_keeps_nothing(db: SQLAlchemy, case_file: CaseFile) -> None:
    set_privacy_settings(
        db.session, case_file.organisation, retention_months=None, research_legal_basis="DPIA"
    )
    assert not erase_client(db.session, case_file.client).research_data_kept
    assert _count(db, AssessmentSession, client_id=case_file.client.id) == 0


def test_the_erase_command_asks_first_and_reports(app: Flask, db: SQLAlchemy, case_file: CaseFile) -> None:
    runner = app.test_cli_runner()
    code = case_file.client.code
    aborted = runner.invoke(args=["gdpr", "erase", code], input="n\n")
    assert aborted.exit_code != 0 and _count(db, ClientErasure) == 0
    done = runner.invoke(args=["gdpr", "erase", code, "--yes"])
    assert done.exit_code == 0, done.output
    assert f"Erased {code}" in done.output and "client_identities 1" in done.output
    assert "No research data kept" in done.output


def test_the_record_holds_the_notes_written_when_an_alert_was_acknowledged(
    db: SQLAlchemy, case_file: CaseFile
) -> None:
    flag = ScoreFlag(
        session_id=case_file.sessions[0].id,
        questionnaire_version_id=case_file.version.id,
        flag_id="risk",
        severity="urgent",
    )
    db.session.add(flag)
    db.session.flush()
    note = "Called her probation officer; she moves to the crisis bed on Monday."
    acknowledge_alerts(db.session, scope_of(db.session, case_file.counsellor), [flag.id], note)
    record = client_record(db.session, case_file.client)
    rows = record["other_records"]["alert_acknowledgements"]
    assert [(row["flag_id"], row["note"]) for row in rows] == [(flag.id, note)]


def _batch_zip(app: Flask, db: SQLAlchemy, case_file: CaseFile, client_ids: list[int]) -> Path:
    """A finished report batch of the counsellor holding these clients' reports, its ZIP on disk."""
    batch = ReportBatch(
        organisation_id=case_file.organisation.id,
        requested_by=case_file.counsellor.id,
        kind="counsellor",
        client_ids=client_ids,
        status="done",
        total=len(client_ids),
        done=len(client_ids),
    )
    db.session.add(batch)
    db.session.flush()
    folder = Path(app.instance_path) / "report_batches"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{batch.public_id}.zip"
    path.write_bytes(f"the reports of {FAMILY_NAME}".encode())
    batch.file_name = path.name
    return path


@pytest.mark.parametrize("command", [["gdpr", "erase", "--yes"], ["retention", "apply"]])
def test_erasure_deletes_the_report_batches_holding_the_clients_reports(
    app: Flask, db: SQLAlchemy, case_file: CaseFile, make_client: Builder, command: list[str]
) -> None:
    other = make_client(site=case_file.site, programme=case_file.programme, counsellor=case_file.counsellor)
    holding = _batch_zip(app, db, case_file, [case_file.client.id, other.id])
    not_holding = _batch_zip(app, db, case_file, [other.id])
    if command[0] == "gdpr":
        command = [*command, case_file.client.code]
    else:
        case_file.client.status = "withdrawn"
        set_privacy_settings(
            db.session, case_file.organisation, retention_months=12, research_legal_basis=None
        )
    try:
        result = app.test_cli_runner().invoke(args=command)
        assert result.exit_code == 0, result.output
        assert not holding.exists()  # its PDFs name the erased client and show their answers
        assert not_holding.exists()
    finally:
        holding.unlink(missing_ok=True)
        not_holding.unlink(missing_ok=True)
