"""Administration in the browser: inviting a counsellor who sets a password with the link, and publishing a
new questionnaire version (checked, previewed on a tablet and a phone with its skip rule, compared), then
giving it at a timepoint."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import QuestionnaireVersion, Timepoint
from tests.admin.support import FOLLOW_UP, RSES_FOLLOW_UP, rses_v2, who5_v2
from tests.browser.harness import PHONE, TABLET, AdminWorld, Live, check_axe, shot

PASSWORD = "a quiet harbour at dawn"


def test_inviting_a_counsellor_who_sets_a_password_with_the_link(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.admin_world()
    admin = open_page(TABLET)
    admin.context.add_cookies([live.cookie_for(world.admin_id)])
    admin.goto("/admin/staff")
    check_axe(admin, "admin: staff list")
    admin.get_by_role("link", name="Invite someone").click()
    admin.get_by_label("Name").fill("Chris Counsellor")
    email = f"chris-{world.admin_id}@example.org"
    admin.get_by_label("Email").fill(email)
    admin.get_by_label("Role").select_option("counsellor")
    admin.get_by_role("checkbox", name=world.site_name).check()
    check_axe(admin, "admin: invite form")
    admin.get_by_role("button", name="Make the invitation link").click()
    expect(admin.get_by_role("heading", name="Invitation link for Chris Counsellor")).to_be_visible()
    check_axe(admin, "admin: invitation link")
    link = admin.get_by_label("Invitation link").input_value()
    assert "/auth/invite/" in link

    invitee = open_page(PHONE)
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Welcome, Chris Counsellor")).to_be_visible()
    assert "/auth/invite/" not in invitee.url  # the token left the address bar at once
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_label("The same password again").fill(PASSWORD)
    check_axe(invitee, "invitation: choose a password")
    invitee.get_by_role("button", name="Set the password").click()
    expect(invitee.get_by_role("heading", name="Set up your second step")).to_be_visible()
    invitee.get_by_text("Cannot scan? Type this key into the app instead").click()
    secret = "".join(invitee.locator(".mfa-secret code").all_inner_texts())
    invitee.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    invitee.get_by_role("button", name="Confirm").click()
    expect(invitee.get_by_role("heading", name="Your recovery codes")).to_be_visible()

    admin.goto("/admin/staff?q=chris")
    row = admin.get_by_role("row", name="Chris Counsellor")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text(world.site_name)
    shot(admin, "admin-staff-after-invitation")


def _checked_draft(
    open_page: Callable[..., Page], live: Live, admin_id: int, text: str, *, check_axe_on_upload: bool = False
) -> Page:
    """An admin's page after uploading and checking ``text`` as a new version: its draft with the previews."""
    page = open_page({"width": 1400, "height": 1000})
    page.context.add_cookies([live.cookie_for(admin_id)])
    page.goto("/admin/questionnaires")
    if check_axe_on_upload:
        check_axe(page, "admin: questionnaires")
    page.get_by_label("YAML file").set_input_files(
        {"name": "v2.yaml", "mimeType": "text/yaml", "buffer": text.encode("utf-8")}
    )
    page.get_by_role("button", name="Check").click()
    return page


