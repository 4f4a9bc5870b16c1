"""Report batches (a filtered set of one's clients as one ZIP, with progress) and the report settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from survey_app.extensions import db
from survey_app.i18n import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, page_language, timezone
from survey_app.models.base import utcnow
from survey_app.models.people import Client, StaffUser
from survey_app.models.programme import Programme, Site, Timepoint
from survey_app.models.reports import ReportBatch
from survey_app.reports.pdf import FontsMissing, check_fonts
from survey_app.services.audit import record_event
from survey_app.services.report_batches import (
    DOWNLOAD_REFUSALS,
    BatchFilter,
    check_batch_download,
    download_refusal,
    select_jobs,
    start_batch,
)
from survey_app.services.reports import IDENTITY_ROLES, ReportError, names_enabled, set_names_enabled
from survey_app.services.user_messages import N_
from survey_app.web.access import signed_in_staff, visible_clients
from survey_app.web.counsellor import wording as words
from survey_app.web.reports import bp
from survey_app.web.reports.forms import BatchForm, NamesForm
from survey_app.web.reports.jobs import batch_path, execute_batch, remove_expired, start_in_background

STALE_AFTER = dt.timedelta(minutes=2)
RECENT_BATCHES = 10


def _reader() -> StaffUser:
    user = signed_in_staff()
    assert user is not None  # the blueprint guard let only signed-in staff through
    return user


def _app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _kind_labels() -> dict[str, str]:
    return {
        "counsellor": _("Counsellor report (one per client)"),
        "client": _("Client's own report (one per client, in each client's language)"),
        "record": _("Filled-form record (one per submitted session)"),
    }


def _batch_form(user: StaffUser) -> BatchForm:
    form = BatchForm()
    form.kind.choices = [SelectChoice(kind, label) for kind, label in _kind_labels().items()]
    form.language.choices = [
        SelectChoice("", _("the client's own language, or this page's")),
        *(SelectChoice(code, LANGUAGE_NAMES[code]) for code in SUPPORTED_LANGUAGES),
    ]
    sites = db.session.scalars(
        select(Site).where(Site.id.in_([site.id for site in user.sites])).order_by(Site.name)
    ).all()
    form.site.choices = [
        SelectChoice("", _("every site I work at")),
        *(SelectChoice(site.id, site.name) for site in sites),
    ]
    keys = db.session.execute(
        select(Timepoint.key, Timepoint.label)
        .join(Programme, Programme.id == Timepoint.programme_id)
        .where(Programme.organisation_id == user.organisation_id)
        .order_by(Timepoint.position)
    ).all()
    form.timepoint.choices = [
        SelectChoice("", _("any timepoint")),
        *(SelectChoice(key, label) for key, label in dict(keys).items()),
    ]
    return form


def _recent(user: StaffUser) -> list[ReportBatch]:
    return list(
        db.session.scalars(
            select(ReportBatch)
            .where(ReportBatch.requested_by == user.id)
            .order_by(ReportBatch.id.desc())
            .limit(RECENT_BATCHES)
        )
    )


def _batches_page(form: BatchForm, status: int = 200) -> tuple[str, int]:
    user = _reader()
    recent = _recent(user)
    return render_template(
        "reports/batches.html",
        form=form,
        batches=recent,
        state=partial(_state, seen_clients=_seen_clients(user, recent)),
        kinds=_kind_labels(),
        words=words,
    ), status


@bp.get("/batches")
def batches() -> tuple[str, int]:
    """Start a batch; the staff member's recent batches."""
    remove_expired(_app())
    return _batches_page(_batch_form(_reader()))


def _filter(form: BatchForm, user: StaffUser) -> BatchFilter:
    site_id = form.site.data
    if site_id is not None and site_id not in {site.id for site in user.sites}:
        raise ReportError(N_("Choose one of your own sites."))
    timepoint = form.timepoint.data or None
    return BatchFilter(
        site_id, timepoint[:40] if timepoint else None, form.start.data, form.end.data, timezone()
    )


@bp.post("/batches")
def start() -> Response | tuple[str, int]:
    """Start a batch of the staff member's own clients (their caseload, or their sites for site leads)."""
    user = _reader()
    form = _batch_form(user)
    if not form.validate_on_submit():
        return _batches_page(form, 422)
    kind = form.kind.data or "counsellor"
    chosen = form.language.data if form.language.data in SUPPORTED_LANGUAGES else None
    language = chosen or (None if kind == "client" else page_language())
    try:
        check_fonts()
        jobs = select_jobs(db.session, visible_clients(user), kind, _filter(form, user), language)
    except (ReportError, FontsMissing) as error:
        db.session.rollback()
        form.form_errors.append(_(str(error)))
        return _batches_page(form, 422)
    if not jobs:
        form.form_errors.append(_("None of your clients matches this filter: there is nothing to make."))
        return _batches_page(form, 422)
    show = user.role in IDENTITY_ROLES and names_enabled(db.session, user.organisation_id)
    batch = start_batch(
        db.session,
        organisation_id=user.organisation_id,
        requested_by=user.id,
        kind=kind,
        language=language,
        wanted=_filter(form, user),
        total=len(jobs),
        client_ids={job.client_id for job in jobs},
        ip=request.remote_addr,
    )
    batch_id, public_id = batch.id, batch.public_id
    db.session.commit()  # the batch row exists for every worker before any report is made
    app = _app()
    if app.config.get("REPORT_BATCHES_INLINE", app.testing):
        execute_batch(app, batch_id, jobs, show_names=show, ip=request.remote_addr, background=False)
    else:
        start_in_background(app, batch_id, jobs, show_names=show, ip=request.remote_addr)
    return redirect(url_for("reports.batch_page", public_id=public_id))


