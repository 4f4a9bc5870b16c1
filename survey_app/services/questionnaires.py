"""Published questionnaire versions in the database: storing them once, and reading them back exactly.

A stored version keeps the YAML it was published from and its hash. Old answers are always read, scored and
labelled with the version they were answered on, rebuilt from that stored text (never from today's files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire, localise
from survey_app.models.programme import Organisation
from survey_app.models.questionnaire import QuestionnaireKey, QuestionnaireVersion
from survey_app.questionnaires.loader import content_hash, load_questionnaire_text
from survey_app.questionnaires.registry import PublicationError, PublishedFile, QuestionnaireRegistry
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.services.audit import record_event
from survey_app.services.questionnaire_owners import record_owner


@dataclass
class StoreReport:
    """What `store_published_versions` did: versions stored now and versions already stored.

    ``made_own`` lists the keys new to the database that became the owner's asked for; ``kept_owners`` names
    the keys that kept an owner other than the one asked for: key -> the name of the organisation that owns it
    (None: shared).
    """

    stored: list[str] = field(default_factory=list)
    already_stored: list[str] = field(default_factory=list)
    made_own: list[str] = field(default_factory=list)
    kept_owners: dict[str, str | None] = field(default_factory=dict)


def store_published_versions(
    session: DbSession,
    registry: QuestionnaireRegistry,
    *,
    published_by: int | None = None,
    owner: int | None = None,
    on_progress: Callable[[PublishedFile], None] | None = None,
) -> StoreReport:
    """Store every published file that the database does not hold yet; refuse any that differs from it.

    A key new to the database becomes ``owner``'s (an organisation's id; None: shared by every organisation);
    a key the database knows keeps its owner (a stored key without a recorded owner is shared).
    """
    stored = {
        (row.key, row.version): row.content_hash
        for row in session.execute(
            select(QuestionnaireVersion.key, QuestionnaireVersion.version, QuestionnaireVersion.content_hash)
        )
    }
    owners = {row.key: row.organisation_id for row in session.scalars(select(QuestionnaireKey))}
    known = {key: owners.get(key) for key, _ in stored} | owners
    report = StoreReport()
    if owner is not None:
        report.kept_owners = _kept_owners(session, known, registry.keys(), owner)
    for entry in registry.published():
        label = f"{entry.key} v{entry.version}"
        digest = stored.get((entry.key, entry.version))
        if digest is not None:
            if digest != entry.digest:
                raise PublicationError(
                    f"{registry.directory.name}/{entry.relative_name} differs from the version stored in the "
                    f"database; publish the change as v{max(registry.versions(entry.key)) + 1}"
                )
            report.already_stored.append(label)
        else:
            new_owner = owner if entry.key not in known else None
            store_version(session, registry, entry, published_by=published_by, owner=new_owner)
            if new_owner is not None and entry.key not in report.made_own:
                report.made_own.append(entry.key)
            report.stored.append(label)
        if on_progress is not None:
            on_progress(entry)
    return report


def _kept_owners(
    session: DbSession, known: dict[str, int | None], keys: Iterable[str], owner: int
) -> dict[str, str | None]:
    """The keys among ``keys`` the database knows with an owner other than ``owner``: key -> owner's name."""
    kept = {key: known[key] for key in sorted(keys) if key in known and known[key] != owner}
    ids = {organisation_id for organisation_id in kept.values() if organisation_id is not None}
    query = select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    names = {organisation_id: name for organisation_id, name in session.execute(query)}
    return {key: None if held is None else names[held] for key, held in kept.items()}


def store_version(
    session: DbSession,
    registry: QuestionnaireRegistry,
    entry: PublishedFile,
    *,
    published_by: int | None = None,
    ip: str | None = None,
    owner: int | None = None,
) -> QuestionnaireVersion:
    """Store one published version with its source text, parsed snapshot and hash, and audit it.

    A new key is recorded as ``owner``'s (an organisation's id; None: shared by every organisation).
    """
    questionnaire = registry.get(entry.key, entry.version)
    source = entry.path.read_bytes().decode("utf-8-sig")
    row = QuestionnaireVersion(
        key=entry.key,
        version=entry.version,
        content_hash=entry.digest,
        source_yaml=source,
        snapshot=read_yaml(source).data,
        title=localise(questionnaire.title, "en")[:300],
        published_by=published_by,
    )
    session.add(row)
    session.flush()
    record_owner(session, entry.key, owner)
    record_event(
        session,
        "questionnaire.publish",
        actor_type="staff" if published_by else "system",
        actor_id=published_by,
        object_type="questionnaire_version",
        object_id=row.id,
        ip=ip,
        details={"key": entry.key, "version": entry.version, "content_hash": entry.digest},
    )
    return row


def questionnaire_of(row: QuestionnaireVersion) -> Questionnaire:
    """The questionnaire exactly as stored (cached; a stored version never changes)."""
    return _rebuild(row.key, row.version, row.source_yaml, row.content_hash)


@lru_cache(maxsize=256)
def _rebuild(key: str, version: int, source: str, digest: str) -> Questionnaire:
    if content_hash(source.encode("utf-8")) != digest:
        raise PublicationError(
            f"the stored text of {key} v{version} does not match its hash; restore it from a backup"
        )
    # the hash proves this is the text that passed the schema check when it was published
    return load_questionnaire_text(
        source,
        f"{key}/v{version}.yaml",
        expected_key=key,
        expected_version=version,
        digest=digest,
        check_schema=False,
    )


def find_versions(
    session: DbSession, wanted: Iterable[tuple[str, int | None]]
) -> dict[tuple[str, int | None], QuestionnaireVersion]:
    """Several stored versions in one query: (key, version) -> row, the latest stored one for version None.

    Pairs with no stored version are left out of the result.
    """
    pairs = list(wanted)
    if not pairs:
        return {}
    rows = session.scalars(
        select(QuestionnaireVersion).where(QuestionnaireVersion.key.in_({key for key, _ in pairs}))
    ).all()
    exact = {(row.key, row.version): row for row in rows}
    latest: dict[str, QuestionnaireVersion] = {}
    for row in rows:
        if row.key not in latest or row.version > latest[row.key].version:
            latest[row.key] = row
    found = {}
    for key, version in pairs:
        match = latest.get(key) if version is None else exact.get((key, version))
        if match is not None:
            found[(key, version)] = match
    return found


def find_version(session: DbSession, key: str, version: int | None = None) -> QuestionnaireVersion | None:
    """A stored version (the latest stored one when `version` is None)."""
    query = select(QuestionnaireVersion).where(QuestionnaireVersion.key == key)
    if version is not None:
        return session.scalar(query.where(QuestionnaireVersion.version == version))
    return session.scalar(query.order_by(QuestionnaireVersion.version.desc()).limit(1))
