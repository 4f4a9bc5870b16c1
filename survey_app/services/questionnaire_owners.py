"""Who owns a questionnaire key, who may publish its versions, and who sees it.

A key belongs to an organisation when its admin published its first version on the admin pages; the
questionnaires the deployer installs on the command line (``flask questionnaires``) are shared by every
organisation, unless installed with ``--organisation``. An organisation's admin publishes versions of its
own keys and of new keys only (a new key then belongs to it); the command line publishes any key. An
organisation sees and uses its own questionnaires and the shared ones, never another organisation's. The
deployer lists the owners and changes them on the command line (``key_owners``, ``change_owner``): a key
becomes one organisation's own only while no other organisation gives it in a programme or has answers to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute

from survey_app.db import DbSession
from survey_app.models.assessment import AssessmentSession, SessionQuestionnaire
from survey_app.models.people import Client, StaffUser
from survey_app.models.programme import Organisation, Programme, Site, Timepoint, TimepointQuestionnaire
from survey_app.models.questionnaire import QuestionnaireKey, QuestionnaireVersion
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services.audit import record_event, record_staff_event
from survey_app.services.user_messages import N_, UserFacingError

__all__ = [
    "KeyNotYours",
    "KeyOwner",
    "OwnerChange",
    "OwnerChangeRefused",
    "change_owner",
    "key_owners",
    "own_keys",
    "publication_refusal",
    "record_owner",
    "record_refusal",
    "visible_to",
]

SHARED_KEY = N_(
    "%(key)s is a questionnaire shared by every organisation: your organisation cannot publish versions of "
    "it. Give your questionnaire a key of its own, or ask whoever runs this installation to publish this "
    "version on the command line."
)
OTHER_ORGANISATIONS_KEY = N_(
    "The key %(key)s belongs to a questionnaire of another organisation: your organisation cannot publish "
    "versions of it. Give your questionnaire a key of its own."
)


class KeyNotYours(UserFacingError):
    """A version an organisation's admin may not publish: the key is shared or another organisation's."""

    def __init__(self, key: str, version: int, *, shared: bool) -> None:
        self.key = key
        self.version = version
        self.shared = shared
        super().__init__(SHARED_KEY if shared else OTHER_ORGANISATIONS_KEY, key=key)


def _owner_row(session: DbSession, key: str) -> QuestionnaireKey | None:
    return session.get(QuestionnaireKey, key)


def publication_refusal(
    session: DbSession, registry: QuestionnaireRegistry, organisation_id: int, key: str, version: int
) -> KeyNotYours | None:
    """Why the organisation may not publish ``version`` of ``key`` (None: its own key, or a new one)."""
    row = _owner_row(session, key)
    if row is not None:
        if row.organisation_id == organisation_id:
            return None
        return KeyNotYours(key, version, shared=row.organisation_id is None)
    stored = session.scalar(select(QuestionnaireVersion.id).where(QuestionnaireVersion.key == key).limit(1))
    if stored is not None or registry.versions(key):
        return KeyNotYours(key, version, shared=True)  # published by the deployer, never claimed: shared
    return None


def own_keys(session: DbSession, organisation_id: int) -> set[str]:
    """The keys the organisation owns (its admins publish their versions)."""
    query = select(QuestionnaireKey.key).where(QuestionnaireKey.organisation_id == organisation_id)
    return set(session.scalars(query))


def record_owner(session: DbSession, key: str, organisation_id: int | None) -> None:
    """Record who owns ``key`` at its first publication (an organisation, or None: shared)."""
    if _owner_row(session, key) is None:
        session.add(QuestionnaireKey(key=key, organisation_id=organisation_id))
        session.flush()


def record_refusal(
    session: DbSession,
    admin: StaffUser,
    refusal: KeyNotYours,
    *,
    stage: str,
    ip: str | None = None,
) -> None:
    """Audit that an admin was refused a version of a key their organisation does not own."""
    record_staff_event(
        session,
        "questionnaire.publish_refused",
        admin.id,
        "questionnaire_key",
        refusal.key,
        ip=ip,
        details={
            "key": refusal.key,
            "version": refusal.version,
            "stage": stage,
            "reason": "shared_key" if refusal.shared else "other_organisation",
            "organisation_id": admin.organisation_id,
        },
    )


def visible_to(
    organisation_id: int, key: InstrumentedAttribute[str] = QuestionnaireVersion.key
) -> ColumnElement[bool]:
    """A condition on a questionnaire key column: the organisation's own keys and the shared ones."""
    others = select(QuestionnaireKey.key).where(
        QuestionnaireKey.organisation_id.is_not(None), QuestionnaireKey.organisation_id != organisation_id
    )
    return key.not_in(others)


@dataclass(frozen=True)
class KeyOwner:
    """A stored questionnaire key, its owner's name (None: shared) and its latest stored version."""

    key: str
    organisation: str | None
    latest_version: int


