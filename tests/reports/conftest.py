"""Report fixtures: the workspace world (from tests/counsellor) with a fourth timepoint, a client with six
questionnaires at four timepoints, one with the demo programme's fullest battery (all fourteen) at four
timepoints, and helpers that read a PDF back (text per page, fonts, metadata) and keep the first page of each
kind as a PNG in `tests/reports/artifacts/` for review (skipped, with the reason, only where poppler's
pdftoppm is missing).
"""

from __future__ import annotations

import datetime as dt
import io
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from pypdf import PdfReader

from survey_app.demo.answers import simulate_answers
from survey_app.extensions import db as _db
from survey_app.models import AssessmentSession, Client, Timepoint
from survey_app.programmes.definition import DEFAULT_PROGRAMME, load_programme_definition
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.reports.documents import render_report, report_pdf
from survey_app.services.questionnaires import questionnaire_of
from tests.conftest import PROJECT_ROOT
from tests.counsellor.conftest import (  # noqa: F401  (fixtures used by the report tests)
    TODAY,
    World,
    bank_version,
    phq9,
    who5,
    workspace,
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SIX = ("who5", "phq9", "rses", "mspss", "barc10", "psas")
#: WHO-5 raw 6, 10, 15, 20 (24, 40, 60, 80 %); PHQ-9 16, 12, 8, 2.
WHO5_WAVES = (who5(1, 1, 2, 1, 1), who5(2, 2, 2, 2, 2), who5(3, 3, 3, 3, 3), who5(4, 4, 4, 4, 4))
PHQ9_WAVES = (
    phq9(2, 2, 2, 2, 2, 2, 2, 2, 0),
    phq9(2, 2, 2, 2, 1, 1, 1, 1, 0),
    phq9(1, 1, 1, 1, 1, 1, 1, 1, 0),
    phq9(0, 1, 0, 1, 0, 0, 0, 0, 0),
)
#: The latest BARC-10: strongly agree with "more important things", "happy" and "home"; disagree with one.
BARC10_LATEST = {
    "barc10_priorities": 6,
    "barc10_happy": 6,
    "barc10_energy": 5,
    "barc10_community": 4,
    "barc10_friends": 3,
    "barc10_fulfilling": 5,
    "barc10_home": 6,
    "barc10_responsibility": 2,
    "barc10_professionals": 4,
    "barc10_progress": 5,
}
INTAKE_DAYS_AGO = 400


@dataclass
class Followed:
    """A client followed through four timepoints, and their sessions (oldest first)."""

    world: World
    client: Client
    sessions: list[AssessmentSession]
    t12m: Timepoint


def at(intake: dt.date, days: int) -> dt.datetime:
    """Ten in the morning, `days` after intake."""
    return dt.datetime.combine(intake + dt.timedelta(days=days), dt.time(10), dt.UTC)


def wave_answers(wave: int, keys: tuple[str, ...] = SIX) -> dict[str, dict[str, Any]]:
    """Answers of the questionnaires `keys` at wave 0..3, getting better each wave (deterministic)."""
    rng = random.Random(wave)
    answers: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key == "who5":
            answers[key] = WHO5_WAVES[wave]
        elif key == "phq9":
            answers[key] = PHQ9_WAVES[wave]
        elif key == "barc10" and wave == 3:
            answers[key] = dict(BARC10_LATEST)
        else:
            answers[key] = simulate_answers(questionnaire_of(bank_version(key)), -1.0 + wave * 0.8, rng)
    return answers


def fullest_demo_battery() -> tuple[str, ...]:
    """The questionnaire keys of the demo programme's largest timepoint battery (core and optional)."""
    registry = QuestionnaireRegistry(PROJECT_ROOT / "questionnaires")
    definition = load_programme_definition(DEFAULT_PROGRAMME, registry.versions)
    largest = max(definition.timepoints, key=lambda timepoint: len(timepoint.battery))
    return tuple(entry.questionnaire for entry in largest.battery)


def follow(world: World, db: SQLAlchemy, keys: tuple[str, ...]) -> Followed:
    """A client of the counsellor who answered the questionnaires `keys` at four timepoints."""
    t12m = Timepoint(
        programme_id=world.programme.id,
        key="t12m",
        label="12 months",
        position=3,
        offset_days=365,
        window_before_days=30,
        window_after_days=30,
    )
    world.programme.timepoints.append(t12m)
    db.session.flush()
    intake = TODAY - dt.timedelta(days=INTAKE_DAYS_AGO)
    client = world.client_of(world.counsellor, intake=intake)
    sessions = [
        world.submit(client, timepoint, wave_answers(wave, keys), when=at(intake, days))
        for wave, (timepoint, days) in enumerate(
            [(world.t0, 2), (world.t3m, 92), (world.t6m, 183), (t12m, 366)]
        )
    ]
    return Followed(world, client, sessions, t12m)


@pytest.fixture
def followed(workspace: World, db: SQLAlchemy) -> Followed:  # noqa: F811  (the imported fixture)
    """A client of the counsellor with WHO-5, PHQ-9, RSES, MSPSS, BARC-10 and PSAS at four timepoints."""
    return follow(workspace, db, SIX)


@pytest.fixture
def followed_fullest(workspace: World, db: SQLAlchemy) -> Followed:  # noqa: F811  (the imported fixture)
    """A client who answered the demo programme's fullest battery (every questionnaire) at four timepoints."""
    return follow(workspace, db, fullest_demo_battery())


# ---------------------------------------------------------------- reading a PDF back
def pdf_pages(data: bytes) -> list[str]:
    """The text of each page (pypdf)."""
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, pages joined, whitespace collapsed."""
    return " ".join(" ".join(pdf_pages(data)).split())


def pdf_fonts(data: bytes) -> set[str]:
    """The base names of every font the pages use (subset prefixes removed)."""
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def keep_first_page(data: bytes, name: str) -> Path:
    """Render page 1 as a PNG into the artefacts folder (for review); skip when pdftoppm is missing."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        pytest.skip("pdftoppm (Debian package poppler-utils) is not installed: run `make system-deps`")
    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / name
    subprocess.run(
        [tool, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-", str(stem)],
        input=data,
        check=True,
        capture_output=True,
    )
    return stem.with_suffix(".png")


def make_pdf(
    app: Flask,
    client_id: int,
    kind: str,
    language: str = "en",
    *,
    session_id: int | None = None,
    show_names: bool = False,
) -> bytes:
    """A report of the client as the web pages and commands make it (in an app context of its own)."""
    with app.app_context():
        client = _db.session.get(Client, client_id)
        assert client is not None
        assessment = _db.session.get(AssessmentSession, session_id) if session_id else None
        return report_pdf(
            render_report(_db.session, client, kind, language, show_names=show_names, assessment=assessment)
        )
