"""Builders shared by the security tests: a client with scored sessions, consent, court liaisons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from survey_app.models import (
    Answer,
    AssessmentSession,
    Client,
    ClientIdentity,
    Organisation,
    Programme,
    QuestionnaireVersion,
    Score,
    SessionQuestionnaire,
    Site,
    StaffUser,
)
from survey_app.questionnaires.loader import content_hash, load_questionnaire_text
from survey_app.services import accounts
from survey_app.services.client_access import open_client_mode
from survey_app.web.auth.session import SESSION_VERSION_KEY
from tests.builders import choice_item, document, dump, text

#: Values planted in a client's record that must never reach the court, the logs or the audit trail.
SCORE_VALUE = 73.25
#: The planted score as the court's table shows it: rounded at the scale's precision (none), like every page.
SHOWN_SCORE = f"<td>{round(SCORE_VALUE)}</td>"
FREE_TEXT = "SENTINEL free text: I used again last week"
FAMILY_NAME = "Quarrington-Zebedee"
NATIONAL_NUMBER = "85.07.30-033.61"


@dataclass
class CaseFile:
    """A client in a programme with two submitted, scored sessions."""

    organisation: Organisation
    site: Site
    programme: Programme
    client: Client
    counsellor: StaffUser
    version: QuestionnaireVersion
    sessions: list[AssessmentSession]


def _questionnaire_document() -> dict[str, Any]:
    data = document(item_count=3, key="sectest")
    data["sections"][0]["items"].append(
        {"id": "story", "type": "text", "text": text("Anything else?"), "max_length": 500}
    )
    data["sections"][0]["items"][0] = choice_item("q1")
    return data


@pytest.fixture
def case_file(
    db: SQLAlchemy,
    make_site: Callable[..., Site],
    make_programme: Callable[..., Programme],
    make_staff: Callable[..., StaffUser],
    make_client: Callable[..., Client],
) -> CaseFile:
    """A counsellor's client with an identity, two submitted sessions (t0, t3m), scores and free text."""
    site = make_site()
    organisation = db.session.get(Organisation, site.organisation_id)
    assert organisation is not None
    programme = make_programme(organisation)
    counsellor = make_staff("counsellor", organisation=organisation, sites=[site])
    client = make_client(site=site, programme=programme, counsellor=counsellor, intake_date=date(2025, 1, 6))
    db.session.add(
        ClientIdentity(
            client_id=client.id, given_name="Ada", family_name=FAMILY_NAME, national_number=NATIONAL_NUMBER
        )
    )
    source = dump(_questionnaire_document())
    load_questionnaire_text(source, "sectest/v1.yaml")  # a valid form, examples and all
    snapshot = yaml.safe_load(source)
    version = QuestionnaireVersion(
        key="sectest",
        version=1,
        content_hash=content_hash(source.encode("utf-8")),
        source_yaml=source,
        snapshot=snapshot,
        title="Security test form",
    )
    db.session.add(version)
    db.session.flush()
    sessions = []
    for index, timepoint in enumerate(programme.timepoints):
        moment = datetime(2025, 1 + 3 * index, 8, 10, 0, tzinfo=UTC)
        row = AssessmentSession(
            client_id=client.id,
            site_id=client.site_id,
            timepoint_id=timepoint.id,
            language="en",
            mode="tablet",
            status="submitted",
            started_at=moment,
            submitted_at=moment,
        )
        row.questionnaires = [SessionQuestionnaire(questionnaire_version_id=version.id, position=0)]
        db.session.add(row)
        db.session.flush()
        _token, tablet = open_client_mode(db.session, row, via="tablet", staff=counsellor)  # answered on it
        for item_id, value in (("q1", 2), ("q2", 3), ("q3", 1), ("story", FREE_TEXT)):
            db.session.add(
                Answer(
                    session_id=row.id,
                    questionnaire_version_id=version.id,
                    item_id=item_id,
                    value=value,
                    client_mode_session_id=tablet.id,
                )
            )
        db.session.add(
            Score(
                session_id=row.id,
                questionnaire_version_id=version.id,
                scale_id="total",
                value=SCORE_VALUE + index,
                scorer_version="test",
            )
        )
        sessions.append(row)
    db.session.flush()
    return CaseFile(organisation, site, programme, client, counsellor, version, sessions)


@pytest.fixture
def signed_in(db: SQLAlchemy) -> Callable[[FlaskClient, StaffUser], FlaskClient]:
    """Return a function signing a test client in as an existing staff member (as a full sign-in does)."""

    def sign_in(client: FlaskClient, user: StaffUser) -> FlaskClient:
        token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="pytest")
        db.session.flush()
        with client.session_transaction() as session:
            session["_user_id"] = token
            session[SESSION_VERSION_KEY] = user.session_version
        return client

    return sign_in
