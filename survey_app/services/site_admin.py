"""Sites and their own settings: the languages offered on their tablets, the default one, the idle timeout.

Retention stays an organisation setting (``services.retention``) and alert routing has its own page
(``services.alerts``); the site pages show both for the site. Every change is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from survey_app.db import DbSession
from survey_app.models.base import LANGUAGES
from survey_app.models.people import Client, StaffUser
from survey_app.models.programme import Site
from survey_app.services.audit import record_staff_event
from survey_app.services.user_messages import N_, UserFacingError

__all__ = [
    "IDLE_MINUTES_MAX",
    "SiteSettings",
    "SiteSettingsError",
    "create_site",
    "site_client_count",
    "site_of_organisation",
    "update_site",
]

IDLE_MINUTES_MAX = 120
_SITE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")


class SiteSettingsError(UserFacingError):
    """A site setting that cannot be saved as asked."""


@dataclass(frozen=True)
class SiteSettings:
    """What an admin sets for a site."""

    name: str
    default_language: str
    languages: tuple[str, ...]
    client_idle_minutes: int | None


def site_of_organisation(session: DbSession, organisation_id: int, site_id: int) -> Site | None:
    """A site of the organisation (None for any other, exactly as for one that does not exist)."""
    site = session.get(Site, site_id)
    return site if site is not None and site.organisation_id == organisation_id else None


def site_client_count(session: DbSession, site: Site) -> int:
    """How many clients the site has."""
    return int(session.scalar(select(func.count()).select_from(Client).where(Client.site_id == site.id)) or 0)


def _checked(
    session: DbSession, organisation_id: int, settings: SiteSettings, site_id: int | None
) -> SiteSettings:
    name = " ".join(settings.name.split())
    if not 1 <= len(name) <= 200:
        raise SiteSettingsError(N_("Give the site a name (200 characters at most)."), field="name")
    same_name = select(Site.id).where(Site.organisation_id == organisation_id, Site.name == name)
    if site_id is not None:
        same_name = same_name.where(Site.id != site_id)
    if session.scalar(same_name) is not None:
        raise SiteSettingsError(N_("Another site of your organisation has this name."), field="name")
    if not settings.languages or not set(settings.languages) <= set(LANGUAGES):
        raise SiteSettingsError(N_("Offer one language at least."), field="languages")
    if settings.default_language not in settings.languages:
        raise SiteSettingsError(
            N_("The default language must be one of the languages offered."), field="default_language"
        )
    minutes = settings.client_idle_minutes
    if minutes is not None and not 1 <= minutes <= IDLE_MINUTES_MAX:
        raise SiteSettingsError(
            N_("Choose from 1 to %(max)s minutes, or leave it empty for the default."),
            field="client_idle_minutes",
            max=IDLE_MINUTES_MAX,
        )
    languages = tuple(code for code in LANGUAGES if code in settings.languages)
    return SiteSettings(name, settings.default_language, languages, minutes)


def _apply(site: Site, settings: SiteSettings) -> dict[str, object]:
    wanted: dict[str, object] = {
        "name": settings.name,
        "default_language": settings.default_language,
        "languages": ",".join(settings.languages),
        "client_idle_minutes": settings.client_idle_minutes,
    }
    changed = {field: value for field, value in wanted.items() if getattr(site, field) != value}
    for field, value in changed.items():
        setattr(site, field, value)
    return changed


def create_site(
    session: DbSession, admin: StaffUser, code: str, settings: SiteSettings, *, ip: str | None = None
) -> Site:
    """Add a site to the admin's organisation."""
    clean_code = code.strip().upper()
    if not _SITE_CODE.match(clean_code):
        raise SiteSettingsError(
            N_("A site code has 1 to 32 letters, digits or dashes, such as GENT-1."), field="code"
        )
    if session.scalar(select(Site.id).where(Site.code == clean_code)) is not None:
        raise SiteSettingsError(N_("Another site has this code already."), field="code")
    checked = _checked(session, admin.organisation_id, settings, None)
    site = Site(organisation_id=admin.organisation_id, code=clean_code, name=checked.name)
    _apply(site, checked)
    session.add(site)
    session.flush()
    _audit(session, "site.create", admin, site, ip, code=clean_code)
    return site


def update_site(
    session: DbSession, admin: StaffUser, site: Site, settings: SiteSettings, *, ip: str | None = None
) -> list[str]:
    """Save a site's settings; returns the settings that changed (nothing is audited when none did)."""
    checked = _checked(session, admin.organisation_id, settings, site.id)
    changed = _apply(site, checked)
    if changed:
        session.flush()
        _audit(session, "site.settings_change", admin, site, ip, **{
            field: value for field, value in changed.items() if field != "name"
        }, renamed="name" in changed)  # fmt: skip
    return sorted(changed)


def _audit(
    session: DbSession, action: str, admin: StaffUser, site: Site, ip: str | None, **details: object
) -> None:
    record_staff_event(
        session,
        action,
        admin.id,
        "site",
        site.id,
        ip=ip,
        details=dict(details),
    )
