"""A client's answers: autosave (validated, skip logic re-checked), exactly-once submit, and progress.

Every answer is checked against the questionnaire version the session was started with
(``validate_answer``); a batch with one bad answer stores nothing. Answers to items that the skip rules hide
are not stored, and at submit the stored answers of hidden items are removed. A submit carries a key made by
the client: the same key with the same answers replays the first result, the same key with other answers is
refused, and a submitted session takes no more answers. Services flush; the view commits once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, insert, select, text, update
from sqlalchemy.orm.attributes import set_committed_value

from survey_app.db import DbSession
from survey_app.domain.answers import validate_answer
from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import hidden_items
from survey_app.models.assessment import Answer, AssessmentSession, Submission
from survey_app.models.base import UTCDateTime, utcnow
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.services.alerts import audit_raised_alerts
from survey_app.services.audit import record_event
from survey_app.services.client_forms import unanswered_required
from survey_app.services.questionnaires import questionnaire_of
from survey_app.services.scoring import score_session

__all__ = [
    "MAX_ANSWERS_PER_REQUEST",
    "AnswerInput",
    "Problem",
    "ResponseError",
    "SaveReport",
    "SessionClosedError",
    "SubmitOutcome",
    "answers_by_version",
    "parse_answer_entries",
    "payload_hash",
    "save_answers",
    "submit_session",
]

MAX_ANSWERS_PER_REQUEST = 500
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{16,128}\Z")


@dataclass(frozen=True)
class Problem:
    """Why one answer of a request was refused (``code`` is stable, ``detail`` is for developers)."""

    index: int
    code: str
    detail: str
    item: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The problem as the API shows it."""
        return {"index": self.index, "item": self.item, "code": self.code, "detail": self.detail}


class ResponseError(ValueError):
    """A request that cannot be stored as sent (422); nothing of it was stored."""

    status = 422

    def __init__(self, code: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(code)
        self.code = code
        self.problems = list(problems)


class SessionClosedError(ResponseError):
    """The session is submitted or cancelled: it takes no more answers (409)."""

    status = 409


@dataclass(frozen=True)
class AnswerInput:
    """One answer to store: the session's questionnaire version, the item and the value (None clears it)."""

    version: QuestionnaireVersion
    item_id: str
    value: Any

    def canonical(self) -> list[Any]:
        """The answer as plain data, for the submit payload hash."""
        return [self.version.key, self.version.version, self.item_id, self.value]


@dataclass
class SaveReport:
    """What a save did: items stored or cleared, and items not stored because the skip rules hide them."""

    saved: list[tuple[str, str]] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SubmitOutcome:
    """When the (first) submission was received, and whether this request replayed it."""

    received_at: datetime
    replayed: bool


VersionsByNumber = dict[tuple[str, int], tuple[QuestionnaireVersion, Questionnaire]]


def _versions(assessment: AssessmentSession) -> VersionsByNumber:
    """The session's versions by (key, version number), each with its questionnaire (looked up once)."""
    return {
        (given.questionnaire_version.key, given.questionnaire_version.version): (
            given.questionnaire_version,
            questionnaire_of(given.questionnaire_version),
        )
        for given in assessment.questionnaires
    }


def parse_answer_entries(assessment: AssessmentSession, entries: Any) -> list[AnswerInput]:
    """Check the shape of ``[{"questionnaire", "version", "item", "value"}, ...]`` and each answer's value."""
    if not isinstance(entries, list):
        raise ResponseError("answers_not_a_list")
    if len(entries) > MAX_ANSWERS_PER_REQUEST:
        raise ResponseError("too_many_answers")
    versions = _versions(assessment)
    parsed, problems = [], []
    for index, entry in enumerate(entries):
        result = _parse_entry(index, entry, versions)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            parsed.append(result)
    if problems:
        raise ResponseError("invalid_answers", problems)
    return parsed


def _parse_entry(index: int, entry: Any, versions: VersionsByNumber) -> AnswerInput | Problem:
    if not isinstance(entry, dict) or set(entry) != {"questionnaire", "version", "item", "value"}:
        return Problem(index, "bad_shape", "expected keys questionnaire, version, item, value")
    key, number, item_id = entry["questionnaire"], entry["version"], entry["item"]
    found = versions.get((key, number)) if isinstance(key, str) and type(number) is int else None
    if found is None:
        return Problem(index, "unknown_questionnaire", "this questionnaire is not in the session")
    row, questionnaire = found
    item = questionnaire.items_by_id.get(item_id) if isinstance(item_id, str) else None
    if item is None:
        return Problem(index, "unknown_item", f"{row.key} v{row.version} has no such item")
    problem = validate_answer(item, entry["value"])
    if problem is not None:
        return Problem(index, "invalid_value", problem, item.id)
    value = entry["value"]
    return AnswerInput(row, item.id, None if value in ([], "") else value)


def payload_hash(entries: Sequence[AnswerInput]) -> str:
    """SHA-256 of the answers a submit carries, independent of their order."""
    canonical = sorted((entry.canonical() for entry in entries), key=lambda e: _order_of(*e[:3]))
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4096)
def _order_of(key: str, version: int, item_id: str) -> str:
    """Where an answer sorts in the payload hash: by its questionnaire, version and item as JSON text."""
    return json.dumps([key, version, item_id])


