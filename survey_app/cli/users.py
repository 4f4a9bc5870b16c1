"""``flask users create|list|totp-code|reset-mfa``: staff accounts (passwords never as arguments)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models.people import ROLES, StaffUser
from survey_app.models.programme import Organisation
from survey_app.services import accounts, mfa

users_cli = AppGroup("users", help="Create and list staff accounts; manage their second factor.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("--password-stdin given but standard input is empty")
        return line.rstrip("\r\n")
    return str(
        click.prompt(
            f"Password ({accounts.MIN_PASSWORD_LENGTH}-{accounts.MAX_PASSWORD_LENGTH} characters, "
            f"{accounts.RECOMMENDED_PASSWORD_LENGTH}+ recommended)",
            hide_input=True,
            confirmation_prompt=True,
        )
    )


def _organisation(name: str | None) -> tuple[Organisation, bool]:
    if name:
        return accounts.find_or_create_organisation(db.session, name)
    existing = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    if len(existing) == 1:
        return existing[0], False
    if not existing:
        return accounts.find_or_create_organisation(db.session, "Default organisation")
    names = ", ".join(org.name for org in existing)
    raise click.UsageError(f"several organisations exist ({names}); choose one with --organisation")


@users_cli.command("create")
@click.option("--email", required=True, help="Sign-in email (stored lower-case).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the account may do.")
@click.option("--name", "display_name", help="Name shown in the app (default: the part before @).")
@click.option("--organisation", help="Organisation name; created if it does not exist yet.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def create_user(
    email: str, role: str, display_name: str | None, organisation: str | None, password_stdin: bool
) -> None:
    """Create a staff account; the password is prompted for (or read from stdin), never an argument."""
    password = _read_password(password_stdin)
    try:
        org, created = _organisation(organisation)
        user = accounts.create_staff_user(
            db.session,
            organisation=org,
            email=email,
            password=password,
            role=role,
            display_name=display_name,
        )
        db.session.commit()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    if created:
        click.echo(f"Created organisation {org.name!r}.")
    click.echo(f"Created {user.role} {user.email} (id {user.id}) in {org.name!r}.")


@users_cli.command("list")
def list_users() -> None:
    """List staff accounts: id, email, role, organisation, active, last sign-in."""
    users = accounts.list_staff_users(db.session)
    if not users:
        click.echo(
            "No staff accounts yet. Create one with: flask --app wsgi users create --email ... --role admin"
        )
        return
    org_names = dict(db.session.execute(select(Organisation.id, Organisation.name)).tuples().all())
    width = max([12, *(len(name) for name in org_names.values())])
    click.echo(f"{'id':>5}  {'email':<40} {'role':<14} {'organisation':<{width}} {'active':<6} last sign-in")
    for user in users:
        organisation = org_names.get(user.organisation_id, "?")
        active = "yes" if user.is_active else "no"
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "never"
        click.echo(
            f"{user.id:>5}  {user.email:<40} {user.role:<14} {organisation:<{width}} {active:<6} {last}"
        )


def _user(email: str) -> StaffUser:
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == accounts.normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No staff account with email {accounts.normalise_email(email)}.")
    return user


@users_cli.command("totp-code")
@click.argument("email")
def totp_code(email: str) -> None:
    """Print the current sign-in code of an enrolled account (development and demo only, not production)."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException(
            "totp-code is not available in production: codes come from the staff member's app."
        )
    user = _user(email)
    if not user.totp_secret:
        raise click.ClickException(
            f"{user.email} has no authenticator yet: sign in once and follow the set-up page."
        )
    click.echo(mfa.current_code(user.totp_secret))


@users_cli.command("reset-mfa")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_mfa(email: str, yes: bool) -> None:
    """Unlink a staff member's authenticator and recovery codes (lost phone); they enrol again at sign-in."""
    user = _user(email)
    if not yes:
        click.confirm(f"Unlink the authenticator of {user.email} and sign them out everywhere?", abort=True)
    mfa.reset_mfa(db.session, user)
    db.session.commit()
    click.echo(f"{user.email}: authenticator unlinked; they set up a new one at their next sign-in.")
