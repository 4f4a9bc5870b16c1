"""Shared by the client, API and browser tests: questionnaire versions stored as the app stores them, a small
form with every item type and skip rule, and a client ready to be handed a tablet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from survey_app.db import DbSession
from survey_app.models import (
    Client,
    Organisation,
    Programme,
    QuestionnaireVersion,
    Site,
    StaffUser,
    Timepoint,
    TimepointQuestionnaire,
)
from survey_app.questionnaires.loader import content_hash
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.services import accounts
from tests.builders import agree4, dump, text

BANK = Path(__file__).resolve().parents[2] / "questionnaires"
PASSWORD = "correct horse battery staple"


def every_type_document() -> dict[str, Any]:
    """A questionnaire with every item type, a section shown together, and item and section skip rules."""
    return {
        "format": 1,
        "key": "tablet_form",
        "version": 1,
        "title": text("Tablet form"),
        "short_title": text("Tablet"),
        "instructions": text("Answer what you can."),
        "domain": "health",
        "citation": "Test form.",
        "licence": "CC0",
        "languages": {"en": {"validated": True}, "nl": {"validated": False}, "fr": {"validated": False}},
        "response_options": {"agree4": agree4()},
        "sections": [
            {
                "id": "mood",
                "title": text("Mood"),
                "items": [
                    {"id": "mood", "type": "single_choice", "options": "agree4",
                     "text": text("How is your mood"), "required": True},
                    {"id": "mood_why", "type": "text", "max_length": 80, "text": text("Why is it good"),
                     "show_if": "mood >= 3"},
                ],
            },
            {
                "id": "days",
                "display": "together",
                "intro": text("Think of the last 4 weeks"),
                "items": [
                    {"id": "days_used", "type": "integer", "min": 0, "max": 28, "unit": text("days"),
                     "text": text("How many days"),
                     "options": [{"code": 99, "label": text("Rather not say"), "missing": True}]},
                    {"id": "days_ok", "type": "yes_no", "text": text("Was that fine"),
                     "show_if": "answered(days_used)"},
                ],
            },
            {
                "id": "more",
                "items": [
                    {"id": "income", "type": "multiple_choice", "text": text("Income from"),
                     "options": [{"code": 1, "label": text("Work")}, {"code": 2, "label": text("Benefit")},
                                 {"code": 3, "label": text("Other")},
                                 {"code": 9, "label": text("Rather not say"), "missing": True}]},
                    {"id": "income_other", "type": "text", "text": text("Which other"),
                     "show_if": "contains(income, 3)"},
                    {"id": "rating", "type": "slider", "min": 0, "max": 10, "text": text("Rate your week"),
                     "min_label": text("Bad"), "max_label": text("Good")},
                    {"id": "first_day", "type": "date", "min": "2020-01-01", "max": "2030-12-31",
                     "text": text("First day")},
                ],
            },
            {
                "id": "follow",
                "show_if": "days_used >= 1",
                "items": [{"id": "days_where", "type": "single_choice", "options": "agree4",
                           "text": text("Where was it")}],
            },
        ],
        "examples": [],
    }  # fmt: skip


def store_text(session: DbSession, key: str, version: int, source: str) -> QuestionnaireVersion:
    """Store a questionnaire version exactly as the app does (source text, hash, parsed snapshot)."""
    row = QuestionnaireVersion(
        key=key,
        version=version,
        content_hash=content_hash(source.encode("utf-8")),
        source_yaml=source,
        snapshot=read_yaml(source).data,
        title=key,
    )
    session.add(row)
    session.flush()
    return row


def store_bank(session: DbSession, key: str) -> QuestionnaireVersion:
    """Store one questionnaire of the bundled bank."""
    return store_text(session, key, 1, (BANK / key / "v1.yaml").read_text(encoding="utf-8"))


def store_every_type_form(session: DbSession) -> QuestionnaireVersion:
    """Store the every-item-type form."""
    return store_text(session, "tablet_form", 1, dump(every_type_document()))


@dataclass
class TabletWorld:
    """An organisation with a site, a programme of two timepoints, a counsellor and their client."""

    organisation: Organisation
    site: Site
    programme: Programme
    timepoints: list[Timepoint]
    counsellor: StaffUser
    client: Client
    versions: list[QuestionnaireVersion]


def build_world(
    session: DbSession, versions: list[QuestionnaireVersion], *, tag: str, password_hash: str | None = None
) -> TabletWorld:
    """A programme whose timepoints give these questionnaire versions, and a client with a counsellor."""
    organisation = Organisation(name=f"Org {tag}")
    session.add(organisation)
    session.flush()
    site = Site(organisation_id=organisation.id, name=f"Site {tag}", code=f"S{tag}"[:32])
    programme = Programme(
        organisation_id=organisation.id, key=f"p_{tag.lower()}"[:40], name=f"Programme {tag}"
    )
    programme.timepoints = [
        Timepoint(
            key=key,
            label=key,
            position=position,
            offset_days=offset,
            window_after_days=14,
            battery=[
                TimepointQuestionnaire(questionnaire_key=row.key, position=index, is_core=True)
                for index, row in enumerate(versions)
            ],
        )
        for position, (key, offset) in enumerate((("t0", 0), ("t3m", 91)))
    ]
    session.add_all([site, programme])
    session.flush()
    counsellor = StaffUser(
        organisation_id=organisation.id,
        email=f"counsellor-{tag.lower()}@example.org",
        display_name=f"Counsellor {tag}",
        password_hash=password_hash or accounts.hash_password(PASSWORD),
        role="counsellor",
    )
    session.add(counsellor)
    session.flush()
    client = Client(
        code=f"TAB-{tag}".upper()[:32],
        site_id=site.id,
        programme_id=programme.id,
        counsellor_id=counsellor.id,
        intake_date=date(2026, 1, 5),
        preferred_language="en",
    )
    session.add(client)
    session.flush()
    return TabletWorld(
        organisation, site, programme, list(programme.timepoints), counsellor, client, versions
    )


def hand_over_committed(session: DbSession, *, tag: str, password_hash: str) -> tuple[str, str]:
    """The every-item-type form handed to a client on a tablet, committed (for concurrent requests):
    the browser's client-mode token and the session's public id."""
    from survey_app.services.client_access import open_client_mode, start_or_resume

    world = build_world(session, [store_every_type_form(session)], tag=tag, password_hash=password_hash)
    assessment = start_or_resume(
        session, world.client, world.timepoints[0], mode="tablet", staff=world.counsellor
    )
    token, _row = open_client_mode(session, assessment, via="tablet", staff=world.counsellor)
    public_id = assessment.public_id
    session.commit()
    return token, public_id
