"""What the browser tests share: the app served on a free port, data prepared on the server side, axe-core,
screenshots, and the counsellor's hand-over done in the browser."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import delete, select, update
from werkzeug.serving import BaseWSGIServer

from survey_app.extensions import db
from survey_app.models import (
    Answer,
    AssessmentSession,
    Client,
    ClientAccessCode,
    ClientCodeAttempt,
    Organisation,
    QuestionnaireKey,
    Site,
    StaffUser,
)
from survey_app.models.base import utcnow
from survey_app.models.reports import ReportBatch
from survey_app.models.research import ExportRun
from survey_app.services import accounts
from survey_app.services.access_codes import issue_code
from survey_app.services.client_access import open_client_mode, start_or_resume
from survey_app.services.exports import ExportRequest, mark_progress
from survey_app.services.exports.projects import add_member, create_project
from survey_app.services.exports.runs import start_run
from survey_app.services.programme_admin import (
    BatteryChoice,
    TimepointDraft,
    create_programme,
    save_timepoint,
)
from survey_app.services.questionnaires import find_version
from survey_app.services.report_batches import BatchFilter, finish_batch, mark_batch_progress, start_batch
from survey_app.services.responses import AnswerInput, save_answers
from survey_app.web.auth.session import SESSION_VERSION_KEY
from survey_app.web.reports.jobs import batch_path
from tests.client.support import build_world
from tests.conftest import staff_password_hash

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).with_name("artifacts")
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}
_tags = itertools.count(1)


@dataclass
class AdminWorld:
    """What an admin's browser test needs: the admin, their site, and a programme's intake timepoint."""

    admin_id: int
    site_name: str
    programme_id: int
    timepoint_id: int


@dataclass
class World:
    """What a browser test needs to know of the client it works with."""

    client_code: str
    counsellor_id: int
    counsellor_email: str


class ByteCounter:
    """WSGI middleware counting what the server sends (status line, headers and body) since the last reset."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent = 0
        self.paths: list[str] = []
        self.sizes: dict[str, int] = {}

    def reset(self) -> None:
        """Start counting from zero."""
        self.sent, self.paths, self.sizes = 0, [], {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        path = environ.get("PATH_INFO", "")
        self.paths.append(path)

        def count(size: int) -> None:
            self.sent += size
            self.sizes[path] = self.sizes.get(path, 0) + size

        def counting_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            count(len(status) + 11 + sum(len(name) + len(value) + 4 for name, value in headers) + 2)
            return start_response(status, headers, exc_info)

        body = self.app(environ, counting_start)
        try:
            for chunk in body:
                count(len(chunk))
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()


@dataclass
class Live:
    """The app under test, served on a free port, with helpers that prepare data on the server side."""

    app: Flask
    url: str
    server: BaseWSGIServer
    counter: ByteCounter
    _worlds: list[World] = field(default_factory=list)

    def world(self, keys: tuple[str, ...] = ("who5", "tablet_form")) -> World:
        """A new client with a counsellor, at a programme whose timepoints give these questionnaires."""
        tag = f"B{next(_tags)}{secrets.token_hex(2).upper()}"
        with self.app.app_context():
            versions = [find_version(db.session, key) for key in keys]
            built = build_world(
                db.session,
                [v for v in versions if v is not None],
                tag=tag,
                password_hash=staff_password_hash(),
            )
            result = World(built.client.code, built.counsellor.id, built.counsellor.email)
            db.session.commit()
        return result

    def admin_world(self) -> AdminWorld:
        """A new organisation with a site, its admin, and a programme whose intake gives WHO-5 and RSES v1."""
        tag = f"A{next(_tags)}{secrets.token_hex(2).upper()}"
        with self.app.app_context():
            organisation = Organisation(name=f"Organisation {tag}")
            db.session.add(organisation)
            db.session.flush()
            site = Site(organisation_id=organisation.id, name=f"Site {tag}", code=f"S-{tag}")
            admin = StaffUser(
                organisation_id=organisation.id,
                email=f"admin-{tag.lower()}@example.org",
                display_name=f"Admin {tag}",
                password_hash=staff_password_hash(),
                role="admin",
            )
            db.session.add_all([site, admin])
            db.session.flush()
            programme = create_programme(db.session, admin, f"court_{tag.lower()}", f"Court {tag}", "")
            battery = (BatteryChoice("who5", None, True), BatteryChoice("rses", 1, True))
            intake = save_timepoint(db.session, admin, programme, None,
                                    TimepointDraft("t0", "Intake", "intake", 0, 0, 21, battery))  # fmt: skip
            result = AdminWorld(admin.id, site.name, programme.id, intake.id)
            db.session.commit()
        return result

    @contextmanager
    def owning(self, world: AdminWorld, key: str) -> Iterator[None]:
        """For the block, the admin's organisation owns ``key`` (as if its admin had published its v1)."""
        with self.app.app_context():
            admin = db.session.get(StaffUser, world.admin_id)
            assert admin is not None
            before = db.session.get(QuestionnaireKey, key)
            shared = before is None or before.organisation_id is None
            assert shared, f"{key} belongs to an organisation already"
            db.session.merge(QuestionnaireKey(key=key, organisation_id=admin.organisation_id))
            db.session.commit()
        try:
            yield
        finally:
            with self.app.app_context():  # shared again, as the bundled questionnaires are
                db.session.merge(QuestionnaireKey(key=key, organisation_id=None))
                db.session.commit()

    def staff_cookie(self, world: World) -> dict[str, Any]:
        """A signed-in session cookie for the world's counsellor (as after sign-in)."""
        return self.cookie_for(world.counsellor_id)

    def cookie_for(self, user_id: int) -> dict[str, Any]:
        """A signed-in session cookie for a staff member (as after a complete sign-in)."""
        with self.app.app_context():
            user = db.session.get(StaffUser, user_id)
            assert user is not None
            token = accounts.start_staff_session(db.session, user, ip="127.0.0.1", user_agent="browser test")
            version = user.session_version
            db.session.commit()
        serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        value = serializer.dumps({"_user_id": token, "_fresh": True, SESSION_VERSION_KEY: version})
        return {"name": self.app.config["SESSION_COOKIE_NAME"], "value": value, "url": self.url}

    def issue_code(self, world: World) -> str:
        """A one-time code for the client's phone, as the counsellor would read it out."""
        with self.app.app_context():
            client = db.session.scalar(select(Client).where(Client.code == world.client_code))
            staff = db.session.get(StaffUser, world.counsellor_id)
            assert client is not None and staff is not None
            timepoint = client.programme.timepoints[0]
            assessment = start_or_resume(db.session, client, timepoint, mode="own_device", staff=staff)
            issued = issue_code(db.session, assessment, secret=self.app.config["SECRET_KEY"], staff=staff)
            db.session.commit()
        return issued.code

    def expire_codes(self, world: World) -> None:
        """Let every code given for the client run out (as if the client came back an hour later)."""
        with self.app.app_context():
            client = db.session.scalar(select(Client).where(Client.code == world.client_code))
            assert client is not None
            db.session.execute(
                update(ClientAccessCode)
                .where(
                    ClientAccessCode.assessment_session_id.in_(
                        select(AssessmentSession.id).where(AssessmentSession.client_id == client.id)
                    )
                )
                .values(created_at=utcnow() - timedelta(hours=1), expires_at=utcnow() - timedelta(minutes=1))
            )
            db.session.commit()

    def forget_failed_codes(self) -> None:
        """Forget the failed code attempts (every test's browser comes from 127.0.0.1)."""
        with self.app.app_context():
            db.session.execute(delete(ClientCodeAttempt))
            db.session.commit()

    def answer_on_another_device(self, world: World, questionnaire: str, item: str, value: Any) -> None:
        """The client answers one item now on a second device (a phone opened with a code), as it saves."""
        with self.app.app_context():
            client = db.session.scalar(select(Client).where(Client.code == world.client_code))
            assert client is not None
            assessment = db.session.scalar(
                select(AssessmentSession).where(AssessmentSession.client_id == client.id)
            )
            assert assessment is not None
            version = next(
                given.questionnaire_version
                for given in assessment.questionnaires
                if given.questionnaire_version.key == questionnaire
            )
            _token, phone = open_client_mode(db.session, assessment, via="code")
            save_answers(db.session, assessment, [AnswerInput(version, item, value)], client_mode_id=phone.id)
            db.session.commit()

    def start_report_batch(self, world: World, total: int) -> str:
        """A batch of ``total`` reports the counsellor started, running; its public id."""
        with self.app.app_context():
            staff = db.session.get(StaffUser, world.counsellor_id)
            assert staff is not None
            batch = start_batch(db.session, organisation_id=staff.organisation_id, requested_by=staff.id,
                                kind="record", language=None, wanted=BatchFilter(), total=total,
                                client_ids=())  # fmt: skip
            public_id = batch.public_id
            db.session.commit()
        return public_id

    def advance_report_batch(self, public_id: str, done: int, *, finished: bool = False) -> None:
        """The batch's worker made ``done`` reports (and, when ``finished``, wrote its ZIP)."""
        with self.app.app_context():
            batch = db.session.scalar(select(ReportBatch).where(ReportBatch.public_id == public_id))
            assert batch is not None
            mark_batch_progress(batch, done, 0)
            if finished:
                path = batch_path(self.app, batch)
                path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty ZIP
                finish_batch(batch, path.name)
            db.session.commit()

    def start_export(self, world: AdminWorld, rows_total: int) -> tuple[int, str]:
        """A researcher of the admin's organisation, member of a new project, whose export is running.

        Returns the researcher's id and the run's public id.
        """
        with self.app.app_context():
            admin = db.session.get(StaffUser, world.admin_id)
            assert admin is not None
            researcher = StaffUser(
                organisation_id=admin.organisation_id,
                role="researcher",
                email=f"research-{secrets.token_hex(3)}@example.org",
                display_name="Researcher",
                password_hash=staff_password_hash(),
            )
            db.session.add(researcher)
            db.session.flush()
            project = create_project(db.session, admin, f"Project {secrets.token_hex(3)}")
            add_member(db.session, admin, project, researcher.email)
            run = start_run(
                db.session, project, ExportRequest("long", "csv"), requested_by=researcher.id, via="web"
            )
            run.rows_total = rows_total
            result = researcher.id, run.public_id
            db.session.commit()
        return result

    def advance_export(self, public_id: str, rows: int, *, finished: bool = False) -> None:
        """The export wrote ``rows`` rows (and, when ``finished``, its package is ready)."""
        with self.app.app_context():
            run = db.session.scalar(select(ExportRun).where(ExportRun.public_id == public_id))
            assert run is not None
            mark_progress(run, rows)
            if finished:
                run.status = "done"
            db.session.commit()

    def answer_times(self, world: World) -> dict[str, datetime]:
        """When each stored answer of the client's session was given, as the server recorded it."""
        with self.app.app_context():
            rows = db.session.execute(
                select(Answer.item_id, Answer.updated_at)
                .join(AssessmentSession, AssessmentSession.id == Answer.session_id)
                .join(Client, Client.id == AssessmentSession.client_id)
                .where(Client.code == world.client_code)
            )
            times = {item: given for item, given in rows}
            db.session.rollback()
        return times

    def session_state(self, world: World) -> tuple[str | None, dict[str, Any]]:
        """The status of the client's session and its stored answers."""
        with self.app.app_context():
            client = db.session.scalar(select(Client).where(Client.code == world.client_code))
            assert client is not None
            assessment = db.session.scalar(
                select(AssessmentSession).where(AssessmentSession.client_id == client.id)
            )
            if assessment is None:
                return None, {}
            rows = db.session.execute(
                select(Answer.item_id, Answer.value).where(Answer.session_id == assessment.id)
            )
            answers = {item: value for item, value in rows}
            status = assessment.status
            db.session.rollback()
        return status, answers


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot of the current state under tests/browser/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


AXE_RESULTS: dict[str, int] = {}


def check_axe(page: Page, label: str) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the page: zero violations allowed."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']});
            return r.violations.map(
                v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    AXE_RESULTS[label] = len(result)
    assert result == [], f"axe found WCAG violations on {label}: {json.dumps(result, indent=1)}"


def hand_over_in_browser(page: Page, live: Live, world: World) -> None:
    """The counsellor, signed in on the tablet, presses "Fill in on this tablet" (the hand-over form)."""
    page.context.add_cookies([live.staff_cookie(world)])
    page.goto("/client/start")
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    page.evaluate(
        """([action, token]) => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = action;
            for (const [name, value] of [['csrf_token', token], ['return_to', '/']]) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""",
        [f"/client-mode/start/{world.client_code}", token],
    )
    page.wait_for_url("**/client/")


def tablet_without_javascript(open_page: Callable[..., Page], live: Live, world: World) -> Page:
    """A tablet handed over to the client (in a page with script), then the same session in a page without."""
    setup = open_page(TABLET)
    hand_over_in_browser(setup, live, world)
    page: Page = open_page(TABLET, java_script_enabled=False)
    page.context.add_cookies(setup.context.cookies())
    setup.goto("about:blank")  # only the page without JavaScript is left on the client's session
    return page


def wait_until_true(page: Page, script: str, what: str, timeout_s: float = 10) -> None:
    """Poll ``script`` (it may return a promise) until it is true; fail saying ``what`` did not happen.

    Playwright's ``wait_for_function`` takes a promise for a true value at once, so it cannot wait on
    IndexedDB or the Cache API.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
        page.wait_for_timeout(50)


def wait_until_sent(page: Page) -> None:
    """Wait until the answers just given are kept on the device and have all reached the server."""
    wait_until_true(
        page,
        """() => {
            const config = document.getElementById('client-config');
            if (!config || !window.AnswerStore) { return true; }
            return AnswerStore.all(JSON.parse(config.textContent).session)
                .then(rs => rs.length > 0 && rs.every(r => r.sent));
        }""",
        "the answers did not all reach the server",
    )
