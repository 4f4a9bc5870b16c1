"""A whole small programme for the access matrix and the malicious-input corpus, and the people who use it.

One organisation with two sites. Side A: client A at site A, their counsellor, a site lead of site A. Side B:
client B at site B and their counsellor. Each client has a submitted, scored session that raised a risk alert
(PHQ-9 item 9), an open session of the every-item-type form (with the required answer given) and a one-time
code for it; each counsellor (and the site lead) has a finished report batch whose ZIP is on disk. The
organisation has an export project (the researcher is a member) with a finished run, and a named alert
recipient. A second organisation ("elsewhere") holds the same kinds of object, for "someone else's".

``Principal`` is one way of using the app (anonymous, the client's tablet in client mode, a staff member);
``Browser`` sends each request as that principal, with a valid CSRF token, inside a savepoint that is
rolled back afterwards, so every request meets the same world.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.test import TestResponse

from survey_app.models import (
    Answer,
    AssessmentSession,
    Client,
    ConsentRecord,
    ExportProject,
    ExportProjectMember,
    ExportRun,
    Organisation,
    Programme,
    QuestionnaireVersion,
    ReportBatch,
    ScoreFlag,
    SessionQuestionnaire,
    Site,
    StaffSession,
    StaffUser,
    Timepoint,
    TimepointQuestionnaire,
)
from survey_app.models.base import utcnow
from survey_app.models.workspace import AlertRecipient
from survey_app.services import access_codes, accounts
from survey_app.services.client_access import lock_client_mode, open_client_mode
from survey_app.services.scoring import score_session
from survey_app.web.auth.pending import PENDING_KEY
from survey_app.web.auth.session import SESSION_VERSION_KEY
from survey_app.web.client.guard import CLIENT_MODE_KEY
from survey_app.web.reports.jobs import batch_path
from survey_app.web.research.jobs import package_path
from tests.client.support import store_bank, store_every_type_form
from tests.conftest import staff_password_hash, unique

#: PHQ-9 answers whose item 9 raises the urgent risk flag.
PHQ9_RISK = {
    "phq9_interest": 2, "phq9_down": 2, "phq9_sleep": 1, "phq9_tired": 2, "phq9_appetite": 1,
    "phq9_failure": 1, "phq9_concentration": 1, "phq9_psychomotor": 0, "phq9_selfharm": 1,
}  # fmt: skip
WHO5 = {"who5_cheerful": 3, "who5_calm": 3, "who5_active": 2, "who5_rested": 2, "who5_interest": 3}
MISSING_CODE = "ZZ-NO-SUCH-CLIENT"
MISSING_UUID = "00000000-0000-4000-8000-000000000000"
MISSING_ID = 987654321


@dataclass
class Side:
    """One client's case file and the counsellor who holds it."""

    client: Client
    counsellor: StaffUser
    submitted: AssessmentSession
    open_session: AssessmentSession
    alert: ScoreFlag
    code: str
    link_token: str


@dataclass
class Holdings:
    """What an organisation holds besides clients: site, programme, export project and run, recipient."""

    organisation: Organisation
    site: Site
    programme: Programme
    project: ExportProject
    member: StaffUser
    run: ExportRun
    recipient: AlertRecipient


@dataclass
class World:
    """Everything the matrix and the corpus address (see the module docstring)."""

    organisation: Organisation
    site_a: Site
    site_b: Site
    programme: Programme
    timepoints: list[Timepoint]
    a: Side
    b: Side
    site_lead: StaffUser
    researcher: StaffUser
    spare_researcher: StaffUser
    liaison: StaffUser
    admin: StaffUser
    disabled: StaffUser
    home: Holdings
    elsewhere: Holdings
    batches: dict[int, ReportBatch] = field(default_factory=dict)
    versions: dict[str, QuestionnaireVersion] = field(default_factory=dict)

    def batch_of(self, user: StaffUser | None) -> ReportBatch | None:
        """The finished batch ``user`` asked for, if any."""
        return self.batches.get(user.id) if user is not None else None


def _staff(
    session: Any, role: str, organisation: Organisation, sites: list[Site], **fields: Any
) -> StaffUser:
    user = StaffUser(
        organisation_id=organisation.id,
        email=f"{unique(role.replace('_', '-'))}@example.org",
        display_name=unique(f"{role.title()} "),
        password_hash=staff_password_hash(),
        role=role,
        **fields,
    )
    user.sites = sites
    session.add(user)
    session.flush()
    return user


def _programme(session: Any, organisation: Organisation, keys: list[str]) -> Programme:
    programme = Programme(organisation_id=organisation.id, key=unique("dtc_"), name="Drug Treatment Court")
    programme.timepoints = [
        Timepoint(
            key=key,
            label=label,
            position=position,
            offset_days=offset,
            window_after_days=14,
            battery=[
                TimepointQuestionnaire(questionnaire_key=name, position=index, is_core=True)
                for index, name in enumerate(keys)
            ],
        )
        for position, (key, label, offset) in enumerate((("t0", "Intake", 0), ("t3m", "3 months", 91)))
    ]
    session.add(programme)
    session.flush()
    return programme


