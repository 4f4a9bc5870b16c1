"""The demo: an organisation, staff, the default programme and N clients with realistic answers.

Deterministic for a seed: client codes DEMO-0001, DEMO-0002, ... always get the same intake dates, sessions
and answers, so documentation and tools can refer to them. Rows are written in bulk, a chunk of clients at a
time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

from survey_app.db import DbSession
from survey_app.demo.answers import simulate_answers
from survey_app.domain.scoring import score
from survey_app.models import (
    Answer,
    AssessmentSession,
    Client,
    ClientAnchorDate,
    Organisation,
    ScoreFlag,
    SessionQuestionnaire,
    Site,
    StaffUser,
    Submission,
)
from survey_app.models.base import table_of
from survey_app.models.programme import Programme, Timepoint
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.models.security import ConsentRecord
from survey_app.models.workspace import AlertAcknowledgement
from survey_app.programmes.definition import ProgrammeDefinition
from survey_app.services.assessments import resolve_battery
from survey_app.services.audit import record_event
from survey_app.services.consent import CONSENT_TEXT_VERSIONS
from survey_app.services.programmes import install_programme
from survey_app.services.questionnaires import questionnaire_of
from survey_app.services.scoring import store_results

DEMO_ORGANISATION = "Demo Drug Treatment Court"
DEMO_DOMAIN = "demo.example.org"
CHUNK = 250
#: (site name, site code, default language, counsellor e-mails)
SITES = (
    ("Ghent", "DEMO-GENT", "nl", ("counsellor", "counsellor.two")),
    ("Brussels", "DEMO-BRUS", "fr", ("counsellor.brussels",)),
)
STAFF = (
    ("admin", "Demo Admin", "admin"),
    ("counsellor", "Demo Counsellor", "counsellor"),
    ("counsellor.two", "Second Counsellor", "counsellor"),
    ("counsellor.brussels", "Brussels Counsellor", "counsellor"),
    ("sitelead", "Demo Site Lead", "site_lead"),
    ("researcher", "Demo Researcher", "researcher"),
    ("court", "Demo Court Liaison", "court_liaison"),
)
ACKNOWLEDGEMENT_NOTE = "Talked it through with the client at the next appointment; support plan reviewed."
#: Share of clients who complete each timepoint once it is due (the rest missed it).
COMPLETION = {"t0": 1.0, "t3m": 0.85, "t6m": 0.75, "t12m": 0.6}


@dataclass
class DemoReport:
    """What the seeding created."""

    clients: int = 0
    sessions: int = 0
    answers: int = 0
    accounts: list[tuple[str, str]] = field(default_factory=list)


def demo_exists(session: DbSession) -> bool:
    """True when the demo organisation has been created."""
    return session.scalar(select(Organisation.id).where(Organisation.name == DEMO_ORGANISATION)) is not None


def demo_accounts() -> list[tuple[str, str]]:
    """(role, e-mail) of every demo account."""
    return [(role, f"{local}@{DEMO_DOMAIN}") for local, _, role in STAFF]


def seed_demo(
    session: DbSession,
    definition: ProgrammeDefinition,
    *,
    clients: int,
    password_hash: str,
    today: dt.date,
    seed: int = 2026,
    on_progress: Callable[[int], None] | None = None,
) -> DemoReport:
    """Create the demo organisation, staff, programme and `clients` clients (the caller commits)."""
    organisation = Organisation(name=DEMO_ORGANISATION)
    session.add(organisation)
    session.flush()
    sites = [
        Site(organisation_id=organisation.id, name=name, code=code, default_language=language)
        for name, code, language, _ in SITES
    ]
    session.add_all(sites)
    staff = {
        local: StaffUser(
            organisation_id=organisation.id,
            email=f"{local}@{DEMO_DOMAIN}",
            display_name=name,
            password_hash=password_hash,
            role=role,
        )
        for local, name, role in STAFF
    }
    session.add_all(staff.values())
    session.flush()
    for site, (_, _, _, counsellors) in zip(sites, SITES, strict=True):
        for local in counsellors:
            staff[local].sites.append(site)
    staff["sitelead"].sites.append(sites[0])
    programme, _ = install_programme(session, organisation, definition)
    report = DemoReport(accounts=demo_accounts())
    seeder = _Seeder(session, programme, sites, staff, today, random.Random(seed))
    for start in range(0, clients, CHUNK):
        count = min(CHUNK, clients - start)
        seeder.add_clients(range(start + 1, start + count + 1), report)
        if on_progress is not None:
            on_progress(count)
    record_event(
        session,
        "demo.seed",
        object_type="organisation",
        object_id=organisation.id,
        details={"clients": report.clients, "sessions": report.sessions, "seed": seed},
    )
    return report


@dataclass
class _PlannedSession:
    client_index: int
    timepoint: Timepoint
    versions: list[QuestionnaireVersion]
    wellbeing: float
    status: str
    started_at: dt.datetime
    submitted_at: dt.datetime | None
    language: str
    mode: str
    site_id: int


class _Seeder:
    def __init__(
        self,
        session: DbSession,
        programme: Programme,
        sites: list[Site],
        staff: dict[str, StaffUser],
        today: dt.date,
        rng: random.Random,
    ) -> None:
        self.session = session
        self.programme = programme
        self.sites = sites
        self.counsellors = [[staff[local] for local in counsellors] for _, _, _, counsellors in SITES]
        self.today = today
        self.rng = rng
        self.batteries = {
            timepoint.key: resolve_battery(session, timepoint) for timepoint in programme.timepoints
        }
        self.optional = {
            entry.questionnaire_key
            for tp in programme.timepoints
            for entry in tp.battery
            if not entry.is_core
        }

    def add_clients(self, numbers: range, report: DemoReport) -> None:
        rows, plans, anchors = [], [], []
        for number in numbers:
            row, client_plans, client_anchors = self._plan_client(number)
            rows.append(row)
            plans.extend(client_plans)
            anchors.append(client_anchors)
        ids = self._insert_returning(Client, rows)
        self._insert_consents(ids, [row["intake_date"] for row in rows])
        self.session.execute(
            insert(table_of(ClientAnchorDate)),
            [
                {"client_id": ids[index], "anchor": anchor, "date": day}
                for index, client_anchors in enumerate(anchors)
                for anchor, day in client_anchors
            ],
        )
        session_ids = self._insert_sessions(plans, ids, numbers.start, report)
        counsellors = {
            plan_id: rows[plan.client_index - numbers.start]["counsellor_id"]
            for plan, plan_id in zip(plans, session_ids, strict=True)
        }
        self._acknowledge_old_alerts(plans, session_ids, counsellors)
        report.clients += len(rows)

    def _insert_consents(self, client_ids: list[int], intake_dates: list[dt.date]) -> None:
        """Consent as recorded at intake: care always; research for most; court for many, some with scores."""
        rows = []
        for client_id, intake in zip(client_ids, intake_dates, strict=True):
            recorded = dt.datetime.combine(intake, dt.time(10, 0), tzinfo=dt.UTC)
            court = self.rng.random() < 0.6
            for purpose, granted, scores, summary in (
                ("care", True, False, False),
                ("research", self.rng.random() < 0.85, False, False),
                ("court", court, court and self.rng.random() < 0.35, court and self.rng.random() < 0.25),
            ):
                rows.append(
                    {
                        "client_id": client_id,
                        "purpose": purpose,
                        "granted": granted,
                        "share_scores": scores,
                        "share_summary": summary,
                        "text_version": CONSENT_TEXT_VERSIONS[purpose],
                        "recorded_at": recorded,
                    }
                )
        self.session.execute(insert(table_of(ConsentRecord)), rows)

    def _plan_client(
        self, number: int
    ) -> tuple[dict[str, Any], list[_PlannedSession], list[tuple[str, dt.date]]]:
        rng = self.rng
        site_index = 0 if rng.random() < 0.7 else 1
        language = rng.choices(("nl", "fr", "en"), (0.75, 0.1, 0.15) if site_index == 0 else (0.1, 0.8, 0.1))[
            0
        ]
        intake = self.today - dt.timedelta(days=rng.randint(0, 460))
        status = rng.choices(("active", "paused", "withdrawn"), (0.9, 0.03, 0.07))[0]
        if status == "active" and (self.today - intake).days > 250:
            status = "completed"
        row = {
            "code": f"DEMO-{number:04d}",
            "site_id": self.sites[site_index].id,
            "programme_id": self.programme.id,
            "counsellor_id": rng.choice(self.counsellors[site_index]).id,
            "preferred_language": language,
            "status": status,
            "intake_date": intake,
        }
        anchors = [
            ("referral", intake - dt.timedelta(days=rng.randint(7, 40))),
            ("hearing", intake - dt.timedelta(days=rng.randint(0, 14))),
        ]
        wellbeing = rng.gauss(-0.6, 0.9)
        trend = rng.gauss(0.35, 0.45)  # most clients improve; some relapse
        plans = []
        for timepoint in self.programme.timepoints:
            due = intake + dt.timedelta(days=timepoint.offset_days)
            if due > self.today or (status == "withdrawn" and timepoint.position > 1):
                break
            in_window = (self.today - due).days <= timepoint.window_after_days
            plan = self._plan_session(
                number, timepoint, due, in_window, wellbeing, language, site_id=self.sites[site_index].id
            )
            if plan is not None:
                plans.append(plan)
            wellbeing += trend + rng.gauss(0.0, 0.35)
        return row, plans, anchors

    def _plan_session(
        self,
        number: int,
        timepoint: Timepoint,
        due: dt.date,
        in_window: bool,
        wellbeing: float,
        language: str,
        *,
        site_id: int,
    ) -> _PlannedSession | None:
        rng = self.rng
        if rng.random() > COMPLETION.get(timepoint.key, 0.7) and not in_window:
            return None  # a missed follow-up
        open_now = in_window and rng.random() < 0.15
        if in_window and not open_now and rng.random() < 0.3:
            return None  # due now, not started yet
        day = min(self.today, due + dt.timedelta(days=rng.randint(0, max(timepoint.window_after_days, 1))))
        started = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC) + dt.timedelta(
            minutes=rng.randint(0, 480)
        )
        leave_out = {key for key in self.optional if rng.random() < 0.6}
        versions = [row for row in self.batteries[timepoint.key] if row.key not in leave_out]
        return _PlannedSession(
            number,
            timepoint,
            versions,
            wellbeing,
            "open" if open_now else "submitted",
            started,
            None if open_now else started + dt.timedelta(minutes=rng.randint(12, 45)),
            language,
            rng.choices(("tablet", "interview", "own_device"), (0.8, 0.15, 0.05))[0],
            site_id,
        )

    def _insert_returning(self, model: Any, rows: list[dict[str, Any]]) -> list[int]:
        if not rows:
            return []
        statement = insert(model).returning(model.id, sort_by_parameter_order=True)
        return [row_id for (row_id,) in self.session.execute(statement, rows)]

    def _insert_sessions(
        self, plans: list[_PlannedSession], client_ids: list[int], first: int, report: DemoReport
    ) -> list[int]:
        """Insert the planned sessions with their answers, submissions and scores; returns their ids."""
        session_rows = [
            {
                "public_id": _uuid(self.rng),
                "client_id": client_ids[plan.client_index - first],
                "site_id": plan.site_id,
                "timepoint_id": plan.timepoint.id,
                "due_anchor": plan.timepoint.anchor,
                "due_offset_days": plan.timepoint.offset_days,
                "due_window_before_days": plan.timepoint.window_before_days,
                "due_window_after_days": plan.timepoint.window_after_days,
                "status": plan.status,
                "language": plan.language,
                "mode": plan.mode,
                "started_at": plan.started_at,
                "updated_at": plan.submitted_at or plan.started_at,
                "submitted_at": plan.submitted_at,
            }
            for plan in plans
        ]
        session_ids = self._insert_returning(AssessmentSession, session_rows)
        given: list[dict[str, Any]] = []
        answer_rows: list[dict[str, Any]] = []
        submissions: list[dict[str, Any]] = []
        results: dict[int, dict[int, Any]] = {}
        for plan, session_id in zip(plans, session_ids, strict=True):
            answered_at = plan.submitted_at or plan.started_at
            for position, version in enumerate(plan.versions):
                given.append(
                    {"session_id": session_id, "questionnaire_version_id": version.id, "position": position}
                )
                questionnaire = questionnaire_of(version)
                answers = simulate_answers(questionnaire, plan.wellbeing, self.rng)
                if plan.status == "open":
                    answers = dict(list(answers.items())[: len(answers) // 2]) if position == 0 else {}
                else:
                    results.setdefault(version.id, {})[session_id] = score(questionnaire, answers)
                answer_rows.extend(
                    {
                        "session_id": session_id,
                        "questionnaire_version_id": version.id,
                        "item_id": item_id,
                        "value": value,
                        "answered_at": answered_at,
                        "updated_at": answered_at,
                    }
                    for item_id, value in answers.items()
                )
            if plan.submitted_at is not None:
                submissions.append(
                    {
                        "session_id": session_id,
                        "idempotency_key": _uuid(self.rng),
                        "payload_hash": hashlib.sha256(str(session_id).encode()).hexdigest(),
                        "received_at": plan.submitted_at,
                    }
                )
        for rows, model in ((given, SessionQuestionnaire), (answer_rows, Answer), (submissions, Submission)):
            if rows:
                self.session.execute(insert(table_of(model)), rows)  # Core executemany: no ORM overhead
        versions = {version.id: version for plan in plans for version in plan.versions}
        for version_id, by_session in results.items():
            store_results(self.session, questionnaire_of(versions[version_id]), version_id, by_session)
        report.sessions += len(plans)
        report.answers += len(answer_rows)
        return session_ids

    def _acknowledge_old_alerts(
        self, plans: list[_PlannedSession], session_ids: list[int], counsellors: dict[int, int]
    ) -> None:
        """Alerts from sessions older than three weeks were handled by the client's counsellor a day later."""
        handled = {
            session_id: plan.submitted_at + dt.timedelta(days=1)
            for plan, session_id in zip(plans, session_ids, strict=True)
            if plan.submitted_at is not None and (self.today - plan.submitted_at.date()).days > 21
        }
        if not handled:
            return
        flags = self.session.execute(
            select(ScoreFlag.id, ScoreFlag.session_id).where(ScoreFlag.session_id.in_(list(handled)))
        ).all()
        if not flags:
            return
        self.session.execute(
            update(ScoreFlag),
            [
                {
                    "id": flag_id,
                    "acknowledged_at": handled[session_id],
                    "acknowledged_by": counsellors[session_id],
                }
                for flag_id, session_id in flags
            ],
        )
        self.session.execute(
            insert(table_of(AlertAcknowledgement)),
            [
                {
                    "flag_id": flag_id,
                    "acknowledged_by": counsellors[session_id],
                    "acknowledged_at": handled[session_id],
                    "note": ACKNOWLEDGEMENT_NOTE,
                }
                for flag_id, session_id in flags
            ],
        )


def _uuid(rng: random.Random) -> str:
    """A deterministic UUID4-shaped string."""
    bits = rng.getrandbits(128)
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:32]}"
