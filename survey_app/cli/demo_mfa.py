"""The demo's second factor: each demo account gets an authenticator secret; the notes say how to use it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models.people import StaffUser
from survey_app.models.security import StaffMfa
from survey_app.services import mfa


def enrol_demo_accounts(emails: list[str], credentials_file: Path) -> None:
    """Link an authenticator secret to each demo account that has none; add the second step to the notes."""
    users = db.session.scalars(
        select(StaffUser).where(StaffUser.email.in_(emails)).order_by(StaffUser.email)
    ).all()
    for user in users:
        if not user.totp_secret:
            user.totp_secret = mfa.new_totp_secret()
            db.session.add(StaffMfa(staff_user_id=user.id, last_totp_step=0))
    db.session.commit()
    lines = [
        "",
        "Second step: every demo account has an authenticator already. Print the current 6-digit code with",
        "  .venv/bin/flask --app wsgi users totp-code counsellor@demo.example.org",
        "or add the account's key below to an authenticator app on your phone:",
        *(f"  {user.email:<40} {user.totp_secret}" for user in users),
    ]
    with credentials_file.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
