"""`flask export`: the layouts, the filters, bad input, privacy defaults and the audit trail."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.exports.csv_out import write_csv
from survey_app.models import AuditEvent, ExportRun
from survey_app.models.base import utcnow
from survey_app.services.exports import ExportRequest, check_request, load_research_key, project_secret
from survey_app.services.exports.runs import build_table
from tests.exports.conftest import HOSTILE_LABEL, World


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _pseudonym(app: Flask, world: World, name: str) -> str:
    secret = project_secret(load_research_key(Path(app.instance_path)), world.project)
    client_id = str(world.clients[name].id).encode()
    return hmac.new(secret, client_id, hashlib.sha256).hexdigest()[:32]


def test_long_csv_has_one_row_per_answer_of_consenting_clients_only(
    app: Flask, export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export("--project", "Ghent evaluation", "--layout", "long", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = _rows(path)
    pseudonyms = {row["pseudonym"] for row in rows}
    assert pseudonyms == {_pseudonym(app, export_world, "alice"), _pseudonym(app, export_world, "bob")}
    # carol never consented, dan withdrew: neither is exported
    assert len(rows) == (5 + 5 + 3) + (5 + 3) + (5 + 3)  # alice t0 (mix without free text), t3m; bob t0
    first = rows[0]
    assert list(first)[:6] == ["pseudonym", "site", "programme", "timepoint", "session", "days_since_intake"]
    assert first["days_since_intake"] == "1" and first["timepoint"] == "t0" and first["language"] == "nl"
    assert (
        "rows: 29" in result.output
        and f"sha256: {hashlib.sha256(path.read_bytes()).hexdigest()}" in result.output
    )


def test_answers_are_exported_raw_with_lists_dates_and_declined_codes_explained(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(
        "--project", "Ghent evaluation", "--layout", "long", "--format", "csv", "--questionnaire", "mix"
    )
    assert result.exit_code == 0, result.output
    by_item = {row["item"]: row for row in _rows(path)}
    assert list(by_item) == [
        "mix_mood",
        "mix_sleep",
        "mix_drugs",
        "mix_days",
        "mix_last_use",
    ]  # published order
    assert by_item["mix_mood"]["value"] == "9" and by_item["mix_mood"]["declined"] == "1"
    assert by_item["mix_drugs"]["value"] == "" and by_item["mix_drugs"]["value_text"] == "1;3"
    assert (
        by_item["mix_last_use"]["value"] == "-11" and by_item["mix_last_use"]["value_text"] == ""
    )  # 2025-12-25
    assert "mix_note" not in by_item  # free text is left out unless an admin allows it


def test_no_identifier_or_secret_leaves_in_any_file(
    app: Flask, export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export("--project", "Ghent evaluation", "--layout", "long", "--format", "csv")
    assert result.exit_code == 0, result.output
    secret = project_secret(load_research_key(Path(app.instance_path)), export_world.project)
    for produced in path.parent.iterdir():
        content = produced.read_bytes()
        for leak in (
            b"Alice",
            b"Secretname",
            b"85.01.01",
            export_world.clients["alice"].code.encode(),
            secret.hex().encode(),
            export_world.project.secret_salt.encode(),
            b"2026-01-06",
        ):
            assert leak not in content, (produced.name, leak)


def test_pseudonyms_differ_between_projects_and_are_never_a_bare_hash(
    app: Flask, db: SQLAlchemy, export_world: World, run_export: Callable[..., Any]
) -> None:
    first, path = run_export("--project", "Ghent evaluation", "--layout", "scores", "--format", "csv")
    second, other = run_export(
        "--project", "Another study", "--layout", "scores", "--format", "csv", out="b.csv"
    )
    assert first.exit_code == 0 and second.exit_code == 0
    mine = {row["pseudonym"] for row in _rows(path)}
    theirs = {row["pseudonym"] for row in _rows(other)}
    assert mine and theirs and not mine & theirs
    bare = {hashlib.sha256(str(c.id).encode()).hexdigest()[:32] for c in export_world.clients.values()}
    assert not mine & bare


def test_scores_layout_has_value_band_prorating_missing_and_scorer(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(
        "--project",
        "Ghent evaluation",
        "--layout",
        "scores",
        "--format",
        "csv",
        "--questionnaire",
        "who5",
        "--timepoint",
        "t0",
        "--site",
        "GENT-X",
    )
    assert result.exit_code == 0, result.output
    rows = _rows(path)
    assert [(r["scale"], r["value"], r["band"]) for r in rows] == [
        ("raw", "15.0", "adequate"),
        ("percentage", "60.0", ""),
    ]
    assert rows[0]["prorated"] == "0" and rows[0]["missing_count"] == "0" and rows[0]["scorer_version"]


def test_an_empty_selection_writes_a_valid_file_with_headers(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(
        "--project", "Ghent evaluation", "--layout", "long", "--format", "csv", "--from", "2030-01-01"
    )
    assert result.exit_code == 0, result.output
    assert "header only" in result.output
    assert path.read_text(encoding="utf-8").startswith("pseudonym,site,programme")
    assert _rows(path) == []


def test_unknown_questionnaire_version_or_site_is_refused_with_exit_2(
    export_world: World, run_export: Callable[..., Any]
) -> None:
    for args, message in (
        (["--questionnaire", "nosuch"], "Unknown questionnaire: nosuch"),
        (["--version", "who5:7"], "Unknown version: who5:7"),
        (["--version", "who5-seven"], "not understood"),
        (["--site", "ELSEWHERE"], "Unknown site: ELSEWHERE"),
        (["--timepoint", "t99"], "Unknown timepoint: t99"),
    ):
        result, path = run_export(
            "--project", "Ghent evaluation", "--layout", "long", "--format", "csv", *args
        )
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and not path.exists()
    for project in ("No such project", "99999999999999999999", "²"):  # a name, an id no row can have
        result, _ = run_export("--project", project, "--layout", "long", "--format", "csv")
        assert result.exit_code == 2 and "no export project" in result.output, (project, result.output)


def test_a_research_key_that_is_not_hexadecimal_fails_the_run_with_a_message(
    db: SQLAlchemy, export_world: World, run_export: Callable[..., Any], monkeypatch: Any
) -> None:
    monkeypatch.setenv("RESEARCH_PSEUDONYM_KEY", "not-hex")
    result, path = run_export("--project", "Ghent evaluation", "--layout", "long", "--format", "csv")
    assert result.exit_code == 1, result.output
    assert "RESEARCH_PSEUDONYM_KEY is not hexadecimal" in result.output and not path.exists()
    run = db.session.scalars(select(ExportRun).order_by(ExportRun.id.desc())).first()
    assert run is not None and run.status == "failed" and run.error == "research_key"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "research.export_failed")).one()
    assert event.details["reason"] == "research_key"


def test_the_long_csv_joined_from_pieces_is_the_file_the_csv_writer_makes_of_the_rows(
    app: Flask, db: SQLAlchemy, export_world: World, run_export: Callable[..., Any]
) -> None:
    """The long layout's CSV is joined from pieces encoded once per session: byte for byte the file (and
    the count of neutralised cells) that writing every row's cells gives, hostile text and quotes included."""
    export_world.project.allow_free_text = True
    result, path = run_export("--project", "Ghent evaluation", "--layout", "long", "--format", "csv")
    assert result.exit_code == 0, result.output
    written = path.read_bytes()
    counts = json.loads(path.with_name("export.codebook.json").read_text(encoding="utf-8"))
    secret = project_secret(load_research_key(Path(app.instance_path)), export_world.project)
    as_tuples = check_request(
        db.session,
        export_world.project,
        ExportRequest("long", "parquet"),
        as_of=utcnow(),
        timezone=ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"]),
    )
    table = build_table(db.session, as_tuples, secret)
    stream = io.StringIO(newline="")
    expected = write_csv(table.variables, table.rows, stream)
    assert written.decode("utf-8") == stream.getvalue()
    assert b"'=BRUS" in written and b'"\'=HYPERLINK(""http://x"")' in written
    assert counts["provenance"]["counts"]["neutralised_cells"] == expected.neutralised_cells > 1


