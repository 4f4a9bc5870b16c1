"""Web export packages: kept for a few days, gone sooner when an allowance is withdrawn or a client erased."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AuditEvent, ExportRun, StaffUser
from survey_app.models.base import utcnow
from survey_app.services.exports import ExportFilters, ExportRequest, set_allowances, start_run
from survey_app.services.exports.packages import removed_reason
from survey_app.services.gdpr import erase_client
from tests.exports.conftest import World
from tests.exports.test_research_pages import _export, _sign_in


def _package(client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], world: World) -> ExportRun:
    """A finished web export of the project, with its zip in the instance folder."""
    _export(client, csrf_token, world, questionnaire="who5")
    run = db.session.scalars(select(ExportRun).order_by(ExportRun.id.desc())).first()
    assert run is not None and run.status == "done"
    return run


def _zip(app: Flask, run: ExportRun) -> Path:
    return Path(app.instance_path) / "research_exports" / f"{run.public_id}.zip"


def _removals(db: SQLAlchemy) -> list[str]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "research.package_removed"))
    return [event.details["reason"] for event in events]


def test_a_package_past_its_days_is_deleted_and_its_page_says_to_export_again(
    app: Flask, client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    run = _package(client, db, csrf_token, export_world)
    with client.get(f"/research/runs/{run.public_id}/download") as download:
        assert download.status_code == 200
    run.finished_at = utcnow() - dt.timedelta(days=8)
    db.session.flush()
    gone = client.get(f"/research/runs/{run.public_id}/download")
    page = gone.get_data(as_text=True)
    assert gone.status_code == 410
    assert "kept for 7 days" in page and "Run the export again" in page
    assert not _zip(app, run).exists() and _removals(db) == ["expired"]
    status = client.get(f"/research/runs/{run.public_id}/status").get_json()
    assert status["status"] == "expired" and status["download_url"] is None


def test_withdrawing_an_allowance_removes_the_packages_made_with_it(
    app: Flask,
    client: FlaskClient,
    db: SQLAlchemy,
    csrf_token: Callable[..., str],
    export_world: World,
    make_staff: Callable[..., StaffUser],
) -> None:
    admin = make_staff("admin", organisation=export_world.project.organisation)
    project = export_world.project
    set_allowances(db.session, admin, project, identifiers=True, free_text=False, calendar_dates=False)
    _sign_in(client, db, export_world.researcher)
    with_names = _package(client, db, csrf_token, export_world)
    set_allowances(db.session, admin, project, identifiers=True, free_text=True, calendar_dates=False)
    with_names_and_text = _package(client, db, csrf_token, export_world)
    _sign_in(client, db, admin)
    token = csrf_token(f"/research/projects/{project.id}")
    client.post(f"/research/projects/{project.id}/allowances", data={"csrf_token": token, "identifiers": "1"})
    assert _zip(app, with_names).exists() and not _zip(app, with_names_and_text).exists()
    _sign_in(client, db, export_world.researcher)
    gone = client.get(f"/research/runs/{with_names_and_text.public_id}/download")
    assert gone.status_code == 410 and "an allowance it was made with" in gone.get_data(as_text=True)
    with client.get(f"/research/runs/{with_names.public_id}/download") as download:
        assert download.status_code == 200
    assert _removals(db) == ["allowance_withdrawn"]


def test_an_export_still_running_when_its_allowance_is_withdrawn_is_not_kept(
    db: SQLAlchemy, export_world: World, make_staff: Callable[..., StaffUser]
) -> None:
    admin = make_staff("admin", organisation=export_world.project.organisation)
    project = export_world.project
    set_allowances(db.session, admin, project, identifiers=True, free_text=False, calendar_dates=False)
    request = ExportRequest("wide", "csv", ExportFilters())
    run = start_run(db.session, project, request, requested_by=admin.id, via="web")
    set_allowances(db.session, admin, project, identifiers=False, free_text=False, calendar_dates=False)
    assert run.status == "running" and removed_reason(run) == "allowance_withdrawn"


def test_erasing_a_client_removes_the_packages_with_identifiers(
    app: Flask,
    client: FlaskClient,
    db: SQLAlchemy,
    csrf_token: Callable[..., str],
    export_world: World,
    make_staff: Callable[..., StaffUser],
) -> None:
    _sign_in(client, db, export_world.researcher)
    pseudonymised = _package(client, db, csrf_token, export_world)
    admin = make_staff("admin", organisation=export_world.project.organisation)
    set_allowances(
        db.session, admin, export_world.project, identifiers=True, free_text=False, calendar_dates=False
    )
    with_names = _package(client, db, csrf_token, export_world)
    erase_client(db.session, export_world.clients["carol"])  # never consented: in neither package
    assert _removals(db) == []
    db.session.flush()
    erase = app.test_cli_runner().invoke(args=["gdpr", "erase", export_world.clients["bob"].code, "--yes"])
    assert erase.exit_code == 0, erase.output
    assert not _zip(app, with_names).exists() and not _zip(app, pseudonymised).exists()
    page = client.get(f"/research/runs/{with_names.public_id}/download").get_data(as_text=True)
    assert "data in it has been erased" in page


def test_retention_deletes_packages_past_their_days(
    app: Flask, client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    old, recent = (
        _package(client, db, csrf_token, export_world),
        _package(client, db, csrf_token, export_world),
    )
    old.finished_at = utcnow() - dt.timedelta(days=8)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    assert "Research export packages expired: 1; files deleted: 1." in result.output
    assert not _zip(app, old).exists() and _zip(app, recent).exists()


def test_erasing_a_client_removes_only_the_packages_that_hold_them(
    app: Flask,
    client: FlaskClient,
    db: SQLAlchemy,
    csrf_token: Callable[..., str],
    export_world: World,
) -> None:
    _sign_in(client, db, export_world.researcher)
    both = _package(client, db, csrf_token, export_world)  # alice (site A) and bob (site B)
    _export(client, csrf_token, export_world, questionnaire="who5", site="=BRUS")
    only_bob = db.session.scalars(select(ExportRun).order_by(ExportRun.id.desc())).first()
    assert only_bob is not None and only_bob.status == "done" and only_bob.id != both.id
    still_running = start_run(
        db.session, export_world.project, ExportRequest("long", "csv"), requested_by=None, via="web"
    )
    erase_client(db.session, export_world.clients["alice"])
    assert removed_reason(both) == "client_erased" and removed_reason(still_running) == "client_erased"
    assert removed_reason(only_bob) is None  # alice is not in it: it stays
    assert _removals(db) == ["client_erased", "client_erased"]
