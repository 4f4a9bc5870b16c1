"""The client's questionnaires: welcome, one screen at a time, review, submit and the calm end.

Every screen is a plain form (the path without JavaScript); ``static/js/client/app.js`` enhances the same
page: it moves between screens in the browser and saves each answer through the JSON API at once.
"""

from __future__ import annotations

import math
import secrets

from flask import abort, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.services.client_access import end_client_mode
from survey_app.services.client_forms import (
    next_visible_screen,
    previous_visible_screen,
    screen_is_visible,
    unanswered_required,
)
from survey_app.services.client_session import QuestionnaireState, resume_point
from survey_app.services.responses import (
    AnswerInput,
    ResponseError,
    SessionClosedError,
    save_answers,
    submit_session,
)
from survey_app.web.client import bp
from survey_app.web.client.context import client_mode_row, current_assessment, current_states, state_or_404
from survey_app.web.client.guard import (
    CLEAR_EVERYTHING,
    CLIENT_DONE_KEY,
    client_mode_lookup,
    forget_client_mode,
)
from survey_app.web.client.posted import missing_required, read_posted_answers
from survey_app.web.client.screens import page_config, render_questionnaire, screen_url

SECONDS_PER_QUESTION = 12


def _open_or_done() -> Response | None:
    if current_assessment().status != "open":
        return redirect(url_for("client.done"))
    return None


@bp.get("/")
def welcome() -> Response | str:
    """The first page: how many questionnaires, how long, and where to start or carry on."""
    if (closed := _open_or_done()) is not None:
        return closed
    states = current_states()
    point = resume_point(states)
    start = screen_url(*point) if point else url_for("client.review")
    questions = sum(len(state.shown_items) - state.answered for state in states)
    return render_template(
        "client/welcome.html",
        page_title=_("Welcome"),
        states=states,
        start_url=start,
        started=any(state.started for state in states),
        minutes=max(1, math.ceil(questions * SECONDS_PER_QUESTION / 60)),
        config=page_config(None, states),
    )


@bp.get("/q/<int:n>/<int:screen>")
def screen(n: int, screen: int) -> Response | str:
    """One questionnaire, showing one screen (a hidden screen sends the client on to the next one shown)."""
    if (closed := _open_or_done()) is not None:
        return closed
    state = state_or_404(n)
    if screen >= len(state.screens):
        last = state.visible_screens[-1] if state.visible_screens else 0
        return redirect(screen_url(n, last))
    if not screen_is_visible(state.screens[screen], state.hidden):  # skipped: on in the direction of travel
        return redirect(_step(n, state, screen, forward=request.args.get("dir") != "back"))
    return render_questionnaire(n, state, screen)


@bp.post("/q/<int:n>/<int:screen>")
def save_screen(n: int, screen: int) -> Response | tuple[str, int]:
    """Save one screen's answers (the path without JavaScript), then go to the next or previous screen."""
    if (closed := _open_or_done()) is not None:
        return closed
    state = state_or_404(n)
    if screen >= len(state.screens):
        abort(404)
    forward = request.form.get("nav", "next") != "back"
    page = state.screens[screen]
    shown = set(request.form.get("shown", "").split())
    asked = [item for item in page.items if item.id in shown]
    if asked:
        values, problems, typed = read_posted_answers(asked)
        if forward:
            problems.update(missing_required(asked, values, problems))
        if problems:
            page_again = render_questionnaire(n, state, screen, errors=problems, typed=typed, posted=values)
            return page_again, 422
        try:
            save_answers(
                db.session,
                current_assessment(),
                [AnswerInput(state.row, k, v) for k, v in values.items()],
                client_mode_id=client_mode_row().id,
            )
        except SessionClosedError:
            db.session.rollback()
            return redirect(url_for("client.done"))
        db.session.commit()
        state = current_states(refresh=True)[n]
        newly_shown = {i.id for i in page.items if i.id not in state.hidden} - shown
        if newly_shown and screen_is_visible(page, state.hidden):
            return redirect(screen_url(n, screen))  # an answer here opened another question on this screen
    return redirect(_step(n, state, screen, forward=forward))


def _step(n: int, state: QuestionnaireState, screen: int, *, forward: bool) -> str:
    """The URL of the next (or previous) screen shown, across questionnaires, ending at review or welcome."""
    if forward:
        following = next_visible_screen(state.screens, screen, state.hidden)
        if following is not None:
            return screen_url(n, following)
        states = current_states()
        return screen_url(n + 1, 0) if n + 1 < len(states) else url_for("client.review")
    earlier = previous_visible_screen(state.screens, screen, state.hidden)
    if earlier is not None:
        return screen_url(n, earlier)
    if n == 0:
        return url_for("client.welcome")
    previous = current_states()[n - 1]
    return screen_url(n - 1, previous.visible_screens[-1] if previous.visible_screens else 0)


def _needed(states: list[QuestionnaireState]) -> set[tuple[int, str]]:
    return {
        (n, item_id)
        for n, state in enumerate(states)
        for item_id in unanswered_required(state.questionnaire, state.answers, state.hidden)
    }


@bp.get("/review")
def review(error: str | None = None, status: int = 200) -> Response | tuple[str, int]:
    """Every answer before sending; each one can still be changed."""
    if (closed := _open_or_done()) is not None:
        return closed
    states = current_states()
    return (
        render_template(
            "client/review.html",
            page_title=_("Check your answers"),
            states=states,
            needed=_needed(states),
            error=error,
            idempotency_key=secrets.token_urlsafe(24),
            config=page_config(None, states),
        ),
        status,
    )


@bp.post("/submit")
def submit() -> Response | tuple[str, int]:
    """Send the answers (the path without JavaScript); a second click with the same key changes nothing."""
    assessment = current_assessment()
    key = request.form.get("idempotency_key", "")
    try:
        submit_session(db.session, assessment, key, [])
    except SessionClosedError:
        db.session.rollback()
        return redirect(url_for("client.done"))
    except ResponseError as error:
        db.session.rollback()
        missing = error.code == "required_unanswered"  # the review marks them itself
        return review(
            error=None if missing else _("Your answers could not be sent. Please try again."), status=422
        )
    finish_client_mode_after_submit()
    db.session.commit()
    return redirect(url_for("client.done"))


def finish_client_mode_after_submit() -> None:
    """A phone leaves client mode at the submit (its thank-you page still shows); a tablet waits for staff."""
    row = client_mode_row()
    if row.via == "code":
        end_client_mode(db.session, row, "submitted")
        forget_client_mode(sent=True)


@bp.get("/done")
def done() -> Response | str:
    """The calm end: thank you, and hand the tablet back (or close the page on a phone)."""
    lookup = client_mode_lookup()
    if lookup is not None and lookup.state == "active" and lookup.row.assessment.status == "submitted":
        via = lookup.row.via
    elif session.get(CLIENT_DONE_KEY):
        via = "code"
    else:
        return redirect(url_for("client.welcome"))
    response = make_response(
        render_template(
            "client/done.html", page_title=_("Thank you"), via=via, client_mode=None, with_script=False
        )
    )
    response.headers["Clear-Site-Data"] = CLEAR_EVERYTHING
    return response
