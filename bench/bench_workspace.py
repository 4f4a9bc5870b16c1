"""The counsellor's workspace under load: the dashboard and client pages, 5,000 clients, 50,000 sessions.

Data: `flask demo seed --clients 5000` (the shared cached demo, about 11,000 sessions at its four timepoints),
topped up to exactly 50,000 sessions with extra check-in sessions (WHO-5 and PHQ-9, answered by the demo's
answer simulator, scored by the real scorer, PHQ-9 risk flags included and left unacknowledged): a programme
that also monitors its clients between the waves. That keeps the issue's sizes (5,000 clients, 50,000
sessions, about 10 per client, so a client's page carries a real history) instead of seeding 20,000 clients
with 2.2 sessions each. The topped-up database is built once and cached in `bench/.cache/`; each run works on
a copy, so the audit events the pages write never accumulate.

Pages are requested through the Flask test client, signed in as the demo counsellor (about 1,700 clients)
and the demo site lead (the whole Ghent site, about 3,500 clients), with "today" fixed to the demo's day.

- `dashboard_queries`, `client_page_queries`: the most SQL statements one request ran (target <= 20), counted
  with a SQLAlchemy event. Baseline: the statements of a signed-in request that does nothing else (the
  `/counsellor/` redirect): the fixed cost of a session, so the ratio shows what the page itself adds.
- `dashboard_p95_ms`, `client_page_p95_ms`: the 95th percentile of the page's wall time (target <= 300 ms).
  Baseline: the p95 of the same requests' own SQL time (the time spent inside the database driver), measured
  in the same requests. It is the floor no rendering can go below, and the ratio says how much of a page is
  Python (queries planned, schedules and trends computed, template rendered) rather than the database.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from bench.demo_db import CACHE, DEMO_DAY, demo_database, upgrade
from bench.figures import figure, percentile

CLIENTS = 5_000
SESSIONS = 50_000
QUERY_TARGET = 20
P95_TARGET_MS = 300
CHECK_IN = ("who5", "phq9")


def _top_up(url: str) -> None:
    """Add check-in sessions until the database holds SESSIONS sessions (deterministic)."""
    from sqlalchemy import func, insert, select

    from survey_app import create_app
    from survey_app.demo.answers import simulate_answers
    from survey_app.domain.scoring import score
    from survey_app.extensions import db
    from survey_app.models import Answer, AssessmentSession, Client, SessionQuestionnaire, Submission
    from survey_app.services.questionnaires import find_version, questionnaire_of
    from survey_app.services.scoring import store_results

    with tempfile.TemporaryDirectory() as folder:
        app = create_app("development", DATABASE_URL=url, SURVEY_INSTANCE_PATH=folder)
        with app.app_context():
            session = db.session
            missing = SESSIONS - (session.scalar(select(func.count()).select_from(AssessmentSession)) or 0)
            versions = [find_version(session, key) for key in CHECK_IN]
            forms = [(row.id, questionnaire_of(row)) for row in versions if row is not None]
            clients = session.execute(
                select(Client.id, Client.intake_date, Client.preferred_language, Client.site_id)
            ).all()
            rng = random.Random(5)
            today = dt.date.fromisoformat(DEMO_DAY)
            plans = [clients[index % len(clients)] for index in range(max(missing, 0))]
            for start in range(0, len(plans), 2000):
                chunk = plans[start : start + 2000]
                rows = []
                for number, (client_id, intake, language, site_id) in enumerate(chunk, start):
                    day = intake + dt.timedelta(days=rng.randint(0, max((today - intake).days, 0)))
                    moment = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
                    rows.append(
                        {
                            "public_id": f"{number:08d}-0000-4000-b000-{client_id:012d}",
                            "client_id": client_id,
                            "site_id": site_id,
                            "status": "submitted",
                            "language": language,
                            "mode": "tablet",
                            "started_at": moment,
                            "updated_at": moment,
                            "submitted_at": moment + dt.timedelta(minutes=8),
                        }
                    )
                statement = insert(AssessmentSession).returning(
                    AssessmentSession.id, sort_by_parameter_order=True
                )
                ids = [row_id for (row_id,) in session.execute(statement, rows)]
                given: list[dict[str, Any]] = []
                answers: list[dict[str, Any]] = []
                results: dict[int, dict[int, Any]] = {version_id: {} for version_id, _ in forms}
                for session_id, row in zip(ids, rows, strict=True):
                    wellbeing = rng.gauss(0.0, 1.0)
                    for position, (version_id, questionnaire) in enumerate(forms):
                        given.append(
                            {
                                "session_id": session_id,
                                "questionnaire_version_id": version_id,
                                "position": position,
                            }
                        )
                        simulated = simulate_answers(questionnaire, wellbeing, rng)
                        results[version_id][session_id] = score(questionnaire, simulated)
                        answers.extend(
                            {
                                "session_id": session_id,
                                "questionnaire_version_id": version_id,
                                "item_id": item_id,
                                "value": value,
                                "answered_at": row["submitted_at"],
                                "updated_at": row["submitted_at"],
                            }
                            for item_id, value in simulated.items()
                        )
                session.execute(insert(SessionQuestionnaire), given)
                session.execute(insert(Answer), answers)
                session.execute(
                    insert(Submission),
                    [
                        {
                            "session_id": session_id,
                            "idempotency_key": f"bench-check-in-{session_id:012d}",
                            "payload_hash": f"{session_id:064d}",
                            "received_at": row["submitted_at"],
                        }
                        for session_id, row in zip(ids, rows, strict=True)
                    ],
                )
                for version_id, questionnaire in forms:
                    store_results(session, questionnaire, version_id, results[version_id])
                session.commit()
                print(
                    f"  check-in sessions: {start + len(chunk):,} of {missing:,}", file=sys.stderr, flush=True
                )
            db.engine.dispose()


def workspace_database() -> Path:
    """The cached SQLite file with 5,000 clients and 50,000 sessions (built once)."""
    path = CACHE / f"workspace-{CLIENTS}.sqlite3"
    marker = CACHE / f"workspace-{CLIENTS}.done"
    if path.exists() and marker.exists():
        upgrade(f"sqlite:///{path}", CACHE / f"instance-workspace-{CLIENTS}")
        return path
    source = Path(demo_database(CLIENTS, "sqlite").removeprefix("sqlite:///"))
    print(f"  topping the demo up to {SESSIONS:,} sessions (once)", file=sys.stderr, flush=True)
    shutil.copyfile(source, path)
    _top_up(f"sqlite:///{path}")
    marker.touch()
    return path


class _Meter:
    """Counts statements and the time spent in the driver."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.queries = 0
        self.sql_seconds = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, *args: Any) -> None:
        self.queries += 1
        self.sql_seconds += time.perf_counter() - conn.info.pop("bench_started")

    def reset(self) -> None:
        self.queries, self.sql_seconds = 0, 0.0


