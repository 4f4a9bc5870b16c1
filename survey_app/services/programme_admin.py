"""Editing programmes: timepoints with their anchor, offset and window, and the battery of each timepoint.

A change never rewrites a session already started: a session keeps the questionnaire versions it was
started with (``session_questionnaires``) and its timepoint. A change applies to sessions started from then
on, and to the due dates of timepoints a client has no session for yet. ``timepoint_changes`` lists what a
change does, so the page can show it before anything is saved; every problem is found at once and nothing is
saved while there is one. A timepoint with sessions cannot be removed, and a timepoint's key never changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession
from survey_app.models.base import LANGUAGES
from survey_app.models.people import StaffUser
from survey_app.models.programme import Programme, Timepoint, TimepointQuestionnaire
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.programmes.definition import overlapping_windows
from survey_app.services.assessments import timepoint_label
from survey_app.services.audit import record_staff_event
from survey_app.services.questionnaire_owners import visible_to
from survey_app.services.schedules import ANCHOR_NAMES, COURT_MILESTONES, INTAKE
from survey_app.services.user_messages import N_, UserFacingError, UserMessage, say

__all__ = [
    "ANCHORS",
    "BatteryChoice",
    "ProgrammeChangeError",
    "TimepointDraft",
    "create_programme",
    "draft_of",
    "published_questionnaires",
    "remove_timepoint",
    "save_timepoint",
    "sessions_at",
    "timepoint_changes",
    "timepoint_fingerprint",
    "update_programme",
]

#: The dates a timepoint can count from.
ANCHORS = (INTAKE, *COURT_MILESTONES)
MAX_OFFSET_DAYS = 3660
MAX_WINDOW_DAYS = 365
_KEY_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


class ProgrammeChangeError(UserFacingError):
    """A programme change that cannot be saved; ``messages`` lists every reason at once."""


@dataclass(frozen=True)
class BatteryChoice:
    """One questionnaire of a battery: its key, a published version (None: the latest), whether it is core."""

    key: str
    version: int | None
    core: bool


@dataclass(frozen=True)
class TimepointDraft:
    """A timepoint as an admin wants it."""

    key: str
    label: str
    anchor: str
    offset_days: int
    window_before_days: int
    window_after_days: int
    battery: tuple[BatteryChoice, ...] = field(default=())
    #: The name in Dutch and in French; empty: the English ``label`` is shown.
    label_nl: str = ""
    label_fr: str = ""

    def label_texts(self) -> dict[str, str]:
        """The name in every language given, as the timepoint row keeps it."""
        given = {"en": self.label, "nl": self.label_nl, "fr": self.label_fr}
        return {language: " ".join(text.split()) for language, text in given.items() if text.strip()}


def _is_key(value: str) -> bool:
    return 0 < len(value) <= 40 and value[0].isalpha() and set(value) <= _KEY_CHARACTERS


def draft_of(timepoint: Timepoint) -> TimepointDraft:
    """A stored timepoint as a draft (what the edit form starts from)."""
    return TimepointDraft(
        timepoint.key,
        timepoint.label,
        timepoint.anchor,
        timepoint.offset_days,
        timepoint.window_before_days,
        timepoint.window_after_days,
        tuple(
            BatteryChoice(entry.questionnaire_key, entry.questionnaire_version, entry.is_core)
            for entry in timepoint.battery
        ),
        label_nl=(timepoint.label_texts or {}).get("nl", ""),
        label_fr=(timepoint.label_texts or {}).get("fr", ""),
    )


def timepoint_fingerprint(timepoint: Timepoint | None) -> str:
    """A short hash of a timepoint as stored, so a confirmation can tell that nobody changed it meanwhile."""
    if timepoint is None:
        return "new"
    return hashlib.sha256(repr(draft_of(timepoint)).encode("utf-8")).hexdigest()[:16]


def published_questionnaires(session: DbSession, organisation_id: int) -> dict[str, tuple[str, list[int]]]:
    """The organisation's own and the shared questionnaires: key -> (latest title, versions oldest first)."""
    found: dict[str, tuple[str, list[int]]] = {}
    rows = session.execute(
        select(QuestionnaireVersion.key, QuestionnaireVersion.version, QuestionnaireVersion.title)
        .where(visible_to(organisation_id))
        .order_by(QuestionnaireVersion.key, QuestionnaireVersion.version)
    )
    for key, version, title in rows:
        versions = found.get(key, ("", []))[1]
        found[key] = (title, [*versions, version])
    return found


