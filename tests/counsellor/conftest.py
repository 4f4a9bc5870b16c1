"""A small workspace world: one organisation with two sites, its staff, a programme, a stranger organisation.

``workspace`` builds it in the test's rolled-back transaction. ``world.client_of(...)`` registers a client,
``world.submit(...)`` stores a scored session (WHO-5 and PHQ-9 from the bank, scored by the real scorer, so
risk flags are raised as in production), and ``world.sign_in(user)`` signs the test client in as that
user.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from survey_app.extensions import db as _db
from survey_app.models import (
    Answer,
    AssessmentSession,
    Client,
    Organisation,
    Programme,
    QuestionnaireVersion,
    SessionQuestionnaire,
    Site,
    StaffUser,
    Timepoint,
)
from survey_app.models.base import utcnow
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services import accounts
from survey_app.services.questionnaires import find_version, store_version
from survey_app.services.scoring import score_session
from survey_app.web.auth.session import SESSION_VERSION_KEY
from tests.conftest import PROJECT_ROOT

TODAY = utcnow().date()
_codes = itertools.count(1)
_registry: QuestionnaireRegistry | None = None

#: WHO-5 answers (five items, 0-5) and PHQ-9 answers (nine items, 0-3; the last is item 9, self-harm).
WHO5_ITEMS = ("who5_cheerful", "who5_calm", "who5_active", "who5_rested", "who5_interest")
PHQ9_ITEMS = (
    "phq9_interest", "phq9_down", "phq9_sleep", "phq9_tired", "phq9_appetite", "phq9_failure",
    "phq9_concentration", "phq9_psychomotor", "phq9_selfharm",
)  # fmt: skip


def who5(*codes: int) -> dict[str, int]:
    """WHO-5 answers from five codes."""
    return dict(zip(WHO5_ITEMS, codes, strict=True))


def phq9(*codes: int) -> dict[str, int]:
    """PHQ-9 answers from nine codes."""
    return dict(zip(PHQ9_ITEMS, codes, strict=True))


def bank_version(key: str) -> QuestionnaireVersion:
    """The stored bank version of `key` (stored now if this test has not yet)."""
    global _registry
    _registry = _registry or QuestionnaireRegistry(PROJECT_ROOT / "questionnaires")
    entry = [entry for entry in _registry.published() if entry.key == key][-1]
    found = find_version(_db.session, key, entry.version)
    return found if found is not None else store_version(_db.session, _registry, entry)


@dataclass
class World:
    """Handles to the rows tests look at."""

    browser: FlaskClient
    organisation: Organisation
    site_a: Site
    site_b: Site
    programme: Programme
    t0: Timepoint
    t3m: Timepoint
    t6m: Timepoint
    counsellor: StaffUser
    colleague: StaffUser
    lead: StaffUser
    lead_b: StaffUser
    admin: StaffUser
    researcher: StaffUser
    liaison: StaffUser
    outsider: StaffUser
    stranger_site: Site
    stranger_programme: Programme

    def client_of(
        self,
        counsellor: StaffUser | None = None,
        *,
        site: Site | None = None,
        programme: Programme | None = None,
        intake: dt.date | None = None,
        status: str = "active",
    ) -> Client:
        """A client (of `counsellor`, at site A unless told) whose intake was 100 days ago by default."""
        site = site or self.site_a
        client = Client(
            code=f"{site.code}-T{next(_codes):05d}",
            site_id=site.id,
            programme_id=(programme or self.programme).id,
            counsellor_id=counsellor.id if counsellor else None,
            intake_date=intake or TODAY - dt.timedelta(days=100),
            status=status,
        )
        _db.session.add(client)
        _db.session.flush()
        return client

    def submit(
        self,
        client: Client,
        timepoint: Timepoint | None,
        answers: dict[str, dict[str, Any]],
        *,
        when: dt.datetime | None = None,
        versions: dict[str, QuestionnaireVersion] | None = None,
        language: str = "en",
    ) -> AssessmentSession:
        """A submitted, scored session: `answers` maps a questionnaire key to item answers."""
        when = when or utcnow()
        chosen = {key: (versions or {}).get(key) or bank_version(key) for key in answers}
        session = AssessmentSession(
            client_id=client.id,
            site_id=client.site_id,
            timepoint_id=timepoint.id if timepoint else None,
            language=language,
            mode="tablet",
            status="submitted",
            started_at=when - dt.timedelta(minutes=20),
            submitted_at=when,
        )
        session.questionnaires = [
            SessionQuestionnaire(questionnaire_version_id=row.id, position=index)
            for index, row in enumerate(chosen.values())
        ]
        _db.session.add(session)
        _db.session.flush()
        for key, items in answers.items():
            for item_id, value in items.items():
                _db.session.add(
                    Answer(
                        session_id=session.id,
                        questionnaire_version_id=chosen[key].id,
                        item_id=item_id,
                        value=value,
                    )
                )
        _db.session.flush()
        score_session(_db.session, session)
        _db.session.flush()
        return session

    def sign_in(self, user: StaffUser) -> StaffUser:
        """Sign the test client in as `user` (a new sign-in session)."""
        token = accounts.start_staff_session(_db.session, user, ip="127.0.0.1", user_agent="pytest")
        _db.session.flush()
        with self.browser.session_transaction() as session:
            session.clear()
            session["_user_id"] = token
            session["_fresh"] = True
            session[SESSION_VERSION_KEY] = user.session_version
        return user

    def token(self, path: str = "/") -> str:
        """A CSRF token from a page of the signed-in user."""
        page = self.browser.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)


def _staff(role: str, organisation: Organisation, sites: list[Site], name: str) -> StaffUser:
    user = StaffUser(
        organisation_id=organisation.id,
        email=f"{name.lower().replace(' ', '.')}.{next(_codes)}@example.org",
        display_name=name,
        password_hash="x",
        role=role,
    )
    user.sites = sites
    _db.session.add(user)
    _db.session.flush()
    return user


def _programme(organisation: Organisation, key: str) -> tuple[Programme, Timepoint, Timepoint, Timepoint]:
    t0 = Timepoint(key="t0", label="Intake", position=0, offset_days=0, window_after_days=21)
    t3m = Timepoint(
        key="t3m", label="3 months", position=1, offset_days=91, window_before_days=14, window_after_days=14
    )
    t6m = Timepoint(
        key="t6m", label="6 months", position=2, offset_days=182, window_before_days=14, window_after_days=14
    )
    programme = Programme(organisation_id=organisation.id, key=key, name="Drug Treatment Court")
    programme.timepoints = [t0, t3m, t6m]
    _db.session.add(programme)
    _db.session.flush()
    return programme, t0, t3m, t6m


@pytest.fixture
def workspace(app: Flask, db: SQLAlchemy, client: FlaskClient) -> World:
    """The world, with nobody signed in yet."""
    number = next(_codes)
    organisation = Organisation(name=f"Ghent Court {number}")
    stranger = Organisation(name=f"Elsewhere {number}")
    db.session.add_all([organisation, stranger])
    db.session.flush()
    site_a = Site(organisation_id=organisation.id, name="Ghent", code=f"GNT{number}")
    site_b = Site(organisation_id=organisation.id, name="Aalst", code=f"AAL{number}")
    stranger_site = Site(organisation_id=stranger.id, name="Far away", code=f"FAR{number}")
    db.session.add_all([site_a, site_b, stranger_site])
    db.session.flush()
    programme, t0, t3m, t6m = _programme(organisation, "dtc")
    stranger_programme = _programme(stranger, "dtc")[0]
    world = World(
        browser=client,
        organisation=organisation,
        site_a=site_a,
        site_b=site_b,
        programme=programme,
        t0=t0,
        t3m=t3m,
        t6m=t6m,
        counsellor=_staff("counsellor", organisation, [site_a], "Casey Counsellor"),
        colleague=_staff("counsellor", organisation, [site_a], "Cole Colleague"),
        lead=_staff("site_lead", organisation, [site_a], "Lee Lead"),
        lead_b=_staff("site_lead", organisation, [site_b], "Bo Lead"),
        admin=_staff("admin", organisation, [], "Ada Admin"),
        researcher=_staff("researcher", organisation, [], "Rae Researcher"),
        liaison=_staff("court_liaison", organisation, [], "Lia Liaison"),
        outsider=_staff("counsellor", stranger, [stranger_site], "Otto Outsider"),
        stranger_site=stranger_site,
        stranger_programme=stranger_programme,
    )
    return world
