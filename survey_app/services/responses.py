"""A client's answers: autosave (validated, skip logic re-checked), exactly-once submit, and progress.

Every answer is checked against the questionnaire version the session was started with
(``validate_answer``); a batch with one bad answer stores nothing. Answers to items that the skip rules hide
are not stored, and at submit the stored answers of hidden items are removed. A submit carries a key made by
the client: the same key with the same answers replays the first result, the same key with other answers is
refused, and a submitted session takes no more answers. Services flush; the view commits once.

An answer may wait on a device without a connection. It carries how long ago it was given (``age_ms``), and
it is not stored over an answer to the same item that another device gave (or took back) later: the newest
answer wins, whatever order they arrive in. Answers from one device arrive in the order they were given.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from survey_app.db import DbSession
from survey_app.domain.answers import validate_answer
from survey_app.domain.questionnaire import Questionnaire
from survey_app.domain.scoring import hidden_items
from survey_app.models.assessment import Answer, AnswerClear, AssessmentSession, Submission
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
#: The longest an answer is taken to have waited on a device, in milliseconds (sealed ones are kept 14 days).
MAX_ANSWER_AGE_MS = 15 * 24 * 3600 * 1000
_ENTRY_KEYS = frozenset({"questionnaire", "version", "item", "value"})
_ENTRY_KEYS_WITH_AGE = _ENTRY_KEYS | {"age_ms"}
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
    """One answer to store: the session's questionnaire version, the item and the value (None clears it).

    ``given_at`` is when a device gave an answer that waited on it; None for an answer given just now.
    """

    version: QuestionnaireVersion
    item_id: str
    value: Any
    given_at: datetime | None = None

    def canonical(self) -> list[Any]:
        """The answer as plain data, for the submit payload hash."""
        return [self.version.key, self.version.version, self.item_id, self.value]


@dataclass
class SaveReport:
    """What a save did: items stored or cleared, and items not stored (hidden by the skip rules, or given
    before the stored answer that another device gave: ``superseded`` holds that stored value)."""

    saved: list[tuple[str, str]] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)
    superseded: list[tuple[str, str, Any]] = field(default_factory=list)


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
    """Check ``[{"questionnaire", "version", "item", "value", "age_ms"?}, ...]`` and each answer's value.

    ``age_ms``, when there, is how many milliseconds before now the device took the answer.
    """
    if not isinstance(entries, list):
        raise ResponseError("answers_not_a_list")
    if len(entries) > MAX_ANSWERS_PER_REQUEST:
        raise ResponseError("too_many_answers")
    versions = _versions(assessment)
    received_at = utcnow()
    parsed, problems = [], []
    for index, entry in enumerate(entries):
        result = _parse_entry(index, entry, versions, received_at)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            parsed.append(result)
    if problems:
        raise ResponseError("invalid_answers", problems)
    return parsed


def _parse_entry(
    index: int, entry: Any, versions: VersionsByNumber, received_at: datetime
) -> AnswerInput | Problem:
    if not isinstance(entry, dict) or not (
        entry.keys() == _ENTRY_KEYS or entry.keys() == _ENTRY_KEYS_WITH_AGE
    ):
        return Problem(index, "bad_shape", "expected keys questionnaire, version, item, value (and age_ms)")
    age = entry.get("age_ms", 0)
    if type(age) is not int or age < 0:
        return Problem(index, "bad_age", "age_ms is a whole number of milliseconds, 0 or more")
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
    given_at = received_at - timedelta(milliseconds=min(age, MAX_ANSWER_AGE_MS)) if age else None
    return AnswerInput(row, item.id, None if value in ([], "") else value, given_at)


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
    select(AssessmentSession.status, AssessmentSession.updated_at)
    .where(AssessmentSession.id == bindparam("session_row"))
    .with_for_update()
)
_GIVEN_SINCE = select(
    Answer.questionnaire_version_id,
    Answer.item_id,
    Answer.value,
    Answer.updated_at,
    Answer.client_mode_session_id,
).where(
    Answer.session_id == bindparam("session_row"), Answer.updated_at > bindparam("since", type_=UTCDateTime())
)
_CLEARED_SINCE = select(
    AnswerClear.questionnaire_version_id,
    AnswerClear.item_id,
    AnswerClear.cleared_at,
    AnswerClear.client_mode_session_id,
).where(
    AnswerClear.session_id == bindparam("session_row"),
    AnswerClear.cleared_at > bindparam("since", type_=UTCDateTime()),
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
    """Lock the session's row (FOR UPDATE on PostgreSQL) and re-read its status and last change under it."""
    status, updated_at = (
        session.connection().execute(_STATUS_FOR_UPDATE, {"session_row": assessment.id}).one()
    )
    set_committed_value(assessment, "status", status)
    set_committed_value(assessment, "updated_at", updated_at)


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
    session: DbSession,
    assessment: AssessmentSession,
    entries: Sequence[AnswerInput],
    *,
    client_mode_id: int | None = None,
) -> SaveReport:
    """Store (upsert) or clear the answers given on the device of ``client_mode_id``.

    Answers to items the skip rules hide are left out, and so are answers that another device replaced
    with one given later.
    """
    _lock_open_session(session, assessment)
    now = utcnow()
    report = _store_answers(session, assessment, entries, now=now, client_mode_id=client_mode_id)
    _mark_session(session, assessment, updated_at=now)
    return report


