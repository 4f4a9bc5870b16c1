"""An export reads one state of the database: what another connection commits meanwhile is not in it."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from survey_app.extensions import db
from survey_app.models import (
    Answer,
    AssessmentSession,
    Client,
    ConsentRecord,
    ExportProject,
    Organisation,
    Programme,
    SessionQuestionnaire,
    Site,
    Timepoint,
)
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services.exports import wide
from survey_app.services.questionnaires import store_version
from survey_app.services.scoring import score_session
from tests.conftest import PROJECT_ROOT, dispose_engines, make_app

WHO5_ITEMS = [f"who5_{n}" for n in ("cheerful", "calm", "active", "rested", "interest")]


@pytest.fixture
def committed_app(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on its own database whose rows are really committed (other connections see them)."""
    app = make_app(fresh_database_url, tmp_path / "instance")
    with app.app_context():
        db.create_all()
    yield app
    dispose_engines(app)


def _submitted(
    client_id: int, site_id: int, timepoint_id: int, version_id: int, day: dt.date
) -> AssessmentSession:
    moment = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    row = AssessmentSession(
        client_id=client_id,
        site_id=site_id,
        timepoint_id=timepoint_id,
        language="nl",
        mode="tablet",
        status="submitted",
        started_at=moment,
        submitted_at=moment,
    )
    row.questionnaires = [SessionQuestionnaire(questionnaire_version_id=version_id, position=0)]
    return row


def _one_client_at_t0(app: Flask) -> dict[str, int]:
    """A consenting client with WHO-5 answered at t0, a project; the ids a second session needs."""
    with app.app_context():
        session = db.session
        organisation = Organisation(name="Org")
        session.add(organisation)
        session.flush()
        site = Site(organisation_id=organisation.id, name="Gent", code="GENT-1")
        programme = Programme(organisation_id=organisation.id, key="dtc", name="DTC")
        programme.timepoints = [
            Timepoint(key=key, label=key, position=n, offset_days=days, window_after_days=14)
            for n, (key, days) in enumerate((("t0", 0), ("t3m", 91)))
        ]
        session.add_all([site, programme])
        session.flush()
        registry = QuestionnaireRegistry(PROJECT_ROOT / "questionnaires")
        who5 = store_version(session, registry, next(e for e in registry.published() if e.key == "who5"))
        client = Client(
            code="GENT-CLIENT-1", site_id=site.id, programme_id=programme.id, intake_date=dt.date(2026, 1, 5)
        )
        session.add(client)
        session.flush()
        session.add(
            ConsentRecord(
                client_id=client.id,
                purpose="research",
                granted=True,
                text_version="2026-1",
                recorded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        )
        t0, t3m = programme.timepoints
        first = _submitted(client.id, site.id, t0.id, who5.id, dt.date(2026, 1, 6))
        session.add(first)
        session.flush()
        session.add_all(
            Answer(session_id=first.id, questionnaire_version_id=who5.id, item_id=item, value=3)
            for item in WHO5_ITEMS
        )
        session.flush()
        score_session(session, first)
        session.add(ExportProject(organisation_id=organisation.id, name="P"))
        session.commit()
        return {"client_id": client.id, "site_id": site.id, "timepoint_id": t3m.id, "version_id": who5.id}


def test_a_session_committed_during_a_wide_export_is_not_in_it(
    committed_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = _one_client_at_t0(committed_app)
    other = create_engine(committed_app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    read_sessions = wide._sessions

    def a_tablet_submits_meanwhile(*args: Any) -> Any:
        with Session(other) as tablet, tablet.begin():
            tablet.add(_submitted(**later, day=dt.date(2026, 4, 6)))
        return read_sessions(*args)

    monkeypatch.setattr(wide, "_sessions", a_tablet_submits_meanwhile)
    out = tmp_path / "wide.csv"
    result = committed_app.test_cli_runner().invoke(
        args=["export", "--project", "P", "--layout", "wide", "--format", "csv", "--out", str(out), "--quiet"]
    )
    other.dispose()
    assert result.exit_code == 0, (result.output, result.exception)
    with out.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert len(rows) == 1
    later_values = [value for name, value in zip(header, rows[0], strict=True) if name.endswith("_t3m")]
    assert later_values and not any(later_values)
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AssessmentSession)) == 2
