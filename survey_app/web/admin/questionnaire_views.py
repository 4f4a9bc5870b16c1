"""Questionnaire publishing: upload or paste a file, see every problem with its line, or a preview, the
scoring of its examples and what changes against the previous version; then publish it as a new version.

There is no page that edits or removes a published version: a change is the next version.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from survey_app.domain.questionnaire import localise
from survey_app.errors import error_response
from survey_app.extensions import db
from survey_app.i18n import SUPPORTED_LANGUAGES, page_language
from survey_app.models.admin import QuestionnaireDraft
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.questionnaires.problems import QuestionnaireError
from survey_app.questionnaires.registry import PublicationError
from survey_app.questionnaires.yaml_source import MAX_FILE_BYTES
from survey_app.services.questionnaire_owners import KeyNotYours, own_keys, record_refusal, visible_to
from survey_app.services.questionnaire_publishing import (
    DraftNotPublishable,
    UploadCheck,
    check_upload,
    discard_draft,
    draft_of_organisation,
    draft_questionnaire,
    draft_refusal,
    example_results,
    previous_version_diff,
    published_meanwhile,
    publishing_draft,
    save_draft,
)
from survey_app.web.access import signed_in_staff
from survey_app.web.admin import admin, bp, say
from survey_app.web.admin.forms import UploadForm

PASTED = "pasted text"
#: Read at most this much of an upload: anything longer is refused by the size check anyway.
READ_LIMIT = MAX_FILE_BYTES + 1


def _file_label(name: str) -> str:
    """How a draft's or upload's source is named on the page: its file name, or "pasted text" in words."""
    return _("pasted text") if name == PASTED else name


def _directory() -> Path:
    return Path(current_app.config["QUESTIONNAIRE_DIR"])


def _list_page(form: UploadForm, *, checked: UploadCheck | None = None, source: str = "", status: int = 200,
               message: str | None = None) -> tuple[str, int]:  # fmt: skip
    visible = visible_to(admin().organisation_id)
    versions = db.session.execute(
        select(QuestionnaireVersion.key, func.max(QuestionnaireVersion.version), func.count())
        .where(visible)
        .group_by(QuestionnaireVersion.key)
        .order_by(QuestionnaireVersion.key)
    ).all()
    latest_ids = select(func.max(QuestionnaireVersion.id)).where(visible).group_by(QuestionnaireVersion.key)
    titles = {
        key: title
        for key, title in db.session.execute(
            select(QuestionnaireVersion.key, QuestionnaireVersion.title).where(
                QuestionnaireVersion.id.in_(latest_ids)
            )
        )
    }
    drafts = db.session.scalars(
        select(QuestionnaireDraft)
        .where(QuestionnaireDraft.organisation_id == admin().organisation_id)
        .order_by(QuestionnaireDraft.uploaded_at.desc())
    ).all()
    return (
        render_template(
            "admin/questionnaires.html",
            form=form,
            versions=versions,
            titles=titles,
            own=own_keys(db.session, admin().organisation_id),
            drafts=drafts,
            checked=checked,
            source=_file_label(source),
            file_label=_file_label,
            message=message,
            max_bytes=MAX_FILE_BYTES,
        ),
        status,
    )


@bp.get("/questionnaires")
def questionnaires() -> tuple[str, int]:
    """Published questionnaires, drafts waiting, and the form to check a new file."""
    return _list_page(UploadForm())


def _uploaded(form: UploadForm) -> tuple[bytes | None, str, str | None]:
    """The upload's bytes and how to name it, or a message saying what to send."""
    upload = form.file.data
    pasted = form.source.data or ""
    has_file = upload is not None and bool(getattr(upload, "filename", ""))
    if has_file and pasted.strip():
        return None, "", _("Upload a file or paste the text, not both.")
    if has_file:
        name = secure_filename(upload.filename or "")[:100] or "upload.yaml"
        return upload.stream.read(READ_LIMIT), name, None
    if pasted.strip():
        return pasted.encode("utf-8"), PASTED, None
    return None, "", _("Choose a YAML file, or paste its text.")


