"""Batches: which reports a filter makes, stable file names, and the worker pool writing one ZIP."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.extensions import db as _db
from survey_app.models import (
    Answer,
    AssessmentSession,
    AuditEvent,
    Client,
    Organisation,
    Programme,
    SessionQuestionnaire,
    Site,
    Timepoint,
)
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services.questionnaires import store_version
from survey_app.services.report_batches import BatchFilter, select_jobs
from survey_app.services.scoring import score_session
from tests.conftest import PROJECT_ROOT, dispose_engines, make_app
from tests.reports.conftest import TODAY, Followed, pdf_text, wave_answers


def test_filters_pick_clients_and_sessions_with_stable_names(db: SQLAlchemy, followed: Followed) -> None:
    world = followed.world
    at_b = world.client_of(world.lead_b, site=world.site_b)
    world.submit(
        at_b, world.t0, wave_answers(0, ("who5",)), when=dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    )
    never = world.client_of(world.counsellor)
    mine = select(Client).where(Client.site_id.in_([world.site_a.id, world.site_b.id]))

    everyone = select_jobs(db.session, mine, "counsellor", BatchFilter(), "nl")
    assert [job.file_name for job in everyone] == sorted(
        f"{code}_counsellor_nl.pdf" for code in (followed.client.code, at_b.code, never.code)
    )
    site_b = select_jobs(db.session, mine, "client", BatchFilter(site_id=world.site_b.id))
    assert [job.client_code for job in site_b] == [at_b.code] and site_b[
        0
    ].language == at_b.preferred_language
    at_12 = select_jobs(db.session, mine, "counsellor", BatchFilter(timepoint_key="t12m"))
    assert [job.client_code for job in at_12] == [followed.client.code]
    assert at_12[0].language == world.site_a.default_language  # counsellor reports: the site's language
    recent = select_jobs(
        db.session, mine, "record", BatchFilter(start=TODAY - dt.timedelta(days=10), end=TODAY)
    )
    assert [job.client_code for job in recent] == [at_b.code]
    records = select_jobs(db.session, mine, "record", BatchFilter(timepoint_key="t3m"), "en")
    session = followed.sessions[1]
    assert [job.file_name for job in records] == [
        f"{followed.client.code}_record_t3m_{session.submitted_at.date().isoformat()}_{session.public_id[:8]}_en.pdf"
    ]
    assert select_jobs(db.session, mine, "counsellor", BatchFilter(timepoint_key="t3m")) == select_jobs(
        db.session, mine, "counsellor", BatchFilter(timepoint_key="t3m")
    )


def _committed_world(url: str, instance: Path) -> list[str]:
    """Three clients with a scored WHO-5 at intake, committed (workers read it over their own connections)."""
    app = make_app(url, instance)
    registry = QuestionnaireRegistry(PROJECT_ROOT / "questionnaires")
    with app.app_context():
        _db.create_all()
        session = _db.session
        organisation = Organisation(name="Batch test")
        session.add(organisation)
        session.flush()
        site = Site(organisation_id=organisation.id, name="Ghent", code="BAT")
        programme = Programme(organisation_id=organisation.id, key="dtc", name="Drug Treatment Court")
        programme.timepoints = [Timepoint(key="t0", label="Intake", position=0, window_after_days=21)]
        session.add_all([site, programme])
        session.flush()
        version = store_version(session, registry, next(e for e in registry.published() if e.key == "who5"))
        codes = []
        for number in range(3):
            client = Client(
                code=f"BAT-{number:04d}",
                site_id=site.id,
                programme_id=programme.id,
                intake_date=TODAY,
                preferred_language=("en", "nl", "fr")[number],
            )
            session.add(client)
            session.flush()
            assessment = AssessmentSession(
                client_id=client.id,
                site_id=client.site_id,
                timepoint_id=programme.timepoints[0].id,
                language="en",
                mode="tablet",
                status="submitted",
                submitted_at=dt.datetime.now(dt.UTC),
            )
            assessment.questionnaires = [
                SessionQuestionnaire(questionnaire_version_id=version.id, position=0)
            ]
            session.add(assessment)
            session.flush()
            for item_id, value in wave_answers_who5().items():
                session.add(
                    Answer(
                        session_id=assessment.id,
                        questionnaire_version_id=version.id,
                        item_id=item_id,
                        value=value,
                    )
                )
            session.flush()
            score_session(session, assessment)
            codes.append(client.code)
        session.commit()
    dispose_engines(app)
    return codes


def wave_answers_who5() -> dict[str, int]:
    """WHO-5 answers for the committed world (raw 15, 60 %)."""
    return {"who5_cheerful": 3, "who5_calm": 3, "who5_active": 3, "who5_rested": 3, "who5_interest": 3}


def test_the_command_makes_a_zip_with_two_worker_processes(fresh_database_url: str, tmp_path: Path) -> None:
    codes = _committed_world(fresh_database_url, tmp_path / "instance")
    app = make_app(fresh_database_url, tmp_path / "instance")
    out = tmp_path / "clients.zip"
    result = app.test_cli_runner().invoke(
        args=["report", "batch", "--kind", "client", "--site", "BAT", "--workers", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Making 3 reports" in result.output and "2 workers" in result.output
    assert out.stat().st_mode & 0o077 == 0
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            [
                f"{codes[0]}_client_en.pdf",
                f"{codes[1]}_client_nl.pdf",
                f"{codes[2]}_client_fr.pdf",
                "index.csv",
            ]
        )
        dutch = pdf_text(archive.read(f"{codes[1]}_client_nl.pdf"))
        assert codes[1] in dutch and "Hoe u zich voelde" in dutch
        index = archive.read("index.csv").decode()
        assert index.count(",made,") == 3
    with app.app_context():
        renders = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.render")).all()
        assert len(renders) == 3 and {event.details["via"] for event in renders} == {"cli-batch"}
    dispose_engines(app)