def _session(
    session: Any, client: Client, timepoint: Timepoint, versions: list[QuestionnaireVersion], status: str
) -> AssessmentSession:
    moment = utcnow() - dt.timedelta(days=10 if status == "submitted" else 0)
    row = AssessmentSession(
        client_id=client.id,
        timepoint_id=timepoint.id,
        language="en",
        mode="tablet",
        status=status,
        started_at=moment,
        submitted_at=moment if status == "submitted" else None,
    )
    row.questionnaires = [
        SessionQuestionnaire(questionnaire_version_id=version.id, position=index)
        for index, version in enumerate(versions)
    ]
    session.add(row)
    session.flush()
    return row


def _side(session: Any, app: Flask, world_parts: dict[str, Any], site: Site, letter: str) -> Side:
    organisation, programme = world_parts["organisation"], world_parts["programme"]
    versions = world_parts["versions"]
    counsellor = _staff(session, "counsellor", organisation, [site])
    client = Client(
        code=unique(f"SEC{letter}-").upper(),
        site_id=site.id,
        programme_id=programme.id,
        counsellor_id=counsellor.id,
        intake_date=utcnow().date() - dt.timedelta(days=100),
        preferred_language="en",
    )
    session.add(client)
    session.flush()
    t0, t3m = programme.timepoints
    submitted = _session(session, client, t0, [versions["who5"], versions["phq9"]], "submitted")
    for version, answers in ((versions["who5"], WHO5), (versions["phq9"], PHQ9_RISK)):
        for item_id, value in answers.items():
            session.add(
                Answer(
                    session_id=submitted.id, questionnaire_version_id=version.id, item_id=item_id, value=value
                )
            )
    session.flush()
    score_session(session, submitted)
    session.flush()
    alert = session.scalars(select(ScoreFlag).where(ScoreFlag.session_id == submitted.id)).first()
    assert alert is not None, "PHQ-9 item 9 raises an alert"
    open_row = _session(session, client, t3m, [versions["tablet_form"]], "open")
    session.add(
        Answer(
            session_id=open_row.id,
            questionnaire_version_id=versions["tablet_form"].id,
            item_id="mood",
            value=3,
        )
    )
    issued = access_codes.issue_code(
        session, open_row, secret=app.config["SECRET_KEY"], staff=counsellor, ip="127.0.0.1"
    )
    session.flush()
    return Side(client, counsellor, submitted, open_row, alert, issued.code, issued.link_token)


def _finished_batch(session: Any, app: Flask, user: StaffUser) -> ReportBatch:
    batch = ReportBatch(
        organisation_id=user.organisation_id,
        requested_by=user.id,
        kind="counsellor",
        language="en",
        status="done",
        total=1,
        done=1,
        finished_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    with zipfile.ZipFile(batch_path(app, batch), "w") as archive:
        archive.writestr("README.txt", "test batch")
    return batch


def _holdings(
    session: Any, app: Flask, organisation: Organisation, site: Site, programme: Programme, member: StaffUser
) -> Holdings:
    project = ExportProject(organisation_id=organisation.id, name=unique("Study "))
    session.add(project)
    session.flush()
    session.add(ExportProjectMember(project_id=project.id, staff_user_id=member.id))
    run = ExportRun(
        project_id=project.id,
        requested_by=member.id,
        via="web",
        layout="long",
        format="csv",
        status="done",
        rows_total=0,
        finished_at=utcnow(),
    )
    recipient = AlertRecipient(organisation_id=organisation.id, staff_user_id=member.id, severities="urgent")
    session.add_all([run, recipient])
    session.flush()
    with zipfile.ZipFile(package_path(app, run), "w") as archive:
        archive.writestr("data.csv", "pseudonym\n")
    return Holdings(organisation, site, programme, project, member, run, recipient)


def build_world(app: Flask, db: SQLAlchemy) -> World:
    """Build the world in the test's rolled-back transaction (flushed, ready for requests)."""
    session = db.session
    organisation, stranger = (
        Organisation(name=unique("Ghent court ")),
        Organisation(name=unique("Elsewhere ")),
    )
    session.add_all([organisation, stranger])
    session.flush()
    site_a = Site(organisation_id=organisation.id, name=unique("Ghent "), code=unique("GA"))
    site_b = Site(organisation_id=organisation.id, name=unique("Aalst "), code=unique("AB"))
    far_site = Site(organisation_id=stranger.id, name=unique("Far "), code=unique("FS"))
    session.add_all([site_a, site_b, far_site])
    session.flush()
    versions = {
        "who5": store_bank(session, "who5"),
        "phq9": store_bank(session, "phq9"),
        "tablet_form": store_every_type_form(session),
    }
    programme = _programme(session, organisation, list(versions))
    parts = {"organisation": organisation, "programme": programme, "versions": versions}
    a, b = _side(session, app, parts, site_a, "A"), _side(session, app, parts, site_b, "B")
    researcher = _staff(session, "researcher", organisation, [])
    outsider = _staff(session, "researcher", stranger, [])
    world = World(
        organisation=organisation,
        site_a=site_a,
        site_b=site_b,
        programme=programme,
        timepoints=list(programme.timepoints),
        a=a,
        b=b,
        site_lead=_staff(session, "site_lead", organisation, [site_a]),
        researcher=researcher,
        spare_researcher=_staff(session, "researcher", organisation, []),
        liaison=_staff(session, "court_liaison", organisation, []),
        admin=_staff(session, "admin", organisation, []),
        disabled=_staff(session, "counsellor", organisation, [site_a], is_active=False),
        home=_holdings(session, app, organisation, site_a, programme, researcher),
        elsewhere=_holdings(session, app, stranger, far_site, _programme(session, stranger, []), outsider),
        versions=versions,
    )
    for user in (a.counsellor, b.counsellor, world.site_lead):
        world.batches[user.id] = _finished_batch(session, app, user)
    session.flush()
    return world


def grant_court_consent(db: SQLAlchemy, client: Client) -> None:
    """The client agrees that the court sees attendance, scores and a summary (from a minute ago)."""
    db.session.add(
        ConsentRecord(
            client_id=client.id,
            purpose="court",
            granted=True,
            share_scores=True,
            share_summary=True,
            text_version="2026-1",
            recorded_at=utcnow() - dt.timedelta(minutes=1),
        )
    )
    db.session.flush()


# ---------------------------------------------------------------- principals and their browser
@dataclass
class Principal:
    """One way of using the app: the cookie-session keys it holds, the staff member (if any), its side."""

    name: str
    user: StaffUser | None = None
    session_data: dict[str, Any] = field(default_factory=dict)
    home: str = "a"
    in_client_mode: bool = False


def staff_principal(db: SQLAlchemy, name: str, user: StaffUser, home: str = "a") -> Principal:
    """A staff member with a live server-side sign-in session (as after password and TOTP)."""
    token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="pytest")
    db.session.flush()
    data = {"_user_id": token, "_fresh": True, SESSION_VERSION_KEY: user.session_version}
    return Principal(name, user, data, home)