def _schedule_problems(draft: TimepointDraft) -> list[UserMessage]:
    problems = []
    if not 1 <= len(draft.label.strip()) <= 200:
        problems.append(say(N_("Give the timepoint a name (200 characters at most)."), field="label"))
    for name in ("label_nl", "label_fr"):
        if len(getattr(draft, name).strip()) > 200:
            problems.append(say(N_("A name can have 200 characters at most."), field=name))
    if draft.anchor not in ANCHORS:
        problems.append(say(N_("Choose one of the dates listed to count from."), field="anchor"))
    if not 0 <= draft.offset_days <= MAX_OFFSET_DAYS:
        problems.append(say(N_("The offset is 0 to %(max)s days."), field="offset_days", max=MAX_OFFSET_DAYS))
    for name in ("window_before_days", "window_after_days"):
        if not 0 <= getattr(draft, name) <= MAX_WINDOW_DAYS:
            problems.append(say(N_("A window is 0 to %(max)s days."), field=name, max=MAX_WINDOW_DAYS))
    return problems


def _battery_problems(
    session: DbSession, organisation_id: int, battery: Sequence[BatteryChoice]
) -> list[UserMessage]:
    published = published_questionnaires(session, organisation_id)
    problems = []
    for choice in battery:
        if choice.key not in published:
            problems.append(
                say(N_("There is no published questionnaire '%(key)s'."), field="battery", key=choice.key)
            )
        elif choice.version is not None and choice.version not in published[choice.key][1]:
            problems.append(
                say(
                    N_("%(key)s has no published version %(version)s."),
                    field="battery",
                    key=choice.key,
                    version=choice.version,
                )
            )
    keys = [choice.key for choice in battery]
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        problems.append(say(N_("%(key)s is listed twice."), field="battery", key=key))
    if not battery:
        problems.append(say(N_("Choose one questionnaire at least."), field="battery"))
    elif not any(choice.core for choice in battery):
        problems.append(say(N_("Mark one questionnaire at least as core (always given)."), field="battery"))
    return problems


def _check(
    session: DbSession, programme: Programme, timepoint: Timepoint | None, draft: TimepointDraft
) -> None:
    problems = _schedule_problems(draft) + _battery_problems(
        session, programme.organisation_id, draft.battery
    )
    others = [tp for tp in programme.timepoints if timepoint is None or tp.id != timepoint.id]
    if timepoint is None:
        if not _is_key(draft.key):
            problems.append(say(N_("A key is lower-case letters, digits and _, such as t3m."), field="key"))
        elif any(tp.key == draft.key for tp in others):
            problems.append(say(N_("Another timepoint has this key."), field="key"))
    elif draft.key != timepoint.key:
        problems.append(say(N_("A timepoint's key cannot change."), field="key"))
    for earlier, later in overlapping_windows([*others, draft]):
        problems.append(
            say(
                N_("The windows of %(earlier)s and %(later)s overlap: move the offset or narrow a window."),
                field="offset_days",
                earlier=earlier,
                later=later,
            )
        )
    if problems:
        raise ProgrammeChangeError(messages=problems)


_FIELD_CHANGES = {
    "label": N_("Name: %(old)s → %(new)s"),
    "label_nl": N_("Name in Dutch: %(old)s → %(new)s"),
    "label_fr": N_("Name in French: %(old)s → %(new)s"),
    "anchor": N_("Counts from: %(old)s → %(new)s"),
    "offset_days": N_("Offset: %(old)s → %(new)s days"),
    "window_before_days": N_("Window before: %(old)s → %(new)s days"),
    "window_after_days": N_("Window after: %(old)s → %(new)s days"),
}


def _version_text(version: int | None) -> UserMessage | str:
    return say(N_("latest")) if version is None else f"v{version}"


def _field_text(name: str, draft: TimepointDraft) -> UserMessage | str | int:
    value: str | int = getattr(draft, name)
    if name == "anchor" and value in ANCHOR_NAMES:
        return say(ANCHOR_NAMES[str(value)])
    return value