def test_hostile_text_is_neutralised_in_csv_and_escaped_in_the_html_codebook(
    db: SQLAlchemy, export_world: World, run_export: Callable[..., Any]
) -> None:
    export_world.project.allow_free_text = True
    result, path = run_export(
        "--project", "Ghent evaluation", "--layout", "long", "--format", "csv", "--questionnaire", "mix"
    )
    assert result.exit_code == 0, result.output
    rows = _rows(path)
    note = next(row for row in rows if row["item"] == "mix_note")
    assert note["value_text"] == '\'=HYPERLINK("http://x") <b>bold</b>'
    bob_site = {row["site"] for row in _rows(path)}
    assert bob_site <= {"GENT-X", "'=BRUS"}
    codebook = json.loads(path.with_name("export.codebook.json").read_text(encoding="utf-8"))
    assert codebook["provenance"]["counts"]["neutralised_cells"] >= 1
    html = path.with_name("export.codebook.html").read_text(encoding="utf-8")
    assert HOSTILE_LABEL not in html and "&lt;script&gt;alert(" in html
    assert "<script" not in html


def test_every_export_is_audited_with_checksum_and_without_health_values(
    db: SQLAlchemy, export_world: World, run_export: Callable[..., Any]
) -> None:
    result, path = run_export(
        "--project", "Ghent evaluation", "--layout", "wide", "--format", "csv", "--questionnaire", "who5"
    )
    assert result.exit_code == 0, result.output
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "research.export")).one()
    run = db.session.scalars(select(ExportRun)).one()
    details = event.details
    assert details["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == run.sha256
    assert (
        details["rows"] == 2 == run.rows_written and details["layout"] == "wide" and details["via"] == "cli"
    )
    assert details["filters"]["questionnaires"] == ["who5"]
    flat = json.dumps(details)
    assert "15.0" not in flat and "adequate" not in flat and export_world.project.secret_salt not in flat