def client_mode_principal(
    db: SQLAlchemy,
    world: World,
    name: str = "client",
    *,
    side: Side | None = None,
    locked: bool = False,
    via: Literal["tablet", "code"] = "tablet",
) -> Principal:
    """A tablet handed over to a client (A unless told) by their counsellor, whose session is parked; or
    (``via="code"``) the client's phone after entering a one-time code."""
    side = side or world.a
    counsellor = side.counsellor
    token = accounts.start_staff_session(db.session, counsellor, ip="127.0.0.1", user_agent="pytest")
    db.session.flush()
    parked = db.session.scalar(
        select(StaffSession).where(StaffSession.token_hash == accounts.token_hash(token))
    )
    client_token, row = open_client_mode(
        db.session,
        side.open_session,
        via=via,
        staff=counsellor,
        staff_session=parked,
        return_path=f"/counsellor/clients/{side.client.code}",
    )
    if locked:
        lock_client_mode(db.session, row, reason="client")
    db.session.flush()
    home = "a" if side is world.a else "b"
    return Principal(name, None, {CLIENT_MODE_KEY: client_token, "language": "en"}, home, in_client_mode=True)


def pending_sign_in_principal(name: str, user: StaffUser) -> Principal:
    """A browser between the password and the second step (or the first enrolment) of ``user``."""
    state = {"uid": user.id, "sv": user.session_version, "at": int(time.time()), "next": ""}
    return Principal(name, user, {PENDING_KEY: state})


class Browser:
    """Sends requests as a principal, each with a fresh cookie session and CSRF token, each rolled back."""

    def __init__(self, app: Flask, db: SQLAlchemy, client: FlaskClient) -> None:
        self.app, self.db, self.client = app, db, client
        self.connection = db.session.connection()
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        self._signer = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")

    def _prepare(self, principal: Principal) -> str:
        raw = hashlib.sha1(os.urandom(32)).hexdigest()
        with self.client.session_transaction() as session:
            session.clear()
            session.update(principal.session_data)
            session["csrf_token"] = raw
        return str(self._signer.dumps(raw))

    @contextmanager
    def rolled_back(self) -> Iterator[None]:
        """Whatever the requests inside change in the database is undone afterwards."""
        savepoint = self.connection.begin_nested()
        try:
            yield
        finally:
            savepoint.rollback()

    def send(
        self,
        principal: Principal,
        method: str,
        path: str,
        data: dict[str, Any] | bytes | None = None,
        json: Any = None,
        **kwargs: Any,
    ) -> TestResponse:
        """One request as ``principal``; state-changing methods carry a valid CSRF token."""
        token = self._prepare(principal)
        headers = {"X-CSRFToken": token}
        if method != "GET" and json is None and not isinstance(data, bytes):
            data = {**(data or {}), "csrf_token": token}
        return self.client.open(path, method=method, data=data, json=json, headers=headers, **kwargs)
