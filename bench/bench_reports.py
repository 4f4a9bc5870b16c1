"""PDF report figures: our overhead on top of WeasyPrint, and what a batch gains from the worker pool.

Data: a SQLite database made for the run: one programme with four timepoints (intake, 3, 6 and 12 months) and
100 clients (6 with `--quick`), each with six questionnaires (WHO-5, PHQ-9, RSES, MSPSS, BARC-10, PSAS) at
every timepoint, answered by the demo's answer simulator (seeded) and scored by the real scorer.

Each figure's value and baseline are seconds measured in the same run; the target is on their ratio.

- `pdf_counsellor_overhead_ratio`: seconds of one counsellor report of a client (6 questionnaires x 4
  timepoints), from the database to the PDF bytes (reading the client's record, building the report's words
  and charts, rendering the template, WeasyPrint), divided by the seconds WeasyPrint needs to render the same
  final HTML alone, with the same fonts, stylesheets and PDF/A-2a settings. The median of several runs, each
  after a warm-up, as a running server would be. Target: <= 1.5.
- `pdf_batch_ratio`: seconds of a batch of 100 counsellor reports into one ZIP (worker processes, one per
  core, their start included) divided by the seconds of the same 100 reports made one after the other in one
  process (warm). Target: <= 0.6 (`--quick` makes 6, too few to amortise the workers' start: no target).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figures import figure

QUESTIONNAIRES = ("who5", "phq9", "rses", "mspss", "barc10", "psas")
WAVES = (("t0", 0), ("t3m", 91), ("t6m", 182), ("t12m", 365))
FULL_CLIENTS, QUICK_CLIENTS = 100, 6


def _app(url: str, folder: str) -> Any:
    from survey_app import create_app

    return create_app("development", DATABASE_URL=url, SURVEY_INSTANCE_PATH=folder)


def _programme(session: Any) -> tuple[Any, Any]:
    """A site and a programme with the four timepoints."""
    from survey_app.models import Organisation, Programme, Site, Timepoint

    organisation = Organisation(name="Bench court")
    session.add(organisation)
    session.flush()
    site = Site(organisation_id=organisation.id, name="Ghent", code="GNT", default_language="en")
    programme = Programme(organisation_id=organisation.id, key="dtc", name="Drug Treatment Court")
    programme.timepoints = [
        Timepoint(
            key=key,
            label=key,
            position=index,
            offset_days=days,
            window_before_days=14 if days else 0,
            window_after_days=21,
        )
        for index, (key, days) in enumerate(WAVES)
    ]
    session.add_all([site, programme])
    session.flush()
    return site, programme


def _session(
    session: Any,
    client: Any,
    timepoint_id: int,
    moment: dt.datetime,
    forms: list[Any],
    wellbeing: float,
    rng: random.Random,
) -> None:
    """One submitted session with the six questionnaires, answered and scored."""
    from survey_app.demo.answers import simulate_answers
    from survey_app.models import Answer, AssessmentSession, SessionQuestionnaire
    from survey_app.services.scoring import score_session

    assessment = AssessmentSession(
        client_id=client.id,
        site_id=client.site_id,
        timepoint_id=timepoint_id,
        language="en",
        mode="tablet",
        status="submitted",
        started_at=moment,
        submitted_at=moment + dt.timedelta(minutes=25),
    )
    assessment.questionnaires = [
        SessionQuestionnaire(questionnaire_version_id=row.id, position=index)
        for index, (row, _) in enumerate(forms)
    ]
    session.add(assessment)
    session.flush()
    for row, questionnaire in forms:
        session.add_all(
            Answer(session_id=assessment.id, questionnaire_version_id=row.id, item_id=item_id, value=value)
            for item_id, value in simulate_answers(questionnaire, wellbeing, rng).items()
        )
    session.flush()
    score_session(session, assessment)


def build_database(app: Any, clients: int) -> list[int]:
    """The programme, the clients and their scored sessions; returns the client ids."""
    from survey_app.extensions import db
    from survey_app.models import Client
    from survey_app.questionnaires.registry import QuestionnaireRegistry
    from survey_app.services.questionnaires import questionnaire_of, store_version

    rng = random.Random(2026)
    registry = QuestionnaireRegistry(Path(app.config["QUESTIONNAIRE_DIR"]))
    intake = dt.date(2025, 6, 2)
    with app.app_context():
        db.create_all()
        site, programme = _programme(db.session)
        entries = {entry.key: entry for entry in registry.published() if entry.key in QUESTIONNAIRES}
        versions = [store_version(db.session, registry, entries[key]) for key in QUESTIONNAIRES]
        forms = [(row, questionnaire_of(row)) for row in versions]
        ids = []
        for number in range(clients):
            client = Client(
                code=f"GNT-{number:05d}", site_id=site.id, programme_id=programme.id, intake_date=intake
            )
            db.session.add(client)
            db.session.flush()
            ids.append(client.id)
            for timepoint, (_, days) in zip(programme.timepoints, WAVES, strict=True):
                moment = dt.datetime.combine(intake + dt.timedelta(days=days + 2), dt.time(10), dt.UTC)
                wellbeing = -1.0 + days / 200 + rng.gauss(0, 0.4)
                _session(db.session, client, timepoint.id, moment, forms, wellbeing, rng)
        db.session.commit()
        db.engine.dispose()
    return ids


def _median_seconds(action: Any, runs: int) -> float:
    action()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def overhead(app: Any, client_id: int, runs: int) -> tuple[float, float, int]:
    """(our seconds, WeasyPrint alone seconds, pages) for one counsellor report."""
    from pypdf import PdfReader

    from survey_app.extensions import db
    from survey_app.models import Client
    from survey_app.reports import pdf
    from survey_app.reports.documents import render_report, report_pdf

    def the_client() -> Client:
        client = db.session.get(Client, client_id)
        assert client is not None, f"client {client_id} was not built"
        return client

    def ours() -> bytes:
        """From the database to the PDF."""
        with app.app_context():
            return report_pdf(render_report(db.session, the_client(), "counsellor", "en"))

    with app.app_context():
        html = render_report(db.session, the_client(), "counsellor", "en").html

    def weasyprint_alone() -> bytes:
        """The same final HTML, rendered by WeasyPrint with the same fonts, stylesheets and variant."""
        return bytes(pdf.parse_html(html).write_pdf(**pdf.pdf_options()))

    pages = len(PdfReader(io.BytesIO(ours())).pages)
    return _median_seconds(ours, runs), _median_seconds(weasyprint_alone, runs), pages


def batch(app: Any, ids: list[int], folder: Path) -> tuple[float, float, int]:
    """(batch seconds, one-after-another seconds, workers) for counsellor reports of every client."""
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import Client
    from survey_app.reports.batch import WorkerSettings, default_workers, render_job, write_batch
    from survey_app.services.report_batches import BatchJob
    from survey_app.services.reports import report_file_name

    with app.app_context():
        codes = {row.id: row.code for row in db.session.execute(select(Client.id, Client.code))}
    jobs = [
        BatchJob(
            client_id,
            codes[client_id],
            "counsellor",
            "en",
            report_file_name(codes[client_id], "counsellor", "en"),
        )
        for client_id in ids
    ]
    with app.app_context():
        render_job(db.session, jobs[0], show_names=False)  # warm
        started = time.perf_counter()
        for job in jobs:
            result = render_job(db.session, job, show_names=False)
            assert result.pdf is not None, result.error
        in_a_row = time.perf_counter() - started
    workers = default_workers()
    started = time.perf_counter()
    with app.app_context():
        outcome = write_batch(
            jobs, folder / "batch.zip", workers=workers, settings=WorkerSettings.of(app), session=db.session
        )
    pooled = time.perf_counter() - started
    assert outcome.done == len(jobs), outcome.errors
    return pooled, in_a_row, workers


def _say(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def run(quick: bool) -> dict[str, dict[str, Any]]:
    """The report figures."""
    clients = QUICK_CLIENTS if quick else FULL_CLIENTS
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = f"sqlite:///{folder / 'reports.sqlite3'}"
        app = _app(url, str(folder / "instance"))
        _say(f"building {clients} clients x 6 questionnaires x 4 timepoints")
        ids = build_database(app, clients)
        ours, alone, pages = overhead(app, ids[0], 2 if quick else 7)
        _say(f"counsellor report: {ours:.3f} s, WeasyPrint alone {alone:.3f} s")
        pooled, in_a_row, workers = batch(app, ids, folder)
        _say(f"{len(ids)} reports: batch {pooled:.1f} s, in a row {in_a_row:.1f} s")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "pdf_counsellor_overhead_ratio": figure(
            ours,
            "s",
            baseline=alone,
            target=1.5,
            target_on="ratio",
            higher_is_better=False,
            note=f"one counsellor report, 6 questionnaires x 4 timepoints ({pages} A4 pages): seconds from "
            "the database to the PDF vs seconds of WeasyPrint rendering the same final HTML alone (medians)",
        ),
        "pdf_batch_ratio": figure(
            pooled,
            "s",
            baseline=in_a_row,
            target=None if quick else 0.6,
            target_on="ratio",
            higher_is_better=False,
            note=f"{len(ids)} counsellor reports: seconds as one batch ({workers} worker processes on "
            f"{cores} cores, start-up included) vs seconds of the same reports one after another in one "
            "process"
            + (
                "; quick run: too few reports to amortise the workers' start, the target is for 100"
                if quick
                else ""
            ),
        ),
    }