def timepoint_changes(
    session: DbSession, programme: Programme, timepoint: Timepoint | None, draft: TimepointDraft
) -> list[UserMessage]:
    """What saving ``draft`` would change, one line each; ProgrammeChangeError when it cannot be saved."""
    _check(session, programme, timepoint, draft)
    if timepoint is None:
        return [say(N_("New timepoint %(key)s."), key=draft.key)]
    before = draft_of(timepoint)
    changes = [
        UserMessage(text, {"old": _field_text(name, before), "new": _field_text(name, draft)})
        for name, text in _FIELD_CHANGES.items()
        if getattr(before, name) != getattr(draft, name)
    ]
    changes.extend(_battery_changes(before.battery, draft.battery))
    return changes


def _battery_changes(before: Sequence[BatteryChoice], after: Sequence[BatteryChoice]) -> list[UserMessage]:
    old = {choice.key: choice for choice in before}
    new = {choice.key: choice for choice in after}
    changes = []
    for key, choice in new.items():
        if key not in old:
            changes.append(
                say(N_("Added %(key)s (%(version)s)."), key=key, version=_version_text(choice.version))
            )
        elif old[key].version != choice.version:
            changes.append(
                say(
                    N_("%(key)s: %(old)s → %(new)s"),
                    key=key,
                    old=_version_text(old[key].version),
                    new=_version_text(choice.version),
                )
            )
        if key in old and old[key].core != choice.core:
            message = N_("%(key)s is now core.") if choice.core else N_("%(key)s is now optional.")
            changes.append(UserMessage(message, {"key": key}))
    changes.extend(say(N_("Removed %(key)s."), key=key) for key in old if key not in new)
    if [c.key for c in before if c.key in new] != [c.key for c in after if c.key in old]:
        changes.append(say(N_("The order of the questionnaires changes.")))
    return changes


def sessions_at(session: DbSession, timepoint: Timepoint | None) -> dict[str, int]:
    """How many sessions a timepoint has, by status (open, submitted, cancelled)."""
    if timepoint is None:
        return {}
    rows = session.execute(
        select(AssessmentSession.status, func.count())
        .where(AssessmentSession.timepoint_id == timepoint.id)
        .group_by(AssessmentSession.status)
    )
    return {status: int(count) for status, count in rows}


def save_timepoint(
    session: DbSession,
    admin: StaffUser,
    programme: Programme,
    timepoint: Timepoint | None,
    draft: TimepointDraft,
    *,
    ip: str | None = None,
) -> Timepoint:
    """Create or change a timepoint and its battery (checked again); started sessions stay as they are."""
    changes = timepoint_changes(session, programme, timepoint, draft)
    if timepoint is None:
        position = max((tp.position for tp in programme.timepoints), default=-1) + 1
        timepoint = Timepoint(key=draft.key, position=position, label=draft.label.strip())
        programme.timepoints.append(timepoint)
    timepoint.label = draft.label.strip()
    timepoint.label_texts = draft.label_texts()
    timepoint.anchor = draft.anchor
    timepoint.offset_days = draft.offset_days
    timepoint.window_before_days = draft.window_before_days
    timepoint.window_after_days = draft.window_after_days
    _replace_battery(session, timepoint, draft.battery)
    record_staff_event(
        session,
        "programme.timepoint_save",
        admin.id,
        "timepoint",
        timepoint.id,
        ip=ip,
        details={
            "programme_id": programme.id,
            "key": timepoint.key,
            "changes": len(changes),
            "battery": [f"{c.key}:{_version_text(c.version)}" for c in draft.battery],
        },
    )
    return timepoint


def _replace_battery(session: DbSession, timepoint: Timepoint, battery: Sequence[BatteryChoice]) -> None:
    """Replace the battery rows (old rows go first: keys and positions are unique per timepoint)."""
    timepoint.battery.clear()
    session.flush()
    timepoint.battery.extend(
        TimepointQuestionnaire(
            questionnaire_key=choice.key,
            questionnaire_version=choice.version,
            position=index,
            is_core=choice.core,
        )
        for index, choice in enumerate(battery)
    )
    session.flush()


