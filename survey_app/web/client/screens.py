"""Rendering a questionnaire page: its screens, the progress, and the settings the page's script reads."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import gettext as _

from survey_app.i18n import page_language
from survey_app.services.client_access import device_key
from survey_app.services.client_forms import page_of, section_starts_on, skip_rules
from survey_app.services.client_session import QuestionnaireState
from survey_app.web.client.context import client_mode_row, current_assessment, current_states
from survey_app.web.client.guard import site_idle_timeout


def screen_url(n: int, screen: int) -> str:
    """The address of one screen of the n-th questionnaire."""
    return url_for("client.screen", n=n, screen=screen)


def progress_text(states: list[QuestionnaireState], n: int, current: int) -> str:
    """'Part 2 of 5 · Step 3 of 9' (on an introduction only the part)."""
    state = states[n]
    steps = [i for i in state.visible_screens if state.screens[i].kind == "items"]
    if current not in steps:
        return _("Part %(part)s of %(parts)s", part=n + 1, parts=len(states))
    return _(
        "Part %(part)s of %(parts)s · Step %(step)s of %(steps)s",
        part=n + 1,
        parts=len(states),
        step=steps.index(current) + 1,
        steps=len(steps),
    )


def _progress(states: list[QuestionnaireState], n: int, current: int) -> dict[str, int]:
    visible = states[n].visible_screens
    before = sum(len(state.visible_screens) for state in states[:n])
    done = before + (visible.index(current) if current in visible else 0)
    return {"done": done, "total": max(1, sum(len(state.visible_screens) for state in states))}


def ui_texts(via: str) -> dict[str, str]:
    """The texts the page's script shows, in the page language, on a tablet or (``via`` "code") a phone."""
    on_phone = via == "code"
    return {
        "saved": _("Your answers are saved."),
        "newer_kept": _(
            "Your answers are saved. You answered one question again on another device, "
            "so that newer answer is kept."
        ),
        "saving": _("Saving your answers…"),
        "pending": _("Saved on this phone, not yet sent. They will be sent when the connection is back.")
        if on_phone
        else _("Saved on this tablet, not yet sent. They will be sent when the connection is back."),
        "refused": _("An answer could not be saved. Please check it and try again."),
        "needs_network": _("This needs a connection. Please try again when the connection is back."),
        "number": _("Please type a whole number from {low} to {high}."),
        "required": _("Please answer this question to go on."),
        "idle_warning": _("Are you still there? To keep your answers private the screen will lock soon."),
        "progress": _("Part {part} of {parts} · Step {step} of {steps}"),
        "progress_part": _("Part {part} of {parts}"),
        "read_aloud": _("Read aloud"),
        "stop_reading": _("Stop reading"),
        "submit_offline": _(
            "There is no connection. Your answers are kept on this phone until the connection is back."
        )
        if on_phone
        else _("There is no connection. Your answers are kept on this tablet until the connection is back."),
        "submit_failed": _("Your answers could not be sent. Please try again."),
        "sending": _("Sending your answers…"),
        "leaving_unsent": _(
            "Some answers kept on this device could not be sent yet. Wait for the connection, or end "
            "client mode now: those answers are then lost."
        ),
    }


def _visible_between(state: QuestionnaireState, start: int, stop: int, *, steps: bool = False) -> int:
    """Shown screens with index in [start, stop) (only those asking questions when ``steps``)."""
    return sum(
        1
        for index in state.visible_screens
        if start <= index < stop and not (steps and state.screens[index].kind == "intro")
    )


def page_config(n: int | None, states: list[QuestionnaireState], current: int = 0) -> dict[str, Any]:
    """Settings for static/js/client/app.js: where to save, the skip rules, the page's screens, the texts."""
    assessment = current_assessment()
    public_id = assessment.public_id
    via = client_mode_row().via
    config: dict[str, Any] = {
        "session": public_id,
        "via": via,
        "language": page_language(),
        "idle_seconds": site_idle_timeout().total_seconds(),
        "device_key": device_key(current_app.config["SECRET_KEY"], public_id),
        "urls": {
            "answers": url_for("api.save_answers", public_id=public_id),
            "submit": url_for("api.submit", public_id=public_id),
            "lock": url_for("client.lock" if via == "tablet" else "client.close"),
            "keepalive": url_for("client.keepalive"),
            "done": url_for("client.done"),
            "sw": url_for("client.service_worker", device="phone" if via == "code" else None),
        },
        "texts": ui_texts(via),
    }
    if n is not None:
        config.update(questionnaire_config(n, states, current))
        config["urls"].update(_neighbour_urls(n, states, current))
    return config


