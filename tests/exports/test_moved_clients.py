"""A client who moved to another site: each session is exported under the site where it was taken."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask_sqlalchemy import SQLAlchemy

from survey_app.models import Answer, Client, Organisation, SessionQuestionnaire, StaffUser
from survey_app.services.assessments import start_session
from survey_app.services.caseload import scope_of
from survey_app.services.client_moves import move_client
from survey_app.services.scoring import score_session
from tests.exports.conftest import World

WHO5 = {f"who5_{n}": 2 for n in ("cheerful", "calm", "active", "rested", "interest")}
BRUSSELS = "'=BRUS"  # site B's code, neutralised in CSV as every cell starting with "="


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _bob_moves_to_site_a_and_answers_at_3_months(
    db: SQLAlchemy, world: World, make_staff: Callable[..., StaffUser]
) -> Client:
    """Bob took his intake at site B, then moved to site A, where he answers the WHO-5 at 3 months."""
    bob = world.clients["bob"]
    organisation = db.session.get(Organisation, world.site_a.organisation_id)
    lead = make_staff("site_lead", organisation=organisation, sites=[world.site_a, world.site_b])
    move_client(db.session, scope_of(db.session, lead), bob, world.site_a.id, lead.id)
    later = start_session(db.session, bob, world.programme.timepoints[1], created_by=lead.id)
    who5 = world.versions["who5"]
    later.questionnaires.append(SessionQuestionnaire(questionnaire_version_id=who5.id, position=0))
    db.session.flush()
    db.session.add_all(
        Answer(session_id=later.id, questionnaire_version_id=who5.id, item_id=item, value=value)
        for item, value in WHO5.items()
    )
    later.status, later.submitted_at = "submitted", dt.datetime(2026, 5, 6, 10, tzinfo=dt.UTC)
    db.session.flush()
    score_session(db.session, later)
    return bob


def _bobs(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Bob's rows: those of the client whose 3-month session was on day 94 (May 6, from Feb 1)."""
    bob = next(row["pseudonym"] for row in rows if row["days_since_intake"] == "94")
    return [row for row in rows if row["pseudonym"] == bob]


def _sites_by_timepoint(rows: list[dict[str, str]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["timepoint"], set()).add(row["site"])
    return found


def test_long_and_scores_exports_give_each_session_the_site_where_it_was_taken(
    db: SQLAlchemy,
    export_world: World,
    make_staff: Callable[..., StaffUser],
    run_export: Callable[..., Any],
) -> None:
    _bob_moves_to_site_a_and_answers_at_3_months(db, export_world, make_staff)
    for layout in ("long", "scores"):
        result, path = run_export(
            "--project",
            "Ghent evaluation",
            "--layout",
            layout,
            "--format",
            "csv",
            "--questionnaire",
            "who5",
            out=f"{layout}.csv",
        )
        assert result.exit_code == 0, result.output
        assert _sites_by_timepoint(_bobs(_rows(path))) == {"t0": {BRUSSELS}, "t3m": {"GENT-X"}}, layout


def test_a_site_filter_gives_a_moved_client_s_sessions_at_that_site_only(
    db: SQLAlchemy,
    export_world: World,
    make_staff: Callable[..., StaffUser],
    run_export: Callable[..., Any],
) -> None:
    _bob_moves_to_site_a_and_answers_at_3_months(db, export_world, make_staff)
    result, path = run_export(
        "--project", "Ghent evaluation", "--layout", "long", "--format", "csv", "--site", "=BRUS"
    )
    assert result.exit_code == 0, result.output
    rows = _rows(path)
    assert {row["timepoint"] for row in rows} == {"t0"} and {row["site"] for row in rows} == {BRUSSELS}
    result, path = run_export(
        "--project",
        "Ghent evaluation",
        "--layout",
        "long",
        "--format",
        "csv",
        "--site",
        "GENT-X",
        out="site-a.csv",
    )
    assert result.exit_code == 0, result.output
    assert _sites_by_timepoint(_bobs(_rows(path))) == {"t3m": {"GENT-X"}}
    assert {row["site"] for row in _rows(path)} == {"GENT-X"}


def test_the_wide_layout_keeps_the_site_at_intake_and_the_site_of_each_session(
    db: SQLAlchemy,
    export_world: World,
    make_staff: Callable[..., StaffUser],
    run_export: Callable[..., Any],
) -> None:
    _bob_moves_to_site_a_and_answers_at_3_months(db, export_world, make_staff)
    result, path = run_export(
        "--project", "Ghent evaluation", "--layout", "wide", "--format", "csv", "--questionnaire", "who5"
    )
    assert result.exit_code == 0, result.output
    bob = next(row for row in _rows(path) if row["days_since_intake_t3m"] == "94")
    assert (bob["site"], bob["site_t0"], bob["site_t3m"]) == (BRUSSELS, BRUSSELS, "GENT-X")
    result, path = run_export(
        "--project",
        "Ghent evaluation",
        "--layout",
        "wide",
        "--format",
        "csv",
        "--questionnaire",
        "who5",
        "--site",
        "GENT-X",
        out="site-a.csv",
    )
    assert result.exit_code == 0, result.output
    bob = next(row for row in _rows(path) if row["days_since_intake_t3m"] == "94")
    assert (bob["site"], bob["site_t0"], bob["site_t3m"]) == (BRUSSELS, "", "GENT-X")
    assert bob["days_since_intake_t0"] == ""  # the intake at site B is not in an export of site A
    codebook = json.loads(path.with_name("site-a.codebook.json").read_text(encoding="utf-8"))
    labels = {entry["name"]: entry["label"] for entry in codebook["variables"]}
    assert "at intake" in labels["site"] and "where the session was taken" in labels["site_t3m"]
    assert "site at intake" in codebook["rules"]["sites"]


def test_fhir_responses_carry_the_site_where_each_session_was_taken(
    db: SQLAlchemy,
    export_world: World,
    make_staff: Callable[..., StaffUser],
    run_export: Callable[..., Any],
) -> None:
    _bob_moves_to_site_a_and_answers_at_3_months(db, export_world, make_staff)
    result, path = run_export(
        "--project",
        "Ghent evaluation",
        "--layout",
        "long",
        "--format",
        "fhir",
        "--questionnaire",
        "who5",
        out="export.json",
    )
    assert result.exit_code == 0, result.output
    bundle = json.loads(path.read_text(encoding="utf-8"))
    sessions = []
    for entry in bundle["entry"]:
        extensions = {ext["url"].rsplit("/", 1)[-1]: ext for ext in entry["resource"]["extension"]}
        subject = json.dumps(entry["resource"]["subject"], sort_keys=True)
        sessions.append(
            (
                subject,
                extensions["timepoint"]["valueCode"],
                extensions["days-since-intake"]["valueInteger"],
                extensions["site"]["valueString"],
            )
        )
    bob = next(subject for subject, _, days, _ in sessions if days == 94)
    assert sorted((tp, site) for subject, tp, _, site in sessions if subject == bob) == [
        ("t0", "=BRUS"),
        ("t3m", "GENT-X"),
    ]
