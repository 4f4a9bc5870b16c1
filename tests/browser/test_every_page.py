"""Every page a client can see, in every language and display mode: axe-core finds no WCAG 2.1 AA violation
and every touch target is at least 44 by 44 px. Code entry and its errors, the closing and offline pages, the
welcome, a question and a question with a message, the review, an error page, ending and locking client mode
(with a wrong password too), and the thank-you page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import PHONE, TABLET, Live, check_axe, hand_over_in_browser, shot
from tests.client.support import PASSWORD

#: Interactive elements smaller than 44 x 44 px (a radio or checkbox counts as its whole label; a skip link
#: is off screen until a keyboard reaches it).
SMALL_TARGETS = """() => Array.from(
    document.querySelectorAll('a[href], button, select, textarea, input:not([type=hidden])'))
  .map(element => element.closest('label.cq-option') || element)
  .filter((element, index, all) => all.indexOf(element) === index && element.getClientRects().length > 0)
  .map(element => ({element, box: element.getBoundingClientRect()}))
  .filter(({box}) => box.right > 0 && box.bottom > 0 && (box.width < 44 || box.height < 44))
  .map(({element, box}) => `${element.tagName} "${element.textContent.trim().slice(0, 30)}" ` +
       `${Math.round(box.width)}x${Math.round(box.height)}`)"""

#: (language, larger text, high contrast): every page in each language, and each display mode on its own.
PASSES = [
    ("en", False, False),
    ("nl", False, False),
    ("fr", False, False),
    ("nl", True, False),
    ("fr", False, True),
    ("en", True, True),
]


def _name(language: str, large: bool, contrast: bool) -> str:
    return "-".join([language, *(["large"] if large else []), *(["contrast"] if contrast else [])])


class Checker:
    """Runs axe and the target-size check on the current page, remembering what it checked."""

    def __init__(self, page: Page, name: str) -> None:
        self.page, self.name, self.checked = page, name, []

    def __call__(self, what: str, *, screenshot: bool = False) -> None:
        label = f"{self.name}: {what}"
        check_axe(self.page, label)
        small = self.page.evaluate(SMALL_TARGETS)
        assert small == [], f"touch targets under 44 px on {label}: {small}"
        if screenshot:
            shot(self.page, f"every-{self.name}-{what}".replace(" ", "-").replace(",", ""))
        self.checked.append(what)


def _choose(page: Page, language: str, large: bool, contrast: bool) -> None:
    """Pick the language and display options with the page's own buttons."""
    button = page.locator(f'button[name="language"][value="{language}"]')
    if button.get_attribute("aria-pressed") != "true":
        with page.expect_navigation():
            button.click()
    scripted = page.locator('script[src*="/js/client/app.js"]').count() > 0  # else a plain form post
    for pref, wanted in (("large", large), ("contrast", contrast)):
        toggle = page.locator(f'button[data-pref="{pref}"]')
        if (toggle.get_attribute("aria-pressed") == "true") != wanted:
            with page.expect_response("**/client/display") if scripted else page.expect_navigation():
                toggle.click()
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", language)


def _public_pages(page: Page, live: Live, check: Checker, choice: tuple[str, bool, bool]) -> None:
    world = live.world(("tablet_form",))
    code = live.issue_code(world)
    live.expire_codes(world)
    live.forget_failed_codes()  # earlier tests typed wrong codes from this address too
    page.goto("/client/start")
    _choose(page, *choice)
    check("code entry", screenshot=True)
    page.locator("#client-code").fill("WRONG-CODE")
    page.locator(".client-code-form button").click()
    expect(page.locator("#code-error")).to_be_visible()
    check("wrong code")
    page.locator("#client-code").fill(code)
    page.locator(".client-code-form button").click()
    expect(page.locator("#code-error")).to_be_visible()
    check("expired code")
    for path, what in (
        ("/client/closed", "closed"),
        ("/client/closed?why=expired", "closed for privacy"),
        ("/client/closed?why=stopped", "stopped for now"),
        ("/client/offline", "offline"),
    ):
        page.goto(path)
        check(what)


def _questions(page: Page, check: Checker) -> None:
    check("welcome")
    page.locator(".client-card a.button-large").click()
    check("introduction")
    page.locator(".cq-screen:not([hidden]) .cq-next").click()
    expect(page.locator(".cq-screen:not([hidden]) .cq-item")).to_be_visible()
    check("question", screenshot=True)
    page.goto("/client/q/1/1")
    page.locator(".cq-screen:not([hidden]) .cq-next").click()  # the required question left empty
    expect(page.locator(".cq-error")).to_be_visible()
    check("question with a message")
    page.goto("/client/review")
    expect(page.locator(".review-row-needed")).to_have_count(1)
    check("review with a question left", screenshot=True)
    page.goto("/client/q/9/0")
    check("page not found")


def _leave_and_lock(page: Page, check: Checker) -> None:
    page.goto("/client/leave")
    check("end client mode")
    page.locator("#counsellor-password").fill("not the password")
    page.locator(".client-password-form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("end client mode, wrong password")
    page.goto("/client/")
    page.locator("[data-lock-form] button").click()
    page.wait_for_url("**/client/locked")
    check("locked", screenshot=True)
    page.locator("#counsellor-password").fill("not the password")
    page.locator(".client-password-form button[type=submit]").first.click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("locked, wrong password")
    page.locator("#counsellor-password").fill(PASSWORD)
    page.locator(".client-password-form button[type=submit]").first.click()
    page.wait_for_url("**/client/")


def _send(page: Page, check: Checker) -> None:
    page.goto("/client/q/1/1")
    page.locator(".cq-screen:not([hidden]) .cq-option").first.click()
    expect(page.locator("[data-save-status]")).to_have_attribute("data-state", "saved")  # on the server
    page.goto("/client/review")
    expect(page.locator(".review-row-needed")).to_have_count(0)
    check("review, ready to send")
    page.locator("[data-submit-form] button").click()
    page.wait_for_url("**/client/done")
    check("thank you", screenshot=True)


@pytest.mark.http_errors(400, 403, 404, 410)  # wrong and expired codes, wrong passwords, an unknown page
@pytest.mark.parametrize(("language", "large", "contrast"), PASSES, ids=[_name(*p) for p in PASSES])
def test_every_client_page_passes_axe_with_large_targets(
    open_page: Callable[..., Page], live: Live, language: str, large: bool, contrast: bool
) -> None:
    name = _name(language, large, contrast)
    phone = open_page(PHONE, is_mobile=True, has_touch=True)
    on_phone = Checker(phone, f"phone {name}")
    _public_pages(phone, live, on_phone, (language, large, contrast))
    tablet = open_page(TABLET)
    hand_over_in_browser(tablet, live, live.world())
    _choose(tablet, language, large, contrast)
    on_tablet = Checker(tablet, f"tablet {name}")
    _questions(tablet, on_tablet)
    _leave_and_lock(tablet, on_tablet)
    expect(tablet.locator("html")).to_have_attribute("lang", language)  # kept through the lock
    _send(tablet, on_tablet)
    assert len(on_phone.checked) == 7 and len(on_tablet.checked) == 12