def test_publishing_a_new_version_and_giving_it_at_a_timepoint(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.admin_world()
    with live.owning(world, "rses"):  # its next version is the organisation's to publish
        _publish_and_give_the_new_version(open_page, live, world)


def _publish_and_give_the_new_version(open_page: Callable[..., Page], live: Live, world: AdminWorld) -> None:
    page = _checked_draft(open_page, live, world.admin_id, rses_v2(), check_axe_on_upload=True)
    expect(page.get_by_role("heading", name="Rosenberg")).to_be_visible()
    expect(page.get_by_role("row", name="added rses_help")).to_be_visible()
    expect(page.get_by_role("cell", name="yes, declared").first).to_be_visible()

    for device, width in (("tablet", 768), ("phone", 390)):
        frame_element = page.locator(f'iframe[data-preview="{device}"]')
        assert frame_element.evaluate("(frame) => frame.contentWindow.innerWidth") == width
        frame = frame_element.content_frame
        frame.get_by_role("button", name="Start").click()
        frame.get_by_role("radio", name="Strongly disagree").check()
        frame.get_by_role("button", name="Next").click()
        expect(frame.get_by_label(RSES_FOLLOW_UP)).to_be_visible()  # the skip rule opened the follow-up
        frame.get_by_role("button", name="Back").click()
        frame.get_by_role("radio", name="Agree", exact=True).check()
        frame.get_by_role("button", name="Next").click()
        expect(frame.get_by_text("At times I think I am no good at all.")).to_be_visible()
        inside = frame_element.element_handle().content_frame()
        assert inside is not None
        check_axe(inside, f"admin: preview on a {device}")  # type: ignore[arg-type]  (a frame runs axe alike)
    check_axe(page, "admin: draft with previews")
    shot(page, "admin-draft-preview")

    page.get_by_role("link", name="Nederlands").click()
    dutch = page.locator('iframe[data-preview="phone"]').content_frame
    expect(dutch.locator("html")).to_have_attribute("lang", "nl")
    expect(dutch.get_by_role("button", name="Beginnen")).to_be_visible()

    page.get_by_role("button", name="Publish rses v2").click()
    expect(page.get_by_text("rses v2 is published")).to_be_visible()
    with live.app.app_context():
        stored = db.session.scalar(
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.key == "rses", QuestionnaireVersion.version == 2
            )
        )
        assert stored is not None and stored.published_by == world.admin_id
        db.session.rollback()

    page.goto(f"/admin/programmes/{world.programme_id}/timepoints/{world.timepoint_id}")
    check_axe(page, "admin: timepoint form")
    page.get_by_label("Version of Rosenberg Self-Esteem Scale").select_option("2")
    page.get_by_role("button", name="Check the change").click()
    expect(page.get_by_text("rses: v1 → v2")).to_be_visible()
    expect(page.get_by_text("applies to sessions started from now on").first).to_be_visible()
    check_axe(page, "admin: confirm a timepoint change")
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text("Intake saved: it applies to sessions started from now on.")).to_be_visible()
    expect(page.get_by_role("row", name="Intake")).to_contain_text("rses v2")
    with live.app.app_context():
        timepoint = db.session.get(Timepoint, world.timepoint_id)
        assert timepoint is not None
        assert [(e.questionnaire_key, e.questionnaire_version) for e in timepoint.battery] == [
            ("who5", None),
            ("rses", 2),
        ]
        db.session.rollback()


def test_a_preview_button_pressed_before_its_script_runs_leads_on_as_with_the_script(
    open_page: Callable[..., Page], live: Live
) -> None:
    world = live.admin_world()
    with live.owning(world, "who5"):
        _press_preview_buttons_before_the_script(open_page, live, world)


def _press_preview_buttons_before_the_script(
    open_page: Callable[..., Page], live: Live, world: AdminWorld
) -> None:
    page = _checked_draft(open_page, live, world.admin_id, who5_v2())
    frame = page.locator('iframe[data-preview="tablet"]').content_frame

    def press_before_the_script(button: str) -> None:  # the form is sent as the browser sends it alone
        frame.locator("form.cq-form").evaluate(
            """(form, button) => {
                const pressed = Object.assign(document.createElement("input"),
                                              {type: "hidden", name: "nav", value: button});
                form.appendChild(pressed);
                HTMLFormElement.prototype.submit.call(form);
            }""",
            button,
        )

    expect(frame.get_by_role("button", name="Start")).to_be_visible()
    press_before_the_script("next")
    frame.get_by_role("radio", name="At no time").check()
    press_before_the_script("next")
    expect(frame.get_by_label(FOLLOW_UP)).to_be_visible()  # the server applied the skip rule
    frame.get_by_role("button", name="Back").click()  # and the script, running now, carries on from there
    expect(frame.get_by_role("radio", name="At no time")).to_be_checked()
