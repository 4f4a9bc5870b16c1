"""Consent management: a counsellor records or changes a client's consent with the client."""

from flask import Blueprint

bp = Blueprint("consent", __name__, url_prefix="/consent")

from survey_app.web.consent import views  # noqa: E402, F401  (registers the routes on bp)
