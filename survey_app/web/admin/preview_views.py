"""A draft's preview exactly as a client sees it: the client's questionnaire page, its script and skip logic.

The draft page frames these pages at a tablet's and a phone's width. Each is the client's own page
(``client/questionnaire.html`` rendered by the client's renderer, with ``static/js/client/``), with every
screen of the questionnaire in one page so the skip rules work across all of them, and the script in preview
mode: answers stay in the page, nothing is stored, sent or locked. Language and display buttons work as on a
tablet, for this preview only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from flask import abort, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from werkzeug.wrappers import Response

from survey_app.domain.questionnaire import localise
from survey_app.i18n import SUPPORTED_LANGUAGES
from survey_app.models.admin import QuestionnaireDraft
from survey_app.models.questionnaire import QuestionnaireVersion
from survey_app.services.client_forms import next_visible_screen, previous_visible_screen
from survey_app.services.client_session import QuestionnaireState
from survey_app.services.questionnaire_publishing import draft_questionnaire
from survey_app.web import allow_same_origin_framing
from survey_app.web.admin import bp
from survey_app.web.admin.questionnaire_views import draft_or_404
from survey_app.web.client.context import client_page_context, preferences, save_preferences
from survey_app.web.client.posted import missing_required, read_posted_answers
from survey_app.web.client.screens import questionnaire_config, questionnaire_page, ui_texts

#: A preview device and the way a client reaches the questionnaire on it (the counsellor's tablet, or a code).
DEVICES = {"tablet": "tablet", "phone": "code"}
PREVIEW_PREFS_KEY = "preview_prefs"
_FRAME_PATH = re.compile(
    r"^/admin/questionnaires/drafts/(\d+)/frame/(tablet|phone)/(en|nl|fr)/(\d{1,4}|end)$"
)


@dataclass(frozen=True)
class PreviewMode:
    """What the client pages read of client mode: how the client came (tablet or phone)."""

    via: str


class PreviewState(QuestionnaireState):
    """A draft with no answers yet, all its screens in one page (so skip rules work across every screen)."""

    @cached_property
    def pages(self) -> tuple[range, ...]:
        """One page holding every screen."""
        return (range(len(self.screens)),)


def _state(draft: QuestionnaireDraft) -> PreviewState:
    questionnaire = draft_questionnaire(draft)
    row = QuestionnaireVersion(  # never added to the database: what the page reads of a stored version
        key=draft.key, version=draft.version, title=localise(questionnaire.title, "en")[:300]
    )
    return PreviewState(position=0, row=row, questionnaire=questionnaire, answers={})


def _offered(state: QuestionnaireState) -> tuple[str, ...]:
    return tuple(code for code in SUPPORTED_LANGUAGES if code in state.questionnaire.offered_languages())


def _preview_of(draft_id: int, device: str, language: str) -> tuple[QuestionnaireDraft, PreviewState]:
    draft = draft_or_404(draft_id)
    state = _state(draft)
    if device not in DEVICES or language not in _offered(state) or not state.screens:
        abort(404)
    g.language = language
    refresh()  # the page's language from here on
    return draft, state


def _context(
    draft: QuestionnaireDraft, state: QuestionnaireState, device: str, language: str
) -> dict[str, Any]:
    choices = url_for("admin.preview_choices", draft_id=draft.id, device=device)
    return client_page_context(
        language,
        prefs=preferences(PREVIEW_PREFS_KEY),
        client_mode=PreviewMode(DEVICES[device]),
        languages=_offered(state),
        actions={"language": choices, "display": choices},
    )


def _framed(html: str) -> Response:
    return allow_same_origin_framing(make_response(html))


def _frame_page(
    draft: QuestionnaireDraft,
    state: QuestionnaireState,
    device: str,
    language: str,
    current: int,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    shown = state.visible_screens or (0,)
    current = current if current in shown else shown[0]  # a screen the skip rules hide: the first shown
    first = url_for(
        "admin.preview_frame", draft_id=draft.id, device=device, language=language, screen=shown[0]
    )
    config = {
        "preview": True,
        "session": None,
        "via": DEVICES[device],
        "language": language,
        "idle_seconds": 0,
        "urls": {
            "screen": first.rsplit("/", 1)[0] + "/",
            "next": url_for("admin.preview_end", draft_id=draft.id, device=device, language=language),
            "previous": first,
        },
        "texts": {
            **ui_texts(DEVICES[device]),
            "preview_only": _("This is a preview: in a session this button pauses and locks the screen."),
        },
        **questionnaire_config(0, [state], current),
    }
    html = questionnaire_page(
        0,
        [state],
        current,
        config=config,
        screen_action=url_for(
            "admin.preview_frame", draft_id=draft.id, device=device, language=language, screen=current
        ),
        errors=errors,
        typed=typed,
        **_context(draft, state, device, language),
    )
    return _framed(html)


@bp.get("/questionnaires/drafts/<int:draft_id>/frame/<device>/<language>/<int:screen>")
def preview_frame(draft_id: int, device: str, language: str, screen: int) -> Response:
    """The draft as the client's questionnaire page, on ``device`` in ``language``, showing ``screen``."""
    draft, state = _preview_of(draft_id, device, language)
    return _frame_page(draft, state, device, language, screen)


