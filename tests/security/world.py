"""A whole small programme for the access matrix and the malicious-input corpus, and the people who use it.

One organisation with two sites. Side A: client A at site A, their counsellor, a site lead of site A. Side B:
client B at site B and their counsellor. Both counsellors and the site lead also work at a third site without
clients, where a client can be moved to. Each client has a submitted, scored session that raised a risk alert
(PHQ-9 item 9), an open session of the every-item-type form (with the required answer given) and a one-time
code for it; each counsellor (and the site lead) has a finished report batch whose ZIP is on disk. The
organisation has an export project (the researcher is a member, with an authenticator linked) with a finished
run, a named alert recipient and a questionnaire draft waiting to be published; its programme has a third
timepoint no session was started at, and a staff member invited with a one-time link waits to set a password.
A second organisation ("elsewhere") holds the same kinds of object, for "someone else's".

The people who use it, and the browser that sends their requests, are in ``tests/security/principals.py``.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

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
    QuestionnaireDraft,
    QuestionnaireVersion,
    ReportBatch,
    ScoreFlag,
    SessionQuestionnaire,
    Site,
    StaffUser,
    Timepoint,
    TimepointQuestionnaire,
)
from survey_app.models.base import utcnow
from survey_app.models.security import StaffMfa
from survey_app.models.workspace import AlertRecipient
from survey_app.questionnaires.loader import content_hash
from survey_app.services import access_codes, mfa
from survey_app.services.invitations import issue_invitation
from survey_app.services.scoring import score_session
from survey_app.web.reports.jobs import batch_path
from survey_app.web.research.jobs import package_path
from tests.builders import document, dump, text
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
#: The key of each organisation's questionnaire draft (a new questionnaire: its version 1).
DRAFT_KEY = "matrix_draft"


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
    """What an organisation holds besides clients: site, programme, project and run, recipient, draft."""

    organisation: Organisation
    site: Site
    programme: Programme
    project: ExportProject
    member: StaffUser
    run: ExportRun
    recipient: AlertRecipient
    draft: QuestionnaireDraft


@dataclass
class World:
    """Everything the matrix and the corpus address (see the module docstring)."""

    organisation: Organisation
    site_a: Site
    site_b: Site
    #: A third site without clients, where the staff of both sides also work (a client can move there).
    site_c: Site
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
    unused_timepoint: Timepoint
    invited: StaffUser
    invitation_token: str
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
        site_id=client.site_id,
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
        client_ids=[],
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
    _link_authenticator(session, member)
    draft = _draft(session, organisation, member)
    return Holdings(organisation, site, programme, project, member, run, recipient, draft)


def _link_authenticator(session: Any, user: StaffUser) -> None:
    user.totp_secret = mfa.new_totp_secret()
    session.add(StaffMfa(staff_user_id=user.id, last_totp_step=0))
    session.flush()


def _draft(session: Any, organisation: Organisation, uploader: StaffUser) -> QuestionnaireDraft:
    source = dump(document(key=DRAFT_KEY, title=text("Matrix draft"), short_title=text("Draft")))
    draft = QuestionnaireDraft(
        organisation_id=organisation.id,
        key=DRAFT_KEY,
        version=1,
        file_name=f"{DRAFT_KEY}.yaml",
        source_text=source,
        content_hash=content_hash(source.encode("utf-8")),
        uploaded_by=uploader.id,
    )
    session.add(draft)
    session.flush()
    return draft


def _unused_timepoint(session: Any, programme: Programme) -> Timepoint:
    timepoint = Timepoint(
        key="t12m",
        label="12 months",
        position=len(programme.timepoints),
        offset_days=365,
        window_after_days=14,
        battery=[TimepointQuestionnaire(questionnaire_key="who5", position=0, is_core=True)],
    )
    programme.timepoints.append(timepoint)
    session.flush()
    return timepoint


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
    site_c = Site(organisation_id=organisation.id, name=unique("Mechelen "), code=unique("MC"))
    far_site = Site(organisation_id=stranger.id, name=unique("Far "), code=unique("FS"))
    session.add_all([site_a, site_b, site_c, far_site])
    session.flush()
    versions = {
        "who5": store_bank(session, "who5"),
        "phq9": store_bank(session, "phq9"),
        "tablet_form": store_every_type_form(session),
    }
    programme = _programme(session, organisation, list(versions))
    parts = {"organisation": organisation, "programme": programme, "versions": versions}
    a, b = _side(session, app, parts, site_a, "A"), _side(session, app, parts, site_b, "B")
    for side_counsellor in (a.counsellor, b.counsellor):
        side_counsellor.sites = [*side_counsellor.sites, site_c]
    researcher = _staff(session, "researcher", organisation, [])
    outsider = _staff(session, "researcher", stranger, [])
    admin = _staff(session, "admin", organisation, [])
    invited = _staff(session, "counsellor", organisation, [site_a])
    invitation = issue_invitation(session, invited, created_by=admin)
    timepoints = list(programme.timepoints)  # the two the sessions were started at
    world = World(
        organisation=organisation,
        site_a=site_a,
        site_b=site_b,
        site_c=site_c,
        programme=programme,
        timepoints=timepoints,
        a=a,
        b=b,
        site_lead=_staff(session, "site_lead", organisation, [site_a, site_c]),
        researcher=researcher,
        spare_researcher=_staff(session, "researcher", organisation, []),
        liaison=_staff(session, "court_liaison", organisation, []),
        admin=admin,
        disabled=_staff(session, "counsellor", organisation, [site_a], is_active=False),
        home=_holdings(session, app, organisation, site_a, programme, researcher),
        elsewhere=_holdings(session, app, stranger, far_site, _programme(session, stranger, []), outsider),
        unused_timepoint=_unused_timepoint(session, programme),
        invited=invited,
        invitation_token=invitation.token,
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
