"""A database ready for submissions: the 50-item questionnaire published, clients with tablets handed over.

`prepare(url, folder, count)` migrates an empty database (`flask db upgrade`), publishes the benchmark
questionnaire the way an administrator does (`flask questionnaires publish`, into a questionnaire folder of
its own), installs a one-timepoint programme whose battery is that questionnaire, registers `count` clients
and hands each one's session over in client mode, all through the app's services. Each handed-over browser
is what a real one holds once the hand-over has shown the client's first page: the session cookie that page
left (the client-mode token, the language, the CSRF secret) and the CSRF token in its forms. `stored_check`
reads back what the database holds for the sessions a run sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import secrets
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.instrument import ITEM_COUNT, bench_document

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench50"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
ITEMS = [f"b{n:02d}" for n in range(1, ITEM_COUNT + 1)]
COUNSELLOR = "counsellor@bench.example.org"
PROGRAMME = {
    "key": "bench_programme",
    "name": {"en": "Benchmark", "nl": "Benchmark", "fr": "Benchmark"},
    "description": {"en": "One timepoint.", "nl": "Eén meetmoment.", "fr": "Un temps de mesure."},
    "anchors": ["intake"],
    "battery": [{"questionnaire": KEY, "core": True}],
    "timepoints": [
        {
            "key": "t0",
            "label": {"en": "Intake", "nl": "Intake", "fr": "Admission"},
            "anchor": "intake",
            "offset_days": 0,
            "window_before_days": 0,
            "window_after_days": 21,
        }
    ],
}


@dataclass(frozen=True)
class HandedOver:
    """One session handed to a client: its id, the browser's cookie and CSRF token, the answers to send."""

    public_id: str
    cookie: str
    csrf: str
    answers: dict[str, int]

    def entries(self, items: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The API's answer entries for these items (default: all 50)."""
        chosen = self.answers if items is None else items
        return [
            {"questionnaire": KEY, "version": 1, "item": item, "value": self.answers[item]} for item in chosen
        ]

    def submit_body(self, key: str) -> str:
        """The JSON the tablet sends to submit every answer with the idempotency key."""
        return json.dumps({"idempotency_key": key, "answers": self.entries()}, separators=(",", ":"))

    def headers(self) -> dict[str, str]:
        """The headers of the tablet's script: JSON, the CSRF token and the session cookie."""
        return {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRFToken": self.csrf,
            "Cookie": self.cookie,
        }


def app_environment(url: str, folder: Path, secret: str) -> dict[str, str]:
    """The production settings the benchmark's app runs with."""
    return {
        "SURVEY_ENV": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": secret,
        "SURVEY_INSTANCE_PATH": str(folder / "instance"),
        "QUESTIONNAIRE_DIR": str(folder / "questionnaires"),
        "LOG_FORMAT": "json",
    }


def _flask(environment: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env={**os.environ, **environment},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _publish(environment: dict[str, str]) -> None:
    """Migrate and publish the benchmark questionnaire through the admin's commands."""

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    source = Path(environment["QUESTIONNAIRE_DIR"]) / KEY / "v1.yaml"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(yaml.dump(bench_document(), Dumper=NoAliases, allow_unicode=True), encoding="utf-8")
    _flask(environment, "db", "upgrade")
    _flask(environment, "questionnaires", "publish", str(source))


def _answers(rng: random.Random) -> dict[str, int]:
    return {item: rng.randint(1, 5) for item in ITEMS}


def _cookie(app: Any, token: str, language: str) -> tuple[str, str]:
    """The session cookie and CSRF token of a browser showing the client's first page after the hand-over."""
    from flask import session

    from survey_app.web.client.guard import enter_client_mode

    with app.test_request_context("/client/"):
        enter_client_mode(token, language)
        handed_over = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    name = app.config["SESSION_COOKIE_NAME"]
    browser = app.test_client()
    browser.set_cookie(name, handed_over, domain="localhost")
    page = browser.get("/client/", base_url="https://localhost")
    found = _CSRF_FIELD.search(page.get_data(as_text=True))
    if page.status_code != 200 or found is None:
        raise RuntimeError(f"the client's first page answered {page.status_code} without a CSRF token")
    cookie = browser.get_cookie(name, domain="localhost")
    return f"{name}={cookie.value if cookie else handed_over}", found.group(1)


def _staff_and_programme(db: Any, folder: Path) -> tuple[Any, Any, Any]:
    from survey_app.models import Site, StaffSiteMembership
    from survey_app.programmes.definition import load_programme_definition
    from survey_app.questionnaires.registry import QuestionnaireRegistry
    from survey_app.services import accounts
    from survey_app.services.programmes import install_programme

    organisation, _ = accounts.find_or_create_organisation(db.session, "Benchmark organisation")
    site = Site(organisation_id=organisation.id, name="Benchmark site", code="BEN")
    db.session.add(site)
    counsellor = accounts.create_staff_user(
        db.session, organisation=organisation, email=COUNSELLOR, password=secrets.token_urlsafe(24),
        role="counsellor",
    )  # fmt: skip
    db.session.flush()
    db.session.add(StaffSiteMembership(staff_user_id=counsellor.id, site_id=site.id))
    definition_file = folder / "programme.yaml"
    definition_file.write_text(yaml.safe_dump(PROGRAMME), encoding="utf-8")
    registry = QuestionnaireRegistry(folder / "questionnaires")
    definition = load_programme_definition(definition_file, registry.versions)
    programme, _ = install_programme(db.session, organisation, definition)
    db.session.commit()
    return site, counsellor, programme


def prepare(url: str, folder: Path, count: int, *, secret: str, seed: int = 50) -> list[HandedOver]:
    """Build the database and hand `count` sessions over (progress on stderr)."""
    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.services.caseload import scope_of
    from survey_app.services.client_access import open_client_mode, start_or_resume
    from survey_app.services.clients import Registration, register_client

    environment = app_environment(url, folder, secret)
    _publish(environment)
    app = create_app(
        "production",
        **{name: environment[name] for name in ("DATABASE_URL", "SECRET_KEY")},
        SURVEY_INSTANCE_PATH=environment["SURVEY_INSTANCE_PATH"],
        QUESTIONNAIRE_DIR=environment["QUESTIONNAIRE_DIR"],
        LOG_LEVEL="WARNING",  # no request log line for each first page shown
    )
    rng = random.Random(seed)
    opened: list[tuple[str, str, str]] = []
    with app.app_context():
        site, counsellor, programme = _staff_and_programme(db, folder)
        timepoint = programme.timepoints[0]
        scope = scope_of(db.session, counsellor)
        wanted = Registration(site.id, programme.id, "en", dt.date.today(), counsellor.id, {})
        for number in range(count):
            client = register_client(db.session, scope, wanted)
            assessment = start_or_resume(db.session, client, timepoint, mode="tablet", staff=counsellor)
            token, _row = open_client_mode(db.session, assessment, via="tablet", staff=counsellor)
            opened.append((assessment.public_id, token, assessment.language))
            if number % 250 == 249 or number == count - 1:
                db.session.commit()
                print(f"  handed over {number + 1:,} of {count:,} sessions", file=sys.stderr, flush=True)
    handed: list[HandedOver] = []
    for number, (public_id, token, language) in enumerate(opened):  # each page load is a request of its own
        cookie, csrf = _cookie(app, token, language)
        handed.append(HandedOver(public_id, cookie, csrf, _answers(rng)))
        if number % 250 == 249 or number == count - 1:
            print(f"  first page shown on {number + 1:,} of {count:,} tablets", file=sys.stderr, flush=True)
    with app.app_context():
        db.engine.dispose()
    return handed


@dataclass(frozen=True)
class StoredCheck:
    """What the database holds for the sessions a run sent."""

    acknowledged: int
    lost: int
    duplicated: int
    unacknowledged_stored: int

    def to_json(self) -> dict[str, int]:
        """The check as plain numbers."""
        return {
            "acknowledged": self.acknowledged,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "unacknowledged_stored": self.unacknowledged_stored,
        }


def stored_check(url: str, sent: Iterable[tuple[HandedOver, bool]]) -> StoredCheck:
    """Compare the sent sessions (with whether the server acknowledged each) with what is stored.

    Lost: acknowledged, but not stored as submitted once with exactly the 50 answers sent. Duplicated: any
    submission or answer row beyond one per session and item.
    """
    from sqlalchemy import create_engine, text

    sent = list(sent)
    engine = create_engine(url)
    submissions: dict[str, int] = defaultdict(int)
    answers: dict[str, list[tuple[str, int]]] = defaultdict(list)
    status: dict[str, str] = {}
    with engine.connect() as connection:
        for public_id, state, count in connection.execute(text(
            "SELECT s.public_id, s.status, count(sub.id) FROM assessment_sessions s"
            " LEFT JOIN submissions sub ON sub.session_id = s.id GROUP BY s.public_id, s.status"
        )):  # fmt: skip
            status[public_id], submissions[public_id] = state, count
        for public_id, item, value in connection.execute(text(
            "SELECT s.public_id, a.item_id, a.value FROM answers a"
            " JOIN assessment_sessions s ON s.id = a.session_id"
        )):  # fmt: skip
            answers[public_id].append((item, json.loads(value) if isinstance(value, str) else value))
    engine.dispose()
    lost = duplicated = unacknowledged = 0
    for handed, acknowledged in sent:
        rows = answers.get(handed.public_id, [])
        items = {item for item, _ in rows}
        duplicated += max(0, submissions.get(handed.public_id, 0) - 1) + max(0, len(rows) - len(items))
        complete = sorted(set(rows)) == sorted(handed.answers.items())
        stored = status.get(handed.public_id) == "submitted" and submissions.get(handed.public_id) == 1
        if acknowledged and not (stored and complete):
            lost += 1
        if not acknowledged and stored:
            unacknowledged += 1
    return StoredCheck(sum(1 for _, ok in sent if ok), lost, duplicated, unacknowledged)