@bp.post("/questionnaires/drafts")
def upload() -> Response | tuple[str, int]:
    """Check an uploaded or pasted file: its problems with line numbers, or a draft with its preview."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _list_page(form, status=400, message=_("The form has expired. Please try again."))
    raw, name, problem = _uploaded(form)
    if raw is None:
        return _list_page(form, status=422, message=problem)
    checked = check_upload(db.session, _directory(), raw, name, organisation_id=admin().organisation_id)
    if checked.refusal is not None:
        record_refusal(db.session, admin(), checked.refusal, stage="upload", ip=request.remote_addr)
        db.session.commit()
        return _list_page(UploadForm(formdata=None), status=403, message=say(checked.refusal.messages[0]))
    if checked.questionnaire is None:
        db.session.rollback()
        typed = UploadForm(formdata=None, data={"source": form.source.data or ""})  # pasted: kept to correct
        return _list_page(typed, checked=checked, source=name, status=422)
    draft = save_draft(db.session, admin(), checked, name, ip=request.remote_addr)
    db.session.commit()
    return redirect(url_for("admin.draft", draft_id=draft.id))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[str | Response, int]:
    """An upload larger than the server accepts: say how large a questionnaire file may be."""
    user = signed_in_staff()
    if user is None or user.role != "admin":  # raised before the guard ran: answer like any other page
        return error_response(413), 413
    message = _(
        "The file is too large: a questionnaire file may be at most %(size)s KB. Nothing was saved.",
        size=MAX_FILE_BYTES // 1024,
    )
    return _list_page(UploadForm(formdata=None), status=413, message=message)


def draft_or_404(draft_id: int) -> QuestionnaireDraft:
    """A draft of the admin's organisation, or 404."""
    draft = draft_of_organisation(db.session, admin().organisation_id, draft_id)
    if draft is None:
        abort(404)
    return draft


def _draft_page(draft: QuestionnaireDraft, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    questionnaire = draft_questionnaire(draft)
    refusal = draft_refusal(db.session, _directory(), draft)
    stale = None if refusal else published_meanwhile(db.session, _directory(), draft)
    languages = [code for code in SUPPORTED_LANGUAGES if code in questionnaire.offered_languages()]
    language = request.args.get("lang", "")
    return (
        render_template(
            "admin/draft.html",
            draft=draft,
            questionnaire=questionnaire,
            languages=languages,
            language=language if language in languages else languages[0],
            examples=example_results(questionnaire),
            diff=None if refusal else previous_version_diff(_directory(), questionnaire),
            error=error or next((say(why.messages[0]) for why in (refusal, stale) if why), None),
            file_label=_file_label,
            qt=lambda text: localise(text, page_language()),
        ),
        status,
    )


@bp.get("/questionnaires/drafts/<int:draft_id>")
def draft(draft_id: int) -> tuple[str, int]:
    """A draft: its preview on a tablet and a phone, its examples scored, and the diff before publishing."""
    return _draft_page(draft_or_404(draft_id))


@bp.post("/questionnaires/drafts/<int:draft_id>/publish")
def publish(draft_id: int) -> Response | tuple[str, int]:
    """Publish the draft as a new version (the same path as `flask questionnaires publish`)."""
    draft = draft_or_404(draft_id)
    if request.form.get("content_hash") != draft.content_hash:
        abort(409)
    label = f"{draft.key} v{draft.version}"
    try:
        with publishing_draft(db.session, admin(), draft, _directory(), ip=request.remote_addr):
            db.session.commit()
    except KeyNotYours as refusal:
        db.session.rollback()
        record_refusal(db.session, admin(), refusal, stage="publish", ip=request.remote_addr)
        db.session.commit()
        return _draft_page(draft_or_404(draft_id), status=403)
    except DraftNotPublishable as error:
        db.session.rollback()
        return _draft_page(draft_or_404(draft_id), error=say(error.messages[0]), status=409)
    except (PublicationError, QuestionnaireError) as error:
        db.session.rollback()
        return _draft_page(draft_or_404(draft_id), error=str(error), status=409)
    flash(_("%(label)s is published. Sessions started from now on can use it.", label=label), "info")
    return redirect(url_for("admin.questionnaires"))


@bp.post("/questionnaires/drafts/<int:draft_id>/discard")
def discard(draft_id: int) -> Response:
    """Throw a draft away (nothing published is touched)."""
    draft = draft_or_404(draft_id)
    discard_draft(db.session, admin(), draft, ip=request.remote_addr)
    db.session.commit()
    flash(_("Draft discarded."), "info")
    return redirect(url_for("admin.questionnaires"))
