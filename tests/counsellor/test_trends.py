"""Trends as data: scores in order, version breaks, change from intake, the profile's headline scales."""

from __future__ import annotations

import datetime as dt

from flask_sqlalchemy import SQLAlchemy

from survey_app.domain.change import ChangeClass, ClinicalSignificance
from survey_app.services.outcome_summary import domain_profile, headline_scales
from survey_app.services.trends import client_trends
from tests.counsellor.conftest import TODAY, World, phq9, who5
from tests.counsellor.test_client_page import who5_v2

LOW = {"who5": who5(1, 1, 2, 1, 1), "phq9": phq9(2, 2, 2, 2, 2, 2, 2, 2, 0)}
MIDDLE = {"who5": who5(2, 2, 2, 2, 2), "phq9": phq9(1, 1, 1, 1, 1, 1, 1, 1, 0)}
HIGH = {"who5": who5(4, 4, 4, 4, 4), "phq9": phq9(0, 1, 0, 1, 0, 0, 0, 0, 0)}


def on(days: int) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=100 - days), dt.time(10), dt.UTC)


def test_scores_come_in_order_and_the_change_counts_from_the_intake_score(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, None, MIDDLE, when=on(-5))  # an extra session before intake
    workspace.submit(client, workspace.t0, LOW, when=on(1))
    workspace.submit(client, workspace.t3m, HIGH, when=on(92))
    trends = {item.key: item for item in client_trends(db.session, client.id, workspace.t0.id)}
    percentage = next(trend for trend in trends["who5"].scales if trend.scale.id == "percentage")
    assert [point.value for point in percentage.points] == [40.0, 24.0, 80.0]
    change = percentage.change
    assert change is not None and change.baseline.value == 24.0 and change.latest.value == 80.0
    assert change.reliable is not None and change.reliable.change is ChangeClass.RELIABLE_IMPROVEMENT
    assert change.reliable.clinical is ClinicalSignificance.RECOVERED
    total = next(trend for trend in trends["phq9"].scales if trend.scale.id == "total")
    assert total.change is not None and not total.change.rci_available and total.change.difference == -14


def test_a_version_without_a_declaration_breaks_the_series_and_stops_the_comparison(
    workspace: World, db: SQLAlchemy
) -> None:
    client = workspace.client_of(workspace.counsellor)
    v2 = who5_v2(db, comparable=False)
    workspace.submit(client, workspace.t0, LOW, when=on(1))
    workspace.submit(client, workspace.t3m, HIGH, when=on(92), versions={"who5": v2})
    (who,) = [item for item in client_trends(db.session, client.id, workspace.t0.id) if item.key == "who5"]
    percentage = next(trend for trend in who.scales if trend.scale.id == "percentage")
    assert [point.breaks_before for point in percentage.points] == [False, True]
    assert percentage.change is not None and not percentage.change.comparable
    assert percentage.change.reliable is None and percentage.questionnaire.version == 2


def test_one_score_is_no_change_yet(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, LOW)
    trends = client_trends(db.session, client.id, workspace.t0.id)
    assert all(trend.change is None for item in trends for trend in item.scales)


def test_the_profile_takes_headline_scales_into_their_life_domains(workspace: World, db: SQLAlchemy) -> None:
    client = workspace.client_of(workspace.counsellor)
    workspace.submit(client, workspace.t0, LOW)
    instruments = client_trends(db.session, client.id)
    headlines = {item.key: [trend.scale.id for trend in headline_scales(item)] for item in instruments}
    assert headlines == {"who5": ["percentage"], "phq9": ["total"]}  # the scale with RCI, else the total
    profile = domain_profile(instruments)
    assert [domain.life_domain for domain in profile] == [
        "personal",
        "social",
        "community",
        "recovery_capital",
    ]
    assert len(profile[0].scales) == 2 and all(not domain.scales for domain in profile[1:])
