"""The researcher's pages: who reaches what, running an export with progress, downloading it."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AuditEvent, ExportProjectMember, ExportRun, StaffUser
from survey_app.services import accounts
from survey_app.web.auth.session import SESSION_VERSION_KEY
from tests.exports.conftest import World


def _sign_in(client: FlaskClient, db: SQLAlchemy, user: StaffUser) -> None:
    token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="pytest")
    db.session.flush()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
        session[SESSION_VERSION_KEY] = user.session_version


def _export(client: FlaskClient, csrf_token: Callable[..., str], world: World, **fields: Any) -> Any:
    path = f"/research/projects/{world.project.id}"
    form = {
        "csrf_token": csrf_token(path),
        "layout": "long",
        "format": "csv",
        "label_language": "en",
        **fields,
    }
    return client.post(f"{path}/exports", data=form)


def test_a_researcher_runs_an_export_sees_progress_and_downloads_the_package(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    response = _export(client, csrf_token, export_world, questionnaire="who5")
    assert response.status_code == 302
    run_page = client.get(response.headers["Location"])
    assert run_page.status_code == 200 and b"<progress" in run_page.data
    run = db.session.scalars(select(ExportRun)).one()
    status = client.get(f"/research/runs/{run.public_id}/status").get_json()
    assert status["status"] == "done" and status["percent"] == 100 and status["rows_written"] == 15
    with client.get(status["download_url"]) as download:
        assert download.status_code == 200 and download.mimetype == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert sorted(
        name.rsplit(".", 2)[-2] if name.count(".") > 1 else name.rsplit(".", 1)[-1] for name in names
    ) == [
        "codebook",
        "codebook",
        "csv",
    ]
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "research.export" in actions and "research.export_download" in actions


def test_an_unknown_questionnaire_in_the_form_is_a_400_with_a_message(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    response = _export(client, csrf_token, export_world, questionnaire="nosuch", version="who5:9")
    assert response.status_code == 400 and b"Unknown questionnaire: nosuch" in response.data
    assert db.session.scalars(select(ExportRun)).all() == []


def test_a_refused_export_request_is_worded_in_the_researchers_language(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    response = _export(client, csrf_token, export_world, questionnaire="nosuch")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "Questionnaire inconnu : nosuch." in text
    assert "Unknown questionnaire" not in text
    dates = {"submitted_from": "2026-05-01", "submitted_to": "2026-04-01"}
    response = _export(client, csrf_token, export_world, **dates)
    assert "La date de début est postérieure à la date de fin." in response.get_data(as_text=True)


def test_a_researcher_cannot_reach_another_project_its_runs_or_the_allowances(
    client: FlaskClient,
    db: SQLAlchemy,
    csrf_token: Callable[..., str],
    export_world: World,
    make_staff: Callable[..., StaffUser],
) -> None:
    other = make_staff("researcher", organisation=export_world.project.organisation)
    db.session.add(ExportProjectMember(project_id=export_world.other_project.id, staff_user_id=other.id))
    _sign_in(client, db, export_world.researcher)
    _export(client, csrf_token, export_world)
    run = db.session.scalars(select(ExportRun)).one()
    token = csrf_token(f"/research/projects/{export_world.project.id}")
    other_project = f"/research/projects/{export_world.other_project.id}"
    assert client.get(other_project).status_code == 403
    assert (
        client.post(
            f"{other_project}/exports", data={"csrf_token": token, "layout": "long", "format": "csv"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/research/projects/{export_world.project.id}/allowances",
            data={"csrf_token": token, "identifiers": "1"},
        ).status_code
        == 403
    )
    assert export_world.project.allow_identifiers is False
    client.get("/auth/sign-out")
    client2 = client.application.test_client()
    _sign_in(client2, db, other)
    for path in (
        f"/research/runs/{run.public_id}",
        f"/research/runs/{run.public_id}/status",
        f"/research/runs/{run.public_id}/download",
    ):
        with client2.get(path) as response:
            assert response.status_code == 403 and run.sha256.encode() not in response.data


def test_no_page_shows_a_secret_or_an_identifier(
    client: FlaskClient, db: SQLAlchemy, export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    pages = [client.get("/research/"), client.get(f"/research/projects/{export_world.project.id}")]
    for page in pages:
        assert page.status_code == 200
        for leak in (
            export_world.project.secret_salt,
            export_world.other_project.secret_salt,
            "Alice",
            "Secretname",
            export_world.clients["alice"].code,
        ):
            assert leak.encode() not in page.data


def test_only_admins_and_researchers_enter(
    client: FlaskClient, db: SQLAlchemy, login_as: Callable[..., StaffUser]
) -> None:
    assert client.get("/research/").status_code == 302  # to sign in
    login_as("counsellor")
    assert client.get("/research/").status_code == 403


def test_an_admin_creates_a_project_adds_a_researcher_and_sets_allowances(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], make_staff: Callable[..., StaffUser]
) -> None:
    admin = make_staff("admin")
    researcher = make_staff("researcher", organisation=admin.organisation)
    _sign_in(client, db, admin)
    token = csrf_token("/research/")
    created = client.post("/research/projects", data={"csrf_token": token, "name": "Pilot <b>study</b>"})
    assert created.status_code == 302
    page = client.get(created.headers["Location"])
    assert b"Pilot &lt;b&gt;study&lt;/b&gt;" in page.data and b"Start export" not in page.data
    path = created.headers["Location"]
    client.post(f"{path}/members", data={"csrf_token": token, "email": researcher.email})
    client.post(f"{path}/allowances", data={"csrf_token": token, "free_text": "1"})
    page = client.get(path).get_data(as_text=True)
    assert researcher.display_name in page and "Free-text answers: allowed." in page
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"research.project_create", "research.member_add", "research.allowances_change"} <= set(actions)


def _failure_event(db: SQLAlchemy) -> AuditEvent:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "research.export_failed")).one()


def test_an_export_that_cannot_start_is_marked_failed_with_the_reason_and_audited(
    client: FlaskClient,
    db: SQLAlchemy,
    csrf_token: Callable[..., str],
    export_world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _sign_in(client, db, export_world.researcher)
    monkeypatch.setenv("RESEARCH_PSEUDONYM_KEY", "not-hex")
    response = _export(client, csrf_token, export_world, questionnaire="who5")
    assert response.status_code == 302
    run = db.session.scalars(select(ExportRun)).one()
    assert run.error == "research_key"  # a reason code, said in the language of whoever reads the page
    status = client.get(f"/research/runs/{run.public_id}/status").get_json()
    assert status["status"] == "failed" and status["download_url"] is None
    assert "RESEARCH_PSEUDONYM_KEY" in status["error"] and "administrator" in status["error"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The export failed." in page and "RESEARCH_PSEUDONYM_KEY" in page
    dutch = client.get(response.headers["Location"], headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "De export is mislukt." in dutch and "beheerder" in dutch and "administrator" not in dutch
    french = client.get(
        f"/research/runs/{run.public_id}/status", headers={"Accept-Language": "fr"}
    ).get_json()
    assert "RESEARCH_PSEUDONYM_KEY" in french["error"] and "administrateur" in french["error"]
    event = _failure_event(db)
    assert event.ip == "127.0.0.1" and event.actor_id == export_world.researcher.id
    assert event.details["reason"] == "research_key"


def test_an_export_that_breaks_says_so_in_the_page_language_and_logs_the_detail(
    client: FlaskClient,
    db: SQLAlchemy,
    csrf_token: Callable[..., str],
    export_world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk quota of /exports reached")

    monkeypatch.setattr("survey_app.web.research.jobs.write_export", broken)
    _sign_in(client, db, export_world.researcher)
    with pytest.raises(RuntimeError):  # run inline in the tests, so the error comes through
        _export(client, csrf_token, export_world, questionnaire="who5")
    run = db.session.scalars(select(ExportRun)).one()
    assert run.status == "failed" and run.error == "error"
    assert "disk quota of /exports reached" in caplog.text  # the detail is for the log
    page = client.get(f"/research/runs/{run.public_id}", headers={"Accept-Language": "fr"})
    html = page.get_data(as_text=True)
    assert "L'export a échoué." in html.replace("&#39;", "'") and "disk quota" not in html
    event = _failure_event(db)
    assert event.ip == "127.0.0.1" and event.details["reason"] == "error"
    assert event.details["error"] == "RuntimeError"


def test_an_end_date_at_the_end_of_the_calendar_exports_everything_up_to_it(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    dates = {"submitted_from": "0001-01-01", "submitted_to": "9999-12-31"}
    response = _export(client, csrf_token, export_world, questionnaire="who5", **dates)
    assert response.status_code == 302
    run = db.session.scalars(select(ExportRun)).one()
    status = client.get(f"/research/runs/{run.public_id}/status").get_json()
    assert status["status"] == "done" and status["rows_written"] == 15  # as without the dates


def test_the_project_page_lists_the_status_of_each_export_in_the_page_language(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    assert _export(client, csrf_token, export_world, questionnaire="who5").status_code == 302
    path = f"/research/projects/{export_world.project.id}"
    dutch = client.get(path, headers={"Accept-Language": "nl"}).get_data(as_text=True)
    french = client.get(path, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert ">Klaar</a>" in dutch and ">Terminé</a>" in french
    assert ">done</a>" not in dutch + french


def _ticked(page: str, name: str, value: str) -> bool:
    """Whether the form's input `name` with `value` (or the option `value` of the select `name`) is chosen."""
    tags = re.findall(rf'<input[^>]*name="{name}" value="{re.escape(value)}"[^>]*>', page)
    tags += re.findall(rf'<option value="{re.escape(value)}"[^>]*>', page) if name == "label_language" else []
    return len(tags) == 1 and (" checked" in tags[0] or " selected" in tags[0])


