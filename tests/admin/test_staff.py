"""Staff administration: invitations with one-time links, roles and sites, MFA resets, deactivation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import AuditEvent, StaffInvitation, StaffUser
from survey_app.models.base import utcnow
from survey_app.services import accounts, mfa
from survey_app.services.accounts import PasswordPolicyError
from survey_app.services.invitations import INVITATION_LIFETIME, InvitationError, accept_invitation
from survey_app.services.staff_admin import (
    PAGE_SIZE,
    StaffAdminError,
    change_access,
    deactivate_staff,
    invite_staff,
    renew_invitation,
    reset_second_factor,
    staff_member,
    staff_page,
)
from tests.admin.conftest import AdminWorld

Builder = Callable[..., Any]
GOOD_PASSWORD = "a quiet harbour at dawn"


def _invite(
    db: SQLAlchemy, world: AdminWorld, email: str = "new.counsellor@example.org", **fields: Any
) -> Any:
    values: dict[str, Any] = {
        "display_name": "Nieuwe Collega",
        "role": "counsellor",
        "site_ids": [world.site.id],
    }
    values.update(fields)
    return invite_staff(db.session, world.admin, email=email, **values)


def _actions(db: SQLAlchemy, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# ---------------------------------------------------------------- the service
def test_an_invitation_makes_the_account_and_a_single_use_link_kept_only_as_a_hash(
    db: SQLAlchemy, world: AdminWorld
) -> None:
    issued = _invite(db, world)
    user = issued.user
    assert (user.role, [site.id for site in user.sites], user.organisation_id) == (
        "counsellor", [world.site.id], world.organisation.id
    )  # fmt: skip
    assert len(issued.token) >= 43  # 32 random bytes, url-safe: 256 bits
    row = db.session.scalar(select(StaffInvitation).where(StaffInvitation.staff_user_id == user.id))
    assert row is not None and row.token_hash == accounts.token_hash(issued.token) != issued.token
    assert row.expires_at - row.created_at == INVITATION_LIFETIME
    assert not accounts.verify_password(user.password_hash, GOOD_PASSWORD)
    [event] = _actions(db, "staff.invite")
    assert (event.actor_id, event.object_id, event.details["role"]) == (
        world.admin.id,
        str(user.id),
        "counsellor",
    )


def test_the_link_sets_a_password_once(db: SQLAlchemy, world: AdminWorld) -> None:
    issued = _invite(db, world)
    user = accept_invitation(db.session, issued.token, GOOD_PASSWORD)
    assert accounts.authenticate(db.session, user.email, GOOD_PASSWORD).ok
    with pytest.raises(InvitationError):
        accept_invitation(db.session, issued.token, "another long passphrase")
    assert accounts.verify_password(user.password_hash, GOOD_PASSWORD)
    assert len(_actions(db, "staff.invitation_accept")) == 1


def test_the_password_policy_applies_and_a_refused_password_leaves_the_link_usable(
    db: SQLAlchemy, world: AdminWorld
) -> None:
    issued = _invite(db, world)
    for password, kind in (("short", "too_short"), ("password123", "breached"), ("x" * 65, "too_long")):
        with pytest.raises(PasswordPolicyError) as refused:
            accept_invitation(db.session, issued.token, password)
        assert refused.value.kind == kind
    assert accept_invitation(db.session, issued.token, GOOD_PASSWORD).id == issued.user.id


def test_an_expired_replaced_or_unknown_link_does_not_work(db: SQLAlchemy, world: AdminWorld) -> None:
    expired = _invite(db, world, email="late@example.org")
    with pytest.raises(InvitationError):
        accept_invitation(
            db.session, expired.token, GOOD_PASSWORD, now=utcnow() + INVITATION_LIFETIME + timedelta(1)
        )
    first = _invite(db, world, email="twice@example.org")
    second = renew_invitation(db.session, world.admin, first.user)
    with pytest.raises(InvitationError):
        accept_invitation(db.session, first.token, GOOD_PASSWORD)
    for token in ("", "x" * 500, "nope", "ünïcode"):
        with pytest.raises(InvitationError):
            accept_invitation(db.session, token, GOOD_PASSWORD)
    assert accept_invitation(db.session, second.token, GOOD_PASSWORD).email == "twice@example.org"


def test_a_deactivated_account_cannot_use_its_link(db: SQLAlchemy, world: AdminWorld) -> None:
    issued = _invite(db, world)
    deactivate_staff(db.session, world.admin, issued.user)
    with pytest.raises(InvitationError):
        accept_invitation(db.session, issued.token, GOOD_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"email": "@"}, "email"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 201}, "display_name"),
        ({"role": "superuser"}, "role"),
        ({"role": "counsellor", "site_ids": []}, "sites"),
        ({"role": "site_lead", "site_ids": [999_999]}, "sites"),
    ],
)
def test_bad_invitations_are_refused_and_nothing_is_saved(
    db: SQLAlchemy, world: AdminWorld, fields: dict[str, Any], field: str
) -> None:
    before = db.session.scalar(select(func.count()).select_from(StaffUser))
    with pytest.raises(StaffAdminError) as refused:
        _invite(db, world, **{"email": "x@example.org", **fields})
    assert refused.value.messages[0].field == field
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == before


def test_an_email_in_use_is_refused(db: SQLAlchemy, world: AdminWorld, make_staff: Builder) -> None:
    make_staff("researcher", email="taken@example.org")
    with pytest.raises(StaffAdminError, match="already"):
        _invite(db, world, email="Taken@Example.org ")


def test_sites_of_another_organisation_cannot_be_given(
    db: SQLAlchemy, world: AdminWorld, make_site: Builder, make_staff: Builder
) -> None:
    elsewhere = make_site()
    with pytest.raises(StaffAdminError):
        _invite(db, world, site_ids=[elsewhere.id])
    member = make_staff("counsellor", organisation=world.organisation, sites=[world.site])
    with pytest.raises(StaffAdminError):
        change_access(db.session, world.admin, member, role="counsellor", site_ids=[elsewhere.id])
    assert [site.id for site in member.sites] == [world.site.id]


def test_roles_and_sites_change_and_are_audited(
    db: SQLAlchemy, world: AdminWorld, make_staff: Builder
) -> None:
    member = make_staff("counsellor", organisation=world.organisation, sites=[world.site])
    assert change_access(db.session, world.admin, member, role="site_lead", site_ids=[world.other_site.id])
    assert (member.role, [site.id for site in member.sites]) == ("site_lead", [world.other_site.id])
    [event] = _actions(db, "staff.access_change")
    assert event.details == {
        "role_before": "counsellor", "role": "site_lead",
        "sites_added": [world.other_site.id], "sites_removed": [world.site.id],
    }  # fmt: skip
    assert not change_access(
        db.session, world.admin, member, role="site_lead", site_ids=[world.other_site.id]
    )
    assert len(_actions(db, "staff.access_change")) == 1


def test_an_admin_keeps_their_own_admin_role_and_account(db: SQLAlchemy, world: AdminWorld) -> None:
    with pytest.raises(StaffAdminError, match="own admin role"):
        change_access(db.session, world.admin, world.admin, role="counsellor", site_ids=[world.site.id])
    with pytest.raises(StaffAdminError, match="own account"):
        deactivate_staff(db.session, world.admin, world.admin)
    assert world.admin.role == "admin" and world.admin.is_active


def test_deactivating_ends_every_sign_in_session_at_once(
    db: SQLAlchemy, world: AdminWorld, make_staff: Builder
) -> None:
    member = make_staff("counsellor", organisation=world.organisation, sites=[world.site])
    tokens = [accounts.start_staff_session(db.session, member) for _ in range(2)]
    assert deactivate_staff(db.session, world.admin, member) == 2
    for token in tokens:
        lookup = accounts.load_staff_session(
            db.session, token, idle_timeout=timedelta(hours=1), absolute_timeout=timedelta(hours=12)
        )
        assert lookup is None
    assert not accounts.authenticate(db.session, member.email, "correct horse battery staple").ok
    [event] = _actions(db, "staff.deactivate")
    assert event.details == {"sessions_ended": 2}


def test_resetting_the_authenticator_unlinks_it_and_is_audited_with_the_admin(
    db: SQLAlchemy, world: AdminWorld, make_staff: Builder, enrol_totp: Callable[[StaffUser], str]
) -> None:
    member = make_staff("counsellor", organisation=world.organisation, sites=[world.site])
    enrol_totp(member)
    reset_second_factor(db.session, world.admin, member)
    assert not mfa.is_enrolled(member)
    [event] = _actions(db, "mfa.reset")
    assert (event.actor_type, event.actor_id) == ("staff", world.admin.id)
    with pytest.raises(StaffAdminError, match="no authenticator"):
        reset_second_factor(db.session, world.admin, member)


def test_staff_of_another_organisation_are_not_found(
    db: SQLAlchemy, world: AdminWorld, make_staff: Builder
) -> None:
    stranger = make_staff("counsellor")
    assert staff_member(db.session, world.organisation.id, stranger.id) is None
    assert staff_member(db.session, world.organisation.id, world.admin.id) is world.admin
    page = staff_page(db.session, world.organisation.id)
    assert stranger.id not in [row.user.id for row in page.rows]


def test_the_list_is_searchable_and_paginated(db: SQLAlchemy, world: AdminWorld, make_staff: Builder) -> None:
    for number in range(PAGE_SIZE + 5):
        make_staff("counsellor", organisation=world.organisation, display_name=f"Counsellor {number:02d}")
    make_staff("researcher", organisation=world.organisation, display_name="Rita 100%_ Research")
    first = staff_page(db.session, world.organisation.id)
    assert (first.total, first.pages, len(first.rows)) == (PAGE_SIZE + 7, 2, PAGE_SIZE)
    last = staff_page(db.session, world.organisation.id, page=99)
    assert last.page == 2 and len(last.rows) == 7
    assert [
        row.user.display_name for row in staff_page(db.session, world.organisation.id, query="rita").rows
    ] == ["Rita 100%_ Research"]
    assert staff_page(db.session, world.organisation.id, query="100%_").total == 1
    assert staff_page(db.session, world.organisation.id, query="%").total == 1  # a literal %, not a wildcard
    assert staff_page(db.session, world.organisation.id, query="researcher").total == 1
    invited = _invite(db, world, email="pending@example.org", display_name="Pending Person")
    [row] = staff_page(db.session, world.organisation.id, query="pending").rows
    assert (row.user.id, row.status) == (invited.user.id, "invited")


@pytest.mark.parametrize(
    ("language", "query"),
    [
        ("en", "site lead"),
        ("en", "Site_Lead"),
        ("nl", "sitecoördinator"),
        ("nl", "Sitecoördinator"),
        ("fr", "responsable de site"),
    ],
)
def test_the_list_finds_a_role_by_the_word_the_admin_sees_for_it(
    client: FlaskClient, world: AdminWorld, make_staff: Builder, text_of: Builder, language: str, query: str
) -> None:
    make_staff("site_lead", organisation=world.organisation, display_name="Lena Lead", sites=[world.site])
    make_staff("counsellor", organisation=world.organisation, display_name="Cas Counsel", sites=[world.site])
    response = client.get("/admin/staff", query_string={"q": query}, headers={"Accept-Language": language})
    shown = text_of(response)
    assert response.status_code == 200 and "Lena Lead" in shown and "Cas Counsel" not in shown


# ---------------------------------------------------------------- the pages
def _link_in(html: str) -> str:
    match = re.search(r'value="(http://[^"]+/auth/invite/[^"]+)"', html)
    assert match, "no invitation link on the page"
    return match.group(1)


def test_inviting_through_the_pages_then_the_link_sets_the_password_and_leads_to_the_authenticator(
    app: Any, db: SQLAlchemy, client: FlaskClient, world: AdminWorld, post: Builder, text_of: Builder
) -> None:
    response = post(
        "/admin/staff/invite",
        {"display_name": "Inge Invited", "email": "inge@example.org", "role": "counsellor",
         "sites": [str(world.site.id)]},
    )  # fmt: skip
    assert response.status_code == 200 and "Invitation link for Inge Invited" in text_of(response)
    link = _link_in(response.get_data(as_text=True))
    invitee = app.test_client()
    opened = invitee.get(link.removeprefix("http://localhost"))
    assert opened.status_code == 302 and opened.location == "/auth/invite"
    page = invitee.get("/auth/invite")
    assert "Welcome, Inge Invited" in text_of(page)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert token
    refused = invitee.post(
        "/auth/invite", data={"password": "short", "repeat": "short", "csrf_token": token[1]}
    )
    assert refused.status_code == 422 and "at least 8 characters" in text_of(refused)
    mismatch = invitee.post(
        "/auth/invite", data={"password": GOOD_PASSWORD, "repeat": "something else", "csrf_token": token[1]}
    )
    assert mismatch.status_code == 422 and "not the same" in text_of(mismatch)
    done = invitee.post("/auth/invite", data={"password": GOOD_PASSWORD, "repeat": GOOD_PASSWORD,
                                              "csrf_token": token[1]})  # fmt: skip
    assert done.status_code == 302 and done.location == "/auth/enrol"
    assert "Set up your second step" in text_of(invitee.get("/auth/enrol"))
    again = app.test_client()
    again.get(link.removeprefix("http://localhost"))
    assert again.get("/auth/invite").status_code == 404


def test_a_bad_invitation_form_says_what_is_wrong_and_saves_nothing(
    db: SQLAlchemy, world: AdminWorld, post: Builder, text_of: Builder
) -> None:
    before = db.session.scalar(select(func.count()).select_from(StaffUser))
    cases = [
        ({"display_name": "", "email": "a@example.org", "role": "counsellor"}, "Type their name."),
        ({"display_name": "A", "email": "", "role": "counsellor"}, "Type their email address."),
        ({"display_name": "A", "email": "a@example.org", "role": "counsellor"}, "one site at least"),
        ({"display_name": "A", "email": world.admin.email, "role": "admin"}, "has an account already"),
        ({"display_name": "A", "email": "a@example.org", "role": "root"}, "Choose one of the roles listed."),
        (
            {"display_name": "A", "email": "a@example.org", "role": "counsellor", "sites": "abc"},
            "Tick the boxes",
        ),
        (
            {"display_name": "A", "email": "a@example.org", "role": "counsellor", "sites": "999999"},
            "Tick the boxes",
        ),
    ]
    for data, message in cases:
        response = post("/admin/staff/invite", data)
        assert response.status_code == 422, data
        assert message in text_of(response), (data, text_of(response)[:400])
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == before


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Pending Person has an account already with this email address. Find them in the staff list"),
        ("nl", "Pending Person heeft al een account met dit e-mailadres. Zoek deze persoon in de lijst"),
        ("fr", "Pending Person a déjà un compte avec cette adresse e-mail. Retrouvez cette personne dans"),
    ],
)
def test_inviting_the_same_person_twice_says_where_to_find_them(
    db: SQLAlchemy, world: AdminWorld, post: Builder, text_of: Builder, language: str, expected: str
) -> None:
    data = {"display_name": "Pending Person", "email": "pending@example.org", "role": "admin"}
    first = post("/admin/staff/invite", data)
    assert first.status_code == 200 and "/auth/invite/" in first.get_data(as_text=True)
    again = post("/admin/staff/invite", data, headers={"Accept-Language": language})  # pressed twice
    shown = text_of(again)
    assert again.status_code == 422 and expected in shown, shown
    count = select(func.count()).select_from(StaffUser).where(StaffUser.email == "pending@example.org")
    assert db.session.scalar(count) == 1


def test_a_deactivated_staff_member_is_signed_out_at_their_next_request(
    db: SQLAlchemy, world: AdminWorld, make_staff: Builder, post: Builder, other_browser: Builder
) -> None:
    member = make_staff("counsellor", organisation=world.organisation, sites=[world.site])
    browser = other_browser(member)
    assert browser.get("/").status_code == 200
    response = post(f"/admin/staff/{member.id}/deactivate")
    assert response.status_code == 302
    assert browser.get("/").location.startswith("/auth/sign-in")


def test_another_organisations_staff_cannot_be_reached_or_changed(
    db: SQLAlchemy, client: FlaskClient, world: AdminWorld, make_staff: Builder, post: Builder
) -> None:
    stranger = make_staff("counsellor")
    assert client.get(f"/admin/staff/{stranger.id}").status_code == 404
    for action in ("deactivate", "reactivate", "reset-mfa", "invitation"):
        assert post(f"/admin/staff/{stranger.id}/{action}").status_code == 404
    assert post(f"/admin/staff/{stranger.id}", {"role": "admin"}).status_code == 404
    db.session.refresh(stranger)
    assert stranger.is_active and stranger.role == "counsellor"
    assert client.get("/admin/staff/999999").status_code == 404


def test_the_member_page_refuses_clearly(
    db: SQLAlchemy, world: AdminWorld, post: Builder, text_of: Builder, make_staff: Builder
) -> None:
    page = f"/admin/staff/{world.admin.id}"
    response = post(page, {"role": "counsellor", "sites": [str(world.site.id)]}, page=page)
    assert response.status_code == 422 and "cannot take away your own admin role" in text_of(response)
    response = post(f"{page}/deactivate", page=page)
    assert response.status_code == 422 and "cannot deactivate your own account" in text_of(response)
    member = make_staff("counsellor", organisation=world.organisation, sites=[world.site])
    assert post(f"/admin/staff/{member.id}/invitation").status_code == 422  # made on the command line
    saved = post(f"/admin/staff/{member.id}", {"role": "site_lead", "sites": [str(world.other_site.id)]})
    assert saved.status_code == 302
    db.session.refresh(member)
    assert member.role == "site_lead"
