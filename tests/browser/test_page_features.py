"""The page itself: languages, read-aloud, larger text and contrast, skip rules on the page, the path without
JavaScript, and the weight of a first load."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from survey_app.extensions import db
from survey_app.questionnaires.loader import load_questionnaire_text
from survey_app.services.client_forms import build_screens
from tests.browser.harness import (
    ARTIFACTS,
    PHONE,
    TABLET,
    Live,
    check_axe,
    hand_over_in_browser,
    shot,
    tablet_without_javascript,
    wait_until_sent,
)
from tests.builders import dump
from tests.client.support import BANK, PASSWORD, every_type_document, store_text

#: The screens of the TOP (the bank's longest questionnaire): its introduction and one per item or group.
TOP = BANK / "top" / "v1.yaml"
SCREENS_OF_TOP = len(build_screens(load_questionnaire_text(TOP.read_text(encoding="utf-8"), str(TOP))))
RECORD_SPEECH = """
window.__spoken = [];
if ('speechSynthesis' in window) {
  window.speechSynthesis.speak = (utterance) => {
    window.__spoken.push({text: utterance.text, lang: utterance.lang});
    if (utterance.onend) { utterance.onend(); }
  };
}
"""


def test_the_language_switch_changes_interface_and_questions(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = open_page(TABLET)
    hand_over_in_browser(page, live, world)
    page.get_by_role("link", name="Start").click()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    assert page.url.endswith("/client/q/0/1")  # the same screen, now in Dutch
    expect(page.get_by_text("De afgelopen twee weken voelde ik me opgewekt")).to_be_visible()
    expect(page.get_by_role("button", name="Volgende")).to_be_visible()
    expect(page.get_by_role("radio", name="De hele tijd")).to_be_visible()
    check_axe(page, "tablet: question in Dutch")
    shot(page, "tablet-dutch")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("button", name="Suivant")).to_be_visible()
    expect(page.get_by_role("radio", name="Tout le temps")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Next")).to_be_visible()


def test_read_aloud_speaks_the_question_in_the_page_language(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = open_page(TABLET)
    page.add_init_script(RECORD_SPEECH)
    hand_over_in_browser(page, live, world)
    page.get_by_role("button", name="Nederlands").click()
    page.get_by_role("link", name="Beginnen").click()
    page.get_by_role("button", name="Beginnen").click()
    page.get_by_role("button", name="Voorlezen").click()
    spoken = page.evaluate("() => window.__spoken")
    assert len(spoken) == 1 and spoken[0]["lang"] == "nl"
    assert spoken[0]["text"].startswith("De afgelopen twee weken voelde ik me opgewekt")
    assert "De hele tijd" in spoken[0]["text"] and "Nooit" in spoken[0]["text"]


def test_larger_text_and_high_contrast_stay_on_and_pass_axe(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = open_page(PHONE)
    hand_over_in_browser(page, live, world)
    size = "() => getComputedStyle(document.documentElement).fontSize"
    before = float(page.evaluate(size).rstrip("px"))
    for name in ("Larger text", "High contrast"):
        with page.expect_response("**/client/display"):  # kept on the server for the session
            page.get_by_role("button", name=name).click()
    expect(page.get_by_role("button", name="Larger text")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        f"() => parseFloat(getComputedStyle(document.documentElement).fontSize) > {before * 1.15}"
    )
    page.get_by_role("link", name="Start").click()  # a new page: the choices are kept for the session
    expect(page.get_by_role("button", name="High contrast")).to_have_attribute("aria-pressed", "true")
    assert float(page.evaluate(size).rstrip("px")) > before * 1.15
    page.get_by_role("button", name="Start").click()
    page.get_by_role("radio", name="Some of the time").check()
    check_axe(page, "phone: larger text and high contrast")
    shot(page, "phone-large-contrast")


def test_skip_rules_apply_on_the_page_as_on_the_server(open_page: Callable[..., Page], live: Live) -> None:
    world = live.world(("tablet_form",))
    page = open_page(TABLET)
    hand_over_in_browser(page, live, world)
    page.goto("/client/q/0/1")
    page.get_by_role("radio", name="option 1").check()  # a low mood: "why is it good" is not asked
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("How many days")).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("Part 1 of 1 · Step 2 of 5")
    page.get_by_role("checkbox", name="Rather not say").check()  # declined: counts as no answer in rules
    expect(page.get_by_text("Was that fine")).to_be_hidden()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("checkbox", name="Benefit").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Rate your week")).to_be_visible()  # "which other" skipped
    page.get_by_role("button", name="Back").click()
    page.get_by_role("checkbox", name="Other").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Which other")).to_be_visible()
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Back").click()
    page.get_by_label("How many days").fill("3")  # typing a number clears "rather not say"
    page.get_by_label("How many days").press("Tab")
    expect(page.get_by_role("checkbox", name="Rather not say")).not_to_be_checked()
    expect(page.get_by_text("Was that fine")).to_be_visible()
    page.get_by_label("How many days").fill("30")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".cq-error")).to_have_text("Please type a whole number from 0 to 28.")
    page.get_by_label("How many days").fill("3")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("checkbox", name="Benefit")).to_be_visible()
    wait_until_sent(page)
    _status, answers = live.session_state(world)
    assert answers == {"mood": 1, "days_used": 3, "income": [2, 3]}


def test_a_date_outside_the_questions_range_is_explained_on_the_page_and_kept_to_correct(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world(("tablet_form",))
    page = open_page(TABLET)
    hand_over_in_browser(page, live, world)
    page.goto("/client/q/0/7")
    page.get_by_label("First day").fill("2019-05-01")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".cq-error")).to_have_text(
        "Please give a date from January 1, 2020 to December 31, 2030."
    )
    expect(page.get_by_label("First day")).to_have_value("2019-05-01")  # still there to correct
    page.get_by_label("First day").fill("2025-05-01")
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/client/review")
    _status, answers = live.session_state(world)
    assert answers == {"first_day": "2025-05-01"}


def test_more_answers_ticked_than_a_question_takes_is_explained_on_the_page_and_kept_to_correct(
    open_page: Callable[..., Page], live: Live
) -> None:
    document = every_type_document() | {"key": "choose_two"}
    document["sections"][2]["items"][0]["max_choices"] = 2  # income: at most two
    with live.app.app_context():
        store_text(db.session, "choose_two", 1, dump(document))
        db.session.commit()
    world = live.world(("choose_two",))
    page = open_page(TABLET)
    hand_over_in_browser(page, live, world)
    page.goto("/client/q/0/4")
    for source in ("Work", "Benefit", "Other"):
        page.get_by_role("checkbox", name=source).check()
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".cq-error")).to_have_text("Please choose at most 2 answers.")
    expect(page.get_by_role("checkbox", name="Other")).to_be_checked()  # still there to correct
    page.get_by_role("checkbox", name="Benefit").uncheck()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Which other")).to_be_visible()
    wait_until_sent(page)
    _status, answers = live.session_state(world)
    assert answers == {"income": [1, 3]}


@pytest.mark.http_errors(422)  # a required question left empty, a number out of range
def test_the_whole_session_works_without_javascript(open_page: Callable[..., Page], live: Live) -> None:
    world = live.world(("tablet_form",))
    code = live.issue_code(world)
    page = open_page(PHONE, java_script_enabled=False)
    page.goto("/client/start")
    page.get_by_label("The code from your counsellor").fill(code)
    page.get_by_role("button", name="Begin").click()
    page.get_by_role("link", name="Start").click()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Next").click()  # the required question left empty
    expect(page.get_by_text("Please answer this question to go on.")).to_be_visible()
    shot(page, "nojs-required")
    page.get_by_role("radio", name="option 4").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Why is it good").fill("sun")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("How many days").fill("2")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Was that fine")).to_be_visible()  # shown once days were answered
    page.get_by_role("radio", name="No").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("checkbox", name="Work").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Rate your week").fill("11")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Please type a whole number from 0 to 10.")).to_be_visible()
    page.get_by_label("Rate your week").fill("10")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()  # no date given
    page.get_by_role("radio", name="option 1").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    shot(page, "nojs-review")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    status, answers = live.session_state(world)
    assert status == "submitted"
    expected = {"mood": 4, "mood_why": "sun", "days_used": 2, "days_ok": 0, "income": [1], "rating": 10}
    assert answers == {**expected, "days_where": 1}


def test_without_javascript_the_leaving_page_ends_client_mode_with_its_button(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = tablet_without_javascript(open_page, live, world)
    page.goto("/client/leave")
    page.get_by_label("Counsellor's password").fill(PASSWORD)
    page.get_by_role("button", name="End client mode").click()
    expect(page.get_by_role("heading", name="Ending client mode")).to_be_visible()
    page.get_by_role("button", name="End client mode").click()  # nothing is kept on a device without script
    page.wait_for_url(live.url + "/")
    assert live.session_state(world)[0] == "open"  # the questionnaires wait for the next hand-over


def test_other_client_pages_pass_axe(open_page: Callable[..., Page], live: Live) -> None:
    world = live.world()
    page = open_page(TABLET)
    pages = {
        "/client/start": "code entry",
        "/client/closed": "closed",
        "/client/closed?why=expired": "closed for privacy",
        "/client/offline": "offline",
    }
    for path, label in pages.items():
        page.goto(path)
        check_axe(page, f"tablet: {label}")
    hand_over_in_browser(page, live, world)
    page.goto("/client/leave")
    check_axe(page, "tablet: leave")
    page.get_by_role("link", name="Go back to the questions").click()
    page.get_by_role("button", name="Pause and lock the screen").click()
    page.wait_for_url("**/client/locked")
    check_axe(page, "tablet: locked by the client")


def test_axe_finds_what_it_should(open_page: Callable[..., Page], live: Live) -> None:
    page = open_page(TABLET)
    page.goto("/client/start")
    page.evaluate(
        "() => { const i = document.createElement('input'); document.querySelector('main').append(i); }"
    )
    try:
        check_axe(page, "a page with an unlabelled field")
    except AssertionError as error:
        assert "label" in str(error)
    else:
        raise AssertionError("axe did not report an unlabelled field")


def _first_load(open_page: Callable[..., Page], live: Live, cookies: list[Any], path: str) -> dict[str, Any]:
    """What the server sends for a first look at `path` in a new browser context (nothing cached)."""
    page = open_page(TABLET)
    page.context.add_cookies(cookies)
    live.counter.reset()
    page.goto(path, wait_until="networkidle")
    sent = live.counter.sent
    config = json.loads(page.locator("#client-config").text_content() or "{}")
    return {"path": path, "bytes": sent, "by_path": dict(live.counter.sizes), "screens": config["screens"]}


def test_the_first_load_of_every_page_of_the_longest_questionnaire_is_at_most_100_kb(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world(("top",))
    setup = open_page(TABLET)
    hand_over_in_browser(setup, live, world)
    setup.get_by_role("button", name="Français").click()  # the longest texts
    for name in ("Texte plus grand", "Contraste élevé"):  # and both display options' style sheets
        with setup.expect_response("**/client/display"):
            setup.get_by_role("button", name=name).click()
    cookies = setup.context.cookies()
    loads = [_first_load(open_page, live, cookies, "/client/q/0/0")]
    while (stop := loads[-1]["screens"][1]) < SCREENS_OF_TOP:
        loads.append(_first_load(open_page, live, cookies, f"/client/q/0/{stop}"))
    heaviest = max(loads, key=lambda load: load["bytes"])
    figures = {
        "questionnaire": "top",
        "language": "fr",
        "pages": [{key: load[key] for key in ("path", "bytes")} for load in loads],
        "heaviest": heaviest,
        "kilobytes": round(heaviest["bytes"] / 1024, 1),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "first-load.json").write_text(json.dumps(figures, indent=1))
    assert len(loads) > 1, "the longest questionnaire is sent in several pages"
    assert "/static/css/client-large.css" in heaviest["by_path"], heaviest
    assert heaviest["bytes"] <= 100 * 1024, figures
