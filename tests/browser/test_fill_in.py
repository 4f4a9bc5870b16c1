"""A whole session in a real browser: on the tablet after the hand-over, and on a phone with a code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import PHONE, TABLET, Live, check_axe, hand_over_in_browser, shot


def _who5(page: Page, label: str) -> None:
    page.get_by_role("button", name="Start").click()
    for _ in range(5):
        page.get_by_role("radio", name="More than half of the time").check()
        expect(page.locator("[data-save-status]")).to_have_text("Your answers are saved.")
        page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Tablet form")).to_be_visible()
    shot(page, f"{label}-intro")


def _tablet_form(page: Page, label: str) -> None:
    page.get_by_role("button", name="Start").click()
    page.get_by_role("radio", name="option 3").check()
    check_axe(page, f"{label}: single choice")
    shot(page, f"{label}-single-choice")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Why is it good").fill("sunny")
    check_axe(page, f"{label}: text")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Was that fine")).to_be_hidden()  # shown only once days are answered
    page.get_by_label("How many days").fill("5")
    page.get_by_label("How many days").blur()
    expect(page.get_by_text("Was that fine")).to_be_visible()
    page.get_by_role("radio", name="Yes").check()
    check_axe(page, f"{label}: together with a declined option")
    shot(page, f"{label}-together")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("checkbox", name="Work").check()
    page.get_by_role("checkbox", name="Other").check()
    check_axe(page, f"{label}: multiple choice")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Which other").fill("gifts")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Rate your week").fill("7")
    check_axe(page, f"{label}: slider")
    shot(page, f"{label}-slider")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("First day").fill("2025-05-01")
    check_axe(page, f"{label}: date")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("radio", name="option 2").check()
    page.get_by_role("button", name="Next").click()


def _review_and_send(page: Page, label: str) -> None:
    page.wait_for_url("**/client/review")
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    expect(page.get_by_text("Work, Other")).to_be_visible()
    check_axe(page, f"{label}: review")
    shot(page, f"{label}-review")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url("**/client/done")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    check_axe(page, f"{label}: done")
    shot(page, f"{label}-done")
    stored = page.evaluate(
        """() => new Promise(resolve => {
            const open = indexedDB.open('client-answers');
            open.onsuccess = () => {
                const db = open.result;
                if (!db.objectStoreNames.contains('answers')) { resolve(0); return; }
                const all = db.transaction('answers').objectStore('answers').count();
                all.onsuccess = () => resolve(all.result);
            };
        })"""
    )
    assert stored == 0, "answers must not stay on the device after sending"


EXPECTED = {
    "mood": 3, "mood_why": "sunny", "days_used": 5, "days_ok": 1, "income": [1, 3], "income_other": "gifts",
    "rating": 7, "first_day": "2025-05-01", "days_where": 2,
}  # fmt: skip


def test_a_whole_session_on_the_tablet(open_page: Callable[..., Page], live: Live) -> None:
    world = live.world()
    page = open_page(TABLET)
    hand_over_in_browser(page, live, world)
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    check_axe(page, "tablet: welcome")
    shot(page, "tablet-welcome")
    page.get_by_role("link", name="Start").click()
    check_axe(page, "tablet: questionnaire introduction")
    _who5(page, "tablet")
    _tablet_form(page, "tablet")
    _review_and_send(page, "tablet")
    status, answers = live.session_state(world)
    assert status == "submitted"
    assert {key: answers[key] for key in EXPECTED} == EXPECTED and answers["who5_calm"] == 3
    page.get_by_role("link", name="For your counsellor: end client mode").click()
    check_axe(page, "tablet: end client mode")
    page.get_by_label("Counsellor's password").fill("correct horse battery staple")
    page.get_by_role("button", name="End client mode").click()
    page.wait_for_url(live.url + "/")
    assert "/client" not in page.url


@pytest.mark.http_errors(400)  # the wrong code
def test_a_whole_session_on_a_phone_with_a_code(open_page: Callable[..., Page], live: Live) -> None:
    world = live.world(("tablet_form",))
    code = live.issue_code(world)
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    page.goto("/client/start")
    check_axe(page, "phone: code entry")
    page.get_by_label("The code from your counsellor").fill("WRONG-CODE")
    page.get_by_role("button", name="Begin").click()
    expect(page.get_by_role("alert")).to_contain_text("This code is not right")
    check_axe(page, "phone: wrong code")
    shot(page, "phone-wrong-code")
    page.get_by_label("The code from your counsellor").fill(code.lower())
    page.get_by_role("button", name="Begin").click()
    page.wait_for_url("**/client/")
    check_axe(page, "phone: welcome")
    shot(page, "phone-welcome")
    page.get_by_role("link", name="Start").click()
    _tablet_form(page, "phone")
    _review_and_send(page, "phone")
    expect(page.get_by_text("You can close this page now.")).to_be_visible()
    status, answers = live.session_state(world)
    assert status == "submitted" and {key: answers[key] for key in EXPECTED} == EXPECTED
    page.goto("/client/")
    expect(
        page.get_by_role("link", name="I have a code")
    ).to_be_visible()  # client mode ended with the submit
