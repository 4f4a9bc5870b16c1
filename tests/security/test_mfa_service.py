"""TOTP enrolment and checks: codes work once per time step, recovery codes once each, only hashes stored."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.extensions import db as _db
from survey_app.models import AuditEvent, StaffMfa, StaffRecoveryCode, StaffSession, StaffUser
from survey_app.services import accounts, mfa
from tests.conftest import dispose_engines, make_app, staff_password_hash

Builder = Callable[..., Any]
NOW = datetime(2026, 5, 4, 10, 0, 15, tzinfo=UTC)
FIXED_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _code(secret: str, when: datetime) -> str:
    return mfa.current_code(secret, when)


def test_enrolment_needs_a_code_from_the_new_secret(db: SQLAlchemy, make_staff: Builder) -> None:
    user = make_staff()
    assert len(pyotp.TOTP(mfa.new_totp_secret()).byte_secret()) == 20  # 160 random bits
    secret = FIXED_SECRET
    stale = _code(secret, NOW - timedelta(minutes=10))
    assert mfa.confirm_enrolment(db.session, user, secret, stale, now=NOW) is None
    assert not mfa.is_enrolled(user)
    codes = mfa.confirm_enrolment(db.session, user, secret, _code(secret, NOW), now=NOW)
    assert codes is not None and len(codes) == mfa.RECOVERY_CODE_COUNT
    assert mfa.is_enrolled(user) and user.totp_secret == secret
    # The code that confirmed enrolment cannot sign in afterwards.
    assert mfa.verify_second_factor(db.session, user, _code(secret, NOW), now=NOW).outcome == "replayed"


def test_a_time_step_is_accepted_once_and_never_an_older_one(
    db: SQLAlchemy, make_staff: Builder, enrol_totp: Builder
) -> None:
    user = make_staff()
    secret = enrol_totp(user)
    assert mfa.verify_second_factor(db.session, user, _code(secret, NOW), now=NOW).outcome == "totp"
    assert mfa.verify_second_factor(db.session, user, _code(secret, NOW), now=NOW).outcome == "replayed"
    earlier = NOW - timedelta(seconds=30)  # still inside the drift window, but older than the used step
    assert mfa.verify_second_factor(db.session, user, _code(secret, earlier), now=NOW).outcome == "replayed"
    later = NOW + timedelta(seconds=30)
    assert mfa.verify_second_factor(db.session, user, _code(secret, later), now=later).outcome == "totp"


def test_codes_outside_the_drift_window_and_malformed_codes_are_wrong(
    db: SQLAlchemy, make_staff: Builder, enrol_totp: Builder
) -> None:
    user = make_staff()
    secret = enrol_totp(user)
    for code in (
        _code(secret, NOW - timedelta(minutes=2)),
        "12345",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        "abcdef",
        "",
        "9" * 64,
    ):
        assert mfa.verify_second_factor(db.session, user, code, now=NOW).outcome == "wrong", code
    assert mfa.verify_second_factor(db.session, user, _code(secret, NOW - timedelta(seconds=30)), now=NOW).ok


def test_recovery_codes_work_once_and_only_their_hashes_are_stored(
    db: SQLAlchemy, make_staff: Builder, enrol_totp: Builder
) -> None:
    user = make_staff()
    enrol_totp(user)
    codes = mfa.replace_recovery_codes(db.session, user)
    stored = db.session.scalars(
        select(StaffRecoveryCode.code_hash).where(StaffRecoveryCode.staff_user_id == user.id)
    )
    assert not set(codes) & set(stored)
    assert all(len(code.replace("-", "")) == 24 for code in codes)  # 24 x 5 bits = 120 bits
    typed = codes[0].lower().replace("-", " ")  # people type it any way
    result = mfa.verify_second_factor(db.session, user, typed, now=NOW)
    assert result.outcome == "recovery_code" and result.recovery_codes_left == 9
    assert mfa.verify_second_factor(db.session, user, codes[0], now=NOW).outcome == "wrong"
    assert mfa.remaining_recovery_codes(db.session, user) == 9
    fresh = mfa.replace_recovery_codes(db.session, user)
    assert mfa.verify_second_factor(db.session, user, codes[1], now=NOW).outcome == "wrong"
    assert mfa.verify_second_factor(db.session, user, fresh[1], now=NOW).ok


def test_reset_unlinks_the_authenticator_and_signs_out_everywhere(
    db: SQLAlchemy, make_staff: Builder, enrol_totp: Builder
) -> None:
    user = make_staff()
    enrol_totp(user)
    mfa.replace_recovery_codes(db.session, user)
    accounts.start_staff_session(db.session, user)
    mfa.reset_mfa(db.session, user)
    assert not mfa.is_enrolled(user)
    assert mfa.remaining_recovery_codes(db.session, user) == 0
    assert db.session.get(StaffMfa, user.id) is None
    sessions = db.session.scalars(select(StaffSession).where(StaffSession.staff_user_id == user.id)).all()
    assert sessions and all(row.revoked_at is not None for row in sessions)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).all()
    assert "mfa.reset" in actions


# ---------------------------------------------------------------- two workers, one code
@pytest.fixture
def enrolled_app(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, int, str]]:
    """An app on its own database with one enrolled staff member (committed)."""
    app = make_app(fresh_database_url, tmp_path / "instance")
    with app.app_context():
        _db.create_all()
        organisation_id = accounts.find_or_create_organisation(_db.session, "Race")[0].id
        secret = mfa.new_totp_secret()
        user = StaffUser(
            organisation_id=organisation_id,
            email="race@example.org",
            display_name="Race",
            password_hash=staff_password_hash(),
            role="counsellor",
            totp_secret=secret,
        )
        _db.session.add(user)
        _db.session.flush()
        _db.session.add(StaffMfa(staff_user_id=user.id, last_totp_step=0))
        _db.session.commit()
        user_id = user.id
    yield app, user_id, secret
    dispose_engines(app)


def test_the_same_code_sent_to_two_workers_at_once_signs_in_only_once(
    enrolled_app: tuple[Flask, int, str],
) -> None:
    app, user_id, secret = enrolled_app
    code = mfa.current_code(secret)
    outcomes: list[str] = []
    barrier = threading.Barrier(4, timeout=30)

    def worker() -> None:
        barrier.wait()
        with app.app_context():
            user = _db.session.get(StaffUser, user_id)
            assert user is not None
            outcomes.append(mfa.verify_second_factor(_db.session, user, code).outcome)
            _db.session.commit()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["replayed", "replayed", "replayed", "totp"]
