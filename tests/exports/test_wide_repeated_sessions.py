"""Two sessions of a client at one timepoint: the most recently submitted fills the wide columns.

A client has one live session per timepoint of a programme, but timepoints of two programmes can share a key
(and a wide column): a client moved to another programme redoes its intake there.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from flask_sqlalchemy import SQLAlchemy

from survey_app.models import Organisation
from tests.exports.conftest import World, _consent, _session

WIDE = ("--project", "Ghent evaluation", "--layout", "wide", "--questionnaire", "demo", "--format", "csv")
INTAKE = dt.date(2026, 3, 2)


def test_the_most_recently_submitted_session_at_a_timepoint_fills_its_columns(
    db: SQLAlchemy,
    export_world: World,
    make_client: Callable[..., Any],
    make_programme: Callable[..., Any],
    run_export: Callable[..., Any],
) -> None:
    organisation = db.session.get(Organisation, export_world.programme.organisation_id)
    first_t0, _ = export_world.programme.timepoints
    (again_t0,) = make_programme(organisation, timepoints=[("t0", 0)]).timepoints
    demo = export_world.versions["demo1"]

    def answers(code: int) -> dict[int, dict[str, int]]:
        return {demo.id: {"q1": code, "q2": code, "q3": code}}

    moved, tied = (make_client(site=export_world.site_a, intake_date=INTAKE) for _ in range(2))
    for client in (moved, tied):
        _consent(db, client, True)
    # the redone intake is stored first (a lower id) but submitted later: it wins
    _session(db, moved, again_t0, [demo], answers(4), dt.date(2026, 3, 20))
    _session(db, moved, first_t0, [demo], answers(1), dt.date(2026, 3, 3))
    # submitted the same day and hour: the later session (the higher id) wins
    _session(db, tied, first_t0, [demo], answers(2), dt.date(2026, 3, 4))
    _session(db, tied, again_t0, [demo], answers(3), dt.date(2026, 3, 4))
    result, path = run_export(*WIDE)
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8", newline="") as handle:
        rows = {row["days_since_intake_t0"]: row for row in csv.DictReader(handle)}
    winner = rows["18"]  # 20 March, 18 days after intake
    assert (winner["demo_q1_t0"], winner["demo_q3_t0"], winner["demo_score_total_t0"]) == ("4", "4", "12.0")
    tie = rows["2"]
    assert (tie["demo_q1_t0"], tie["demo_score_total_t0"]) == ("3", "9.0")
    codebook = json.loads(path.with_name("export.codebook.json").read_text(encoding="utf-8"))
    assert any("most recently submitted" in note for note in codebook["notes"])