def questionnaire_config(n: int, states: list[QuestionnaireState], current: int) -> dict[str, Any]:
    """The page script's settings for one questionnaire page: skip rules, answers, screens and progress."""
    state = states[n]
    page = page_of(state.pages, current)
    return {
        "questionnaire": {"key": state.row.key, "version": state.row.version, "n": n, "parts": len(states)},
        "skip": {"rules": skip_rules(state.questionnaire)["rules"]},  # declined codes are read from the page
        "answers": state.answers,  # the rules may name items on other pages
        "screens": [page.start, page.stop],
        "sections_before": sorted(  # sections already begun on an earlier page: their title is not repeated
            {
                screen.section.id
                for screen in state.screens[: page.start]
                if screen.section is not None and screen.index in state.visible_screens
            }
        ),
        "progress": {
            "before": sum(len(s.visible_screens) for s in states[:n])
            + _visible_between(state, 0, page.start),
            "after": sum(len(s.visible_screens) for s in states[n + 1 :])
            + _visible_between(state, page.stop, len(state.screens)),
            "steps_before": _visible_between(state, 0, page.start, steps=True),
            "steps_after": _visible_between(state, page.stop, len(state.screens), steps=True),
        },
    }


def _neighbour_urls(n: int, states: list[QuestionnaireState], current: int) -> dict[str, str]:
    """Where Next leads after this page's last screen, and Back before its first one."""
    state = states[n]
    page = page_of(state.pages, current)
    if page.stop < len(state.screens):
        following = screen_url(n, page.stop)
    else:
        following = screen_url(n + 1, 0) if n + 1 < len(states) else url_for("client.review")
    if page.start > 0:
        previous = url_for("client.screen", n=n, screen=page.start - 1, dir="back")
    elif n > 0:
        previous = url_for("client.screen", n=n - 1, screen=len(states[n - 1].screens) - 1, dir="back")
    else:
        previous = url_for("client.welcome")
    return {"screen": screen_url(n, 0).rsplit("/", 1)[0] + "/", "next": following, "previous": previous}


def render_questionnaire(
    n: int,
    state: QuestionnaireState,
    current: int,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    posted: dict[str, Any] | None = None,
) -> str:
    """The questionnaire page with every screen, the current one shown (``posted``: answers not kept)."""
    states = current_states()
    return questionnaire_page(
        n,
        states,
        current,
        config=page_config(n, states, current),
        screen_action=url_for("client.save_screen", n=n, screen=current),
        errors=errors,
        typed=typed,
        posted=posted,
    )


def questionnaire_page(
    n: int,
    states: list[QuestionnaireState],
    current: int,
    *,
    config: dict[str, Any],
    screen_action: str,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    posted: dict[str, Any] | None = None,
    **context: Any,
) -> str:
    """Render one page of the n-th questionnaire (the client's page; the admin preview passes its context).

    ``posted`` holds the answers a refused screen sent: they are shown instead of the stored ones.
    """
    state = states[n]
    return render_template(
        "client/questionnaire.html",
        page_title=state.questionnaire.short_title.get(page_language(), state.row.title),
        n=n,
        state=state,
        current=current,
        errors=errors or {},
        typed=typed or {},
        answers={**state.answers, **(posted or {})},
        screen_error=_("Please look at the question marked below.") if errors else None,
        page=page_of(state.pages, current),
        progress=_progress(states, n, current),
        progress_text=progress_text(states, n, current),
        section_starts=lambda index: section_starts_on(state.screens, index, state.hidden),
        config=config,
        screen_action=screen_action,
        **context,
    )
