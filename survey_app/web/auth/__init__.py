"""Staff sign-in (password and TOTP), account security and sign-out."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from survey_app.web.auth import account, invite, views  # noqa: E402, F401  (registers the routes on bp)
