"""Starting assessment sessions: which questionnaire versions a client gets at a timepoint."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession, SessionQuestionnaire
from survey_app.models.people import Client
from survey_app.models.programme import Timepoint
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.services.audit import record_event
from survey_app.services.clients import CLIENT_STATUS_WORDS
from survey_app.services.questionnaires import find_versions
from survey_app.services.user_messages import N_, InLanguages, UserFacingError, UserMessage


class AssessmentError(UserFacingError):
    """A session cannot be started as asked; the message says why and what to do."""


def timepoint_label(timepoint: Timepoint) -> InLanguages:
    """A timepoint's label for a message, shown in the reader's language."""
    return InLanguages(timepoint.label_texts or {}, timepoint.label)


def resolve_battery(
    session: DbSession, timepoint: Timepoint, *, leave_out: Collection[str] = ()
) -> list[QuestionnaireVersion]:
    """The stored versions a timepoint gives, without the optional questionnaires the counsellor left out."""
    keys = {entry.questionnaire_key for entry in timepoint.battery}
    unknown = sorted(set(leave_out) - keys)
    if unknown:
        raise AssessmentError(
            N_("%(keys)s is not in the battery of %(timepoint)s."),
            keys=", ".join(unknown),
            timepoint=timepoint_label(timepoint),
        )
    core = sorted(
        entry.questionnaire_key
        for entry in timepoint.battery
        if entry.is_core and entry.questionnaire_key in leave_out
    )
    if core:
        raise AssessmentError(
            N_("%(keys)s is core at %(timepoint)s and cannot be left out; only optional questionnaires can."),
            keys=", ".join(core),
            timepoint=timepoint_label(timepoint),
        )
    chosen = [entry for entry in timepoint.battery if entry.questionnaire_key not in leave_out]
    stored = find_versions(session, [(e.questionnaire_key, e.questionnaire_version) for e in chosen])
    versions = []
    for entry in chosen:
        row = stored.get((entry.questionnaire_key, entry.questionnaire_version))
        if row is None:
            wanted = f" v{entry.questionnaire_version}" if entry.questionnaire_version else ""
            raise AssessmentError(
                N_(
                    "The questionnaire %(key)s is not stored in the database. Ask whoever runs the "
                    "installation to load it (flask questionnaires load)."
                ),
                key=f"{entry.questionnaire_key}{wanted}",
            )
        versions.append(row)
    return versions


def live_session(session: DbSession, client: Client, timepoint: Timepoint) -> AssessmentSession | None:
    """The client's open or submitted session at the timepoint, if there is one (at most one can be)."""
    return session.scalar(
        select(AssessmentSession).where(
            AssessmentSession.client_id == client.id,
            AssessmentSession.timepoint_id == timepoint.id,
            AssessmentSession.status != "cancelled",
        )
    )


def optional_questionnaires(
    session: DbSession, client: Client, timepoint: Timepoint
) -> list[QuestionnaireVersion]:
    """The stored versions a counsellor may leave out of the client's session at a timepoint.

    Empty once a session at that timepoint has started: it is resumed as it was, never shortened.
    """
    if live_session(session, client, timepoint) is not None:
        return []
    optional = [(e.questionnaire_key, e.questionnaire_version) for e in timepoint.battery if not e.is_core]
    stored = find_versions(session, optional)
    return [stored[pair] for pair in optional if pair in stored]


def start_session(
    session: DbSession,
    client: Client,
    timepoint: Timepoint,
    *,
    mode: str = "tablet",
    language: str | None = None,
    created_by: int | None = None,
    leave_out: Collection[str] = (),
) -> AssessmentSession:
    """Open a session at a timepoint: its battery (less optional left-outs), schedule and site of now."""
    if client.status != "active":
        raise AssessmentError(
            N_(
                "Client %(code)s is not active (%(status)s): only active clients start sessions. Change "
                "their status on their page first."
            ),
            code=client.code,
            status=UserMessage(CLIENT_STATUS_WORDS.get(client.status, client.status)),
        )
    if timepoint.programme_id != client.programme_id:
        raise AssessmentError(
            N_("%(timepoint)s is not a timepoint of client %(code)s's programme."),
            timepoint=timepoint_label(timepoint),
            code=client.code,
        )
    if live_session(session, client, timepoint) is not None:
        raise AssessmentError(
            N_("Client %(code)s already has a session at %(timepoint)s."),
            code=client.code,
            timepoint=timepoint_label(timepoint),
        )
    versions = resolve_battery(session, timepoint, leave_out=leave_out)
    assessment = AssessmentSession(
        client_id=client.id,
        site_id=client.site_id,
        timepoint_id=timepoint.id,
        language=language or client.preferred_language,
        mode=mode,
        created_by=created_by,
        due_anchor=timepoint.anchor,
        due_offset_days=timepoint.offset_days,
        due_window_before_days=timepoint.window_before_days,
        due_window_after_days=timepoint.window_after_days,
        questionnaires=[
            SessionQuestionnaire(questionnaire_version_id=row.id, position=index)
            for index, row in enumerate(versions)
        ],
    )
    session.add(assessment)
    session.flush()
    record_event(
        session,
        "session.start",
        actor_type="staff" if created_by else "system",
        actor_id=created_by,
        object_type="assessment_session",
        object_id=assessment.public_id,
        details={
            "client_id": client.id,
            "timepoint": timepoint.key,
            "questionnaires": [f"{row.key}:{row.version}" for row in versions],
        },
    )
    return assessment
