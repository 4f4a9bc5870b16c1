"""Programmes in the database: install a definition (such as the default Drug Treatment Court) once.

A programme gives only its organisation's own questionnaires and the shared ones, as the admin pages' battery
choices do (``questionnaire_owners``).
"""

from __future__ import annotations

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Text, localise
from survey_app.models.base import LANGUAGES
from survey_app.models.programme import Organisation, Programme, Timepoint, TimepointQuestionnaire
from survey_app.models.questionnaire import QuestionnaireKey
from survey_app.programmes.definition import ProgrammeDefinition
from survey_app.services.audit import record_event
from survey_app.services.questionnaire_owners import visible_to


class ProgrammeInstallError(ValueError):
    """A programme definition that cannot be installed for an organisation; the message says why."""


def _texts(text: Text) -> dict[str, str]:
    """The text in each language the app offers, as a programme row keeps it."""
    return {language: text[language] for language in LANGUAGES if isinstance(text.get(language), str)}


def _others_questionnaires(
    session: DbSession, organisation: Organisation, definition: ProgrammeDefinition
) -> str | None:
    """Why the definition cannot be the organisation's: the other organisations' questionnaires it gives."""
    timepoints: dict[str, list[str]] = {}
    for timepoint in definition.timepoints:
        for entry in timepoint.battery:
            timepoints.setdefault(entry.questionnaire, []).append(timepoint.key)
    query = (
        select(QuestionnaireKey.key, Organisation.name)
        .join(Organisation, Organisation.id == QuestionnaireKey.organisation_id)
        .where(QuestionnaireKey.key.in_(timepoints), ~visible_to(organisation.id, QuestionnaireKey.key))
        .order_by(QuestionnaireKey.key)
    )
    others = [
        f"{key} (timepoints {', '.join(timepoints[key])}) is the own questionnaire of {owner!r}"
        for key, owner in session.execute(query)
    ]
    if not others:
        return None
    refused = f"programme {definition.key} cannot be installed for {organisation.name!r}"
    return (
        f"{refused}: {'; '.join(others)}. A programme gives only its organisation's own questionnaires and "
        "the shared ones: remove these from its batteries (or, if their owner agrees, share them first: "
        "`flask questionnaires set-owner KEY --shared`)."
    )


def install_programme(
    session: DbSession,
    organisation: Organisation,
    definition: ProgrammeDefinition,
    *,
    actor_id: int | None = None,
) -> tuple[Programme, bool]:
    """Create the programme (its texts in every language) unless it exists; returns (programme, created).

    An existing programme is never rewritten here: sessions already started keep their battery. Raises
    ProgrammeInstallError when a battery gives another organisation's own questionnaire.
    """
    existing = session.scalar(
        select(Programme).where(Programme.organisation_id == organisation.id, Programme.key == definition.key)
    )
    if existing is not None:
        return existing, False
    refusal = _others_questionnaires(session, organisation, definition)
    if refusal is not None:
        raise ProgrammeInstallError(refusal)
    programme = Programme(
        organisation_id=organisation.id,
        key=definition.key,
        name=localise(definition.name, "en"),
        description=localise(definition.description, "en"),
        name_texts=_texts(definition.name),
        description_texts=_texts(definition.description),
    )
    for position, timepoint in enumerate(definition.timepoints):
        programme.timepoints.append(
            Timepoint(
                key=timepoint.key,
                label=localise(timepoint.label, "en"),
                label_texts=_texts(timepoint.label),
                position=position,
                anchor=timepoint.anchor,
                offset_days=timepoint.offset_days,
                window_before_days=timepoint.window_before_days,
                window_after_days=timepoint.window_after_days,
                battery=[
                    TimepointQuestionnaire(
                        questionnaire_key=entry.questionnaire,
                        questionnaire_version=entry.version,
                        position=index,
                        is_core=entry.core,
                    )
                    for index, entry in enumerate(timepoint.battery)
                ],
            )
        )
    session.add(programme)
    session.flush()
    record_event(
        session,
        "programme.create",
        actor_type="staff" if actor_id else "system",
        actor_id=actor_id,
        object_type="programme",
        object_id=programme.id,
        details={"key": programme.key, "timepoints": len(definition.timepoints)},
    )
    return programme, True
