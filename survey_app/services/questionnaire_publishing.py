"""Publishing questionnaire versions: the one path the command line and the admin pages share.

``publishing`` checks a file in the questionnaire folder, records its hash in ``published.json`` and stores
the version in the database; the manifest is put back as it was unless the caller's block commits. The
admin pages first check an upload (``check_upload``: every problem with its line), keep it as a draft for its
preview, and ``publishing_draft`` writes it to ``<folder>/<key>/v<N>.yaml`` and publishes that file the same
way. A published version is never changed or removed: the next change is the next version. An admin uploads
and publishes versions only of their organisation's own keys and of new keys (``questionnaire_owners``);
the command line publishes any key, and a new key it publishes is shared by every organisation.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from survey_app.db import DbSession
from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import ScoreResult, score
from survey_app.models.admin import QuestionnaireDraft
from survey_app.models.people import StaffUser
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.questionnaires.diff import VersionDiff, diff_versions
from survey_app.questionnaires.loader import content_hash, lint_bytes, lint_file, load_questionnaire_text
from survey_app.questionnaires.problems import Problem, QuestionnaireError
from survey_app.questionnaires.registry import (
    CheckedFile,
    PublishedFile,
    QuestionnaireRegistry,
    checked_files,
    declarations_beside_published,
    read_manifest,
    record_publication,
    write_manifest,
)
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.services.audit import record_staff_event
from survey_app.services.questionnaire_owners import KeyNotYours, publication_refusal
from survey_app.services.questionnaires import store_version
from survey_app.services.user_messages import N_, UserFacingError

__all__ = [
    "DraftNotPublishable",
    "ExampleResult",
    "PublishedVersion",
    "UploadCheck",
    "check_upload",
    "discard_draft",
    "draft_of_organisation",
    "draft_questionnaire",
    "draft_refusal",
    "example_results",
    "previous_version_diff",
    "published_meanwhile",
    "publishing",
    "publishing_draft",
    "save_draft",
]


class DraftNotPublishable(UserFacingError):
    """A draft this server cannot publish: its version was published meanwhile, or the folder is read-only."""


@dataclass(frozen=True)
class PublishedVersion:
    """A version just published: its manifest entry and its database row."""

    entry: PublishedFile
    row: QuestionnaireVersion
    registry: QuestionnaireRegistry


@dataclass(frozen=True)
class UploadCheck:
    """An upload checked: its text, every problem (with lines), and the questionnaire when it has none.

    ``refusal`` says why the admin's organisation may not publish a version of the file's key at all.
    """

    text: str | None
    problems: list[Problem]
    questionnaire: Questionnaire | None
    refusal: KeyNotYours | None = None

    def line(self, number: int | None) -> str | None:
        """The uploaded text's line ``number`` (1-based), to show next to a problem on it."""
        if self.text is None or number is None:
            return None
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else None


@dataclass(frozen=True)
class ExampleResult:
    """A file's example scored now: what it expects of each scale, and what the scorer gives."""

    name: str
    answered: int
    expected: dict[str, float | None]
    result: ScoreResult


