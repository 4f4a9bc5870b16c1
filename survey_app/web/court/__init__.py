"""The court liaison's pages: progress reports limited to what each client consented to share."""

from flask import Blueprint

bp = Blueprint("court", __name__, url_prefix="/court")

from survey_app.web.court import views  # noqa: E402, F401  (registers the routes on bp)