# Built once: building a statement costs more CPU than running it on the submit's path.
_STORED_ANSWERS = select(Answer.questionnaire_version_id, Answer.item_id, Answer.value).where(
    Answer.session_id == bindparam("session_row")
)
_STATUS_FOR_UPDATE = (
    select(AssessmentSession.status).where(AssessmentSession.id == bindparam("session_row")).with_for_update()
)
_EARLIER_SUBMISSION = select(Submission.session_id, Submission.payload_hash, Submission.received_at).where(
    Submission.idempotency_key == bindparam("key")
)
_INSERT_SUBMISSION = insert(Submission)
_UPDATE_SESSION = update(AssessmentSession).where(AssessmentSession.id == bindparam("session_row"))


def answers_by_version(session: DbSession, assessment: AssessmentSession) -> dict[int, dict[str, Any]]:
    """The stored answers of a session: questionnaire version id -> item id -> value."""
    grouped: dict[int, dict[str, Any]] = defaultdict(dict)
    rows = session.connection().execute(_STORED_ANSWERS, {"session_row": assessment.id})
    for version_id, item_id, value in rows:
        grouped[version_id][item_id] = value
    return grouped


def _lock_row(session: DbSession, assessment: AssessmentSession) -> None:
    """Lock the session's row (FOR UPDATE on PostgreSQL) and re-read its status under that lock."""
    status = session.connection().scalar(_STATUS_FOR_UPDATE, {"session_row": assessment.id})
    set_committed_value(assessment, "status", status)


def _mark_session(session: DbSession, assessment: AssessmentSession, **values: Any) -> None:
    """Write columns of the session's row (already locked) and keep the loaded object in step."""
    session.connection().execute(_UPDATE_SESSION, {"session_row": assessment.id, **values})
    for name, value in values.items():
        set_committed_value(assessment, name, value)


def _lock_open_session(session: DbSession, assessment: AssessmentSession) -> None:
    _lock_row(session, assessment)
    if assessment.status != "open":
        raise SessionClosedError(f"session_{assessment.status}")


def save_answers(
    session: DbSession, assessment: AssessmentSession, entries: Sequence[AnswerInput]
) -> SaveReport:
    """Store (upsert) or clear the answers; answers to items the skip rules hide are left out."""
    _lock_open_session(session, assessment)
    now = utcnow()
    report = _store_answers(session, assessment, entries, now=now)
    _mark_session(session, assessment, updated_at=now)
    return report


def _store_answers(
    session: DbSession,
    assessment: AssessmentSession,
    entries: Sequence[AnswerInput],
    stored: dict[int, dict[str, Any]] | None = None,
    *,
    now: datetime,
) -> SaveReport:
    """Upsert or clear answers of a session whose row this transaction has locked and found open.

    ``stored`` (the session's stored answers, read when not given) is brought up to date in place. The
    answers are stamped ``now``; the caller writes the session's ``updated_at``.
    """
    report = SaveReport()
    if stored is None:
        stored = answers_by_version(session, assessment)
    by_version: dict[int, dict[str, AnswerInput]] = defaultdict(dict)
    for entry in entries:
        by_version[entry.version.id][entry.item_id] = entry  # the last answer to an item wins
    for version_id, incoming in by_version.items():
        version = next(iter(incoming.values())).version
        current = stored.setdefault(version_id, {})
        merged = {**current, **{i: e.value for i, e in incoming.items()}}
        hidden = hidden_items(questionnaire_of(version), {k: v for k, v in merged.items() if v is not None})
        upserts: list[AnswerInput] = []
        clears: list[AnswerInput] = []
        for item_id, entry in incoming.items():
            label = (version.key, item_id)
            if entry.value is not None and item_id in hidden:
                report.hidden.append(label)
                continue
            (clears if entry.value is None else upserts).append(entry)
            report.saved.append(label)
        _upsert(session, assessment.id, version_id, upserts, now)
        current.update((entry.item_id, entry.value) for entry in upserts)
        if clears:
            session.execute(
                delete(Answer).where(
                    Answer.session_id == assessment.id,
                    Answer.questionnaire_version_id == version_id,
                    Answer.item_id.in_([entry.item_id for entry in clears]),
                )
            )
            for entry in clears:
                current.pop(entry.item_id, None)
    return report


