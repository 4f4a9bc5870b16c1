"""Scoring figures: in-process scorings per second of a 50-item questionnaire, and re-scoring stored sessions.

- `scoring_per_s`: the engine scoring the 50-item benchmark questionnaire (5 subscales, reverse keys, missing
  items, a banded mean and a flag); baseline: the same rules hand-written for this one questionnaire, as
  projects write them today. Target: at least 20,000 scorings/s.
- `rescore_100k_s`: `flask questionnaires rescore`'s work (read answers, score, update scores, commit per
  chunk) over 100,000 stored PHQ-9 sessions scored by an older scorer, on SQLite; baseline: only reading the
  same answers, the floor any re-scoring pays.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figures import figure
from bench.instrument import answer_sets, bench_questionnaire, hand_written_score

SCORING_TARGET = 20_000


def _rate(function: Any, sets: list[dict[str, int]], seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for answers in sets:
            function(answers)
        count += len(sets)
    return count / (time.perf_counter() - start)


def scoring_rate(quick: bool) -> dict[str, Any]:
    """Engine vs hand-written scorings per second, interleaved rounds, best of each."""
    from survey_app.domain.scoring import score

    questionnaire = bench_questionnaire()
    sets = answer_sets(2000)
    for answers in sets[:200]:  # the two scorers agree before they are timed
        engine, hand = score(questionnaire, answers), hand_written_score(answers)
        for index in range(1, 6):
            expected, got = hand[f"sub{index}"], engine.scales[f"sub{index}"].value
            assert (expected is None and got is None) or abs(expected - got) < 1e-9
    seconds = 0.5 if quick else 2.0
    engine_rates, hand_rates = [], []
    for _ in range(2 if quick else 5):
        engine_rates.append(_rate(lambda answers: score(questionnaire, answers), sets, seconds))
        hand_rates.append(_rate(hand_written_score, sets, seconds))
    return figure(
        max(engine_rates),
        "scorings/s",
        baseline=max(hand_rates),
        target=SCORING_TARGET,
        note="50-item questionnaire; baseline: the same rules hand-written",
    )


def rescore_time(quick: bool) -> dict[str, Any]:
    """Seconds to re-score N stored sessions (N = 100,000; 5,000 with --quick), and the read-only floor."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from survey_app import create_app
    from survey_app.extensions import bind_migrations, db
    from survey_app.models import Answer
    from survey_app.services.scoring import RescoreReport, plan_rescore, rescore_batch

    sessions = 5_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            "development", DATABASE_URL=f"sqlite:///{folder}/bench.sqlite3", SURVEY_INSTANCE_PATH=folder
        )
        bind_migrations(app)
        with app.app_context():
            upgrade(directory=app.config["MIGRATIONS_DIR"])
            version_id = _fill(db, sessions)
            db.session.commit()
            start = time.perf_counter()
            rows = 0
            for batch in plan_rescore(db.session, key="phq9"):
                rows += len(
                    db.session.execute(
                        select(Answer.item_id, Answer.value).where(
                            Answer.questionnaire_version_id == version_id,
                            Answer.session_id.in_(batch.session_ids),
                        )
                    ).all()
                )
                db.session.commit()
            read_seconds = time.perf_counter() - start
            start = time.perf_counter()
            report = RescoreReport()
            for batch in plan_rescore(db.session, key="phq9"):
                rescore_batch(db.session, batch, report)
                db.session.commit()
            seconds = time.perf_counter() - start
            assert report.sessions == sessions, report
            assert report.changed_scores == sessions, report  # every stored value was wrong on purpose
            db.session.remove()
            db.engine.dispose()
    unit = "s" if sessions == 100_000 else f"s for {sessions:,} sessions"
    return figure(
        seconds,
        unit,
        baseline=read_seconds,
        target=None,
        higher_is_better=False,
        note=f"{sessions:,} PHQ-9 sessions ({rows:,} answers) on SQLite; baseline: reading the answers only",
    )


def _fill(db: Any, count: int) -> int:
    """Store the bank, one client and `count` submitted PHQ-9 sessions scored by an older scorer."""
    import random

    from sqlalchemy import insert

    from survey_app.domain.scoring import score
    from survey_app.models import (
        Answer,
        AssessmentSession,
        Client,
        Organisation,
        Programme,
        Score,
        SessionQuestionnaire,
        Site,
    )
    from survey_app.questionnaires.registry import QuestionnaireRegistry
    from survey_app.services.questionnaires import find_version, questionnaire_of, store_published_versions

    bank = Path(__file__).resolve().parents[1] / "questionnaires"
    store_published_versions(db.session, QuestionnaireRegistry(bank))
    version = find_version(db.session, "phq9")
    assert version is not None, "phq9 was not published from questionnaires/"
    questionnaire = questionnaire_of(version)
    organisation = Organisation(name="Bench")
    db.session.add(organisation)
    db.session.flush()
    site = Site(organisation_id=organisation.id, name="Bench", code="BENCH")
    programme = Programme(organisation_id=organisation.id, key="bench", name="Bench")
    db.session.add_all([site, programme])
    db.session.flush()
    client = Client(
        code="BENCH-1", site_id=site.id, programme_id=programme.id, intake_date=dt.date(2026, 1, 1)
    )
    db.session.add(client)
    db.session.flush()
    rng = random.Random(3)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    items = [item.id for item in questionnaire.items]
    for start in range(0, count, 5000):
        size = min(5000, count - start)
        ids = [
            row_id
            for (row_id,) in db.session.execute(
                insert(AssessmentSession).returning(AssessmentSession.id, sort_by_parameter_order=True),
                [
                    {
                        "public_id": f"{start + n:08d}-0000-4000-a000-000000000000",
                        "client_id": client.id,
                        "site_id": site.id,
                        "status": "submitted",
                        "language": "nl",
                        "mode": "tablet",
                        "started_at": now,
                        "updated_at": now,
                        "submitted_at": now,
                    }
                    for n in range(size)
                ],
            )
        ]
        db.session.execute(
            insert(SessionQuestionnaire),
            [
                {"session_id": session_id, "questionnaire_version_id": version.id, "position": 0}
                for session_id in ids
            ],
        )
        answers: list[dict[str, Any]] = []
        scores: list[dict[str, Any]] = []
        for session_id in ids:
            given = {item_id: rng.randint(0, 3) for item_id in items if rng.random() > 0.03}
            answers.extend(
                {
                    "session_id": session_id,
                    "questionnaire_version_id": version.id,
                    "item_id": item_id,
                    "value": value,
                    "answered_at": now,
                    "updated_at": now,
                }
                for item_id, value in given.items()
            )
            total = score(questionnaire, given).scales["total"]
            scores.append(
                {
                    "session_id": session_id,
                    "questionnaire_version_id": version.id,
                    "scale_id": "total",
                    "value": -1.0 if total.value is not None else 0.0,
                    "band": None,
                    "prorated": False,
                    "missing_count": 0,
                    "scorer_version": "0.0.0",
                    "scored_at": now,
                }
            )
        db.session.execute(insert(Answer), answers)
        db.session.execute(insert(Score), scores)
        print(f"  stored {start + size:,} of {count:,} sessions", file=sys.stderr, flush=True)
    return int(version.id)


def run(quick: bool) -> dict[str, dict[str, Any]]:
    """The scoring figures."""
    return {"scoring_per_s": scoring_rate(quick), "rescore_100k_s": rescore_time(quick)}
