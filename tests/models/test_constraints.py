"""Invariants the database itself enforces (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from survey_app.models import (
    Answer,
    AssessmentSession,
    AuditEvent,
    Client,
    ClientIdentity,
    QuestionnaireVersion,
    Score,
    ScoreFlag,
    StaffUser,
    Submission,
    Timepoint,
)
from survey_app.services.audit import record_event

Builder = Callable[..., Any]


@contextmanager
def refused(db: SQLAlchemy) -> Iterator[None]:
    """The changes made inside the block must be refused by the database when flushed."""
    savepoint = db.session.begin_nested()  # flushes what came before, so only the block's changes fail
    yield
    with pytest.raises(IntegrityError):
        db.session.flush()
    savepoint.rollback()
    db.session.expire_all()  # forget the refused, never-stored changes


def _refused(db: SQLAlchemy, row: object) -> None:
    """Adding ``row`` must fail with an IntegrityError."""
    with refused(db):
        db.session.add(row)


def _raw_refused(db: SQLAlchemy, sql: str, **params: Any) -> None:
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.execute(text(sql), params)
    savepoint.rollback()


def _answer(
    session_row: AssessmentSession, version: QuestionnaireVersion, item: str = "q1", value: Any = 2
) -> Answer:
    return Answer(session_id=session_row.id, questionnaire_version_id=version.id, item_id=item, value=value)


# ---------------------------------------------------------------- answers and submissions
def test_one_answer_per_session_questionnaire_and_item(
    db: SQLAlchemy, make_assessment_session: Builder, make_questionnaire_version: Builder
) -> None:
    version = make_questionnaire_version()
    session_row = make_assessment_session(versions=[version])
    db.session.add(_answer(session_row, version))
    db.session.flush()
    _refused(db, _answer(session_row, version, value=3))
    db.session.add(_answer(session_row, version, item="q2", value=[1, 3]))
    db.session.flush()
    stored = db.session.scalars(select(Answer.value).order_by(Answer.item_id)).all()
    assert stored == [2, [1, 3]]


def test_an_answer_must_belong_to_a_questionnaire_given_in_that_session(
    db: SQLAlchemy, make_assessment_session: Builder, make_questionnaire_version: Builder
) -> None:
    session_row = make_assessment_session()
    other_version = make_questionnaire_version()
    _refused(db, _answer(session_row, other_version))


def test_an_answer_needs_a_value(
    db: SQLAlchemy, make_assessment_session: Builder, make_questionnaire_version: Builder
) -> None:
    version = make_questionnaire_version()
    session_row = make_assessment_session(versions=[version])
    _refused(db, _answer(session_row, version, value=None))


def test_idempotency_keys_are_unique_and_between_16_and_128_characters(
    db: SQLAlchemy, make_assessment_session: Builder
) -> None:
    first, second = make_assessment_session(), make_assessment_session()
    key = "k" * 32
    db.session.add(Submission(session_id=first.id, idempotency_key=key, payload_hash="a" * 64))
    db.session.flush()
    _refused(db, Submission(session_id=second.id, idempotency_key=key, payload_hash="b" * 64))
    _refused(db, Submission(session_id=second.id, idempotency_key="k" * 15, payload_hash="b" * 64))
    _refused(db, Submission(session_id=first.id, idempotency_key="z" * 32, payload_hash="b" * 64))


# ---------------------------------------------------------------- sessions
def test_submitted_status_and_submitted_at_go_together(
    db: SQLAlchemy, make_assessment_session: Builder
) -> None:
    session_row = make_assessment_session()
    with refused(db):
        session_row.status = "submitted"
    with refused(db):
        session_row.submitted_at = datetime.now(UTC)
    session_row.status, session_row.submitted_at = "submitted", datetime.now(UTC)
    db.session.flush()


def test_one_live_session_per_client_and_timepoint(
    db: SQLAlchemy, make_client: Builder, make_assessment_session: Builder
) -> None:
    client = make_client()
    timepoint = client.programme.timepoints[0]
    first = make_assessment_session(client, timepoint=timepoint)
    with pytest.raises(IntegrityError):
        savepoint = db.session.begin_nested()
        try:
            make_assessment_session(client, timepoint=timepoint)
        finally:
            savepoint.rollback()
    first.status = "cancelled"
    db.session.flush()
    make_assessment_session(client, timepoint=timepoint)  # allowed once the first is cancelled
    make_assessment_session(client)  # ad hoc sessions are not limited
    make_assessment_session(client)
    count = db.session.scalar(select(func.count()).where(AssessmentSession.client_id == client.id))
    assert count == 4


@pytest.mark.parametrize(
    ("field", "value"), [("status", "paused"), ("language", "de"), ("mode", "carrier_pigeon")]
)
def test_session_fields_are_limited_to_known_values(
    db: SQLAlchemy, make_assessment_session: Builder, field: str, value: str
) -> None:
    session_row = make_assessment_session()
    with refused(db):
        setattr(session_row, field, value)


def test_public_ids_are_random_uuids(db: SQLAlchemy, make_assessment_session: Builder) -> None:
    first, second = make_assessment_session(), make_assessment_session()
    assert len(first.public_id) == 36 and first.public_id != second.public_id


# ---------------------------------------------------------------- scores and flags
def test_a_band_needs_a_value_and_scores_are_unique_per_scale(
    db: SQLAlchemy, make_assessment_session: Builder, make_questionnaire_version: Builder
) -> None:
    version = make_questionnaire_version()
    session_row = make_assessment_session(versions=[version])

    def score(scale: str, value: float | None, band: str | None) -> Score:
        return Score(
            session_id=session_row.id,
            questionnaire_version_id=version.id,
            scale_id=scale,
            value=value,
            band=band,
            missing_count=0,
            scorer_version="1",
        )

    _refused(db, score("total", None, "severe"))
    db.session.add(score("total", None, None))  # not scored: allowed
    db.session.flush()
    _refused(db, score("total", 12.0, "moderate"))
    bad_count = score("other", 1.0, None)
    bad_count.missing_count = -1
    _refused(db, bad_count)


def test_flags_have_a_known_severity(
    db: SQLAlchemy, make_assessment_session: Builder, make_questionnaire_version: Builder
) -> None:
    version = make_questionnaire_version()
    session_row = make_assessment_session(versions=[version])
    flag = ScoreFlag(
        session_id=session_row.id, questionnaire_version_id=version.id, flag_id="x", severity="mild"
    )
    _refused(db, flag)


# ---------------------------------------------------------------- people
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "superuser"),
        ("email", "Someone@Example.org"),
        ("failed_login_count", -1),
        ("session_version", 0),
    ],
)
def test_staff_fields_are_checked(db: SQLAlchemy, make_staff: Builder, field: str, value: object) -> None:
    user = make_staff()
    with refused(db):
        setattr(user, field, value)


def test_staff_emails_are_unique(db: SQLAlchemy, make_staff: Builder) -> None:
    make_staff(email="same@example.org")
    with pytest.raises(IntegrityError):
        savepoint = db.session.begin_nested()
        try:
            make_staff(email="same@example.org")
        finally:
            savepoint.rollback()


@pytest.mark.parametrize(
    ("field", "value"), [("code", "demo-0001"), ("status", "lost"), ("preferred_language", "xx")]
)
def test_client_fields_are_checked(db: SQLAlchemy, make_client: Builder, field: str, value: str) -> None:
    client = make_client()
    with refused(db):
        setattr(client, field, value)


def test_foreign_keys_are_enforced(db: SQLAlchemy, make_client: Builder) -> None:
    client = make_client()
    with refused(db):
        client.site_id = 987654


def test_identities_live_apart_and_go_with_the_client(db: SQLAlchemy, make_client: Builder) -> None:
    client = make_client()
    db.session.add(ClientIdentity(client_id=client.id, given_name="Ann", date_of_birth=None))
    db.session.flush()
    db.session.execute(delete(Client).where(Client.id == client.id))
    assert db.session.scalar(select(func.count()).select_from(ClientIdentity)) == 0


@pytest.mark.parametrize("key", ["T0", "3m", "t-3", "", "t 3"])
def test_timepoint_keys_have_the_key_format(db: SQLAlchemy, make_timepoint: Builder, key: str) -> None:
    timepoint = make_timepoint()
    with refused(db):
        timepoint.key = key


def test_timepoint_offsets_and_windows_are_not_negative(db: SQLAlchemy, make_timepoint: Builder) -> None:
    for field in ("offset_days", "window_before_days", "window_after_days"):
        timepoint = make_timepoint(key="t3m_ok")
        with refused(db):
            setattr(timepoint, field, -1)
        db.session.delete(timepoint)
        db.session.flush()
    timepoint = make_timepoint(key="t12m", offset_days=365)
    assert db.session.get(Timepoint, timepoint.id) is not None


# ---------------------------------------------------------------- append-only tables
def test_questionnaire_versions_are_immutable(db: SQLAlchemy, make_questionnaire_version: Builder) -> None:
    version = make_questionnaire_version()
    db.session.commit()  # releases the test's savepoint; the outer transaction still rolls back
    with refused(db):
        version.title = "Changed"
    _raw_refused(db, "UPDATE questionnaire_versions SET source_yaml = 'x' WHERE id = :id", id=version.id)
    _raw_refused(db, "DELETE FROM questionnaire_versions WHERE id = :id", id=version.id)
    assert db.session.get(QuestionnaireVersion, version.id) is not None


def test_questionnaire_versions_are_unique_per_key_and_version(
    db: SQLAlchemy, make_questionnaire_version: Builder
) -> None:
    make_questionnaire_version("who5", 1)
    with pytest.raises(IntegrityError):
        savepoint = db.session.begin_nested()
        try:
            make_questionnaire_version("who5", 1)
        finally:
            savepoint.rollback()
    make_questionnaire_version("who5", 2)


def test_audit_events_are_append_only(db: SQLAlchemy) -> None:
    event = record_event(db.session, "test.event", details={"count": 1})
    _raw_refused(db, "UPDATE audit_events SET action = 'x.y' WHERE id = :id", id=event.id)
    _raw_refused(db, "DELETE FROM audit_events WHERE id = :id", id=event.id)
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.execute(update(AuditEvent).values(ip="10.0.0.1"))
    savepoint.rollback()


# ---------------------------------------------------------------- time
def test_timestamps_come_back_aware_in_utc(db: SQLAlchemy, make_staff: Builder) -> None:
    brussels = timezone(timedelta(hours=2))
    moment = datetime(2026, 6, 1, 14, 30, 15, 123456, tzinfo=brussels)
    user = make_staff(last_login_at=moment)
    db.session.expire_all()
    stored = db.session.get(StaffUser, user.id)
    assert stored is not None and stored.last_login_at is not None
    assert stored.last_login_at == moment
    assert stored.last_login_at.utcoffset() == timedelta(0)
    assert stored.created_at.tzinfo is not None


def test_naive_timestamps_are_refused(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    user.last_login_at = datetime(2026, 6, 1, 12, 0)  # naive on purpose
    with pytest.raises(Exception, match="naive datetime"):
        db.session.flush()
    db.session.rollback()
