"""Record or change a client's consent, effective at once; show what the court has been shown."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.models.people import Client
from survey_app.models.security import CONSENT_PURPOSES
from survey_app.services import consent, sharing
from survey_app.web.access import (
    CLIENT_DATA_ROLES,
    client_for_staff_or_404,
    record_client_view,
    require_roles,
    signed_in_staff,
)
from survey_app.web.consent import bp
from survey_app.web.consent.forms import ConsentForm
from survey_app.web.counsellor import wording as words


def _prefill(form: ConsentForm, states: dict[str, consent.ConsentState]) -> None:
    for purpose in CONSENT_PURPOSES:
        state = states[purpose]
        if state.record_id is not None:
            getattr(form, purpose).data = "yes" if state.granted else "no"
    form.court_scores.data = states["court"].share_scores
    form.court_summary.data = states["court"].share_summary


def _render(client: Client, form: ConsentForm, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "consent/client.html",
            client=client,
            form=form,
            states=consent.current_consents(db.session, client.id),
            history=consent.consent_history(db.session, client.id),
            disclosures=sharing.court_disclosures(db.session, client.id),
            words=words,
        ),
        status,
    )


@bp.get("/clients/<code>")
@require_roles(*CLIENT_DATA_ROLES)
def client_consent(code: str) -> tuple[str, int]:
    """The client's consent per purpose, its history and every disclosure to the court."""
    client = client_for_staff_or_404(code)
    form = ConsentForm(formdata=None)
    _prefill(form, consent.current_consents(db.session, client.id))
    record_client_view(client, "consent")
    db.session.commit()
    return _render(client, form)


def _save(client: Client, form: ConsentForm) -> int:
    changes = 0
    staff = signed_in_staff()
    for purpose in CONSENT_PURPOSES:
        choice = getattr(form, purpose).data
        if choice not in ("yes", "no"):
            continue
        granted = choice == "yes"
        court = purpose == "court"
        row = consent.record_consent(
            db.session,
            client,
            purpose,
            granted,
            share_scores=court and bool(form.court_scores.data),
            share_summary=court and bool(form.court_summary.data),
            staff=staff,
            ip=request.remote_addr,
        )
        changes += row is not None
    return changes


@bp.post("/clients/<code>")
@require_roles(*CLIENT_DATA_ROLES)
def change_consent(code: str) -> Response | tuple[str, int]:
    """Record the client's decisions from now on (only what changed is written)."""
    client = client_for_staff_or_404(code)
    form = ConsentForm()
    if not form.validate_on_submit():  # the page again, with the consent history: a view like the GET
        record_client_view(client, "consent")
        db.session.commit()
        return _render(client, form, status=400)
    changes = _save(client, form)
    db.session.commit()
    if changes:
        flash(_("Saved: %(count)d change(s), in force from now.", count=changes), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("consent.client_consent", code=client.code))
