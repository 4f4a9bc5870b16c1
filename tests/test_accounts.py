"""Staff accounts: argon2id hashes, password rules, lockout, sign-in sessions (service level)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AuditEvent, StaffSession, StaffUser
from survey_app.services import accounts
from tests.conftest import STAFF_PASSWORD

Builder = Callable[..., Any]
IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=12)


def _events(db: SQLAlchemy, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def test_hashes_are_argon2id_with_owasp_parameters() -> None:
    hashed = accounts.hash_password("a long enough passphrase")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert accounts.verify_password(hashed, "a long enough passphrase")
    assert not accounts.verify_password(hashed, "a long enough passphrasE")
    assert not accounts.verify_password("not-a-hash", "anything")


@pytest.mark.parametrize(
    ("password", "ok"),
    [("1234567", False), ("a7Kq93xv", True), ("lowercase only", True), ("é" * 64, True), ("x" * 65, False)],
)
def test_passwords_need_8_to_64_characters_and_no_composition(password: str, ok: bool) -> None:
    if ok:
        accounts.check_password_policy(password)
    else:
        with pytest.raises(accounts.PasswordPolicyError):
            accounts.check_password_policy(password)


def test_weak_old_hashes_are_replaced_at_sign_in(db: SQLAlchemy, make_staff: Builder) -> None:
    old_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(STAFF_PASSWORD)
    user = make_staff()
    user.password_hash = old_hash
    db.session.flush()
    result = accounts.authenticate(db.session, user.email, STAFF_PASSWORD)
    assert result.ok
    assert user.password_hash != old_hash
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert accounts.verify_password(user.password_hash, STAFF_PASSWORD)


def test_sign_in_matches_email_case_insensitively(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff(email="ann@example.org")
    assert accounts.authenticate(db.session, "  Ann@Example.ORG ", STAFF_PASSWORD).user is user


def test_ten_failures_lock_the_account_for_fifteen_minutes(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for attempt in range(1, 10):
        assert (
            accounts.authenticate(db.session, user.email, "wrong password", now=start).outcome
            == "wrong_credentials"
        )
        assert user.failed_login_count == attempt
        assert user.locked_until is None
    accounts.authenticate(db.session, user.email, "wrong password", now=start)
    assert user.locked_until == start + timedelta(minutes=15)
    # Locked: even the right password is refused, with the same outcome a caller shows as "wrong".
    assert (
        accounts.authenticate(
            db.session, user.email, STAFF_PASSWORD, now=start + timedelta(minutes=14)
        ).outcome
        == "locked"
    )
    after = accounts.authenticate(
        db.session, user.email, STAFF_PASSWORD, now=start + timedelta(minutes=15, seconds=1)
    )
    assert after.ok
    assert user.failed_login_count == 0 and user.locked_until is None
    assert len(_events(db, "auth.locked_out")) == 1


def test_only_a_complete_sign_in_resets_the_failure_count(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    for _ in range(3):
        accounts.authenticate(db.session, user.email, "nope nope nope")
    assert accounts.authenticate(db.session, user.email, STAFF_PASSWORD).ok
    assert user.failed_login_count == 3  # the right password alone buys no fresh guesses at the second factor
    assert user.last_login_at is None
    accounts.complete_sign_in(db.session, user, second_factor="totp")
    assert user.failed_login_count == 0
    assert user.last_login_at is not None
    assert [event.details for event in _events(db, "auth.sign_in")] == [{"second_factor": "totp"}]


def test_inactive_staff_cannot_sign_in(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff(is_active=False)
    assert accounts.authenticate(db.session, user.email, STAFF_PASSWORD).outcome == "inactive"


def test_failed_sign_ins_are_audited_without_the_email_or_password(
    db: SQLAlchemy, make_staff: Builder
) -> None:
    user = make_staff()
    accounts.authenticate(db.session, "nobody@example.org", "secret-password-1", ip="10.1.2.3")
    accounts.authenticate(db.session, user.email, "secret-password-2")
    unknown, known = _events(db, "auth.sign_in_failed")
    assert unknown.actor_id is None and unknown.ip == "10.1.2.3"
    assert unknown.details["reason"] == "unknown_email"
    assert len(unknown.details["email_sha256_16"]) == 16
    assert known.actor_id == user.id and known.details == {"reason": "wrong_password", "failed_count": 1}
    for event in (unknown, known):
        flat = repr(event.details)
        assert "@" not in flat and "secret-password" not in flat


def test_sessions_store_only_a_hash_of_the_token(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="x" * 400)
    row = db.session.scalar(select(StaffSession).where(StaffSession.staff_user_id == user.id))
    assert row is not None
    assert len(token) >= 43  # 256 bits, URL-safe base64
    assert row.token_hash == accounts.token_hash(token) != token
    assert row.user_agent is not None and len(row.user_agent) == 255
    assert user.get_id() == token


def test_sessions_expire_when_idle_or_too_old_and_when_revoked(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    token = accounts.start_staff_session(db.session, user, now=start)

    def lookup(at: datetime) -> StaffUser | None:
        found = accounts.load_staff_session(
            db.session, token, idle_timeout=IDLE, absolute_timeout=ABSOLUTE, now=at
        )
        return found.user if found else None

    assert lookup(start + timedelta(minutes=29)) is user
    assert lookup(start + timedelta(minutes=29 + 31)) is None  # idle for 31 minutes since last seen
    # Kept alive by activity, it still ends 12 hours after sign-in.
    moment = start
    while moment < start + timedelta(hours=11, minutes=50):
        moment += timedelta(minutes=20)
        assert lookup(moment) is user
    assert lookup(start + timedelta(hours=12, minutes=1)) is None
    accounts.revoke_staff_session(db.session, token)
    assert lookup(start + timedelta(hours=1)) is None


def test_last_seen_is_written_at_most_once_a_minute(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    token = accounts.start_staff_session(db.session, user, now=start)
    soon = accounts.load_staff_session(
        db.session, token, idle_timeout=IDLE, absolute_timeout=ABSOLUTE, now=start + timedelta(seconds=50)
    )
    later = accounts.load_staff_session(
        db.session, token, idle_timeout=IDLE, absolute_timeout=ABSOLUTE, now=start + timedelta(seconds=61)
    )
    assert soon is not None and not soon.touched
    assert later is not None and later.touched
    assert later.staff_session.last_seen_at == start + timedelta(seconds=61)


def test_inactive_users_lose_their_sessions(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    token = accounts.start_staff_session(db.session, user)
    user.is_active = False
    db.session.flush()
    assert (
        accounts.load_staff_session(db.session, token, idle_timeout=IDLE, absolute_timeout=ABSOLUTE) is None
    )


def test_revoke_all_ends_every_session_and_bumps_the_version(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    tokens = [accounts.start_staff_session(db.session, user) for _ in range(3)]
    assert accounts.revoke_all_staff_sessions(db.session, user) == 3
    assert user.session_version == 2
    for token in tokens:
        assert (
            accounts.load_staff_session(db.session, token, idle_timeout=IDLE, absolute_timeout=ABSOLUTE)
            is None
        )


def test_create_staff_user_checks_role_email_and_password(db: SQLAlchemy, make_organisation: Builder) -> None:
    organisation = make_organisation()
    user = accounts.create_staff_user(
        db.session,
        organisation=organisation,
        email=" New@Example.org ",
        password="fifteen chars ok",
        role="researcher",
    )
    assert user.email == "new@example.org" and user.display_name == "new"
    assert _events(db, "staff.create")[0].details == {
        "role": "researcher",
        "organisation_id": organisation.id,
    }
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_staff_user(
            db.session,
            organisation=organisation,
            email="new@example.org",
            password="fifteen chars ok",
            role="admin",
        )
    with pytest.raises(accounts.AccountError, match="Unknown role"):
        accounts.create_staff_user(
            db.session,
            organisation=organisation,
            email="x@example.org",
            password="fifteen chars ok",
            role="root",
        )
    with pytest.raises(accounts.PasswordPolicyError):
        accounts.create_staff_user(
            db.session, organisation=organisation, email="y@example.org", password="short", role="admin"
        )
