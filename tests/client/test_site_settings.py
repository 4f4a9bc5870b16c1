"""A site's own settings reach its tablets: the languages offered, and when an unused screen locks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from survey_app.models import AssessmentSession, ClientModeSession
from survey_app.models.base import utcnow
from tests.client.fixtures import page_csrf
from tests.client.support import TabletWorld

Handover = Callable[..., AssessmentSession]


def _mode(db: SQLAlchemy) -> ClientModeSession:
    row = db.session.scalar(select(ClientModeSession).order_by(ClientModeSession.id.desc()))
    assert row is not None
    return row


def test_the_tablet_offers_only_the_sites_languages(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Handover
) -> None:
    world.client.site.languages = "nl,fr"
    world.client.preferred_language = "nl"
    db.session.flush()
    assessment = hand_over()
    page = client.get("/client/q/0/0").get_data(as_text=True)
    offered = re.findall(r'name="language" value="(\w\w)"', page)
    assert offered == ["nl", "fr"]
    client.post("/client/language", data={"language": "en", "csrf_token": page_csrf(client, "/client/")})
    db.session.refresh(assessment)
    assert assessment.language == "nl"
    client.post("/client/language", data={"language": "fr", "csrf_token": page_csrf(client, "/client/")})
    db.session.refresh(assessment)
    assert assessment.language == "fr"


def test_a_sites_idle_timeout_locks_its_tablets_and_reaches_the_page_script(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Handover
) -> None:
    world.client.site.client_idle_minutes = 2
    db.session.flush()
    hand_over()
    page = client.get("/client/q/0/0").get_data(as_text=True)
    config = re.search(r'<script type="application/json" id="client-config">(.*?)</script>', page, re.S)
    assert config and json.loads(config.group(1))["idle_seconds"] == 120
    row = _mode(db)
    row.last_seen_at = utcnow() - timedelta(minutes=3)  # under the app's 10 minutes, over the site's 2
    db.session.flush()
    assert client.get("/client/").location.endswith("/client/locked")


def test_without_a_site_setting_the_apps_idle_timeout_applies(
    client: FlaskClient, db: SQLAlchemy, world: TabletWorld, hand_over: Handover
) -> None:
    hand_over()
    row = _mode(db)
    row.last_seen_at = utcnow() - timedelta(minutes=3)
    db.session.flush()
    assert client.get("/client/").status_code == 200