@contextmanager
def _signed_in_clients(url: str, folder: str) -> Iterator[tuple[Any, _Meter, dict[str, Any], list[str]]]:
    """The app, a meter, a signed-in test client per role, and a sample of the counsellor's client codes."""
    from sqlalchemy import select

    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.models import Client, StaffUser
    from survey_app.services import accounts
    from survey_app.web.auth.session import SESSION_VERSION_KEY

    app = create_app("development", DATABASE_URL=url, SURVEY_INSTANCE_PATH=folder)
    with app.app_context():
        meter = _Meter(db.engine)
        browsers = {}
        for role, email in (
            ("counsellor", "counsellor@demo.example.org"),
            ("site lead", "sitelead@demo.example.org"),
        ):
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
            assert user is not None, f"the demo has no {role} ({email})"
            token = accounts.start_staff_session(db.session, user)
            browser = app.test_client()
            with browser.session_transaction() as cookie:
                cookie["_user_id"], cookie["_fresh"], cookie[SESSION_VERSION_KEY] = (
                    token,
                    True,
                    user.session_version,
                )
            browsers[role] = browser
        counsellor_id = db.session.scalar(
            select(StaffUser.id).where(StaffUser.email == "counsellor@demo.example.org")
        )
        codes = list(
            db.session.scalars(
                select(Client.code).where(Client.counsellor_id == counsellor_id).order_by(Client.code)
            )
        )
        db.session.commit()
    try:
        yield app, meter, browsers, codes
    finally:
        with app.app_context():
            db.engine.dispose()