def remove_timepoint(
    session: DbSession, admin: StaffUser, timepoint: Timepoint, *, ip: str | None = None
) -> None:
    """Remove a timepoint that no session was ever started at."""
    if sum(sessions_at(session, timepoint).values()):
        raise ProgrammeChangeError(
            N_("Sessions were started at %(label)s, so it stays: change its battery for new sessions."),
            label=timepoint_label(timepoint),
        )
    programme_id, key = timepoint.programme_id, timepoint.key
    timepoint.programme.timepoints.remove(timepoint)  # delete-orphan: the row and its battery go
    session.flush()
    record_staff_event(
        session,
        "programme.timepoint_remove",
        admin.id,
        "programme",
        programme_id,
        ip=ip,
        details={"key": key},
    )


def _programme_text(name: str, description: str) -> tuple[str, str]:
    clean_name = " ".join(name.split())
    if not 1 <= len(clean_name) <= 200:
        raise ProgrammeChangeError(N_("Give the programme a name (200 characters at most)."), field="name")
    if len(description) > 2000:
        raise ProgrammeChangeError(
            N_("The description can have 2000 characters at most."), field="description"
        )
    return clean_name, description.strip()


def _translated_texts(
    name: str, description: str, names: Mapping[str, str], descriptions: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The name and description in every language given (English required; an empty one falls back to it)."""
    clean_name, clean_description = _programme_text(name, description)
    all_names, all_descriptions = {"en": clean_name}, {"en": clean_description}
    for language in LANGUAGES:
        if language == "en":
            continue
        other_name = " ".join(names.get(language, "").split())
        other_description = descriptions.get(language, "").strip()
        if len(other_name) > 200:
            raise ProgrammeChangeError(
                N_("A name can have 200 characters at most."), field=f"name_{language}"
            )
        if len(other_description) > 2000:
            raise ProgrammeChangeError(
                N_("The description can have 2000 characters at most."), field=f"description_{language}"
            )
        if other_name:
            all_names[language] = other_name
        if other_description:
            all_descriptions[language] = other_description
    return all_names, all_descriptions


def create_programme(
    session: DbSession,
    admin: StaffUser,
    key: str,
    name: str,
    description: str,
    *,
    names: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    ip: str | None = None,
) -> Programme:
    """Add a programme (no timepoints yet); ``names`` and ``descriptions`` by language besides English."""
    clean_key = key.strip()
    if not _is_key(clean_key):
        raise ProgrammeChangeError(N_("A key is lower-case letters, digits and _, such as t3m."), field="key")
    taken = select(Programme.id).where(
        Programme.organisation_id == admin.organisation_id, Programme.key == clean_key
    )
    if session.scalar(taken) is not None:
        raise ProgrammeChangeError(N_("Another programme of your organisation has this key."), field="key")
    all_names, all_descriptions = _translated_texts(name, description, names or {}, descriptions or {})
    programme = Programme(
        organisation_id=admin.organisation_id,
        key=clean_key,
        name=all_names["en"],
        description=all_descriptions["en"],
        name_texts=all_names,
        description_texts=all_descriptions,
    )
    session.add(programme)
    session.flush()
    record_staff_event(
        session,
        "programme.create",
        admin.id,
        "programme",
        programme.id,
        ip=ip,
        details={"key": clean_key, "timepoints": 0},
    )
    return programme


def update_programme(
    session: DbSession,
    admin: StaffUser,
    programme: Programme,
    name: str,
    description: str,
    *,
    names: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    ip: str | None = None,
) -> bool:
    """Rename a programme or change its description, in any language; False when nothing changed."""
    all_names, all_descriptions = _translated_texts(name, description, names or {}, descriptions or {})
    before = (
        programme.name_texts or {"en": programme.name},
        programme.description_texts or {"en": programme.description},
    )
    if (all_names, all_descriptions) == before:
        return False
    programme.name, programme.description = all_names["en"], all_descriptions["en"]
    programme.name_texts, programme.description_texts = all_names, all_descriptions
    session.flush()
    record_staff_event(
        session,
        "programme.update",
        admin.id,
        "programme",
        programme.id,
        ip=ip,
        details={"languages": sorted(all_names)},
    )
    return True