def test_a_refused_export_request_shows_the_form_again_with_the_researcher_s_choices(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    ticked = {
        "layout": "wide",
        "format": "sav",
        "questionnaire": "who5",
        "version": "who5:1",
        "timepoint": "t3m",
        "site": "GENT-X",
        "label_language": "nl",
    }
    typed = {"submitted_from": "2026-01-01", "submitted_to": "31/12/2026"}  # no date picker in this browser
    response = _export(client, csrf_token, export_world, **ticked, **typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Dates are written as YYYY-MM-DD." in page
    assert all(_ticked(page, name, value) for name, value in ticked.items())
    assert not _ticked(page, "layout", "long") and not _ticked(page, "format", "csv")
    assert not _ticked(page, "include_items", "1")  # left unticked, as asked
    assert all(f'name="{name}" value="{value}"' in page for name, value in typed.items())
    fresh = client.get(f"/research/projects/{export_world.project.id}").get_data(as_text=True)
    assert _ticked(fresh, "layout", "long") and _ticked(fresh, "format", "csv")
    assert _ticked(fresh, "include_items", "1") and not _ticked(fresh, "questionnaire", "who5")


def test_the_project_page_gives_when_each_export_started_in_the_programme_s_timezone(
    client: FlaskClient, db: SQLAlchemy, csrf_token: Callable[..., str], export_world: World
) -> None:
    _sign_in(client, db, export_world.researcher)
    assert _export(client, csrf_token, export_world, questionnaire="who5").status_code == 302
    run = db.session.scalars(select(ExportRun)).one()
    run.started_at = dt.datetime(2026, 1, 5, 23, 30, tzinfo=dt.UTC)  # 00:30 on 6 January in Brussels
    db.session.commit()
    page = client.get(f"/research/projects/{export_world.project.id}").get_data(as_text=True)
    assert "00:30" in page and "23:30" not in page