@bp.post("/questionnaires/drafts/<int:draft_id>/frame/<device>/<language>/<int:screen>")
def preview_step(draft_id: int, device: str, language: str, screen: int) -> Response | tuple[Response, int]:
    """The preview as plain forms (before or without its script): the next or previous screen, nothing stored.

    The page holds every screen, so the form brings every answer given so far: the skip rules see them all.
    """
    draft, blank = _preview_of(draft_id, device, language)
    if screen >= len(blank.screens):
        abort(404)
    values, problems, typed = read_posted_answers(blank.questionnaire.items)
    state = replace(blank, answers={key: value for key, value in values.items() if value is not None})
    forward = request.form.get("nav", "next") != "back"
    here = [item for item in state.screens[screen].items if item.id not in state.hidden]
    if forward:
        problems.update(missing_required(here, values, problems))
    if problems:
        at = min(state.screen_of(item_id) for item_id in problems)
        return _frame_page(draft, state, device, language, at, errors=problems, typed=typed), 422
    asked = set(request.form.get("shown", "").split())
    if asked and any(item.id not in asked for item in here):  # an answer here opened another question here
        return _frame_page(draft, state, device, language, screen)
    if forward:
        target = next_visible_screen(state.screens, screen, state.hidden)
        if target is None:
            return redirect(url_for("admin.preview_end", draft_id=draft.id, device=device, language=language))
    else:
        target = previous_visible_screen(state.screens, screen, state.hidden)
    return _frame_page(draft, state, device, language, screen if target is None else target)


@bp.get("/questionnaires/drafts/<int:draft_id>/frame/<device>/<language>/end")
def preview_end(draft_id: int, device: str, language: str) -> Response:
    """Where the preview's last Next leads: what the client would do next."""
    draft, state = _preview_of(draft_id, device, language)
    context = {**_context(draft, state, device, language), "with_script": False}
    context["page_title"] = _("End of the preview")
    start = url_for("admin.preview_frame", draft_id=draft.id, device=device, language=language, screen=0)
    return _framed(render_template("admin/preview_end.html", start=start, **context))


@bp.post("/questionnaires/drafts/<int:draft_id>/frame/<device>/choices")
def preview_choices(draft_id: int, device: str) -> Response | tuple[str, int]:
    """The preview's language and display buttons (kept for the previews of this browser only)."""
    draft = draft_or_404(draft_id)
    if device not in DEVICES:
        abort(404)
    save_preferences(PREVIEW_PREFS_KEY)
    if request.accept_mimetypes.best == "application/json":
        return "", 204
    match = _FRAME_PATH.match(request.form.get("next", ""))
    language = request.form.get("language", "")
    if match is None or int(match.group(1)) != draft.id:
        language = language if language in SUPPORTED_LANGUAGES else "en"
        return redirect(
            url_for("admin.preview_frame", draft_id=draft.id, device=device, language=language, screen=0)
        )
    language = language if language in SUPPORTED_LANGUAGES else match.group(3)
    screen = 0 if match.group(4) == "end" else int(match.group(4))
    return redirect(
        url_for("admin.preview_frame", draft_id=draft.id, device=device, language=language, screen=screen)
    )
