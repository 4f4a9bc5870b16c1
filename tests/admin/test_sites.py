"""Sites and their settings, and the organisation's retention period, from the admin pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import func, select

from survey_app.models import AlertRecipient, AuditEvent, PrivacySettings, Site
from survey_app.services.site_admin import SiteSettings, SiteSettingsError, create_site, update_site
from tests.admin.conftest import AdminWorld

Builder = Callable[..., Any]


def _settings(**changes: Any) -> SiteSettings:
    values: dict[str, Any] = {
        "name": "Brugge", "default_language": "nl", "languages": ("nl", "fr"), "client_idle_minutes": None,
    }  # fmt: skip
    values.update(changes)
    return SiteSettings(**values)


def test_a_new_site_keeps_its_languages_in_a_fixed_order_and_is_audited(
    db: SQLAlchemy, world: AdminWorld
) -> None:
    site = create_site(
        db.session, world.admin, " brugge-1 ", _settings(languages=("fr", "nl"), client_idle_minutes=5)
    )
    assert (site.code, site.offered_languages, site.client_idle_minutes) == ("BRUGGE-1", ("nl", "fr"), 5)
    assert site.organisation_id == world.organisation.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "site.create"))
    assert event is not None and event.actor_id == world.admin.id and event.object_id == str(site.id)


@pytest.mark.parametrize(
    ("code", "changes", "field"),
    [
        ("B-2", {"name": ""}, "name"),
        ("B-2", {"name": "Gent Noord"}, "name"),  # the name of another site of the organisation
        ("B-2", {"languages": ()}, "languages"),
        ("B-2", {"languages": ("nl", "de")}, "languages"),
        ("B-2", {"default_language": "en"}, "default_language"),
        ("B-2", {"client_idle_minutes": 0}, "client_idle_minutes"),
        ("B-2", {"client_idle_minutes": 121}, "client_idle_minutes"),
        ("", {}, "code"),
        ("two words", {}, "code"),
        ("X" * 33, {}, "code"),
    ],
)
def test_bad_site_settings_are_refused_and_nothing_is_saved(
    db: SQLAlchemy, world: AdminWorld, code: str, changes: dict[str, Any], field: str
) -> None:
    before = db.session.scalar(select(func.count()).select_from(Site))
    with pytest.raises(SiteSettingsError) as refused:
        create_site(db.session, world.admin, code, _settings(**changes))
    assert refused.value.messages[0].field == field
    assert db.session.scalar(select(func.count()).select_from(Site)) == before


def test_a_site_code_is_unique_across_organisations(
    db: SQLAlchemy, world: AdminWorld, make_site: Builder
) -> None:
    make_site(code="TAKEN-1")
    with pytest.raises(SiteSettingsError, match="code already"):
        create_site(db.session, world.admin, "taken-1", _settings())


def test_changing_a_site_audits_what_changed_and_nothing_when_nothing_did(
    db: SQLAlchemy, world: AdminWorld
) -> None:
    site = world.site
    same = SiteSettings(site.name, site.default_language, site.offered_languages, site.client_idle_minutes)
    assert update_site(db.session, world.admin, site, same) == []
    changed = update_site(
        db.session, world.admin, site, _settings(name=site.name, languages=("nl",), client_idle_minutes=3)
    )
    assert changed == ["client_idle_minutes", "default_language", "languages"]
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "site.settings_change")))
    assert len(events) == 1
    assert events[0].details == {
        "default_language": "nl", "languages": "nl", "client_idle_minutes": 3, "renamed": False,
    }  # fmt: skip


def test_the_site_page_saves_settings_and_shows_who_receives_its_alerts(
    db: SQLAlchemy,
    client: FlaskClient,
    world: AdminWorld,
    post: Builder,
    text_of: Builder,
    make_staff: Builder,
) -> None:
    lead = make_staff(
        "site_lead", organisation=world.organisation, sites=[world.site], display_name="Lea Lead"
    )
    db.session.add(AlertRecipient(organisation_id=world.organisation.id, staff_user_id=lead.id,
                                  site_id=world.site.id, severities="all"))  # fmt: skip
    db.session.flush()
    page = f"/admin/sites/{world.site.id}"
    shown = text_of(client.get(page))
    assert "Lea Lead: all alerts" in shown and "Retention is set for the whole organisation" in shown
    response = post(page, {"name": "Gent Noord", "languages": ["nl", "fr"], "default_language": "fr",
                           "client_idle_minutes": "4"}, page=page)  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(world.site)
    assert (world.site.offered_languages, world.site.default_language, world.site.client_idle_minutes) == (
        ("nl", "fr"), "fr", 4
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Gent Noord", "default_language": "nl"}, "Offer one language at least."),
        (
            {"name": "Gent Noord", "languages": ["nl", "xx"], "default_language": "nl"},
            "Tick the boxes listed.",
        ),
        (
            {"name": "Gent Noord", "languages": ["fr"], "default_language": "nl"},
            "must be one of the languages",
        ),
        (
            {
                "name": "Gent Noord",
                "languages": ["nl"],
                "default_language": "nl",
                "client_idle_minutes": "999",
            },
            "Choose from 1 to 120 minutes",
        ),
        (
            {
                "name": "Gent Noord",
                "languages": ["nl"],
                "default_language": "nl",
                "client_idle_minutes": "soon",
            },
            "Not a valid integer value",
        ),
        ({"name": "", "languages": ["nl"], "default_language": "nl"}, "Give the site a name."),
        ({"name": "Gent Zuid", "languages": ["nl"], "default_language": "nl"}, "Another site"),
    ],
)
def test_the_site_page_says_what_is_wrong_and_saves_nothing(
    db: SQLAlchemy, world: AdminWorld, post: Builder, text_of: Builder, data: dict[str, Any], message: str
) -> None:
    page = f"/admin/sites/{world.site.id}"
    response = post(page, data, page=page)
    assert response.status_code == 422 and message in text_of(response)
    db.session.refresh(world.site)
    assert world.site.offered_languages == ("en", "nl", "fr") and world.site.name == "Gent Noord"


def test_adding_a_site_through_the_page(db: SQLAlchemy, world: AdminWorld, post: Builder) -> None:
    response = post("/admin/sites/new", {"code": "oost-1", "name": "Gent Oost", "languages": ["nl"],
                                          "default_language": "nl"}, page="/admin/sites/new")  # fmt: skip
    assert response.status_code == 302
    site = db.session.scalar(select(Site).where(Site.code == "OOST-1"))
    assert site is not None and site.organisation_id == world.organisation.id and site.languages == "nl"


def test_another_organisations_site_is_not_found(
    db: SQLAlchemy, client: FlaskClient, world: AdminWorld, make_site: Builder, post: Builder
) -> None:
    elsewhere = make_site(name="Elsewhere")
    assert client.get(f"/admin/sites/{elsewhere.id}").status_code == 404
    response = post(
        f"/admin/sites/{elsewhere.id}", {"name": "Mine now", "languages": ["nl"], "default_language": "nl"}
    )
    assert response.status_code == 404
    db.session.refresh(elsewhere)
    assert elsewhere.name == "Elsewhere"
    assert "Elsewhere" not in client.get("/admin/sites").get_data(as_text=True)


def test_retention_is_set_for_the_organisation(
    db: SQLAlchemy, world: AdminWorld, post: Builder, text_of: Builder
) -> None:
    refused = post("/admin/sites/retention", {"retention_months": "0"}, page="/admin/sites")
    assert refused.status_code == 422 and "Choose from 1 to 1200 months" in text_of(refused)
    assert db.session.get(PrivacySettings, world.organisation.id) is None
    saved = post("/admin/sites/retention", {"retention_months": "84", "research_legal_basis": "DPIA 2026-04"},
                 page="/admin/sites")  # fmt: skip
    assert saved.status_code == 302
    settings = db.session.get(PrivacySettings, world.organisation.id)
    assert settings is not None and (settings.retention_months, settings.research_legal_basis) == (
        84,
        "DPIA 2026-04",
    )
    assert settings.updated_by == world.admin.id