def _store_answers(
    session: DbSession,
    assessment: AssessmentSession,
    entries: Sequence[AnswerInput],
    stored: dict[int, dict[str, Any]] | None = None,
    *,
    now: datetime,
    client_mode_id: int | None,
) -> SaveReport:
    """Upsert or clear answers of a session whose row this transaction has locked and found open.

    ``stored`` (the session's stored answers, read when not given) is brought up to date in place. The
    answers are stamped when they were given (``now`` unless they waited on the device) and with the
    device's client mode; the caller writes the session's ``updated_at``.
    """
    report = SaveReport()
    if stored is None:
        stored = answers_by_version(session, assessment)
    by_version: dict[int, dict[str, AnswerInput]] = defaultdict(dict)
    for entry in entries:
        by_version[entry.version.id][entry.item_id] = entry  # the last answer to an item wins
    for entry, newer in _replaced_elsewhere(session, assessment, by_version, client_mode_id):
        del by_version[entry.version.id][entry.item_id]
        report.superseded.append((entry.version.key, entry.item_id, newer))
    for version_id, incoming in by_version.items():
        if not incoming:
            continue
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
        _upsert(session, assessment.id, version_id, upserts, now, client_mode_id)
        current.update((entry.item_id, entry.value) for entry in upserts)
        if clears:
            session.execute(
                delete(Answer).where(
                    Answer.session_id == assessment.id,
                    Answer.questionnaire_version_id == version_id,
                    Answer.item_id.in_([entry.item_id for entry in clears]),
                )
            )
            _record_clears(session, assessment.id, version_id, clears, now, client_mode_id)
            for entry in clears:
                current.pop(entry.item_id, None)
    return report


def _replaced_elsewhere(
    session: DbSession,
    assessment: AssessmentSession,
    by_version: Mapping[int, Mapping[str, AnswerInput]],
    client_mode_id: int | None,
) -> list[tuple[AnswerInput, Any]]:
    """The answers that waited on this device while another device answered (or cleared) the item later.

    Each comes with the stored value that stays (None: no answer). Nothing is read unless an answer was
    given before the session's last change (``updated_at``, re-read under the row lock): no stored answer
    or clearing can be newer.
    """
    waited = [
        (entry, entry.given_at)
        for incoming in by_version.values()
        for entry in incoming.values()
        if entry.given_at is not None and entry.given_at < assessment.updated_at
    ]
    if not waited:
        return []
    since = min(given_at for _entry, given_at in waited)
    parameters = {"session_row": assessment.id, "since": since}
    latest: dict[tuple[int, str], tuple[datetime, int | None]] = {}  # when, and by which hand-over
    values: dict[tuple[int, str], Any] = {}
    for version_id, item_id, value, given_at, by in session.connection().execute(_GIVEN_SINCE, parameters):
        latest[(version_id, item_id)] = (given_at, by)
        values[(version_id, item_id)] = value
    for version_id, item_id, cleared_at, by in session.connection().execute(_CLEARED_SINCE, parameters):
        known = latest.get((version_id, item_id))
        if known is None or cleared_at > known[0]:
            latest[(version_id, item_id)] = (cleared_at, by)
    replaced = []
    for entry, given_at in waited:
        key = (entry.version.id, entry.item_id)
        if key not in latest or (client_mode_id is not None and latest[key][1] == client_mode_id):
            continue  # nothing newer, or this device's own: a device sends its answers in order
        if latest[key][0] > given_at:
            replaced.append((entry, values.get(key)))
    return replaced


