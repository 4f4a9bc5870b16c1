"""Moving a client to another site of the organisation, with a counsellor who works there."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.models.people import Client
from survey_app.services.client_moves import MoveChoices, move_choices, move_client
from survey_app.services.clients import ClientError
from survey_app.web.counsellor import bp
from survey_app.web.counsellor import wording as words
from survey_app.web.counsellor.context import client_or_404, scope
from survey_app.web.counsellor.forms import MoveForm


def _move_form(choices: MoveChoices) -> MoveForm:
    form = MoveForm()
    form.site.choices = [SelectChoice(site.id, site.name) for site in choices.sites]
    form.counsellor.choices = {
        site.name: [SelectChoice(person.id, person.display_name) for person in choices.counsellors[site.id]]
        for site in choices.sites
    }
    return form


def _page(client: Client, form: MoveForm, choices: MoveChoices, status: int) -> tuple[str, int]:
    page = render_template(
        "counsellor/client_move.html", client=client, form=form, choices=choices, scope=scope(), words=words
    )
    return page, status


@bp.route("/clients/<code>/move", methods=["GET", "POST"])
def move(code: str) -> Response | tuple[str, int]:
    """Move the client to another site where the staff member works, with a counsellor of that site."""
    client = client_or_404(code, to_manage=True)
    current = scope()
    choices = move_choices(db.session, current, client)
    form = _move_form(choices)
    if request.method == "GET":
        return _page(client, form, choices, 200)
    if not form.validate_on_submit():
        form.form_errors.append(
            _("The client was not moved: the form was incomplete or has expired. Try again.")
        )
        return _page(client, form, choices, 422)
    counsellor_id = form.counsellor.data if current.is_site_lead else current.user_id
    try:
        moved = move_client(
            db.session, current, client, form.site.data or 0, counsellor_id, ip=request.remote_addr
        )
    except ClientError as error:
        db.session.rollback()
        form.form_errors.append(_(str(error)))
        return _page(client, form, choices, 422)
    db.session.commit()
    message = _("%(code)s moved to %(site)s; their counsellor is %(name)s.", code=client.code,
                site=moved.site.name, name=moved.counsellor.display_name)  # fmt: skip
    if moved.open_alerts:
        message += " " + ngettext(
            "%(num)d open alert now reaches the new site.", "%(num)d open alerts now reach the new site.",
            moved.open_alerts,
        )  # fmt: skip
    if moved.hand_overs_ended:
        message += " " + _("The hand-over on a tablet of the old site was ended; the answers are kept.")
    flash(message, "info")  # the mover works at the new site: the client stays in their caseload
    return redirect(url_for("counsellor.client_page", code=client.code))
