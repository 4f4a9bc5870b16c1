"""Browser tests: the app on a free 127.0.0.1 port with its own SQLite database, driven by Debian's Chromium.

``live`` serves the app from a thread for the whole test session (the bundled questionnaires stored, the
every-item-type form too, a copy of the questionnaire folder of its own); its helpers are in
``tests/browser/harness.py``. ``open_page(...)`` gives a page in a fresh browser context (no cache, no
storage); console errors (a CSP violation among them) fail the test.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Response, sync_playwright
from werkzeug.serving import make_server

from survey_app.extensions import db
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.services.questionnaires import store_published_versions
from survey_app.web.rate_limits import rate_limit_storage
from tests.browser.harness import ARTIFACTS, AXE_RESULTS, CHROMIUM, CHROMIUM_ARGS, TABLET, ByteCounter, Live
from tests.client.support import BANK, store_every_type_form
from tests.conftest import ON_POSTGRES, make_app


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker for error statuses a test provokes on purpose (a wrong code answers 400)."""
    config.addinivalue_line("markers", "http_errors(*statuses): error statuses this test provokes on purpose")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests in the SQLite pass only: on PostgreSQL they would repeat it exactly."""
    if not ON_POSTGRES:
        return
    repeat = pytest.mark.skip(reason="on a SQLite database of their own: run in the SQLite pass")
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(repeat)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app served from a thread on 127.0.0.1 with its own SQLite database."""
    directory = tmp_path_factory.mktemp("browser")
    questionnaires = directory / "questionnaires"  # its own copy: the admin tests publish into it
    shutil.copytree(BANK, questionnaires)
    app = make_app(
        f"sqlite:///{directory / 'browser.sqlite3'}", directory / "instance", QUESTIONNAIRE_DIR=questionnaires
    )
    with app.app_context():
        db.create_all()
        store_published_versions(db.session, QuestionnaireRegistry(BANK))
        store_every_type_form(db.session)
        db.session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the test output
    counter = ByteCounter(app)
    server = make_server("127.0.0.1", 0, counter, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(app, f"http://127.0.0.1:{server.server_port}", server, counter)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright for the whole session."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make browser-deps`")
    chromium = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session", autouse=True)
def artifacts() -> Path:
    """The folder for screenshots and figures (files are replaced by name: runs may overlap)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def open_page(browser: Browser, live: Live, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Return a function giving a page in a fresh context; script errors and failed requests fail the test.

    A test that provokes error statuses on purpose lists them: ``@pytest.mark.http_errors(400)``. Each test
    starts with empty rate-limit counters, as in tests/conftest.py (the live app counts every code a test
    types, and the tests all come from 127.0.0.1).
    """
    rate_limit_storage(live.app).reset()
    contexts = []
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)  # a CSP violation is reported here too

    def on_response(response: Response) -> None:
        path = urlsplit(response.url).path
        if response.status >= 400 and path != "/favicon.ico":  # staff pages carry no icon link
            failed.append((response.status, path))

    failed: list[tuple[int, str]] = []

    def make(viewport: dict[str, int] = TABLET, **options: Any) -> Page:
        context = browser.new_context(viewport=viewport, base_url=live.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("response", on_response)
        return page

    yield make
    for context in contexts:
        context.close()
    marker = request.node.get_closest_marker("http_errors")
    allowed = set(marker.args) if marker else set()
    assert errors == [], f"errors in the browser console: {errors}"
    assert [f for f in failed if f[0] not in allowed] == [], f"requests that failed: {failed}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the pages axe checked (and their violation counts) next to the screenshots."""
    if AXE_RESULTS and ARTIFACTS.exists():
        (ARTIFACTS / "axe.json").write_text(json.dumps(AXE_RESULTS, indent=1, sort_keys=True))