#: INSERT ... ON CONFLICT (session, version, item) DO UPDATE of many answers in one statement: the answers
#: travel as one JSON array of [item id, the value as JSON text], serialised as the JSON column does it.
_UPSERT_SQL = {
    "sqlite": """
        INSERT INTO answers (session_id, questionnaire_version_id, item_id, value, answered_at, updated_at)
        SELECT :session_id, :version_id, json_extract(entry.value, '$[0]'), json_extract(entry.value, '$[1]'),
               :now, :now
        FROM json_each(:entries) AS entry WHERE true
        ON CONFLICT (session_id, questionnaire_version_id, item_id)
        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
    """,
    "postgresql": """
        INSERT INTO answers (session_id, questionnaire_version_id, item_id, value, answered_at, updated_at)
        SELECT :session_id, :version_id, entry ->> 0, CAST(entry ->> 1 AS jsonb), :now, :now
        FROM jsonb_array_elements(CAST(:entries AS jsonb)) AS entry
        ON CONFLICT (session_id, questionnaire_version_id, item_id)
        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
    """,
}


@cache
def _upsert_statement(dialect: str) -> TextClause:
    """The dialect's many-answer upsert, built once."""
    return text(_UPSERT_SQL[dialect]).bindparams(bindparam("now", type_=UTCDateTime()))


def _upsert(
    session: DbSession, session_id: int, version_id: int, entries: Sequence[AnswerInput], now: Any
) -> None:
    if not entries:
        return
    values = json.dumps([[entry.item_id, _json_text(entry.value)] for entry in entries])
    session.connection().execute(
        _upsert_statement(session.get_bind().dialect.name),
        {"session_id": session_id, "version_id": version_id, "entries": values, "now": now},
    )


def _json_text(value: Any) -> str:
    """The value as JSON text, as the JSON column writes it (an integer, the usual answer, without json)."""
    return str(value) if type(value) is int else json.dumps(value)


def _missing_required(
    assessment: AssessmentSession, stored: Mapping[int, Mapping[str, Any]]
) -> list[Problem]:
    problems = []
    for given in assessment.questionnaires:
        questionnaire: Questionnaire = questionnaire_of(given.questionnaire_version)
        answers = stored.get(given.questionnaire_version_id, {})
        hidden = hidden_items(questionnaire, answers)
        for item_id in unanswered_required(questionnaire, answers, hidden):
            problems.append(Problem(given.position, "required", "this question needs an answer", item_id))
    return problems


def _remove_hidden_answers(
    session: DbSession, assessment: AssessmentSession, stored: dict[int, dict[str, Any]]
) -> int:
    removed = 0
    for given in assessment.questionnaires:
        answers = stored.get(given.questionnaire_version_id, {})
        hidden = hidden_items(questionnaire_of(given.questionnaire_version), answers) & set(answers)
        for item_id in hidden:
            del answers[item_id]
        if hidden:
            session.execute(
                delete(Answer).where(
                    Answer.session_id == assessment.id,
                    Answer.questionnaire_version_id == given.questionnaire_version_id,
                    Answer.item_id.in_(sorted(hidden)),
                )
            )
            removed += len(hidden)
    return removed


def submit_session(
    session: DbSession, assessment: AssessmentSession, key: str, entries: Sequence[AnswerInput]
) -> SubmitOutcome:
    """Submit once: store the last answers, drop hidden ones, record the submission, score; replay a retry."""
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.match(key):
        raise ResponseError("bad_idempotency_key")
    digest = payload_hash(entries)
    _lock_row(session, assessment)
    earlier = session.connection().execute(_EARLIER_SUBMISSION, {"key": key}).first()
    if earlier is not None:
        if earlier.session_id != assessment.id or earlier.payload_hash != digest:
            raise ResponseError("idempotency_key_reused")
        return SubmitOutcome(earlier.received_at, replayed=True)
    if assessment.status != "open":
        raise SessionClosedError(f"session_{assessment.status}")
    stored = answers_by_version(session, assessment)
    if entries:
        _store_answers(session, assessment, entries, stored, now=utcnow())
    problems = _missing_required(assessment, stored)
    if problems:
        raise ResponseError("required_unanswered", problems)
    removed = _remove_hidden_answers(session, assessment, stored)  # `stored` keeps only the shown answers
    now = utcnow()
    session.connection().execute(
        _INSERT_SUBMISSION,
        {"session_id": assessment.id, "idempotency_key": key, "payload_hash": digest, "received_at": now},
    )  # the same key sent to another worker at once fails here, on its unique index
    _mark_session(session, assessment, status="submitted", submitted_at=now, updated_at=now)
    results = score_session(session, assessment, stored, first=True)
    _audit_submit(session, assessment, sum(len(values) for values in stored.values()), removed)
    if any(result.flags for result in results.values()):
        audit_raised_alerts(session, assessment)  # the counsellor's dashboard shows them from now on
    return SubmitOutcome(now, replayed=False)


def _audit_submit(session: DbSession, assessment: AssessmentSession, answered: int, removed: int) -> None:
    record_event(
        session,
        "session.submit",
        actor_type="client",
        object_type="assessment_session",
        object_id=assessment.public_id,
        details={
            "client_id": assessment.client_id,
            "answers": answered,
            "hidden_removed": removed,
            "questionnaires": len(assessment.questionnaires),
        },
    )
