"""Views of the research pages: thin wrappers around `survey_app.services.exports`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from survey_app.extensions import db, login_manager
from survey_app.i18n import timezone, translated_error
from survey_app.models.base import utcnow
from survey_app.models.people import StaffUser
from survey_app.models.programme import Programme, Site, Timepoint
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.models.research import EXPORT_FORMATS, EXPORT_LAYOUTS, ExportProject, ExportRun
from survey_app.services.audit import record_event
from survey_app.services.exports import (
    ExportAccessError,
    ExportError,
    ExportFilters,
    ExportRequest,
    add_member,
    can_export,
    can_manage,
    check_request,
    create_project,
    parse_version,
    project_for,
    project_members,
    remove_member,
    set_allowances,
    split_list,
    start_run,
    visible_projects,
)
from survey_app.services.exports.packages import (
    PACKAGE_KEEP_DAYS,
    delete_removed_files,
    package_gone,
    removed_reason,
)
from survey_app.services.exports.projects import RESEARCH_KEY_ENV
from survey_app.services.exports.selection import LABEL_LANGUAGES
from survey_app.services.questionnaire_owners import visible_to
from survey_app.services.user_messages import N_
from survey_app.web.access import signed_in_staff
from survey_app.web.research import bp
from survey_app.web.research.jobs import (
    download_name,
    execute_run,
    export_folder,
    package_path,
    start_in_background,
)

RESEARCH_ROLES = ("admin", "researcher")
#: A running export without a heartbeat for this long has lost its worker.
STALE_AFTER = dt.timedelta(minutes=5)
RECENT_RUNS = 20


def _removal_messages() -> dict[str, str]:
    return {
        "expired": _(
            "This export's package was kept for %(days)s days and has been deleted.", days=_keep_days()
        ),
        "allowance_withdrawn": _(
            "This export's package has been deleted: an allowance it was made with has been withdrawn."
        ),
        "client_erased": _("This export's package has been deleted: a client's data in it has been erased."),
    }


def _failure_message(reason: str | None) -> str:
    """What a failed run's page says of its reason code, in the reader's language."""
    messages = {
        "research_key": _(
            "The research key of this installation (%(name)s) is missing or not valid. An administrator "
            "must set it to 64 or more hexadecimal digits; then start the export again.",
            name=RESEARCH_KEY_ENV,
        ),
        "duplicate_column": _(
            "Two columns of the wide layout would have the same name. Export the long or scores layout, "
            "and ask an administrator to rename the scale or item in the questionnaire."
        ),
        "not_asked_code": _(
            "An item of a questionnaire in this export accepts the answer code that exports give an item "
            "the skip rules did not ask, so its answers cannot be exported. Export the scores layout or "
            "leave that questionnaire out, and tell an administrator."
        ),
        "request": _(
            "The export could not be carried out as asked. Check the choices and start it again; if it "
            "fails again, an administrator finds the reason in the log."
        ),
    }
    return messages.get(
        reason or "",
        _(
            "The export stopped with an error, which has been logged. Start it again, or ask an "
            "administrator."
        ),
    )


def _run_statuses() -> dict[str, str]:
    """A run's status as the project page lists it, in the reader's language."""
    return {"running": _("Running"), "done": _("Done"), "failed": _("Failed")}


def _keep_days() -> int:
    return int(current_app.config.get("RESEARCH_PACKAGE_DAYS", PACKAGE_KEEP_DAYS))


def _gone_message(reason: str) -> str:
    return _("%(why)s Run the export again for a new package.", why=_removal_messages()[reason])


@bp.before_request
def guard() -> Response | None:
    """Signed-in admins and researchers only; everyone else is sent to sign in or refused."""
    user = signed_in_staff()
    if user is None:
        response: Response = login_manager.unauthorized()
        return response
    if user.role not in RESEARCH_ROLES:
        abort(403)
    return None


def _user() -> StaffUser:
    user = signed_in_staff()
    assert user is not None  # the guard ran
    return user


def _project(project_id: int) -> ExportProject:
    try:
        return project_for(db.session, _user(), project_id)
    except ExportAccessError:
        abort(403)


def _run(public_id: str) -> ExportRun:
    run = db.session.scalar(select(ExportRun).where(ExportRun.public_id == public_id[:36]))
    if run is None:
        abort(404)
    if not can_export(db.session, _user(), run.project):
        abort(403)
    return run


@bp.get("/")
def index() -> str:
    """The projects the signed-in staff member manages or belongs to."""
    user = _user()
    return render_template(
        "research/index.html", projects=visible_projects(db.session, user), may_create=user.role == "admin"
    )


@bp.post("/projects")
def create() -> Response:
    """An admin creates a project."""
    try:
        project = create_project(
            db.session,
            _user(),
            request.form.get("name", ""),
            request.form.get("description", ""),
            ip=request.remote_addr,
        )
    except ExportAccessError:
        abort(403)
    except ExportError as error:
        flash(translated_error(error), "error")
        return redirect(url_for("research.index"))
    db.session.commit()
    flash(_("Project created. Add its researchers below."), "success")
    return redirect(url_for("research.project_page", project_id=project.id))


def _choices(project: ExportProject) -> dict[str, Any]:
    versions = db.session.execute(
        select(QuestionnaireVersion.key, QuestionnaireVersion.version, QuestionnaireVersion.title)
        .where(visible_to(project.organisation_id))
        .order_by(QuestionnaireVersion.key, QuestionnaireVersion.version)
    ).all()
    timepoints = db.session.execute(
        select(Timepoint.key, Timepoint.label)
        .join(Programme, Programme.id == Timepoint.programme_id)
        .where(Programme.organisation_id == project.organisation_id)
        .order_by(Programme.key, Timepoint.position)
    ).all()
    sites = db.session.execute(
        select(Site.code, Site.name)
        .where(Site.organisation_id == project.organisation_id)
        .order_by(Site.name)
    ).all()
    return {
        "versions": versions,
        "keys": list(dict.fromkeys(row.key for row in versions)),
        "timepoints": list(dict.fromkeys(timepoints)),
        "sites": sites,
        "layouts": EXPORT_LAYOUTS,
        "formats": EXPORT_FORMATS,
        "languages": LABEL_LANGUAGES,
    }


@bp.get("/projects/<int:project_id>")
def project_page(project_id: int) -> str:
    """A project: its allowances, researchers, the export form (with the choices of a refused request) and
    recent runs."""
    project = _project(project_id)
    user = _user()
    runs = db.session.scalars(
        select(ExportRun)
        .where(ExportRun.project_id == project.id)
        .order_by(ExportRun.id.desc())
        .limit(RECENT_RUNS)
    ).all()
    return render_template(
        "research/project.html",
        project=project,
        runs=runs,
        members=project_members(db.session, project),
        may_manage=can_manage(user, project),
        may_export=can_export(db.session, user, project),
        statuses=_run_statuses(),
        chosen=request.form if request.method == "POST" else MultiDict(),
        **_choices(project),
    )


@bp.post("/projects/<int:project_id>/allowances")
def allowances(project_id: int) -> Response:
    """An admin allows (or stops allowing) identifiers, free text or calendar dates for the project."""
    project = _project(project_id)
    try:
        set_allowances(
            db.session,
            _user(),
            project,
            identifiers=bool(request.form.get("identifiers")),
            free_text=bool(request.form.get("free_text")),
            calendar_dates=bool(request.form.get("calendar_dates")),
            ip=request.remote_addr,
        )
    except ExportAccessError:
        abort(403)
    db.session.commit()
    delete_removed_files(db.session, export_folder(current_app._get_current_object()))  # type: ignore[attr-defined]
    flash(_("Allowances saved."), "success")
    return redirect(url_for("research.project_page", project_id=project.id))


@bp.post("/projects/<int:project_id>/members")
def members(project_id: int) -> Response:
    """An admin adds a researcher (by email) to the project."""
    project = _project(project_id)
    try:
        add_member(db.session, _user(), project, request.form.get("email", ""), ip=request.remote_addr)
    except ExportAccessError:
        abort(403)
    except ExportError as error:
        flash(translated_error(error), "error")
        return redirect(url_for("research.project_page", project_id=project.id))
    db.session.commit()
    flash(_("Researcher added."), "success")
    return redirect(url_for("research.project_page", project_id=project.id))


@bp.post("/projects/<int:project_id>/members/<int:user_id>/remove")
def member_remove(project_id: int, user_id: int) -> Response:
    """An admin takes a researcher off the project."""
    project = _project(project_id)
    try:
        remove_member(db.session, _user(), project, user_id, ip=request.remote_addr)
    except ExportAccessError:
        abort(403)
    db.session.commit()
    flash(_("Researcher removed."), "success")
    return redirect(url_for("research.project_page", project_id=project.id))


def _date(name: str) -> dt.date | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ExportError(N_("Dates are written as YYYY-MM-DD.")) from None


def _export_request() -> ExportRequest:
    form = request.form
    filters = ExportFilters(
        questionnaires=split_list(form.getlist("questionnaire")),
        versions=tuple(parse_version(text) for text in split_list(form.getlist("version"))),
        timepoints=split_list(form.getlist("timepoint")),
        sites=split_list(form.getlist("site")),
        submitted_from=_date("submitted_from"),
        submitted_to=_date("submitted_to"),
    )
    return ExportRequest(
        form.get("layout", ""),
        form.get("format", ""),
        filters,
        include_items=bool(form.get("include_items")),
        label_language=form.get("label_language", "en"),
    )


@bp.post("/projects/<int:project_id>/exports")
def export(project_id: int) -> Response | tuple[str, int]:
    """A researcher of the project starts an export; it runs on, and its page shows the progress."""
    project = _project(project_id)
    user = _user()
    if not can_export(db.session, user, project):
        abort(403)
    try:
        export_request = _export_request()
        check_request(db.session, project, export_request, as_of=utcnow(), timezone=timezone())
    except ExportError as error:
        db.session.rollback()
        flash(translated_error(error), "error")
        return project_page(project_id), 400
    run = start_run(db.session, project, export_request, requested_by=user.id, via="web")
    run_id, public_id, actor_id = run.id, run.public_id, user.id
    db.session.commit()  # nothing of this session is touched again: the export runs in its own
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("RESEARCH_EXPORTS_INLINE", app.testing):
        execute_run(app, run_id, export_request, actor_id=actor_id, ip=request.remote_addr, background=False)
    else:
        start_in_background(app, run_id, export_request, actor_id=actor_id, ip=request.remote_addr)
    return redirect(url_for("research.run_page", public_id=public_id))


def _state(run: ExportRun) -> dict[str, Any]:
    interrupted = run.status == "running" and utcnow() - run.heartbeat_at > STALE_AFTER
    total = run.rows_total or 0
    reason = removed_reason(run)
    if reason is not None:
        return {
            "status": "expired",
            "rows_written": run.rows_written,
            "rows_total": run.rows_total,
            "percent": 100,
            "download_url": None,
            "error": _gone_message(reason),
        }
    return {
        "status": "interrupted" if interrupted else run.status,
        "rows_written": run.rows_written,
        "rows_total": run.rows_total,
        "percent": 100
        if run.status == "done"
        else (min(99, run.rows_written * 100 // total) if total else 0),
        "download_url": url_for("research.download", public_id=run.public_id)
        if run.status == "done"
        else None,
        "error": _failure_message(run.error) if run.status == "failed" else None,
    }


@bp.get("/runs/<public_id>")
def run_page(public_id: str) -> str:
    """An export's progress, then its download link."""
    run = _run(public_id)
    return render_template("research/run.html", run=run, state=_state(run), project=run.project)


@bp.get("/runs/<public_id>/status")
def run_status(public_id: str) -> Response:
    """An export's progress as JSON (the run page polls it)."""
    return jsonify(_state(_run(public_id)))


@bp.get("/runs/<public_id>/download")
def download(public_id: str) -> Response | tuple[str, int]:
    """The zip of a finished export (data, codebook in HTML and JSON); every download is audited.

    A package past its keeping time, or removed since, is gone: the run's page says why (410).
    """
    run = _run(public_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if package_gone(db.session, run, _keep_days()) is not None:
        db.session.commit()
        delete_removed_files(db.session, export_folder(app))
        return render_template("research/run.html", run=run, state=_state(run), project=run.project), 410
    path = package_path(app, run)
    if run.status != "done" or not path.exists():
        abort(404)
    record_event(
        db.session,
        "research.export_download",
        actor_type="staff",
        actor_id=_user().id,
        object_type="export_run",
        object_id=run.id,
        ip=request.remote_addr,
        details={"project_id": run.project_id, "run": run.public_id, "sha256": run.sha256},
    )
    name = download_name(run.project, run)
    db.session.commit()
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)
