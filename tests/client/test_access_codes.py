"""One-time codes and links: entropy, hashing, single use, expiry, revocation and the shared rate limit."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import AssessmentSession, ClientAccessCode, ClientCodeAttempt
from survey_app.models.base import utcnow
from survey_app.services.access_codes import (
    ATTEMPT_WINDOW,
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_LIFETIME,
    MAX_FAILED_ATTEMPTS,
    MAX_FAILED_ATTEMPTS_PER_ADDRESS,
    IssuedCode,
    failed_attempts,
    issue_code,
    normalise_code,
    redeem,
)
from survey_app.services.client_access import start_or_resume
from tests.client.support import TabletWorld

SECRET = "s" * 64
Issue = Callable[..., IssuedCode]
IP = "203.0.113.7"
PHONE = "phone-mark-1"


@pytest.fixture
def session_row(db: SQLAlchemy, world: TabletWorld) -> AssessmentSession:
    return start_or_resume(
        db.session, world.client, world.timepoints[0], mode="own_device", staff=world.counsellor
    )


@pytest.fixture
def issue(db: SQLAlchemy, world: TabletWorld, session_row: AssessmentSession) -> Issue:
    return lambda **kw: issue_code(db.session, session_row, secret=SECRET, staff=world.counsellor, **kw)


def test_a_code_has_at_least_20_bits_and_is_stored_only_as_a_keyed_hash(db: SQLAlchemy, issue: Issue) -> None:
    assert CODE_LENGTH * math.log2(len(CODE_ALPHABET)) >= 40
    issued = issue()
    raw = issued.code.replace("-", "")
    assert len(raw) == CODE_LENGTH and set(raw) <= set(CODE_ALPHABET)
    assert len(issued.link_token) >= 32  # 192 random bits, URL-safe
    row = db.session.scalar(select(ClientAccessCode))
    assert (
        row is not None and raw not in (row.code_hash, row.link_hash) and issued.link_token != row.link_hash
    )
    assert row.expires_at - row.created_at == CODE_LIFETIME


def test_a_code_opens_its_session_once(db: SQLAlchemy, issue: Issue, session_row: AssessmentSession) -> None:
    issued = issue()
    typed = issued.code.lower().replace("-", " ")  # as a person types it
    first = redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code=typed)
    assert first.outcome == "ok" and first.assessment is session_row
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code=issued.code).outcome == "used"
    assert (
        redeem(db.session, secret=SECRET, ip=IP, device=PHONE, link_token=issued.link_token).outcome == "used"
    )


def test_the_link_works_once_too(db: SQLAlchemy, issue: Issue) -> None:
    issued = issue()
    assert (
        redeem(db.session, secret=SECRET, ip=IP, device=PHONE, link_token=issued.link_token).outcome == "ok"
    )
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code=issued.code).outcome == "used"


def test_codes_expire_and_a_new_code_revokes_the_old_one(db: SQLAlchemy, issue: Issue) -> None:
    old = issue()
    new = issue()
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code=old.code).outcome == "used"
    later = utcnow() + CODE_LIFETIME + timedelta(seconds=1)
    assert (
        redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code=new.code, now=later).outcome == "expired"
    )


def test_a_code_made_with_another_secret_or_a_wrong_code_does_not_open_anything(
    db: SQLAlchemy, issue: Issue
) -> None:
    issued = issue()
    assert redeem(db.session, secret="other" * 10, ip=IP, device=PHONE, code=issued.code).outcome == "wrong"
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code="ABCD-EFGH").outcome == "wrong"
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code="<script>").outcome == "wrong"
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, link_token="x" * 500).outcome == "wrong"


def test_a_finished_session_cannot_be_opened(
    db: SQLAlchemy, issue: Issue, session_row: AssessmentSession
) -> None:
    issued = issue()
    session_row.status, session_row.submitted_at = "submitted", utcnow()
    db.session.flush()
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code=issued.code).outcome == "closed"


def test_failed_attempts_block_the_browser_even_with_a_right_code_but_not_its_neighbours(
    db: SQLAlchemy, issue: Issue
) -> None:
    issued = issue()
    for _ in range(MAX_FAILED_ATTEMPTS):
        assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code="ZZZZ-ZZZZ").outcome == "wrong"
    assert failed_attempts(db.session, IP, PHONE) == (MAX_FAILED_ATTEMPTS, MAX_FAILED_ATTEMPTS)
    assert redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code=issued.code).outcome == "limited"
    # another phone on the same wifi (the same address) is not held up by the first one's mistakes
    assert redeem(db.session, secret=SECRET, ip=IP, device="phone-mark-2", code=issued.code).outcome == "ok"
    after_window = utcnow() + ATTEMPT_WINDOW + timedelta(seconds=1)
    assert failed_attempts(db.session, IP, PHONE, now=after_window) == (0, 0)


def test_many_failures_from_one_address_block_it_whatever_the_browser(db: SQLAlchemy, issue: Issue) -> None:
    issued = issue()
    for attempt in range(MAX_FAILED_ATTEMPTS_PER_ADDRESS):  # a guesser who drops the cookie every time
        outcome = redeem(
            db.session, secret=SECRET, ip=IP, device=f"fresh-{attempt}", code="ZZZZ-ZZZZ"
        ).outcome
        assert outcome == "wrong"
    assert redeem(db.session, secret=SECRET, ip=IP, device="honest", code=issued.code).outcome == "limited"
    assert (
        redeem(db.session, secret=SECRET, ip="198.51.100.1", device="honest", code=issued.code).outcome
        == "ok"
    )


def test_old_attempts_are_pruned(db: SQLAlchemy) -> None:
    db.session.add(ClientCodeAttempt(ip=IP, attempted_at=utcnow() - 5 * ATTEMPT_WINDOW))
    db.session.flush()
    redeem(db.session, secret=SECRET, ip=IP, device=PHONE, code="ZZZZ-ZZZZ")
    ages = db.session.scalars(select(ClientCodeAttempt.attempted_at)).all()
    assert len(ages) == 1 and utcnow() - ages[0] < ATTEMPT_WINDOW
    assert db.session.scalar(select(func.count()).select_from(ClientCodeAttempt)) == 1


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("abcd-efgh", "ABCDEFGH"),
        (" AB CD EF GH ", "ABCDEFGH"),
        ("ABCDEFG", None),
        ("ABCDEFG0", None),
        ("", None),
    ],
)
def test_typed_codes_are_normalised(typed: str, expected: str | None) -> None:
    assert normalise_code(typed) == expected
