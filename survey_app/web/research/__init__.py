"""The researcher's pages: export projects, choosing and running exports (with progress), downloads.

Admins create projects, choose their researchers and decide the allowances (identifiers, free text, calendar
dates); researchers of a project run its exports and download them. Nobody reaches a client's record here,
and no page shows a project's secret.
"""

from flask import Blueprint

bp = Blueprint("research", __name__, url_prefix="/research")

from survey_app.web.research import views  # noqa: E402, F401  (registers the routes on bp)
