"""A small research world: two sites, consenting and non-consenting clients, answers, scores and a project.

``export_world`` builds it in the test's rolled-back transaction and returns a ``World`` with handles to
what tests look at. Questionnaires: WHO-5 from the bank, ``mix`` (every item type, a declined code, hostile
text in a label) and ``demo`` v1/v2/v3 (v2 declares its total comparable with v1; v3 declares nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask_sqlalchemy import SQLAlchemy

from survey_app.models import (
    Answer,
    AssessmentSession,
    Client,
    ClientIdentity,
    ConsentRecord,
    ExportProject,
    ExportProjectMember,
    Programme,
    QuestionnaireVersion,
    SessionQuestionnaire,
    Site,
    StaffUser,
)
from survey_app.questionnaires.loader import content_hash
from survey_app.questionnaires.registry import QuestionnaireRegistry
from survey_app.questionnaires.yaml_source import read_yaml
from survey_app.services.questionnaires import store_version
from survey_app.services.scoring import score_session
from tests.builders import document, dump, text
from tests.conftest import PROJECT_ROOT

HOSTILE_LABEL = "<script>alert('label')</script>"
CONSENT_DAY = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def mix_document() -> dict[str, Any]:
    """A questionnaire with every item type, a declined code and a hostile label."""
    options = [{"code": c, "label": text(f"option {c}")} for c in (1, 2, 3, 4)]
    declined = [{"code": 9, "label": text("Rather not say"), "missing": True}]
    items = [
        {
            "id": "mix_mood",
            "type": "single_choice",
            "options": options + declined,
            "text": {**text("Mood"), "en": HOSTILE_LABEL},
        },
        {"id": "mix_sleep", "type": "single_choice", "options": options, "text": text("Sleep")},
        {"id": "mix_drugs", "type": "multiple_choice", "options": options, "text": text("Drugs")},
        {
            "id": "mix_days",
            "type": "integer",
            "min": 0,
            "max": 28,
            "text": text("Days"),
            "options": [{"code": 99, "label": text("Rather not say"), "missing": True}],
        },
        {"id": "mix_last_use", "type": "date", "text": text("Last use")},
        {"id": "mix_note", "type": "text", "text": text("Anything else")},
    ]
    scale = {
        "id": "total",
        "label": text("Total"),
        "method": "sum",
        "items": ["mix_mood", "mix_sleep"],
        "missing": {"max_missing": 0},
        "range": [2, 8],
        "precision": 0,
        "direction": "higher_is_better",
    }
    answers = {"mix_mood": 2, "mix_sleep": 2}
    return document(
        key="mix",
        sections=[{"id": "main", "items": items}],
        response_options={},
        scoring={"scales": [scale]},
        examples=[
            {"name": f"e{n}", "answers": answers, "expect": {"scales": {"total": {"value": 4}}}}
            for n in range(3)
        ],
    )


def demo_document(version: int, comparable: bool) -> dict[str, Any]:
    """`demo` version N (three items, a sum); `comparable` declares the total comparable with v1."""
    data = document(item_count=3, key="demo", version=version)
    if comparable:
        data["comparable_with"] = [{"version": 1, "scales": ["total"], "note": "Wording only."}]
    return data


def store_document(db: SQLAlchemy, data: dict[str, Any]) -> QuestionnaireVersion:
    """Store a questionnaire document as a published version."""
    source = dump(data)
    row = QuestionnaireVersion(
        key=data["key"],
        version=data["version"],
        content_hash=content_hash(source.encode("utf-8")),
        source_yaml=source,
        snapshot=read_yaml(source).data,
        title=data["title"]["en"],
    )
    db.session.add(row)
    db.session.flush()
    return row


_registry: QuestionnaireRegistry | None = None


def bank_version(db: SQLAlchemy, key: str) -> QuestionnaireVersion:
    """Store one bank questionnaire (latest version)."""
    global _registry
    _registry = _registry or QuestionnaireRegistry(PROJECT_ROOT / "questionnaires")
    entry = next(e for e in _registry.published() if e.key == key)
    return store_version(db.session, _registry, entry)


@dataclass
class World:
    """Handles to the rows tests look at."""

    project: ExportProject
    other_project: ExportProject
    researcher: StaffUser
    site_a: Site
    site_b: Site
    programme: Programme
    clients: dict[str, Client]
    versions: dict[str, QuestionnaireVersion] = field(default_factory=dict)
    instance: Path = Path()


def _session(
    db: SQLAlchemy,
    client: Client,
    timepoint: Any,
    versions: list[QuestionnaireVersion],
    answers: dict[int, dict[str, Any]],
    day: dt.date,
) -> AssessmentSession:
    moment = dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)
    row = AssessmentSession(
        client_id=client.id,
        site_id=client.site_id,
        timepoint_id=timepoint.id if timepoint else None,
        language="nl",
        mode="tablet",
        status="submitted",
        started_at=moment,
        submitted_at=moment,
    )
    row.questionnaires = [
        SessionQuestionnaire(questionnaire_version_id=v.id, position=i) for i, v in enumerate(versions)
    ]
    db.session.add(row)
    db.session.flush()
    for version_id, given in answers.items():
        for item_id, value in given.items():
            db.session.add(
                Answer(session_id=row.id, questionnaire_version_id=version_id, item_id=item_id, value=value)
            )
    db.session.flush()
    score_session(db.session, row)
    return row


def _consent(db: SQLAlchemy, client: Client, granted: bool, at: dt.datetime = CONSENT_DAY) -> None:
    db.session.add(
        ConsentRecord(
            client_id=client.id, purpose="research", granted=granted, text_version="2026-1", recorded_at=at
        )
    )
    db.session.flush()


def add_intake_answers(
    db: SQLAlchemy,
    world: World,
    make_client: Callable[..., Any],
    version: QuestionnaireVersion,
    given: dict[str, dict[str, Any]],
) -> None:
    """Clients of site A (consent given) who answered ``version`` at intake: name -> item -> value."""
    t0, _ = world.programme.timepoints
    for name, answers in given.items():
        client = make_client(site=world.site_a, programme=world.programme, intake_date=dt.date(2026, 1, 5))
        _consent(db, client, True)
        _session(db, client, t0, [version], {version.id: answers}, dt.date(2026, 1, 6))
        world.clients[name] = client


@pytest.fixture
def export_world(
    db: SQLAlchemy,
    make_organisation: Callable[..., Any],
    make_site: Callable[..., Site],
    make_programme: Callable[..., Programme],
    make_client: Callable[..., Client],
    make_staff: Callable[..., StaffUser],
) -> World:
    """The research world (see the module docstring)."""
    organisation = make_organisation()
    site_a, site_b = make_site(organisation, code="GENT-X"), make_site(organisation, code="=BRUS")
    programme = make_programme(organisation)
    t0, t3m = programme.timepoints
    versions = {
        "who5": bank_version(db, "who5"),
        "mix": store_document(db, mix_document()),
        "demo1": store_document(db, demo_document(1, False)),
        "demo2": store_document(db, demo_document(2, True)),
        "demo3": store_document(db, demo_document(3, False)),
    }
    who5 = {f"who5_{n}": 3 for n in ("cheerful", "calm", "active", "rested", "interest")}
    mix = {
        "mix_mood": 9,
        "mix_sleep": 3,
        "mix_drugs": [1, 3],
        "mix_days": 4,
        "mix_last_use": "2025-12-25",
        "mix_note": '=HYPERLINK("http://x") <b>bold</b>',
    }
    demo = {"q1": 2, "q2": 3, "q3": 4}
    clients = {
        "alice": make_client(site=site_a, programme=programme, intake_date=dt.date(2026, 1, 5)),
        "bob": make_client(site=site_b, programme=programme, intake_date=dt.date(2026, 2, 1)),
        "carol": make_client(site=site_a, programme=programme, intake_date=dt.date(2026, 1, 5)),
        "dan": make_client(site=site_a, programme=programme, intake_date=dt.date(2026, 1, 5)),
    }
    db.session.add(
        ClientIdentity(
            client_id=clients["alice"].id,
            given_name="Alice",
            family_name="Secretname",
            national_number="85.01.01-123.45",
        )
    )
    _consent(db, clients["alice"], True)
    _consent(db, clients["bob"], True)
    _consent(db, clients["dan"], True)
    _consent(db, clients["dan"], False, CONSENT_DAY + dt.timedelta(days=1))  # withdrawn; carol never asked
    v = versions
    _session(
        db,
        clients["alice"],
        t0,
        [v["who5"], v["mix"], v["demo1"]],
        {v["who5"].id: who5, v["mix"].id: mix, v["demo1"].id: demo},
        dt.date(2026, 1, 6),
    )
    _session(
        db,
        clients["alice"],
        t3m,
        [v["who5"], v["demo2"]],
        {v["who5"].id: who5, v["demo2"].id: demo},
        dt.date(2026, 4, 7),
    )
    _session(
        db,
        clients["bob"],
        t0,
        [v["who5"], v["demo3"]],
        {v["who5"].id: who5, v["demo3"].id: demo},
        dt.date(2026, 2, 2),
    )
    for name in ("carol", "dan"):
        _session(db, clients[name], t0, [v["who5"]], {v["who5"].id: who5}, dt.date(2026, 1, 6))
    researcher = make_staff("researcher", organisation=organisation)
    project = ExportProject(organisation_id=organisation.id, name="Ghent evaluation")
    other = ExportProject(organisation_id=organisation.id, name="Another study")
    db.session.add_all([project, other])
    db.session.flush()
    db.session.add(ExportProjectMember(project_id=project.id, staff_user_id=researcher.id))
    db.session.flush()
    return World(project, other, researcher, site_a, site_b, programme, clients, versions)


@pytest.fixture
def run_export(app: Any, db: SQLAlchemy, tmp_path: Path) -> Callable[..., Any]:
    """Run `flask export` with the given arguments; returns (result, output folder)."""

    def run(*args: str, out: str = "export.csv") -> Any:
        db.session.commit()  # the command opens its own read transaction
        target = tmp_path / out
        result = app.test_cli_runner().invoke(args=["export", *args, "--out", str(target), "--quiet"])
        return result, target

    return run
