"""Stored questionnaire versions as domain objects, without re-reading their whole text on every page.

A stored version never changes (the database refuses UPDATE), so once `questionnaire_of` has rebuilt and
verified one against its hash, this process keeps it, keyed by key, version and content hash. A page
then reads only those three columns; the full text is read only for a version this process has not seen yet.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.services.questionnaires import questionnaire_of

#: What identifies a stored version's content: key, version and content hash.
Identity = tuple[str, int, str]
_rebuilt: dict[Identity, Questionnaire] = {}


def questionnaires_by_id(session: DbSession, version_ids: Collection[int]) -> dict[int, Questionnaire]:
    """Version id -> the questionnaire exactly as stored (one small query; one more for unseen versions)."""
    if not version_ids:
        return {}
    identities = {
        row_id: (key, version, digest)
        for row_id, key, version, digest in session.execute(
            select(
                QuestionnaireVersion.id,
                QuestionnaireVersion.key,
                QuestionnaireVersion.version,
                QuestionnaireVersion.content_hash,
            ).where(QuestionnaireVersion.id.in_(sorted(version_ids)))
        )
    }
    return questionnaires_known(session, identities)


def questionnaires_known(session: DbSession, identities: Mapping[int, Identity]) -> dict[int, Questionnaire]:
    """Version id -> questionnaire, for versions whose key, version and hash a query already read.

    No query at all once this process has seen every version; one for those it has not.
    """
    unseen = [row_id for row_id, identity in identities.items() if identity not in _rebuilt]
    if unseen:
        for row in session.scalars(select(QuestionnaireVersion).where(QuestionnaireVersion.id.in_(unseen))):
            _rebuilt[(row.key, row.version, row.content_hash)] = questionnaire_of(row)
    return {row_id: _rebuilt[identity] for row_id, identity in identities.items()}
