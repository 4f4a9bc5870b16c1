"""Nothing is lost: a reload resumes, answers given offline are kept on the device and sent on reconnect,
and an idle screen locks, hides the answers and clears the device; a screen locked (or a phone stopped)
offline seals the answers not yet sent, and the next unlocked page (on a phone, a new code) sends them; the
offline page carries on by itself once the server answers, even when the network never went down."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from survey_app.models.base import utcnow
from tests.browser.harness import (
    PHONE,
    TABLET,
    Live,
    World,
    check_axe,
    hand_over_in_browser,
    shot,
    tablet_without_javascript,
    wait_until_sent,
    wait_until_true,
)
from tests.client.support import PASSWORD

PENDING = "Saved on this tablet, not yet sent."
COUNT_ON_DEVICE = """() => new Promise(resolve => {
    const open = indexedDB.open('client-answers');
    open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains('answers')) { resolve(0); return; }
        const count = db.transaction('answers').objectStore('answers').count();
        count.onsuccess = () => resolve(count.result);
    };
})"""


SEALED_ON_DEVICE = """() => new Promise(resolve => {
    const open = indexedDB.open('client-answers');
    open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains('sealed')) { resolve([]); return; }
        const all = db.transaction('sealed').objectStore('sealed').getAll();
        all.onsuccess = () => resolve(all.result.map(r => ({
            fields: Object.keys(r).sort(), encrypted: r.data instanceof ArrayBuffer,
            readable: JSON.stringify(r) + new TextDecoder().decode(r.data),
        })));
    };
})"""
PAGES_ON_DEVICE = "() => caches.has('client-pages')"


WORKER_STATE = """() => navigator.serviceWorker.getRegistration().then(r => r ? {
    installing: r.installing && r.installing.state, waiting: r.waiting && r.waiting.state,
    active: r.active && r.active.state} : "not registered")"""


def _wait_for_the_worker(page: Page) -> None:
    """Wait until the service worker controls the page (it keeps the shell first: slow on a busy machine)."""
    try:
        page.wait_for_function(
            "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=30_000
        )
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"no service worker in charge after 30 s: {page.evaluate(WORKER_STATE)}"
        ) from None


def _start_who5(page: Page) -> None:
    """From the welcome page to the first WHO-5 question, its page's script running.

    On a loaded machine a press can come before the script runs; the form then goes to the server, which
    leads on to the same question in a new page. Either way the next touch finds the script in charge.
    """
    page.get_by_role("link", name="Start").click()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("radio", name="At no time")).to_be_visible()
    page.wait_for_function("() => document.readyState === 'complete'")  # deferred scripts have run


def _answer(page: Page, label: str) -> None:
    page.get_by_role("radio", name=label).check()


def _tablet_on_who5(open_page: Callable[..., Page], live: Live, world: World) -> Page:
    """A tablet handed over to the client, showing the first WHO-5 question."""
    page = open_page(TABLET)
    hand_over_in_browser(page, live, world)
    _start_who5(page)
    return page


def _three_answers_the_last_two_offline(open_page: Callable[..., Page], live: Live, world: World) -> Page:
    """A tablet that sent the first WHO-5 answer, then lost the connection and kept the next two."""
    return _answer_three_the_last_two_offline(_tablet_on_who5(open_page, live, world))


def _locked_without_a_connection(open_page: Callable[..., Page], live: Live, world: World) -> Page:
    """A tablet locked (the client's "Pause") while two answers waited for the connection."""
    page = _three_answers_the_last_two_offline(open_page, live, world)
    page.get_by_role("button", name="Pause and lock the screen").click()
    expect(page.locator("[data-offline-page]")).to_be_visible()
    return page


def _enter_code(page: Page, code: str) -> None:
    page.goto("/client/start")
    page.get_by_label("The code from your counsellor").fill(code)
    page.get_by_role("button", name="Begin").click()
    page.wait_for_url("**/client/")


def _answer_three_the_last_two_offline(page: Page) -> Page:
    """From the first WHO-5 question: its answer sent, then the connection lost and the next two kept."""
    _answer(page, "Some of the time")  # the first touch of a page registers the service worker
    _wait_for_the_worker(page)
    wait_until_sent(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="Next").click()
    _answer(page, "Most of the time")
    page.get_by_role("button", name="Next").click()
    _answer(page, "Less than half of the time")
    expect(page.locator("[data-save-status]")).to_contain_text("not yet sent")
    return page


def test_a_reload_resumes_on_the_same_screen_and_another_device_carries_on(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = _tablet_on_who5(open_page, live, world)
    _answer(page, "At no time")
    page.get_by_role("button", name="Next").click()
    _answer(page, "All of the time")
    wait_until_sent(page)
    page.reload()
    assert page.url.endswith("/client/q/0/2")
    expect(page.get_by_role("radio", name="All of the time")).to_be_checked()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("radio", name="At no time")).to_be_checked()
    other = open_page(TABLET)  # the same session resumed on another tablet
    hand_over_in_browser(other, live, world)
    expect(other.get_by_role("link", name="Continue")).to_be_visible()
    other.get_by_role("link", name="Continue").click()
    assert other.url.endswith("/client/q/0/3")


def test_an_answer_kept_offline_gives_way_to_the_newer_one_the_client_gave_on_another_device(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = _three_answers_the_last_two_offline(open_page, live, world)  # calm 4 and active 2 kept
    page.wait_for_timeout(1_000)
    live.answer_on_another_device(world, "who5", "who5_calm", 0)  # later, on the phone: "At no time"
    page.context.set_offline(False)
    expect(page.locator("[data-save-status]")).to_contain_text("that newer answer is kept")
    shot(page, "tablet-newer-answer-kept")
    assert live.session_state(world)[1] == {"who5_cheerful": 1, "who5_calm": 0, "who5_active": 2}
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("radio", name="At no time")).to_be_checked()  # the page shows what is kept
    page.reload()  # the same screen, from the server and what the device holds
    assert page.url.endswith("/client/q/0/2")
    expect(page.get_by_role("radio", name="At no time")).to_be_checked()


def test_answers_given_offline_are_kept_on_the_tablet_and_sent_on_reconnect(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = _three_answers_the_last_two_offline(open_page, live, world)
    shot(page, "tablet-offline-pending")
    assert live.session_state(world)[1] == {"who5_cheerful": 1}
    page.reload()  # offline: the service worker serves the page kept on the device
    assert page.url.endswith("/client/q/0/3")
    expect(page.get_by_role("radio", name="Less than half of the time")).to_be_checked()
    expect(page.locator("[data-save-status]")).to_contain_text(PENDING)
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("radio", name="Most of the time")).to_be_checked()
    page.context.set_offline(False)
    expect(page.locator("[data-save-status]")).to_have_text("Your answers are saved.")
    wait_until_sent(page)
    assert live.session_state(world)[1] == {"who5_cheerful": 1, "who5_calm": 4, "who5_active": 2}


@pytest.mark.http_errors(403)  # the wrong password
def test_an_idle_screen_locks_hides_the_answers_and_clears_the_device(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = open_page(TABLET)
    hand_over_in_browser(page, live, world)
    live.app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 0.05  # three seconds
    try:
        _start_who5(page)
        _answer(page, "Some of the time")
        expect(page.locator("[data-save-status]")).to_have_text("Your answers are saved.")
        assert page.evaluate(COUNT_ON_DEVICE) == 1
        expect(page.get_by_role("alert")).to_contain_text("Are you still there?")
        page.wait_for_url("**/client/locked")
    finally:
        live.app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 10
    expect(page.get_by_role("heading", name="This screen is locked")).to_be_visible()
    expect(page.get_by_text("Some of the time")).to_have_count(0)
    assert page.evaluate(COUNT_ON_DEVICE) == 0
    check_axe(page, "tablet: locked")
    shot(page, "tablet-locked")
    page.goto("/client/q/0/1")
    assert page.url.endswith("/client/locked")  # the server locked the mode too
    page.get_by_label("Counsellor's password").fill("wrong password")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("alert")).to_contain_text("That password is not right")
    page.get_by_label("Counsellor's password").fill(PASSWORD)
    page.get_by_role("button", name="Unlock").click()
    page.wait_for_url("**/client/")
    expect(page.get_by_role("link", name="Continue")).to_be_visible()


def test_without_javascript_an_idle_screen_locks_itself_and_hides_the_answers(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = tablet_without_javascript(open_page, live, world)
    # Twelve seconds: every request below comes well within that of the one before, even on a busy
    # machine, so only the untouched review screen outlasts it.
    live.app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 0.2
    try:
        page.goto("/client/q/0/1")
        _answer(page, "Some of the time")
        page.get_by_role("button", name="Next").click()
        page.goto("/client/review")
        expect(page.get_by_text("Some of the time")).to_be_visible()
        page.wait_for_url("**/client/locked", timeout=40_000)  # nobody touched the screen
    finally:
        live.app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 10
    expect(page.get_by_role("heading", name="This screen is locked")).to_be_visible()
    expect(page.get_by_text("Some of the time")).to_have_count(0)
    shot(page, "nojs-locked")


@pytest.mark.http_errors(401)  # the autosave of the locked screen's last page, before it moves on
def test_a_screen_locked_offline_seals_the_unsent_answers_and_sends_them_once_unlocked(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = _locked_without_a_connection(open_page, live, world)
    assert page.evaluate(COUNT_ON_DEVICE) == 0
    (sealed,) = page.evaluate(SEALED_ON_DEVICE)
    assert sealed["fields"] == ["at", "data", "iv", "session"] and sealed["encrypted"]
    assert "who5" not in sealed["readable"] and "Most of the time" not in sealed["readable"]
    assert not page.evaluate(PAGES_ON_DEVICE)
    assert live.session_state(world)[1] == {"who5_cheerful": 1}
    page.context.set_offline(False)  # the offline page reloads: the lock reaches the server
    page.wait_for_url("**/client/locked")
    expect(page.get_by_role("heading", name="This screen is locked")).to_be_visible()
    assert live.session_state(world)[1] == {"who5_cheerful": 1}
    page.get_by_label("Counsellor's password").fill(PASSWORD)
    page.get_by_role("button", name="Unlock").click()
    page.wait_for_url("**/client/")
    # the welcome page sends what it unsealed, then shows again to carry on from those answers
    expect(page.get_by_role("link", name="Continue")).to_have_attribute("href", re.compile(r"/client/q/0/4$"))
    assert live.session_state(world)[1] == {"who5_cheerful": 1, "who5_calm": 4, "who5_active": 2}
    assert page.evaluate(SEALED_ON_DEVICE) == []
    page.get_by_role("link", name="Continue").click()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("radio", name="Less than half of the time")).to_be_checked()


@pytest.mark.http_errors(401)  # the autosave of the locked screen's last page, before it moves on
def test_ending_client_mode_on_a_screen_locked_offline_sends_the_sealed_answers_first(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = _locked_without_a_connection(open_page, live, world)
    page.context.set_offline(False)
    page.wait_for_url("**/client/locked")
    assert live.session_state(world)[1] == {"who5_cheerful": 1}  # the other two are sealed on the tablet
    page.get_by_label("Counsellor's password").fill(PASSWORD)
    page.get_by_role("button", name="End client mode").click()
    page.wait_for_url(live.url + "/")  # the leaving page sent them, then ended client mode
    assert live.session_state(world)[1] == {"who5_cheerful": 1, "who5_calm": 4, "who5_active": 2}
    assert page.evaluate(SEALED_ON_DEVICE) == [] and page.evaluate(COUNT_ON_DEVICE) == 0


def test_ending_client_mode_waits_for_the_answers_not_sent_yet_and_says_so(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = _tablet_on_who5(open_page, live, world)
    page.route("**/api/v1/sessions/*/answers", lambda route: route.abort("connectionrefused"))
    _answer(page, "Most of the time")  # kept on the tablet: the server cannot be reached for it
    expect(page.locator("[data-save-status]")).to_contain_text(PENDING)
    page.goto("/client/leave")
    page.get_by_label("Counsellor's password").fill(PASSWORD)
    page.get_by_role("button", name="End client mode").click()
    page.wait_for_url("**/client/leaving")
    expect(page.locator("[data-save-status]")).to_contain_text("could not be sent yet")
    check_axe(page, "tablet: ending client mode, answers not sent yet")
    shot(page, "tablet-leaving-unsent")
    assert live.session_state(world)[1] == {}
    page.unroute("**/api/v1/sessions/*/answers")  # the server is reached again: sent, then ended
    page.wait_for_url(live.url + "/", timeout=30_000)
    assert live.session_state(world)[1] == {"who5_cheerful": 4}


def test_a_phone_stopped_offline_keeps_the_unsent_answers_sealed_until_a_new_code_sends_them(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    live.forget_failed_codes()
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    _enter_code(page, live.issue_code(world))
    _start_who5(page)
    _answer_three_the_last_two_offline(page)
    expect(page.locator("[data-save-status]")).to_contain_text("Saved on this phone, not yet sent.")
    page.get_by_role("button", name="Stop for now").click()
    expect(page.locator("[data-offline-page]")).to_contain_text("Your answers are kept on this phone")
    page.context.set_offline(False)  # the stop reaches the server
    page.wait_for_url("**/client/closed?why=stopped")
    stopped_at = utcnow()
    expect(page.get_by_role("heading", name="You stopped for now")).to_be_visible()
    wait_until_true(
        page, f"async () => !(await ({PAGES_ON_DEVICE})())", "the pages kept offline were not removed"
    )
    assert page.evaluate(COUNT_ON_DEVICE) == 0  # nothing readable stays on the phone
    (sealed,) = page.evaluate(SEALED_ON_DEVICE)
    assert sealed["encrypted"] and "Most of the time" not in sealed["readable"]
    assert live.session_state(world)[1] == {"who5_cheerful": 1}

    _enter_code(page, live.issue_code(world))  # later, a new code for the same questionnaires
    expect(page.get_by_role("link", name="Continue")).to_have_attribute("href", re.compile(r"/client/q/0/4$"))
    assert live.session_state(world)[1] == {"who5_cheerful": 1, "who5_calm": 4, "who5_active": 2}
    given = live.answer_times(world)  # stored as given before the stop, not when they were sent
    assert given["who5_calm"] < stopped_at and given["who5_active"] < stopped_at
    assert page.evaluate(SEALED_ON_DEVICE) == []


def test_a_phone_its_page_closed_for_nobody_using_it_says_so_not_that_the_client_stopped(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    live.forget_failed_codes()
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    live.app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 0.05  # the page's own clock: three seconds
    try:
        _enter_code(page, live.issue_code(world))
        page.wait_for_function("() => document.readyState === 'complete'")
    finally:
        live.app.config["CLIENT_IDLE_TIMEOUT_MINUTES"] = 10  # the server would close it only later
    page.wait_for_url("**/client/closed?why=expired")
    expect(page.get_by_role("heading", name="This page was closed")).to_be_visible()


def test_the_next_clients_code_on_the_same_phone_leaves_nothing_of_the_first_client_to_see_offline(
    open_page: Callable[..., Page], live: Live
) -> None:
    first, second = live.world(), live.world()
    live.forget_failed_codes()
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    _enter_code(page, live.issue_code(first))
    _start_who5(page)
    _answer(page, "Some of the time")
    _wait_for_the_worker(page)
    wait_until_sent(page)
    assert page.evaluate(PAGES_ON_DEVICE)  # the first client's page is kept for a connection that drops
    page.goto("/client/start")  # the next client, on the same phone, without "Stop for now"
    wait_until_true(
        page, f"async () => !(await ({PAGES_ON_DEVICE})())", "the first client's pages stayed on the phone"
    )
    assert page.evaluate(COUNT_ON_DEVICE) == 0
    page.get_by_label("The code from your counsellor").fill(live.issue_code(second))
    page.get_by_role("button", name="Begin").click()
    page.wait_for_url("**/client/")
    page.context.set_offline(True)
    page.goto("/client/q/0/1")
    expect(page.locator("[data-offline-page]")).to_be_visible()
    expect(page.get_by_role("radio", name="Some of the time")).to_have_count(0)


def test_the_offline_page_carries_on_by_itself_once_the_server_answers_again(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.world()
    page = _tablet_on_who5(open_page, live, world)
    _answer(page, "At no time")  # the first touch of a page registers the service worker
    _wait_for_the_worker(page)
    # the network works (no "offline" event, none when it is back): only the server is out of reach
    page.context.route("**/*", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Pause and lock the screen").click()
    expect(page.locator("[data-offline-page]")).to_be_visible()
    assert page.evaluate("navigator.onLine")
    page.context.unroute("**/*")
    page.wait_for_url("**/client/locked")  # the page asked the server until it answered, then locked
    expect(page.get_by_role("heading", name="This screen is locked")).to_be_visible()
