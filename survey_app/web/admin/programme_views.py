"""Programmes: their timepoints (anchor, offset, window) and each timepoint's battery, changed in two steps.

The first POST checks the change and shows what it does (and that sessions already started keep what they
were started with); the second, with ``confirm=yes`` and the timepoint's fingerprint, saves it. A timepoint
changed by someone else since the form was opened, or in between, is shown again instead of being overwritten.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.i18n import page_language
from survey_app.models.assessment import AssessmentSession
from survey_app.models.programme import Programme, Timepoint
from survey_app.services.programme_admin import (
    BatteryChoice,
    ProgrammeChangeError,
    TimepointDraft,
    create_programme,
    draft_of,
    published_questionnaires,
    remove_timepoint,
    save_timepoint,
    sessions_at,
    timepoint_changes,
    timepoint_fingerprint,
    update_programme,
)
from survey_app.services.user_messages import UserFacingError
from survey_app.web.admin import admin, bp, say, show_errors
from survey_app.web.admin.forms import ProgrammeForm, TimepointForm
from survey_app.web.counsellor.wording import anchor_labels

_SCHEDULE_FIELDS = (
    "key",
    "label",
    "label_nl",
    "label_fr",
    "anchor",
    "offset_days",
    "window_before_days",
    "window_after_days",
)
#: Form fields the confirmation page does not carry over (it sets its own).
_NOT_CARRIED = frozenset({"csrf_token", "confirm", "edit", "fingerprint"})


def _programme_or_404(programme_id: int) -> Programme:
    programme = db.session.get(Programme, programme_id)
    if programme is None or programme.organisation_id != admin().organisation_id:
        abort(404)
    return programme


def _timepoint_or_404(programme: Programme, timepoint_id: int) -> Timepoint:
    timepoint = next((tp for tp in programme.timepoints if tp.id == timepoint_id), None)
    if timepoint is None:
        abort(404)
    return timepoint


@bp.get("/programmes")
def programmes() -> str:
    """The organisation's programmes."""
    rows = db.session.scalars(
        select(Programme).where(Programme.organisation_id == admin().organisation_id).order_by(Programme.name)
    ).all()
    return render_template("admin/programmes.html", programmes=rows)


