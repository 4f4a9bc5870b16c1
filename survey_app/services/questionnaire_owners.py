"""Who owns a questionnaire key, who may publish its versions, and who sees it.

A key belongs to an organisation when its admin published its first version on the admin pages; the
questionnaires the deployer installs on the command line (``flask questionnaires``) are shared by every
organisation. An organisation's admin publishes versions of its own keys and of new keys only (a new key
then belongs to it); the command line publishes any key. An organisation sees and uses its own
questionnaires and the shared ones, never another organisation's.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute

from survey_app.db import DbSession
from survey_app.models.people import StaffUser
from survey_app.models.questionnaire import QuestionnaireKey, QuestionnaireVersion
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services.audit import record_staff_event
from survey_app.services.user_messages import N_, UserFacingError

__all__ = [
    "KeyNotYours",
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
