"""Administration (``/admin/...``): staff, sites, programmes and questionnaire publishing, for admins only.

Guarded once for the whole blueprint: anonymous visitors go to the sign-in page, every signed-in role but
``admin`` gets 403. Each view then finds objects within the admin's own organisation only (anything else is a
404, exactly like something that does not exist). Every change is a CSRF-protected POST, checked again by a
service and audited there.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_wtf import FlaskForm

from survey_app.i18n import translated as say
from survey_app.models.people import StaffUser
from survey_app.services.user_messages import UserFacingError
from survey_app.web.access import require_roles, signed_in_staff

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@require_roles("admin")
def guard() -> None:
    """Only admins reach these pages (the decorator answers everyone else)."""


def admin() -> StaffUser:
    """The signed-in admin (the guard has checked the role)."""
    user = signed_in_staff()
    if user is None:
        abort(403)
    return user


def show_errors(form: FlaskForm, error: UserFacingError) -> list[str]:
    """Put a service's messages next to their form fields; return those that belong to no field."""
    general = []
    for message in error.messages:
        field = form._fields.get(message.field or "")
        if field is None:
            general.append(say(message))
        else:
            field.errors = [*field.errors, say(message)]
    return general


from survey_app.web.admin import (  # noqa: E402, F401  (register the routes on bp)
    preview_views,
    programme_views,
    questionnaire_views,
    site_views,
    staff_views,
)