def _batch(public_id: str) -> ReportBatch:
    if len(public_id) != 36:
        abort(404)
    batch = db.session.scalar(
        select(ReportBatch).where(
            ReportBatch.public_id == public_id, ReportBatch.requested_by == _reader().id
        )
    )
    if batch is None:
        abort(404)
    return batch


def _seen_clients(user: StaffUser, batches: Iterable[ReportBatch]) -> set[int]:
    """The clients of these finished batches that the staff member may see now (one query for a page of
    batches, none while no batch is finished)."""
    finished = [batch for batch in batches if batch.status == "done"]
    wanted = sorted({client for batch in finished for client in batch.client_ids or ()})
    if not wanted:
        return set()
    seen = visible_clients(user).where(Client.id.in_(wanted)).with_only_columns(Client.id)
    return set(db.session.scalars(seen))


def _state(batch: ReportBatch, seen_clients: set[int]) -> dict[str, Any]:
    interrupted = batch.status == "running" and utcnow() - batch.heartbeat_at > STALE_AFTER
    available = batch.status == "done" and batch_path(_app(), batch).exists()
    refusal = download_refusal(batch, seen_clients) if available else None
    finished = batch.done + batch.failed
    return {
        "status": "interrupted"
        if interrupted
        else ("expired" if batch.status == "done" and not available else batch.status),
        "total": batch.total,
        "done": batch.done,
        "failed": batch.failed,
        "percent": 100
        if batch.status == "done"
        else (min(99, finished * 100 // batch.total) if batch.total else 0),
        "download_url": url_for("reports.download", public_id=batch.public_id)
        if available and refusal is None
        else None,
        "refusal": _(DOWNLOAD_REFUSALS[refusal]) if refusal else None,
        "error": batch.error,
    }


@bp.get("/batches/<public_id>")
def batch_page(public_id: str) -> str:
    """A batch's progress, then its download link."""
    batch = _batch(public_id)
    state = _state(batch, _seen_clients(_reader(), [batch]))
    return render_template(
        "reports/batch.html",
        batch=batch,
        state=state,
        kinds=_kind_labels(),
        words=words,
        refusal=state["refusal"],
    )


@bp.get("/batches/<public_id>/status")
def batch_status(public_id: str) -> Response:
    """A batch's progress as JSON (the batch page polls it)."""
    batch = _batch(public_id)
    return jsonify(_state(batch, _seen_clients(_reader(), [batch])))


@bp.get("/batches/<public_id>/download")
def download(public_id: str) -> Response | tuple[str, int]:
    """The ZIP of a finished batch (kept for a day) while its maker still sees every client in it; audited."""
    user = _reader()
    batch = _batch(public_id)
    path = batch_path(_app(), batch)
    if batch.status != "done" or not path.exists():
        abort(404)
    seen = _seen_clients(user, [batch])
    try:
        check_batch_download(db.session, batch, seen, actor_id=user.id, ip=request.remote_addr)
    except ReportError as error:
        db.session.commit()  # the refusal stays in the audit log
        page = render_template(
            "reports/batch.html",
            batch=batch,
            state=_state(batch, seen),
            kinds=_kind_labels(),
            words=words,
            refusal=_(str(error)),
        )
        return page, 403
    record_event(
        db.session,
        "report.batch_download",
        actor_type="staff",
        actor_id=user.id,
        object_type="report_batch",
        object_id=batch.id,
        ip=request.remote_addr,
        details={"reports": batch.done},
    )
    db.session.commit()
    name = f"reports-{batch.kind}-{batch.started_at:%Y%m%d-%H%M}.zip"
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | tuple[str, int]:
    """The organisation's report settings (admins): whether reports show full names."""
    user = _reader()
    if user.role != "admin":
        abort(403)
    form = NamesForm()
    if request.method == "POST":
        if form.validate_on_submit():
            set_names_enabled(
                db.session,
                user.organisation_id,
                bool(form.show_names.data),
                actor_id=user.id,
                ip=request.remote_addr,
            )
            db.session.commit()
            flash(_("Report settings saved."), "info")
            return redirect(url_for("reports.settings"))
        db.session.rollback()
        status = 422
    else:
        form.show_names.data = names_enabled(db.session, user.organisation_id)
        status = 200
    return render_template("reports/settings.html", form=form, words=words), status
