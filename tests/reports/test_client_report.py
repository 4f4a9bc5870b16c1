"""The client's own report: their language, plain words, strengths first, what the court sees."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from survey_app.models.base import utcnow
from survey_app.services.consent import record_consent
from survey_app.services.sharing import build_court_report, record_court_share
from tests.reports.conftest import Followed, keep_first_page, make_pdf, pdf_pages, pdf_text


def test_in_the_clients_language_strengths_first_without_jargon(
    app: Flask, db: SQLAlchemy, followed: Followed
) -> None:
    followed.client.preferred_language = "nl"
    db.session.flush()
    data = make_pdf(app, followed.client.id, "client", "nl")
    text = pdf_text(data)
    improved, matters, explained = (
        text.index(heading)
        for heading in ("Wat is er verbeterd", "Wat u belangrijk vindt", "Uw vragenlijsten uitgelegd")
    )
    assert improved < matters < explained  # strengths first
    # WHO-5 went from 24 to 80 and PHQ-9 from 16 to 2: both improved, in plain words.
    assert "Hoe u zich voelde" in text and "van 24 naar 80" in text
    # The BARC-10 statements agreed with most, quoted from the stored version in Dutch.
    assert "Er zijn belangrijkere dingen in mijn leven dan alcohol of drugs gebruiken." in text
    assert "Helemaal eens" in text
    assert "verantwoordelijkheid" not in text.split("Wat u belangrijk vindt")[1].split("Uw vragenlijsten")[0]
    for jargon in ("RCI", "Reliable", "betrouwbare verandering", "PHQ-9", "T-score", "prorat"):
        assert jargon not in text, jargon
    assert all(followed.client.code in page for page in pdf_pages(data))
    keep_first_page(data, "client")


def test_says_what_the_court_sees(app: Flask, db: SQLAlchemy, followed: Followed) -> None:
    client, world = followed.client, followed.world
    text = pdf_text(make_pdf(app, client.id, "client", "en"))
    assert "You have not agreed to share anything with the court" in text
    record_consent(db.session, client, "court", True, share_scores=True)
    world.liaison.is_active = True
    db.session.flush()
    from survey_app.services.consent import consent_for

    report = build_court_report(
        db.session,
        client,
        consent_for(db.session, client.id, "court"),
        today=utcnow().date(),
        timezone=dt.UTC,
    )
    record_court_share(db.session, client, report, world.liaison)
    db.session.flush()
    text = pdf_text(make_pdf(app, client.id, "client", "en"))
    assert "may see whether you came to your appointments" in text
    assert "also agreed that the court may see your scores" in text
    assert "The court looked at your progress 1 time" in text


def test_a_first_session_only_says_there_is_nothing_to_compare_yet(app: Flask, followed: Followed) -> None:
    world = followed.world
    newcomer = world.client_of(world.counsellor)
    world.submit(
        newcomer,
        world.t0,
        {
            "who5": {
                "who5_cheerful": 3,
                "who5_calm": 3,
                "who5_active": 2,
                "who5_rested": 2,
                "who5_interest": 3,
            }
        },
    )
    text = pdf_text(make_pdf(app, newcomer.id, "client", "en"))
    assert "filled in the questionnaires once so far" in text
    assert "nothing to compare yet" in text
    assert "How you have been feeling" in text and "When you started" in text


def test_strength_answers_without_a_strong_agreement_are_not_called_missing(
    app: Flask, followed: Followed
) -> None:
    world = followed.world
    doubter = world.client_of(world.counsellor)
    lukewarm = dict.fromkeys(
        (
            "barc10_priorities",
            "barc10_happy",
            "barc10_energy",
            "barc10_community",
            "barc10_friends",
            "barc10_fulfilling",
            "barc10_home",
            "barc10_responsibility",
            "barc10_professionals",
            "barc10_progress",
        ),
        3,
    )
    world.submit(doubter, world.t0, {"barc10": lukewarm})
    text = pdf_text(make_pdf(app, doubter.id, "client", "en"))
    matters = text.split("What you said matters to you")[1].split("Your questionnaires explained")[0]
    assert "did not yet fully agree with any of the sentences" in matters
    assert "When you fill in the questions about your strengths" not in matters