def key_owners(session: DbSession) -> list[KeyOwner]:
    """Every questionnaire key stored in the database with its owner and latest stored version, by key."""
    latest = (
        select(QuestionnaireVersion.key, func.max(QuestionnaireVersion.version).label("version"))
        .group_by(QuestionnaireVersion.key)
        .subquery()
    )
    rows = session.execute(
        select(latest.c.key, Organisation.name, latest.c.version)
        .select_from(latest)
        .outerjoin(QuestionnaireKey, QuestionnaireKey.key == latest.c.key)
        .outerjoin(Organisation, Organisation.id == QuestionnaireKey.organisation_id)
        .order_by(latest.c.key)
    )
    return [KeyOwner(key, organisation, version) for key, organisation, version in rows]


class OwnerChangeRefused(ValueError):
    """An owner change that is not made; the message says why and what to do."""


@dataclass(frozen=True)
class OwnerChange:
    """A key's owner before and after a change (organisation names; None: shared)."""

    key: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        """Whether the key has another owner now."""
        return self.before != self.after


def _owner_name(session: DbSession, organisation_id: int | None) -> str | None:
    return None if organisation_id is None else session.get_one(Organisation, organisation_id).name


def _programmes_giving(session: DbSession, key: str, besides: int) -> list[tuple[str, str]]:
    """(organisation name, programme key) of other organisations' programmes whose batteries give ``key``."""
    query = (
        select(Organisation.name, Programme.key)
        .distinct()
        .join(Programme, Programme.organisation_id == Organisation.id)
        .join(Timepoint, Timepoint.programme_id == Programme.id)
        .join(TimepointQuestionnaire, TimepointQuestionnaire.timepoint_id == Timepoint.id)
        .where(TimepointQuestionnaire.questionnaire_key == key, Organisation.id != besides)
        .order_by(Organisation.name, Programme.key)
    )
    return [(name, programme) for name, programme in session.execute(query)]


def _sessions_giving(session: DbSession, key: str, besides: int) -> list[tuple[str, int]]:
    """(organisation name, number of sessions) of other organisations' clients given a version of ``key``."""
    query = (
        select(Organisation.name, func.count(func.distinct(AssessmentSession.id)))
        .select_from(SessionQuestionnaire)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == SessionQuestionnaire.questionnaire_version_id)
        .join(AssessmentSession, AssessmentSession.id == SessionQuestionnaire.session_id)
        .join(Client, Client.id == AssessmentSession.client_id)
        .join(Site, Site.id == Client.site_id)
        .join(Organisation, Organisation.id == Site.organisation_id)
        .where(QuestionnaireVersion.key == key, Organisation.id != besides)
        .group_by(Organisation.name)
        .order_by(Organisation.name)
    )
    return [(name, count) for name, count in session.execute(query)]


def _in_use_elsewhere(
    session: DbSession, key: str, organisation: Organisation, before: str | None
) -> str | None:
    """Why ``key`` cannot become the organisation's own: the other organisations using it (None: none do)."""
    uses = [
        f"{name!r} gives it in its programme {programme}"
        for name, programme in _programmes_giving(session, key, organisation.id)
    ]
    uses += [
        f"clients of {name!r} were given it in {count} session(s)"
        for name, count in _sessions_giving(session, key, organisation.id)
    ]
    if not uses:
        return None
    stays = "shared" if before is None else f"the own questionnaire of {before!r}"
    return (
        f"{key} cannot become the own questionnaire of {organisation.name!r}: " + "; ".join(uses) + ". "
        "Only a questionnaire no other organisation uses can become one organisation's own: the other "
        "organisations' programmes must stop giving it first, and answers already given keep it in use. "
        f"{key} stays {stays}."
    )


def change_owner(session: DbSession, key: str, organisation: Organisation | None) -> OwnerChange:
    """Make ``key`` the organisation's own (None: shared by every organisation) and audit the change.

    Raises OwnerChangeRefused for a key not in the database, and for a key another organisation gives in its
    programmes or whose answers it holds (it would no longer see them).
    """
    row = _owner_row(session, key)
    stored = session.scalar(select(QuestionnaireVersion.id).where(QuestionnaireVersion.key == key).limit(1))
    if row is None and stored is None:
        raise OwnerChangeRefused(
            f"there is no questionnaire {key!r} in the database: `flask questionnaires owners` lists the "
            "keys, and `flask questionnaires load` stores the published ones"
        )
    before_id = row.organisation_id if row is not None else None
    after_id = organisation.id if organisation is not None else None
    change = OwnerChange(key, _owner_name(session, before_id), _owner_name(session, after_id))
    if before_id == after_id:
        return change
    if organisation is not None:
        refusal = _in_use_elsewhere(session, key, organisation, change.before)
        if refusal is not None:
            raise OwnerChangeRefused(refusal)
    if row is None:
        session.add(QuestionnaireKey(key=key, organisation_id=after_id))
    else:
        row.organisation_id = after_id
    session.flush()
    record_event(
        session,
        "questionnaire.owner_changed",
        object_type="questionnaire_key",
        object_id=key,
        details={"key": key, "old_organisation_id": before_id, "new_organisation_id": after_id},
    )
    return change
