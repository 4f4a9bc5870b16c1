"""The dashboard: the landing page of counsellors and site leads (served at `/`, see `home.index`)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.i18n import page_language, today
from survey_app.models.base import utcnow
from survey_app.models.people import CLIENT_STATUSES
from survey_app.services.alerts import ALERT_COUNT_CAP, flag_labels
from survey_app.services.caseload import CaseloadFilter, StaffScope, counsellor_choices
from survey_app.services.dashboard import LIST_LIMIT, NEEDS, build_dashboard
from survey_app.web.counsellor import bp
from survey_app.web.counsellor import wording as words
from survey_app.web.counsellor.context import scope, staff
from survey_app.web.ids import parse_id

MAX_PAGE = 10_000


def caseload_filter(args: Mapping[str, str], current: StaffScope) -> CaseloadFilter:
    """The search and filters asked for, with anything unknown or outside the staff member's scope dropped."""
    status = args.get("status", "active")
    site_id = parse_id(args.get("site"))
    counsellor = args.get("counsellor", "")
    return CaseloadFilter(
        query=args.get("q", "").strip()[:32],
        status=status if status in CLIENT_STATUSES else "",
        site_id=site_id if site_id in current.site_ids and current.is_site_lead else None,
        counsellor_id=parse_id(counsellor) if current.is_site_lead else None,
        unassigned=current.is_site_lead and counsellor == "none",
        needs=args.get("needs", "") if args.get("needs") in NEEDS else "",
        page=min(parse_id(args.get("page")) or 1, MAX_PAGE),
    )


def dashboard_page() -> str:
    """Render the dashboard of the signed-in counsellor or site lead."""
    current = scope()
    wanted = caseload_filter(request.args, current)
    data = build_dashboard(db.session, current, wanted, today=today(), now=utcnow())
    return render_template(
        "counsellor/dashboard.html",
        user=staff(),
        scope=current,
        data=data,
        wanted=wanted,
        alert_labels=flag_labels(
            db.session,
            [(alert.flag_pk, alert.questionnaire_version_id, alert.flag_id) for alert in data.alerts.rows],
            page_language(),
            {alert.questionnaire_version_id: alert.questionnaire for alert in data.alerts.rows},
        ),
        alert_cap=ALERT_COUNT_CAP,
        sites=sorted(current.site_names.items(), key=lambda item: item[1]) if current.is_site_lead else [],
        counsellors=counsellor_choices(db.session, current) if current.is_site_lead else [],
        list_limit=LIST_LIMIT,
        today=today(),
        words=words,
        statuses=CLIENT_STATUSES,
    )


@bp.get("/")
def dashboard() -> Response:
    """The dashboard lives at `/`; this address forwards there with its filters."""
    query = request.query_string.decode("ascii", "replace")
    return redirect(url_for("home.index") + (f"?{query}" if query else ""))