@contextmanager
def _folder_lock(directory: Path) -> Iterator[None]:
    """One publication at a time in a questionnaire folder, across every worker of this server."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)


@contextmanager
def publishing(
    session: DbSession,
    directory: Path,
    path: Path,
    *,
    published_by: int | None = None,
    ip: str | None = None,
    organisation_id: int | None = None,
) -> Iterator[PublishedVersion]:
    """Publish ``path`` (``<folder>/<key>/v<N>.yaml``): commit inside the block, or nothing is published.

    ``organisation_id`` is the organisation whose admin publishes (None: the deployer, on the command line).
    Raises QuestionnaireError (the file's problems), PublicationError (not the next version, ...) or
    KeyNotYours (the organisation may not publish a version of this key).
    """
    problems = lint_file(path)
    files = [] if problems else checked_files([path])
    problems = problems or declarations_beside_published(files)
    if problems:
        raise QuestionnaireError(problems)
    with _folder_lock(directory):
        if organisation_id is not None:
            questionnaire = files[0].questionnaire
            refusal = publication_refusal(
                session,
                QuestionnaireRegistry(directory),
                organisation_id,
                questionnaire.key,
                questionnaire.version,
            )
            if refusal is not None:
                raise refusal
        manifest_before = read_manifest(directory)
        entry = record_publication(directory, path)
        try:
            registry = QuestionnaireRegistry(directory)
            row = store_version(
                session, registry, entry, published_by=published_by, ip=ip, owner=organisation_id
            )
            yield PublishedVersion(entry, row, registry)
        except BaseException:
            write_manifest(directory, manifest_before)  # nothing half-done: the file is not published
            raise


def _identity_problems(
    session: DbSession, directory: Path, questionnaire: Questionnaire, source: str, text: str
) -> list[Problem]:
    """Whether the file is the next version of its key, here and in the database."""
    registry = QuestionnaireRegistry(directory)
    expected = max(registry.versions(questionnaire.key), default=0) + 1
    version_line = read_yaml(text).line_of(("version",))
    if questionnaire.version != expected:
        return [
            Problem(
                source,
                version_line,
                None,
                f"the next version of '{questionnaire.key}' is {expected}, not {questionnaire.version}",
            )
        ]
    stored = select(QuestionnaireVersion.id).where(
        QuestionnaireVersion.key == questionnaire.key, QuestionnaireVersion.version == questionnaire.version
    )
    if session.scalar(stored) is not None:
        message = f"{questionnaire.label} is in the database already; run `flask questionnaires load`"
        return [Problem(source, version_line, None, message)]
    if (directory / questionnaire.key / f"v{questionnaire.version}.yaml").exists():
        message = (
            f"a file {questionnaire.key}/v{questionnaire.version}.yaml that is not published is in the way"
        )
        return [Problem(source, version_line, None, message)]
    return []


def check_upload(
    session: DbSession, directory: Path, raw: bytes, source: str, *, organisation_id: int
) -> UploadCheck:
    """Check an upload as `flask questionnaires lint` does, that the organisation may publish its key, and
    that it is the next version."""
    questionnaire, problems = lint_bytes(raw, source)
    if problems or questionnaire is None:
        try:
            text: str | None = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        return UploadCheck(text, problems, None)
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    registry = QuestionnaireRegistry(directory)
    refusal = publication_refusal(
        session, registry, organisation_id, questionnaire.key, questionnaire.version
    )
    if refusal is not None:  # before anything that would tell of the key's published versions
        return UploadCheck(text, [], None, refusal)
    problems = _identity_problems(session, directory, questionnaire, source, text)
    problems += declarations_beside_published([CheckedFile(source, text, directory, questionnaire)])
    return UploadCheck(text, problems, None if problems else questionnaire)


def save_draft(
    session: DbSession, admin: StaffUser, checked: UploadCheck, file_name: str, *, ip: str | None = None
) -> QuestionnaireDraft:
    """Keep a checked upload as a draft of the admin's organisation (only one without problems)."""
    if checked.questionnaire is None or checked.text is None:
        raise ValueError("only an upload without problems becomes a draft")
    questionnaire = checked.questionnaire
    draft = QuestionnaireDraft(
        organisation_id=admin.organisation_id,
        key=questionnaire.key,
        version=questionnaire.version,
        file_name=file_name[:255],
        source_text=checked.text,
        content_hash=content_hash(checked.text.encode("utf-8")),
        uploaded_by=admin.id,
    )
    session.add(draft)
    session.flush()
    _audit(session, "questionnaire.draft_upload", admin, draft, ip)
    return draft


def _audit(
    session: DbSession, action: str, admin: StaffUser, draft: QuestionnaireDraft, ip: str | None
) -> None:
    record_staff_event(
        session,
        action,
        admin.id,
        "questionnaire_draft",
        draft.id,
        ip=ip,
        details={"key": draft.key, "version": draft.version, "content_hash": draft.content_hash},
    )


def draft_of_organisation(
    session: DbSession, organisation_id: int, draft_id: int
) -> QuestionnaireDraft | None:
    """A draft of the organisation (None for any other, as for one that does not exist)."""
    draft = session.get(QuestionnaireDraft, draft_id)
    return draft if draft is not None and draft.organisation_id == organisation_id else None


def draft_refusal(session: DbSession, directory: Path, draft: QuestionnaireDraft) -> KeyNotYours | None:
    """Why the draft's organisation may not publish it (a draft kept from before its key was taken)."""
    registry = QuestionnaireRegistry(directory)
    return publication_refusal(session, registry, draft.organisation_id, draft.key, draft.version)


def draft_questionnaire(draft: QuestionnaireDraft) -> Questionnaire:
    """The draft's questionnaire, exactly as it would be published."""
    return load_questionnaire_text(
        draft.source_text,
        draft.file_name,
        expected_key=draft.key,
        expected_version=draft.version,
        digest=draft.content_hash,
    )


def discard_draft(
    session: DbSession, admin: StaffUser, draft: QuestionnaireDraft, *, ip: str | None = None
) -> None:
    """Throw a draft away (a published version is never removed; a draft is not published)."""
    _audit(session, "questionnaire.draft_discard", admin, draft, ip)
    session.delete(draft)
    session.flush()


def example_results(questionnaire: Questionnaire) -> list[ExampleResult]:
    """The file's examples scored by the scorer the app uses."""
    return [
        ExampleResult(
            example.name,
            sum(1 for value in example.answers.values() if value is not None),
            {scale_id: expected.value for scale_id, expected in example.scales.items()},
            score(questionnaire, example.answers),
        )
        for example in questionnaire.examples
    ]


def previous_version_diff(directory: Path, questionnaire: Questionnaire) -> VersionDiff | None:
    """What changes against the latest published version (None for a new questionnaire)."""
    registry = QuestionnaireRegistry(directory)
    if not registry.versions(questionnaire.key):
        return None
    return diff_versions(registry.get(questionnaire.key), questionnaire)


def published_meanwhile(
    session: DbSession, directory: Path, draft: QuestionnaireDraft
) -> DraftNotPublishable | None:
    """Why the draft is no longer the next version: its version was published since it was checked."""
    stored = select(QuestionnaireVersion.version).where(QuestionnaireVersion.key == draft.key)
    published = set(QuestionnaireRegistry(directory).versions(draft.key)) | set(session.scalars(stored))
    if not published or max(published) < draft.version:
        return None
    return DraftNotPublishable(
        N_(
            "%(key)s v%(version)s was published meanwhile. Discard this draft, and check your file again "
            "as version %(next)s."
        ),
        key=draft.key,
        version=draft.version,
        next=max(published) + 1,
    )


@contextmanager
def publishing_draft(
    session: DbSession, admin: StaffUser, draft: QuestionnaireDraft, directory: Path, *, ip: str | None = None
) -> Iterator[PublishedVersion]:
    """Write the draft as ``<folder>/<key>/v<N>.yaml`` and publish it; commit inside; else nothing stays.

    Raises KeyNotYours when the admin's organisation may not publish a version of the draft's key, and
    DraftNotPublishable when its version was published meanwhile or the folder cannot be written.
    """
    refusal = draft_refusal(session, directory, draft)
    if refusal is not None:
        raise refusal
    stale = published_meanwhile(session, directory, draft)
    if stale is not None:
        raise stale
    if not os.access(directory, os.W_OK):
        raise DraftNotPublishable(
            N_(
                "The questionnaire folder cannot be written on this server. Ask whoever runs the "
                "installation to publish the file on the command line (flask questionnaires publish)."
            )
        )
    folder = directory / draft.key
    path = folder / f"v{draft.version}.yaml"
    if path.exists():
        raise DraftNotPublishable(
            N_(
                "A file %(file)s that is not published is in the way in the questionnaire folder. Ask "
                "whoever runs the installation to remove it, then publish again."
            ),
            file=f"{draft.key}/v{draft.version}.yaml",
        )
    new_folder = not folder.exists()
    folder.mkdir(exist_ok=True)
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_bytes(draft.source_text.encode("utf-8"))
    temporary.replace(path)
    try:
        with publishing(
            session, directory, path, published_by=admin.id, ip=ip, organisation_id=admin.organisation_id
        ) as published:
            _audit(session, "questionnaire.draft_publish", admin, draft, ip)
            session.delete(draft)
            session.flush()
            yield published
    except BaseException:
        path.unlink(missing_ok=True)
        if new_folder:
            folder.rmdir()
        raise
