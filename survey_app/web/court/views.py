"""Court progress reports: only consenting clients, only what each agreed to; every view is recorded."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import get_locale

from survey_app.extensions import db
from survey_app.i18n import timezone, today
from survey_app.services import consent, sharing
from survey_app.services.audit import record_event
from survey_app.web.access import require_roles, signed_in_staff
from survey_app.web.counsellor import wording as words
from survey_app.web.court import bp


@bp.get("/")
@require_roles("court_liaison")
def index() -> str:
    """The clients who consent to court progress reports, with what each report may contain."""
    user = signed_in_staff()
    assert user is not None
    clients = sharing.court_clients(db.session, user)
    rows = [(client, consent.consent_for(db.session, client.id, "court")) for client in clients]
    record_event(
        db.session,
        "court.list",
        actor_type="staff",
        actor_id=user.id,
        ip=request.remote_addr,
        details={"clients": len(rows)},
    )
    db.session.commit()
    return render_template("court/index.html", rows=rows, words=words)


@bp.get("/clients/<code>")
@require_roles("court_liaison")
def client_report(code: str) -> str:
    """One client's progress report; 404 when the client does not consent (or is not the liaison's)."""
    user = signed_in_staff()
    assert user is not None
    client = sharing.court_client(db.session, user, code)
    if client is None:
        abort(404)
    state = consent.consent_for(db.session, client.id, "court")
    report = sharing.build_court_report(
        db.session, client, state, language=str(get_locale() or "en"), today=today(), timezone=timezone()
    )
    sharing.record_court_share(db.session, client, report, user, ip=request.remote_addr)
    db.session.commit()
    return render_template("court/client.html", report=report, consent=state, score_text=words.score_text)