def _measure(
    browser: Any, meter: _Meter, paths: list[str], status: int = 200
) -> tuple[list[float], list[float], int]:
    """Wall times (ms), SQL times (ms) and the most statements of one request, over `paths`."""
    walls, sqls, most = [], [], 0
    for path in paths:
        meter.reset()
        started = time.perf_counter()
        response = browser.get(path)
        walls.append((time.perf_counter() - started) * 1000)
        assert response.status_code == status, (path, response.status_code)
        sqls.append(meter.sql_seconds * 1000)
        most = max(most, meter.queries)
    return walls, sqls, most


def run(quick: bool) -> dict[str, dict[str, Any]]:
    """The workspace figures."""
    cached = workspace_database()
    requests = 20 if quick else 100
    today = dt.date.fromisoformat(DEMO_DAY)
    noon = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "workspace.sqlite3"
        shutil.copyfile(cached, copy)
        with (
            mock.patch("survey_app.i18n.utcnow", return_value=noon),
            mock.patch("survey_app.web.counsellor.dashboard_views.utcnow", return_value=noon),
            _signed_in_clients(f"sqlite:///{copy}", folder) as (_, meter, browsers, codes),
        ):
            _, _, floor_queries = _measure(browsers["counsellor"], meter, ["/counsellor/"] * 3, 302)
            dashboards: dict[str, tuple[list[float], list[float], int]] = {}
            for role, browser in browsers.items():
                _measure(browser, meter, ["/"] * 3)  # warm the caches first, as a running server would be
                dashboards[role] = _measure(browser, meter, ["/"] * (requests // 2))
            sample = [codes[index * len(codes) // requests] for index in range(requests)]
            client_paths = [f"/counsellor/clients/{code}" for code in sample]
            _measure(browsers["counsellor"], meter, client_paths[:3])
            client_walls, client_sqls, client_queries = _measure(browsers["counsellor"], meter, client_paths)
    dashboard_walls = [wall for walls, _, _ in dashboards.values() for wall in walls]
    dashboard_sqls = [sql for _, sqls, _ in dashboards.values() for sql in sqls]
    per_role = ", ".join(
        f"{role} p95 {percentile(walls, 0.95):.0f} ms" for role, (walls, _, _) in dashboards.items()
    )
    size = f"{CLIENTS:,} clients, {SESSIONS:,} sessions, SQLite"
    floor = "baseline: a signed-in request doing nothing"
    return {
        "dashboard_queries": figure(
            max(most for _, _, most in dashboards.values()), "queries", baseline=floor_queries,
            target=QUERY_TARGET, higher_is_better=False,
            note=f"most per request, counsellor and site lead; {floor}; {size}",
        ),
        "client_page_queries": figure(
            client_queries, "queries", baseline=floor_queries, target=QUERY_TARGET, higher_is_better=False,
            note=f"most per request over {requests} clients; {floor}; {size}",
        ),
        "dashboard_p95_ms": figure(
            percentile(dashboard_walls, 0.95), "ms", baseline=percentile(dashboard_sqls, 0.95),
            target=P95_TARGET_MS, higher_is_better=False,
            note=f"{len(dashboard_walls)} requests ({per_role}); baseline: p95 of their SQL time; {size}",
        ),
        "client_page_p95_ms": figure(
            percentile(client_walls, 0.95), "ms", baseline=percentile(client_sqls, 0.95),
            target=P95_TARGET_MS, higher_is_better=False,
            note=(
                f"{requests} different clients, median {statistics.median(client_walls):.0f} ms; "
                f"baseline: p95 of their SQL time; {size}"
            ),
        ),
    }  # fmt: skip
