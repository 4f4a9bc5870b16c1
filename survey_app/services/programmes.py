"""Programmes in the database: install a definition (such as the default Drug Treatment Court) once."""

from __future__ import annotations

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Text, localise
from survey_app.models.base import LANGUAGES
from survey_app.models.programme import Organisation, Programme, Timepoint, TimepointQuestionnaire
from survey_app.programmes.definition import ProgrammeDefinition
from survey_app.services.audit import record_event


def _texts(text: Text) -> dict[str, str]:
    """The text in each language the app offers, as a programme row keeps it."""
    return {language: text[language] for language in LANGUAGES if isinstance(text.get(language), str)}


def install_programme(
    session: DbSession,
    organisation: Organisation,
    definition: ProgrammeDefinition,
    *,
    actor_id: int | None = None,
) -> tuple[Programme, bool]:
    """Create the programme (its texts in every language) unless it exists; returns (programme, created).

    An existing programme is never rewritten here: sessions already started keep their battery.
    """
    existing = session.scalar(
        select(Programme).where(Programme.organisation_id == organisation.id, Programme.key == definition.key)
    )
    if existing is not None:
        return existing, False
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