@bp.route("/programmes/new", methods=["GET", "POST"])
def programme_new() -> Response | tuple[str, int]:
    """Add a programme; its timepoints are added next."""
    form = ProgrammeForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            names, descriptions = form.translations()
            programme = create_programme(
                db.session, admin(), form.key.data or "", form.name.data or "", form.description.data or "",
                names=names, descriptions=descriptions, ip=request.remote_addr,
            )  # fmt: skip
        except UserFacingError as error:
            db.session.rollback()
            errors = show_errors(form, error)
        else:
            db.session.commit()
            flash(_("Programme added. Now add its timepoints."), "info")
            return redirect(url_for("admin.programme_edit", programme_id=programme.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/programme_new.html", form=form, errors=errors), status


def _session_counts(programme: Programme) -> dict[int, int]:
    rows = db.session.execute(
        select(AssessmentSession.timepoint_id, func.count())
        .where(AssessmentSession.timepoint_id.in_([tp.id for tp in programme.timepoints]))
        .group_by(AssessmentSession.timepoint_id)
    )
    return {timepoint_id: int(count) for timepoint_id, count in rows if timepoint_id is not None}


@bp.route("/programmes/<int:programme_id>", methods=["GET", "POST"])
def programme_edit(programme_id: int) -> Response | tuple[str, int]:
    """A programme's name and description, and its timepoints."""
    programme = _programme_or_404(programme_id)
    names, descriptions = programme.name_texts or {}, programme.description_texts or {}
    form = ProgrammeForm(
        data={
            "name": programme.name,
            "description": programme.description,
            **{f"name_{language}": names.get(language, "") for language in ("nl", "fr")},
            **{f"description_{language}": descriptions.get(language, "") for language in ("nl", "fr")},
        }
    )
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            names, descriptions = form.translations()
            changed = update_programme(
                db.session, admin(), programme, form.name.data or "", form.description.data or "",
                names=names, descriptions=descriptions, ip=request.remote_addr,
            )  # fmt: skip
        except UserFacingError as error:
            db.session.rollback()
            errors = show_errors(form, error)
            programme = _programme_or_404(programme_id)
        else:
            db.session.commit()
            flash(_("Programme saved.") if changed else _("Nothing changed."), "info")
            return redirect(url_for("admin.programme_edit", programme_id=programme_id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "admin/programme.html",
            programme=programme,
            form=form,
            errors=errors,
            sessions=_session_counts(programme),
            anchors=anchor_labels(),
        ),
        status,
    )


def _battery_rows(battery: tuple[BatteryChoice, ...]) -> list[dict[str, Any]]:
    """One row per published questionnaire: the battery's own first, in order, then the others by key."""
    published = published_questionnaires(db.session, admin().organisation_id)
    chosen = {choice.key: (index, choice) for index, choice in enumerate(battery)}
    keys = [choice.key for choice in battery if choice.key in published]
    keys += sorted(key for key in published if key not in chosen)
    rows = []
    for key in keys:
        index, choice = chosen.get(key, (None, None))
        rows.append(
            {
                "key": key,
                "include": choice is not None,
                "version": "" if choice is None or choice.version is None else str(choice.version),
                "core": choice.core if choice is not None else True,
                "order": index + 1 if index is not None else None,
            }
        )
    return rows


def _timepoint_form(
    draft: TimepointDraft | None, *, formdata: Any = None, fingerprint: str = ""
) -> TimepointForm:
    data: dict[str, Any] = {
        "anchor": "intake",
        "offset_days": 0,
        "window_before_days": 0,
        "window_after_days": 14,
    }
    if draft is not None:
        data = {name: getattr(draft, name) for name in _SCHEDULE_FIELDS}
    data["battery"] = _battery_rows(draft.battery if draft is not None else ())
    data["fingerprint"] = fingerprint  # the timepoint as it was when the form was opened
    form = TimepointForm(formdata=formdata, data=data) if formdata is not None else TimepointForm(data=data)
    form.anchor.choices = [SelectChoice(code, label) for code, label in anchor_labels().items()]
    published = published_questionnaires(db.session, admin().organisation_id)
    for entry in form.battery:
        versions = published.get(entry.form.key.data or "", ("", []))[1]
        latest = _("latest (now v%(version)s)", version=versions[-1]) if versions else _("latest")
        entry.form.version.choices = [
            SelectChoice("", latest),
            *(SelectChoice(str(v), f"v{v}") for v in versions),
        ]
    return form


def _draft_from(form: TimepointForm, timepoint: Timepoint | None) -> TimepointDraft:
    chosen = []
    for index, entry in enumerate(form.battery):
        row = entry.form
        if not row.include.data:
            continue
        text = (row.version.data or "").strip()
        version = None if text == "" else int(text) if text.isdigit() and len(text) < 6 else 0
        choice = BatteryChoice((row.key.data or "").strip(), version, bool(row.core.data))
        chosen.append((row.order.data or 1000, index, choice))
    return TimepointDraft(
        key=timepoint.key if timepoint is not None else (form.key.data or "").strip(),
        label=form.label.data or "",
        label_nl=form.label_nl.data or "",
        label_fr=form.label_fr.data or "",
        anchor=form.anchor.data or "",
        offset_days=form.offset_days.data or 0,
        window_before_days=form.window_before_days.data or 0,
        window_after_days=form.window_after_days.data or 0,
        battery=tuple(choice for _order, _index, choice in sorted(chosen, key=lambda c: (c[0], c[1]))),
    )


def _form_page(
    programme: Programme, timepoint: Timepoint | None, form: TimepointForm, errors: list[str], status: int
) -> tuple[str, int]:
    return (
        render_template(
            "admin/timepoint_form.html",
            programme=programme,
            timepoint=timepoint,
            form=form,
            errors=errors,
            sessions=sessions_at(db.session, timepoint),
            titles={
                key: title
                for key, (title, _versions) in published_questionnaires(
                    db.session, admin().organisation_id
                ).items()
            },
        ),
        status,
    )


def _confirm_page(
    programme: Programme, timepoint: Timepoint | None, changes: list[str], *, changed_meanwhile: bool = False
) -> tuple[str, int]:
    carried = [
        (name, value) for name, values in request.form.lists() if name not in _NOT_CARRIED for value in values
    ]
    return (
        render_template(
            "admin/timepoint_confirm.html",
            programme=programme,
            timepoint=timepoint,
            changes=changes,
            carried=carried,
            fingerprint=timepoint_fingerprint(timepoint),
            sessions=sessions_at(db.session, timepoint),
            changed_meanwhile=changed_meanwhile,
        ),
        409 if changed_meanwhile else 200,
    )


def _timepoint_post(programme: Programme, timepoint: Timepoint | None) -> Response | tuple[str, int]:
    form = _timepoint_form(draft_of(timepoint) if timepoint else None, formdata=request.form)
    if not form.validate_on_submit():
        return _form_page(programme, timepoint, form, [_("Please correct the fields marked below.")], 422)
    draft = _draft_from(form, timepoint)
    try:
        changes = [say(change) for change in timepoint_changes(db.session, programme, timepoint, draft)]
    except ProgrammeChangeError as error:
        db.session.rollback()
        return _form_page(programme, timepoint, form, show_errors(form, error), 422)
    if not changes:
        return _form_page(programme, timepoint, form, [_("Nothing changes.")], 200)
    if "edit" in request.form:
        return _form_page(programme, timepoint, form, [], 200)
    current = timepoint_fingerprint(timepoint)
    if request.form.get("confirm") != "yes":
        opened = form.fingerprint.data or ""
        return _confirm_page(programme, timepoint, changes, changed_meanwhile=opened not in ("", current))
    if form.fingerprint.data != current:
        return _confirm_page(programme, timepoint, changes, changed_meanwhile=True)
    saved = save_timepoint(db.session, admin(), programme, timepoint, draft, ip=request.remote_addr)
    db.session.commit()
    label = saved.label_in(page_language())
    flash(_("%(label)s saved: it applies to sessions started from now on.", label=label), "info")
    return redirect(url_for("admin.programme_edit", programme_id=programme.id))


@bp.route("/programmes/<int:programme_id>/timepoints/new", methods=["GET", "POST"])
def timepoint_new(programme_id: int) -> Response | tuple[str, int]:
    """Add a timepoint with its battery (checked, then shown for confirmation, then saved)."""
    programme = _programme_or_404(programme_id)
    if request.method == "POST":
        return _timepoint_post(programme, None)
    return _form_page(programme, None, _timepoint_form(None), [], 200)


@bp.route("/programmes/<int:programme_id>/timepoints/<int:timepoint_id>", methods=["GET", "POST"])
def timepoint_edit(programme_id: int, timepoint_id: int) -> Response | tuple[str, int]:
    """Change a timepoint's schedule or battery (checked, then shown for confirmation, then saved)."""
    programme = _programme_or_404(programme_id)
    timepoint = _timepoint_or_404(programme, timepoint_id)
    if request.method == "POST":
        return _timepoint_post(programme, timepoint)
    form = _timepoint_form(draft_of(timepoint), fingerprint=timepoint_fingerprint(timepoint))
    return _form_page(programme, timepoint, form, [], 200)


@bp.post("/programmes/<int:programme_id>/timepoints/<int:timepoint_id>/remove")
def timepoint_remove(programme_id: int, timepoint_id: int) -> Response:
    """Remove a timepoint no session was started at."""
    programme = _programme_or_404(programme_id)
    timepoint = _timepoint_or_404(programme, timepoint_id)
    label = timepoint.label_in(page_language())
    try:
        remove_timepoint(db.session, admin(), timepoint, ip=request.remote_addr)
    except UserFacingError as error:
        db.session.rollback()
        flash(" ".join(say(message) for message in error.messages), "error")
    else:
        db.session.commit()
        flash(_("%(label)s removed.", label=label), "info")
    return redirect(url_for("admin.programme_edit", programme_id=programme_id))