def _record_clears(
    session: DbSession,
    session_id: int,
    version_id: int,
    clears: Sequence[AnswerInput],
    now: datetime,
    client_mode_id: int | None,
) -> None:
    """Keep when (and on which device) each of these answers was taken back."""
    dialect_insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(AnswerClear).values(
        [
            {
                "session_id": session_id,
                "questionnaire_version_id": version_id,
                "item_id": entry.item_id,
                "cleared_at": entry.given_at or now,
                "client_mode_session_id": client_mode_id,
            }
            for entry in clears
        ]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["session_id", "questionnaire_version_id", "item_id"],
            set_={
                "cleared_at": statement.excluded.cleared_at,
                "client_mode_session_id": statement.excluded.client_mode_session_id,
            },
        )
    )


#: INSERT ... ON CONFLICT (session, version, item) DO UPDATE of many answers in one statement: the answers
#: travel as one JSON array of [item id, the value as JSON text, when it was given (absent: now)], the value
#: serialised as the JSON column does it and the moment as the dialect stores a timestamp.
_UPSERT_SQL = {
    "sqlite": """
        INSERT INTO answers (session_id, questionnaire_version_id, item_id, value, answered_at, updated_at,
                             client_mode_session_id)
        SELECT :session_id, :version_id, json_extract(entry.value, '$[0]'), json_extract(entry.value, '$[1]'),
               coalesce(json_extract(entry.value, '$[2]'), :now),
               coalesce(json_extract(entry.value, '$[2]'), :now),
               :client_mode_id
        FROM json_each(:entries) AS entry WHERE true
        ON CONFLICT (session_id, questionnaire_version_id, item_id)
        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                      client_mode_session_id = excluded.client_mode_session_id
    """,
    "postgresql": """
        INSERT INTO answers (session_id, questionnaire_version_id, item_id, value, answered_at, updated_at,
                             client_mode_session_id)
        SELECT :session_id, :version_id, entry ->> 0, CAST(entry ->> 1 AS jsonb),
               coalesce(CAST(entry ->> 2 AS timestamptz), :now),
               coalesce(CAST(entry ->> 2 AS timestamptz), :now),
               :client_mode_id
        FROM jsonb_array_elements(CAST(:entries AS jsonb)) AS entry
        ON CONFLICT (session_id, questionnaire_version_id, item_id)
        DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                      client_mode_session_id = excluded.client_mode_session_id
    """,
}


def _moment_text(moment: datetime, dialect: str) -> str:
    """A moment as the dialect's timestamp column holds it (on SQLite, SQLAlchemy's text of naive UTC)."""
    if dialect == "sqlite":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment.isoformat()


@cache
def _upsert_statement(dialect: str) -> TextClause:
    """The dialect's many-answer upsert, built once."""
    return text(_UPSERT_SQL[dialect]).bindparams(bindparam("now", type_=UTCDateTime()))


def _upsert(
    session: DbSession,
    session_id: int,
    version_id: int,
    entries: Sequence[AnswerInput],
    now: datetime,
    client_mode_id: int | None,
) -> None:
    if not entries:
        return
    dialect = session.get_bind().dialect.name
    values = json.dumps(
        [
            [entry.item_id, _json_text(entry.value)]
            if entry.given_at is None
            else [entry.item_id, _json_text(entry.value), _moment_text(entry.given_at, dialect)]
            for entry in entries
        ]
    )
    session.connection().execute(
        _upsert_statement(dialect),
        {
            "session_id": session_id,
            "version_id": version_id,
            "entries": values,
            "now": now,
            "client_mode_id": client_mode_id,
        },
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
    session: DbSession,
    assessment: AssessmentSession,
    key: str,
    entries: Sequence[AnswerInput],
    *,
    client_mode_id: int | None = None,
) -> SubmitOutcome:
    """Submit once: store the last answers, drop hidden ones, record the submission, score; replay a retry.

    The answers sent with the submit are stored as ``save_answers`` stores them (from the same device).
    """
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
        _store_answers(session, assessment, entries, stored, now=utcnow(), client_mode_id=client_mode_id)
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
